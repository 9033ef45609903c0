"""A referral from outside becomes a sent case, as if the GP had used the web form (ADR 0026).

Two channels bring referrals: a KITH Henvisning or Dialogmelding through the message network
(`channel="kith"`, no signed-in person: the message's sender is the referrer) and a FHIR referral
Bundle (`channel="fhir"`, sent by the token's user). Both end here, in one transaction: the
referring professional and their organisation are found or recorded, the patient is found or
registered, the draft is opened with the questionnaire the message gives, its photos go through
the photo pipeline, and the case is sent with the same due time and the same 10-working-day
assessment deadline as any referral (pasient- og brukerrettighetsloven § 2-2).

What differs from the web form, and why:
- A referrer known only from a message gets an account that cannot sign in (inactive, no
  password, a placeholder e-mail address): the case needs its sender, and the GP's later
  referrals find the same account by HPR number. The network vouches for the sender of each
  message (NHN authenticates the sending system and its HER-id), so the inbox acts in that
  person's name while it files their referral (`_acting`); the account itself stays inactive.
- The questions a message does not answer (body site, since when, change, itching, pain) are
  left blank: the model has no "not stated" choice, and choosing "none" or "about the same"
  would put words in the GP's mouth. The pages show them as "Not stated", and the texts to
  other health services as "Ikke oppgitt" (compose.py).
- A photo's kind (overview, close-up, dermoscopy) is read from the words the sender wrote in the
  attachment's description or file name (`photo_kind`); overview when they name none.
- `patient_consents` is set: a GP refers with the patient's consent, which is the legal basis of
  a referral (helsepersonelloven § 45 and pasient- og brukerrettighetsloven § 2-2); the message
  format has no field for it because sending one implies it.
- Photos are not yet processed when the case is sent (the worker does that, `process_now=False`):
  a web sender waits for the check, a message cannot. A broken image never loses the referral: it
  is left out, and the caller reports it (the AppRec says "OK with errors"). Attachments that are
  not images (a PDF letter) have no place in the case; they are named in "Anything else".
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from telederm.accounts.models import Organisation, User
from telederm.audit.services import record
from telederm.cases import policies as case_policies
from telederm.cases import services as case_services
from telederm.cases import tasks as case_tasks
from telederm.cases.models import Case, CaseEvent
from telederm.cases.states import CaseStatus
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError
from telederm.interop.kith import model as kith
from telederm.patients.identifiers import InvalidIdentifier, PersonIdentifier
from telederm.patients.models import Patient
from telederm.patients.oidc import placeholder_email
from telederm.patients.services import parse_identifier
from telederm.photos.models import Photo
from telederm.photos.processing import PhotoRejected, sniff
from telederm.photos.services import PhotoNotAdded, UploadRefused, add_photo

CHANNELS = {
    "kith": "received as a KITH message through the national health network",
    "fhir": "received through the FHIR API",
}
# What the photo pipeline takes (photos.processing); anything else is left out at once, so that
# the sender hears about it in the receipt and not only later on the case page.
PHOTO_FORMATS = frozenset({"jpeg", "png", "webp", "heif"})
TEXT_LIMIT = 2000  # The questionnaire's text fields (Case.complaint, Case.other_information).
HPR_NUMBER = re.compile(r"[0-9]{1,9}")

# AppRec error codes (kodeverk 8221, telederm.interop.kith.errors) a refusal carries.
NO_IDENTIFIER = "E30"
BAD_IDENTIFIER = "E31"
NO_NAME = "E32"
# "Pasientopplysninger er utilstrekkelige": the name does not match the registered person.
PATIENT_MISMATCH = "E36"
OTHER = "X99"


class ReferralRefused(UserFacingError):
    """The referral cannot become a case; nothing was written. `code` is its AppRec error code."""

    def __init__(self, message: str, *, code: str = OTHER) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LeftOut:
    """An attachment that did not become a photo of the case, and why (a short code)."""

    filename: str
    mime_type: str
    reason: str
    """A photos.processing rejection code ("not_an_image", "damaged", ...) or "not_a_photo"."""

    @property
    def is_photo(self) -> bool:
        """An image the sender meant as a photo, which we could not use: an error to report."""
        return self.reason != "not_a_photo"


@dataclass(frozen=True)
class Registered:
    case: Case
    photos: tuple[Photo, ...]
    left_out: tuple[LeftOut, ...]

    @property
    def photo_problems(self) -> tuple[LeftOut, ...]:
        return tuple(item for item in self.left_out if item.is_photo)


@transaction.atomic
def receive_referral(
    *,
    by: User | None,
    referrer: kith.Person,
    organisation: kith.Organisation,
    patient: kith.Patient,
    reason: str,
    clinical_information: str,
    priority: str = Case.Priority.ROUTINE,
    cancer_pathway: bool = False,
    photos: Sequence[kith.Attachment] = (),
    channel: str,
    request: HttpRequest | None = None,
) -> Registered:
    """Turn a referral from outside into a sent case, and say which attachments were left out.

    `by` is the signed-in or token user (FHIR); None for a message, whose referrer is then found
    by HPR number or recorded. Raises ReferralRefused (with an AppRec code) for a patient who
    cannot be identified, PermissionDenied for a user who may not refer.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if priority not in Case.Priority.values:
        raise ValueError(f"unknown priority {priority!r}")
    identifier = _identifier_of(patient)
    _check_same_person(identifier.value, patient.full_name)
    user = by if by is not None else referrer_account(referrer, organisation)
    actor = _acting(user) if by is None else user
    if not case_policies.can_create_case(actor):
        raise PermissionDenied
    answers = {
        "complaint": _clip(reason.strip() or _("Referral from a health professional.")),
        "other_information": _clip(clinical_information.strip()),
        "patient_consents": True,
        # Not stated in a referral; see the module's docstring.
        "body_site": "",
        "onset": "",
        "change": "",
        "itch": "",
        "pain": "",
    }
    case = case_services.start_referral(
        by=actor,
        identifier=identifier,
        patient_name=patient.full_name,
        answers=answers,
        request=request,
    )
    case.priority = priority
    case.pathway = Case.Pathway.PK_MELANOMA if cancer_pathway else Case.Pathway.NONE
    case.save(update_fields=["priority", "pathway", "updated_at"])
    added, left_out = _add_photos(actor, case, photos)
    case = _send(actor, case, left_out=left_out, channel=channel, request=request)
    return Registered(case=case, photos=tuple(added), left_out=tuple(left_out))


def _names(full_name: str) -> set[str]:
    return {part for part in re.split(r"[\W_]+", full_name.casefold()) if len(part) > 1}


def _check_same_person(identifier: str, full_name: str) -> None:
    """Refuse a referral whose patient name shares no name with the person we have registered
    under that identity number: a mistyped number (or a sender guessing one) must not put a case
    on someone else's record. Middle names, a changed surname or a second first name still
    match on the other names. The refusal names nobody: the sender learns nothing from it.
    """
    known = Patient.objects.filter(identifier=identifier).values_list("full_name", flat=True)
    registered = known.first()
    if registered is None or not full_name.strip():
        return
    if not _names(full_name) & _names(registered):
        raise ReferralRefused(
            _(
                "The patient's name does not match the person registered with this identity "
                "number. Check the number and the name, and send the referral again."
            ),
            code=PATIENT_MISMATCH,
        )


def referrer_account(referrer: kith.Person, organisation: kith.Organisation) -> User:
    """The referring professional's account: found by HPR number, else recorded, inactive.

    Inside the caller's transaction. An account recorded here cannot sign in (no password, a
    placeholder address that receives no mail); it exists so that the case has a sender.
    """
    office = _organisation(organisation)
    hpr = referrer.hpr_number.strip()
    if not HPR_NUMBER.fullmatch(hpr):
        hpr = ""
    if hpr:
        # Only a referring professional of the office the message came from: an HPR number alone
        # (printed on every prescription) must not let a message act in someone's name.
        known = (
            User.objects.filter(hpr_number=hpr, role=User.Role.SUBMITTER, organisation=office)
            .select_related("organisation")
            .first()
        )
        if known is not None:
            return known
    else:
        # Without an HPR number, the same name at the same office is the same person.
        known = User.objects.filter(
            role=User.Role.SUBMITTER,
            organisation=office,
            hpr_number="",
            is_active=False,
            full_name=referrer.full_name,
        ).first()
        if known is not None:
            return known
    return User.objects.create_user(
        placeholder_email(),
        None,  # An unusable password: this account cannot sign in.
        full_name=referrer.full_name or _("Referring health professional"),
        role=User.Role.SUBMITTER,
        title=referrer.title[:100],
        organisation=office,
        hpr_number=hpr,
        is_active=False,
    )


def _organisation(organisation: kith.Organisation) -> Organisation:
    """The referrer's organisation by HER-id, recorded as a GP office the first time.

    A message does not say what kind of organisation sent it; GP offices send nearly all
    referrals to a dermatology clinic, and an operator can correct the kind.
    """
    if organisation.her_id is not None:
        found = Organisation.objects.filter(her_id=organisation.her_id).first()
    else:
        found = Organisation.objects.filter(her_id__isnull=True, name=organisation.name).first()
    if found is not None:
        return found
    return Organisation.objects.create(
        name=organisation.name[:200] or _("Unnamed organisation"),
        kind=Organisation.Kind.GP_OFFICE,
        her_id=organisation.her_id,
        organisation_number=organisation.organisation_number[:9],
    )


def _acting(user: User) -> User:
    """The referrer as the case services see them while their message is filed.

    The network has authenticated the sender of the message, so their referral is theirs to send
    even though their account cannot sign in. A copy is marked active for the policies; it is
    never saved, so the stored account stays inactive.
    """
    if user.is_active:
        return user
    acting = copy.copy(user)
    acting.is_active = True
    return acting


def _identifier_of(patient: kith.Patient) -> PersonIdentifier:
    if not patient.full_name:
        raise ReferralRefused(_("The referral does not name the patient."), code=NO_NAME)
    if not patient.identifier.strip():
        raise ReferralRefused(
            _("The referral does not give the patient's fødselsnummer or D-nummer."),
            code=NO_IDENTIFIER,
        )
    try:
        return parse_identifier(patient.identifier)
    except InvalidIdentifier as refusal:
        raise ReferralRefused(str(refusal), code=BAD_IDENTIFIER) from None


def _add_photos(
    actor: User, case: Case, attachments: Sequence[kith.Attachment]
) -> tuple[list[Photo], list[LeftOut]]:
    added: list[Photo] = []
    left_out: list[LeftOut] = []
    for attachment in attachments:
        kind = sniff(attachment.data)
        if not attachment.mime_type.lower().startswith("image/") and kind not in PHOTO_FORMATS:
            left_out.append(LeftOut(attachment.filename, attachment.mime_type, "not_a_photo"))
            continue
        if kind not in PHOTO_FORMATS:
            reason = "not_an_image" if kind == "unknown" else "unsupported"
            left_out.append(LeftOut(attachment.filename, attachment.mime_type, reason))
            continue
        try:
            # A savepoint: a refused photo leaves the case as it was, and the referral goes on.
            with transaction.atomic():
                photo = add_photo(
                    by=actor,
                    case=case,
                    upload=io.BytesIO(attachment.data),
                    kind=photo_kind(attachment.description, attachment.filename),
                    process_now=False,
                )
        except PhotoRejected as refusal:
            left_out.append(LeftOut(attachment.filename, attachment.mime_type, refusal.code))
            continue
        except (PhotoNotAdded, UploadRefused):
            left_out.append(LeftOut(attachment.filename, attachment.mime_type, "too_many"))
            continue
        if photo.is_rejected:
            left_out.append(LeftOut(attachment.filename, attachment.mime_type, photo.rejection))
        else:
            added.append(photo)
    return added, left_out


# Words a sender writes in an attachment's description or file name for each kind of photo, in
# bokmål and English (also the ASCII spellings "naer", "oe" that file names get). The first kind
# whose word occurs wins, dermoscopy before close-up: "nærbilde dermatoskopi" is a dermoscopy.
_KIND_WORDS: tuple[tuple[Photo.Kind, tuple[str, ...]], ...] = (
    (
        Photo.Kind.DERMOSCOPY,
        ("dermatosk", "dermosk", "dermatosc", "dermosc", "epilumin", "dermatoscop", "dermoscop"),
    ),
    (
        Photo.Kind.CLOSE_UP,
        (
            "nærbilde",
            "nærfoto",
            "naerbilde",
            "naerfoto",
            "close up",
            "closeup",
            "detalj",
            "detail",
            "makro",
            "macro",
        ),
    ),
    (Photo.Kind.OVERVIEW, ("oversikt", "overview")),
)


def photo_kind(description: str, filename: str = "") -> Photo.Kind:
    """The kind of photo an attachment's description or file name names; overview otherwise.

    Pure (no database): a KITH attachment's Description/Id as the sender wrote it ("Nærbilde",
    "dermatoskopi_1.jpg", "Close-up of the lesion") or what fhir/referral.py takes from a FHIR
    Media (its bodySite text or content title). The description is read first; the file name
    only when the description names no kind.
    """
    for text in (description, filename):
        words = re.sub(r"[\s_\-.]+", " ", text.casefold())
        for kind, names in _KIND_WORDS:
            if any(name in words for name in names):
                return kind
    return Photo.Kind.OVERVIEW


def _send(
    actor: User,
    case: Case,
    *,
    left_out: Sequence[LeftOut],
    channel: str,
    request: HttpRequest | None,
) -> Case:
    """Send the draft as `submit_case` does, without waiting for its photos to be checked."""
    case = case_services.lock_case(case=case, expected_version=None)
    if left_out:
        lines = [_("Attachments not kept in the case:")]
        lines += [f"- {item.filename or '?'} ({item.mime_type or '?'})" for item in left_out]
        note = _clip("\n".join(lines))
        room = TEXT_LIMIT - len(note) - 2
        kept = _clip(case.other_information, limit=room) if room > 0 else ""
        case.other_information = f"{kept}\n\n{note}".strip()
    now = clock.now()
    case.submitted_at = now
    case.due_at = case_services.due_time(priority=case.priority, start=now)
    case.assessment_deadline = case_services.assessment_deadline(received=now)
    case_services.transition_case(
        by=actor,
        case=case,
        to=CaseStatus.SUBMITTED,
        action=CaseEvent.Action.SUBMITTED,
        detail=CHANNELS[channel],
    )
    record(
        actor=actor,
        action="case.submit",
        patient=case.patient,
        case=case,
        request=request,
        reason=channel,
    )
    # The same receipt as the web form's; an account recorded from a message has a placeholder
    # address, to which nothing is sent (its receipt is the AppRec).
    outbox.enqueue(case_tasks.send_receipt, case_uuid=str(case.uuid))
    return case


def _clip(text: str, *, limit: int = TEXT_LIMIT) -> str:
    """At most `limit` characters, cut at a word where one is near and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    if " " in head[-40:]:
        head = head[: head.rindex(" ")]
    return f"{head}…"
