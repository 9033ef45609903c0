"""Ready-made requests a duty nurse sends the patient side, and the self-care guides to link.

Requests are written in plain words for patients, and rendered in the language of the person who
will read them (the patient, or the professional who sent the case for them); the nurse can edit
the text before sending. Pure: no ORM, no settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RequestTemplate:
    slug: str
    group: Promise
    title: Promise
    text: Promise


PHOTOS = _("Better photos")
INFORMATION = _("More information")

REQUEST_TEMPLATES: tuple[RequestTemplate, ...] = (
    RequestTemplate(
        "photo-blurred",
        PHOTOS,
        _("Photo is blurred"),
        _(
            "The photo is not sharp enough for the dermatologist to see the details. Please take "
            "a new photo in good daylight, hold the phone still, and tap the screen on the skin "
            "to focus before you take it."
        ),
    ),
    RequestTemplate(
        "photo-too-far",
        PHOTOS,
        _("Photo taken from too far away"),
        _(
            "The photo is taken from too far away. Please take a new photo about 10 to 15 cm "
            "from the skin, so that the spot fills most of the picture."
        ),
    ),
    RequestTemplate(
        "photo-close-up",
        PHOTOS,
        _("Need a close-up"),
        _(
            "Please send a close-up photo of the spot, taken about 10 cm from the skin, in good "
            "light and in focus."
        ),
    ),
    RequestTemplate(
        "photo-overview",
        PHOTOS,
        _("Need an overview"),
        _(
            "Please send an overview photo that shows the whole area, so the dermatologist can "
            "see where on the body the spot is and what the skin around it looks like."
        ),
    ),
    RequestTemplate(
        "photo-size",
        PHOTOS,
        _("Need a ruler or coin for size"),
        _(
            "Please take a new close-up with a ruler or a coin next to the spot, so the "
            "dermatologist can see how big it is."
        ),
    ),
    RequestTemplate(
        "info-duration",
        INFORMATION,
        _("How long"),
        _("How long have you had this, and has it changed since it started? If so, how?"),
    ),
    RequestTemplate(
        "info-medicines",
        INFORMATION,
        _("Medicines"),
        _(
            "Which medicines do you take, including creams, ointments and medicines bought "
            "without a prescription? Please give the names and how often you use them."
        ),
    ),
    RequestTemplate(
        "info-allergies",
        INFORMATION,
        _("Allergies"),
        _("Are you allergic to any medicines, creams or other substances? If so, which?"),
    ),
    RequestTemplate(
        "info-symptoms",
        INFORMATION,
        _("Other symptoms"),
        _(
            "Do you have other symptoms, such as fever, pain in the joints, or feeling unwell? "
            "Does anyone around you have a similar rash?"
        ),
    ),
    RequestTemplate(
        "info-history",
        INFORMATION,
        _("Skin history"),
        _(
            "Have you had skin cancer, or has anyone in your close family had melanoma? Have you "
            "had this problem before?"
        ),
    ),
)

TEMPLATES_BY_SLUG = {template.slug: template for template in REQUEST_TEMPLATES}

GREETING = _("Hello,")
CLOSING = _(
    "Please answer by signing in to Telederm. If the problem gets much worse, or you feel very "
    "unwell, call 113 or your doctor at once."
)

# The self-care guide library's slugs (the guides themselves live with the patient's answer).
GUIDES: tuple[tuple[str, Promise], ...] = (
    ("eczema-care", _("Eczema care")),
    ("acne", _("Acne")),
    ("fungal-infections", _("Fungal infections")),
    ("sun-protection", _("Sun protection")),
    ("mole-self-check", _("Checking your moles")),
    ("wound-care", _("Wound care")),
    ("scabies", _("Scabies")),
    ("psoriasis", _("Psoriasis")),
    ("hives", _("Hives")),
)
GUIDE_SLUGS = frozenset(slug for slug, _label in GUIDES)

SELF_CARE_INTRO = _(
    "A duty nurse has looked at your case. It does not need a dermatologist now: you can treat "
    "it yourself. Read the guides linked below."
)
SELF_CARE_CLOSING = _(
    "If it does not get better within a few weeks, gets worse, or you feel unwell, contact your "
    "doctor. In an emergency call 113."
)


def render_request(slugs: Iterable[str], language: str) -> str:
    """The text of a request made of the chosen templates, in `language`, ready to edit."""
    chosen = [TEMPLATES_BY_SLUG[slug] for slug in slugs if slug in TEMPLATES_BY_SLUG]
    with translation.override(language):
        parts = [str(GREETING), *(str(template.text) for template in chosen), str(CLOSING)]
    return "\n\n".join(parts)


def render_self_care(language: str) -> str:
    """The text of a self-care message, in `language`, ready to edit."""
    with translation.override(language):
        return "\n\n".join([str(GREETING), str(SELF_CARE_INTRO), str(SELF_CARE_CLOSING)])
