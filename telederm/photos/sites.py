"""The body sites a sender can choose for a lesion, each coded in SNOMED CT.

Pure data and rules: no ORM, so the lesion form, the body map, the FHIR mapper and the tests all
read the same list.

Codes
-----
A site's `code` is a SNOMED CT concept id (system http://snomed.info/sct) from the body-structure
hierarchy, as DICOM uses for anatomic sites; it is what `Lesion.body_site` stores. "Skin of ..."
concepts are used where they exist, as DICOM's dermatology context group does. Every code was
checked against at least one of these published value sets:

  [D] DICOM PS3.16 CID 4029 "Dermatology Anatomic Site" (2024 edition, as transcribed in
      github.com/bvdh/dicom-terminology-in-fhir, ValueSet-dicom-cid-4029-DermatologyAnatomicSite).
  [W] HL7 FHIR Skin and Wound Assessment IG, ValueSet woundAnatomicLocationVS
      (github.com/HL7/fhir-skin-wound-ig, source/resources/valueset/woundAnatomicLocationVS.xml).
  [B] Belgian eHealth FHIR ValueSet be-vs-diagnostic-imaging-indication (the "Skin structure of"
      shoulder, elbow, forearm, wrist concepts).
  [S] 57999000 |Structure of sole of foot|: neither [D] nor [W] has a whole-sole concept (only its
      borders, the forefoot and the heel), so this region concept is used. Seen in one public list
      only: confirm it on a terminology server before the first FHIR export.

Every code also passes SNOMED's own check digit (Verhoeff) and partition test; see
tests/test_sites.py, which catches a mistyped digit.

Sides
-----
Laterality is not part of the code: as in DICOM (CID 244, Laterality) it is a separate qualifier,
`left`, `right` or `midline`, always the person's own side. A paired site (an ear, a hand) needs
left or right; a midline site (the nose, the genitals) needs midline; a broad site that spans the
midline (the chest, the back) takes any of the three.

Views
-----
Which pictures of the body map (`photos/_body_map.html`) show the site: the body from the front or
the back, a close-up of the head, or the hands and feet. A test checks that the map draws each site
in exactly these views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SNOMED_SYSTEM = "http://snomed.info/sct"

LEFT, RIGHT, MIDLINE = "left", "right", "midline"
LATERALITIES = (LEFT, RIGHT, MIDLINE)
# SNOMED CT qualifier values for the side (DICOM CID 244); a midline site has no qualifier.
LATERALITY_SNOMED = {LEFT: "7771000", RIGHT: "24028007"}

PAIRED = (LEFT, RIGHT)
MIDLINE_ONLY = (MIDLINE,)
ANY_SIDE = (LEFT, RIGHT, MIDLINE)

FRONT, BACK, HEAD, HANDS_FEET = "front", "back", "head", "hands_feet"
VIEWS = (FRONT, BACK, HEAD, HANDS_FEET)

REGIONS: dict[str, StrOrPromise] = {
    "head": _("Head and neck"),
    "trunk": _("Body"),
    "arm": _("Arms and hands"),
    "leg": _("Legs and feet"),
}


@dataclass(frozen=True)
class BodySite:
    """One place on the skin a lesion can be, with its SNOMED CT code."""

    code: str
    label: StrOrPromise
    # The concept's English term in the source value set, for FHIR's `display` and for review.
    term: str
    sides: tuple[str, ...]
    views: tuple[str, ...]
    region: str
    source: str

    @property
    def is_paired(self) -> bool:
        return self.sides == PAIRED

    @property
    def is_midline(self) -> bool:
        return self.sides == MIDLINE_ONLY


def _site(
    code: str,
    label: StrOrPromise,
    term: str,
    sides: tuple[str, ...],
    views: tuple[str, ...],
    region: str,
    source: str,
) -> BodySite:
    return BodySite(code, label, term, sides, views, region, source)


# Head to toe: the order of the list the sender chooses from.
SITES: tuple[BodySite, ...] = (
    _site("43067004", _("Scalp"), "Skin of scalp", ANY_SIDE, (BACK, HEAD), "head", "D W"),
    _site("68698007", _("Forehead"), "Skin of forehead", ANY_SIDE, (HEAD,), "head", "D W"),
    _site("362916000", _("Around the eye"), "Skin of eye region", PAIRED, (HEAD,), "head", "D W"),
    _site("113179006", _("Nose"), "Skin of nose", MIDLINE_ONLY, (HEAD,), "head", "D W"),
    _site("36141000", _("Cheek"), "Skin of cheek", PAIRED, (HEAD,), "head", "D"),
    _site("1902009", _("Ear"), "Skin of ear", PAIRED, (BACK, HEAD), "head", "D W"),
    _site("88089004", _("Lips"), "Skin of lip", MIDLINE_ONLY, (HEAD,), "head", "D W"),
    _site("23747009", _("Chin"), "Skin of chin", MIDLINE_ONLY, (HEAD,), "head", "D W"),
    _site("244097004", _("Jaw"), "Skin of jawline", PAIRED, (HEAD,), "head", "D"),
    _site(
        "11584001",
        _("Front of the neck"),
        "Skin of anterior portion of neck",
        ANY_SIDE,
        (FRONT, HEAD),
        "head",
        "D",
    ),
    _site(
        "4658004", _("Back of the neck"), "Skin of nuchal region", ANY_SIDE, (BACK,), "head", "D"
    ),
    _site(
        "244106003",
        _("Chest"),
        "Skin of anterior surface of thorax",
        ANY_SIDE,
        (FRONT,),
        "trunk",
        "D",
    ),
    _site("75093004", _("Abdomen"), "Skin of abdomen", ANY_SIDE, (FRONT,), "trunk", "D W"),
    _site(
        "244111001",
        _("Upper back"),
        "Skin of posterior surface of thorax",
        ANY_SIDE,
        (BACK,),
        "trunk",
        "D",
    ),
    _site("113182001", _("Lower back"), "Skin of lower back", ANY_SIDE, (BACK,), "trunk", "D"),
    _site("76261009", _("Armpit"), "Skin of axilla", PAIRED, (FRONT,), "trunk", "D W"),
    _site("22180002", _("Buttock"), "Skin of buttock", PAIRED, (BACK,), "trunk", "D W"),
    _site("39687006", _("Groin"), "Skin of inguinal region", PAIRED, (FRONT,), "trunk", "D W"),
    _site(
        "60944009",
        _("Genitals"),
        "Skin of external genitalia",
        MIDLINE_ONLY,
        (FRONT,),
        "trunk",
        "D",
    ),
    _site("76552005", _("Shoulder"), "Skin of shoulder", PAIRED, (FRONT, BACK), "arm", "W B"),
    _site("371309009", _("Upper arm"), "Skin of upper arm", PAIRED, (FRONT, BACK), "arm", "W"),
    _site("74757004", _("Elbow"), "Skin of elbow", PAIRED, (FRONT, BACK), "arm", "W B"),
    _site("5742000", _("Forearm"), "Skin of forearm", PAIRED, (FRONT, BACK), "arm", "W B"),
    _site("24785000", _("Wrist"), "Skin of wrist", PAIRED, (FRONT, BACK), "arm", "W B"),
    _site("70887009", _("Palm"), "Skin of palm of hand", PAIRED, (FRONT, HANDS_FEET), "arm", "D"),
    _site(
        "281642007",
        _("Back of the hand"),
        "Skin of part of dorsal surface of hand",
        PAIRED,
        (BACK, HANDS_FEET),
        "arm",
        "D",
    ),
    _site(
        "244169007",
        _("Fingers"),
        "Skin of digit of hand",
        PAIRED,
        (FRONT, BACK, HANDS_FEET),
        "arm",
        "D",
    ),
    _site("770809003", _("Fingernails"), "Nail unit of finger", PAIRED, (HANDS_FEET,), "arm", "D"),
    _site("49812005", _("Hip"), "Skin of hip", PAIRED, (FRONT, BACK), "leg", "W"),
    _site("371305003", _("Thigh"), "Skin of thigh", PAIRED, (FRONT, BACK), "leg", "W"),
    _site("63464009", _("Knee"), "Skin of knee", PAIRED, (FRONT, BACK), "leg", "W"),
    _site("75144006", _("Lower leg"), "Skin of lower leg", PAIRED, (FRONT, BACK), "leg", "W"),
    _site("67269001", _("Ankle"), "Skin of ankle", PAIRED, (FRONT, BACK), "leg", "W"),
    _site(
        "60496002", _("Top of the foot"), "Skin of foot", PAIRED, (FRONT, HANDS_FEET), "leg", "D W"
    ),
    _site(
        "57999000",
        _("Sole of the foot"),
        "Structure of sole of foot",
        PAIRED,
        (HANDS_FEET,),
        "leg",
        "S",
    ),
    _site("84607009", _("Heel"), "Skin of heel", PAIRED, (BACK, HANDS_FEET), "leg", "D W"),
    _site("52034004", _("Toes"), "Skin of toe", PAIRED, (FRONT, HANDS_FEET), "leg", "D W"),
    _site("770805009", _("Toenails"), "Nail unit of toe", PAIRED, (HANDS_FEET,), "leg", "D"),
)

_BY_CODE = {site.code: site for site in SITES}


def by_code(code: str) -> BodySite | None:
    """The site with this code, or None for a code that is not (or no longer) offered."""
    return _BY_CODE.get(code)


def choices() -> list[tuple[str, str]]:
    """(code, label) pairs for a ChoiceField, head to toe, in the active language.

    Call it when the form is built (or pass the function itself as `choices`), not at import.
    """
    return [(site.code, str(site.label)) for site in SITES]


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The same choices in <optgroup>s: head and neck, body, arms and hands, legs and feet."""
    return [
        (str(name), [(s.code, str(s.label)) for s in SITES if s.region == region])
        for region, name in REGIONS.items()
    ]


def is_valid(code: str, laterality: str) -> bool:
    """Whether the site exists and takes this side: left or right for paired sites, midline for
    midline sites, any of the three for broad sites across the midline."""
    site = by_code(code)
    return site is not None and laterality in site.sides


def describe(code: str, laterality: str) -> str:
    """The site and side in words for people, e.g. "Shoulder, left"; an unknown code as itself."""
    site = by_code(code)
    if site is None:
        return code
    if site.is_midline:
        return str(site.label)
    pattern = {
        LEFT: gettext("%(site)s, left"),
        RIGHT: gettext("%(site)s, right"),
        MIDLINE: gettext("%(site)s, middle"),
    }.get(laterality)
    return pattern % {"site": site.label} if pattern else str(site.label)
