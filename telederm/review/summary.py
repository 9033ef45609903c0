"""The answer summary a patient gets: its content in plain language, and the same as a PDF.

The summary is built from the signed review (or, for a case a duty nurse closed with self-care
advice, from that message) in the *patient's* language, whoever looks at it: a clinician sees the
same words as the patient. It holds only what is written for the patient — never the clinical
assessment or the advice to the GP, which are for professionals.
"""

from __future__ import annotations

import datetime
import mimetypes
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from telederm.accounts.models import User
from telederm.cases.models import Case, Message
from telederm.review import guides
from telederm.review.guides import Guide
from telederm.review.models import Review
from telederm.review.receivers import receiver_name

# WeasyPrint sees the page as if served from this origin; the fetcher serves only its static files.
PDF_BASE_URL = "https://telederm.invalid/"


@dataclass(frozen=True)
class Prescribed:
    """One prescription, in words for the patient."""

    drug: str
    strength: str
    dosage: str
    duration: str
    instructions: str

    @property
    def name(self) -> str:
        return f"{self.drug} {self.strength}".strip()


@dataclass(frozen=True)
class Summary:
    case_uuid: uuid.UUID
    language: str
    source: Literal["review", "self_care"]
    answered_by: str
    answered_by_role: str
    answered_at: datetime.datetime
    diagnosis: str
    advice: str
    prescriptions: tuple[Prescribed, ...]
    safety_net: str
    next_steps: tuple[str, ...]
    guides: tuple[Guide, ...]
    emergency: str

    @property
    def language_name(self) -> str:
        return str(translation.get_language_info(self.language)["name_translated"])

    @property
    def filename(self) -> str:
        return f"telederm-answer-{timezone.localdate(self.answered_at).isoformat()}.pdf"


def patient_language(case: Case) -> str:
    """The language the patient reads: the one they chose, mapped to one we write guides in."""
    return guides.normalise_language(case.patient.preferred_language)


def build_summary(case: Case) -> Summary | None:
    """The patient's summary of the answer, or None while there is no answer to show.

    A signed review comes first; a duty nurse's self-care close counts when there is no review.
    """
    language = patient_language(case)
    review = (
        Review.objects.select_related("author").filter(case=case, signed_at__isnull=False).first()
    )
    with translation.override(language):
        if review is not None:
            return _from_review(case, review, language)
        message = (
            Message.objects.select_related("author")
            .filter(case=case, kind=Message.Kind.SELF_CARE)
            .order_by("-sent_at", "-pk")
            .first()
        )
        if message is not None:
            return _from_self_care(case, message, language)
    return None


def _from_review(case: Case, review: Review, language: str) -> Summary:
    assert review.signed_at is not None
    prescriptions = tuple(
        Prescribed(
            drug=line.drug,
            strength=line.strength,
            dosage=line.dosage,
            duration=line.duration,
            instructions=line.instructions,
        )
        for line in review.prescriptions.all()
    )
    return Summary(
        case_uuid=case.uuid,
        language=language,
        source="review",
        answered_by=_name(review.author),
        answered_by_role=_role(review.author),
        answered_at=review.signed_at,
        diagnosis=review.diagnosis,
        advice=review.advice,
        prescriptions=prescriptions,
        safety_net=review.safety_net,
        next_steps=_next_steps(review),
        guides=_guides(review.guides, language),
        emergency=emergency_line(),
    )


def _from_self_care(case: Case, message: Message, language: str) -> Summary:
    return Summary(
        case_uuid=case.uuid,
        language=language,
        source="self_care",
        answered_by=_name(message.author),
        answered_by_role=_role(message.author),
        answered_at=message.sent_at,
        diagnosis="",
        advice=message.body,
        prescriptions=(),
        safety_net="",
        next_steps=(
            _(
                "The case is closed; no appointment is needed. If it does not get better, "
                "contact your GP or send a new case."
            ),
        ),
        guides=_guides(message.guides, language),
        emergency=emergency_line(),
    )


def _guides(slugs: Any, language: str) -> tuple[Guide, ...]:
    # Slugs were checked when saved; an old slug the library has since dropped is left out rather
    # than breaking the patient's page.
    return tuple(guides.get(slug, language) for slug in guides.known(list(slugs or [])))


def _name(person: User) -> str:
    return person.full_name


def _role(person: User) -> str:
    if person.title:
        return person.title
    return str(person.get_role_display())


def _next_steps(review: Review) -> tuple[str, ...]:
    outcome = review.outcome
    if outcome == Review.Outcome.REFERRAL:
        referral = getattr(review, "referral", None)
        steps = []
        if referral is not None:
            steps.append(
                _("You are referred to %(receiver)s for an appointment.")
                % {"receiver": receiver_name(referral.receiver)}
            )
            if referral.pathway == Case.Pathway.PK_MELANOMA:
                steps.append(
                    _(
                        "You are referred in a cancer patient pathway (pakkeforløp). This does "
                        "not mean that you have cancer, but it must be checked quickly: the "
                        "department gives it priority and will contact you soon."
                    )
                )
            elif referral.priority == Case.Priority.URGENT:
                steps.append(_("The referral is marked urgent: expect to hear from them soon."))
        else:
            steps.append(_("You are referred for an appointment with a specialist."))
        steps.append(
            _(
                "The department assesses a referral within 10 working days and then tells you "
                "when you will be seen. If you have not heard from them within three weeks, "
                "call them or your GP."
            )
        )
        return tuple(steps)
    if outcome == Review.Outcome.VIDEO:
        video = getattr(review, "video_request", None)
        steps = [
            _(
                "The dermatologist would like to talk with you in a video consultation. You will "
                "get a message with a time."
            )
        ]
        if video is not None and video.reason:
            steps.append(_("What it is for: %(reason)s") % {"reason": video.reason})
        return tuple(steps)
    if outcome == Review.Outcome.MORE_INFO:
        return (
            _(
                "The dermatologist needs more information. Read their question in the messages "
                "on your case and reply there."
            ),
        )
    if outcome == Review.Outcome.CLOSE:
        return (_("The case is closed. No further appointment is planned."),)
    return (_("No appointment is needed. Follow the advice above."),)


def emergency_line() -> str:
    """The fixed line on every summary: where to go when it cannot wait."""
    return _(
        "If you become very unwell, have trouble breathing, or your face or throat swells, call "
        "113 now. If it is urgent but not an emergency, call the out-of-hours service "
        "(legevakt) on 116117."
    )


class StaticOnlyFetcher(URLFetcher):
    """Serves our own static files to WeasyPrint and refuses everything else.

    The PDF must not reach out to the network (a tracking pixel or a slow server would leak that
    a patient opened an answer, or hang the worker), nor read arbitrary files from the disk.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=set(), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        prefix = PDF_BASE_URL.rstrip("/") + "/" + settings.STATIC_URL.strip("/") + "/"
        if not url.startswith(prefix):
            raise ValueError(f"refused to fetch {url!r}: only static files are served")
        relative = unquote(urlsplit(url).path[len(urlsplit(prefix).path) :])
        if not relative or ".." in relative.split("/"):
            raise ValueError(f"refused to fetch {url!r}")
        found = _static_path(relative)
        if found is None:
            raise ValueError(f"no static file {relative!r}")
        mime_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        with open(found, "rb") as handle:
            body = handle.read()
        return URLFetcherResponse(url, body=body, headers={"Content-Type": mime_type})


def _static_path(relative: str) -> str | None:
    """The file behind a static URL: collected (hashed names in production) or in an app."""
    try:
        if staticfiles_storage.exists(relative):
            return str(staticfiles_storage.path(relative))
    except NotImplementedError:  # a storage with no local files
        pass
    found = finders.find(relative)
    return found if isinstance(found, str) else None


def render_pdf(summary: Summary, *, context: dict[str, Any]) -> bytes:
    """The summary as an A4 PDF in the patient's language, with the guides appended."""
    with translation.override(summary.language):
        html = render_to_string(
            "review/summary_pdf.html",
            {**context, "summary": summary},
        )
    document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticOnlyFetcher())
    pdf = document.write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
