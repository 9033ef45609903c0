"""The dermatologist's review: take a case, save drafts, sign off with an outcome.

A `Review` is a draft until `signed_at` is set. Every step locks the case, checks the version the
dermatologist saw and writes the access log; signing moves the case by its outcome and queues the
notice to the patient side. A signed review is never changed (ADR 0020).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import lock_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError
from telederm.review import codes, guides, policies, signals, tasks
from telederm.review.models import Diagnosis, Prescription, Referral, Review, VideoRequest

# Free-text and choice fields of a review a draft may set.
DRAFT_FIELDS = ("assessment", "diagnosis", "advice", "safety_net", "advice_gp", "guides", "outcome")

# The self-care guide library (telederm/review/guides/<language>/<slug>.md).
GUIDE_SLUGS = guides.SLUGS

Outcome = Review.Outcome

# Where each signed outcome sends the case, and the history entry it writes.
OUTCOME_STEPS: dict[str, tuple[CaseStatus, CaseEvent.Action]] = {
    Outcome.ADVICE: (CaseStatus.ANSWERED, CaseEvent.Action.ANSWERED),
    Outcome.REFERRAL: (CaseStatus.REFERRED, CaseEvent.Action.REFERRED),
    Outcome.VIDEO: (CaseStatus.VIDEO_SCHEDULED, CaseEvent.Action.VIDEO_REQUESTED),
    Outcome.CLOSE: (CaseStatus.CLOSED, CaseEvent.Action.CLOSED),
    Outcome.MORE_INFO: (CaseStatus.INFO_REQUESTED, CaseEvent.Action.INFO_REQUESTED),
}


class ReviewRefused(UserFacingError):
    """The review step cannot be taken in the case's present state."""


class ReviewIncomplete(ReviewRefused):
    """The review lacks what its outcome needs before it can be signed."""


@dataclass(frozen=True)
class DiagnosisChoice:
    """A code picked in the workspace; its title is looked up, never taken from the form."""

    system: str
    code: str
    is_primary: bool = False


@dataclass(frozen=True)
class PrescriptionLine:
    drug: str
    dosage: str
    strength: str = ""
    duration: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class ReferralDetails:
    priority: str
    receiver: str
    reason: str
    pathway: str = ""
    # The receiver's HER-id when picked from the address register: the referral then also
    # leaves as a Henvisning 2.0 (the interop app reacts to review_signed).
    receiver_her_id: int | None = None


@transaction.atomic
def take_for_review(
    *, by: User, case: Case, expected_version: int, request: HttpRequest | None = None
) -> Case:
    """Assign a sent case to this dermatologist so that no colleague answers it twice."""
    case = lock_case(case=case, expected_version=expected_version)
    if not policies.can_take_for_review(by, case):
        if case.assigned_to_id not in {None, by.pk}:
            raise ReviewRefused(_("A colleague has already taken this case."))
        raise PermissionDenied
    case.assigned_to = by
    transition_case(
        by=by, case=case, to=CaseStatus.IN_REVIEW, action=CaseEvent.Action.REVIEW_STARTED
    )
    record(actor=by, action="case.take", patient=case.patient, case=case, request=request)
    return case


@transaction.atomic
def save_draft(
    *,
    by: User,
    case: Case,
    expected_version: int,
    diagnoses: Iterable[DiagnosisChoice] | None = None,
    prescriptions: Iterable[PrescriptionLine] | None = None,
    referral: ReferralDetails | None = None,
    video_reason: str | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Review:
    """Save the review as a draft, as often as the assigned dermatologist likes.

    Lists given (diagnoses, prescriptions) replace the saved ones; None leaves them as they are.
    The case's version moves on, so a second tab cannot overwrite this draft unseen.
    """
    case = _lock_for_review(by=by, case=case, expected_version=expected_version)
    review = _apply(
        by=by,
        case=case,
        fields=fields,
        diagnoses=diagnoses,
        prescriptions=prescriptions,
        referral=referral,
        video_reason=video_reason,
    )
    case.version += 1
    case.save(update_fields=["version", "updated_at"])
    record(
        actor=by,
        action="case.review.save",
        patient=case.patient,
        case=case,
        obj=review,
        request=request,
    )
    return review


@transaction.atomic
def sign_review(
    *,
    by: User,
    case: Case,
    expected_version: int,
    diagnoses: Iterable[DiagnosisChoice] | None = None,
    prescriptions: Iterable[PrescriptionLine] | None = None,
    referral: ReferralDetails | None = None,
    video_reason: str | None = None,
    info_request: str = "",
    request: HttpRequest | None = None,
    **fields: Any,
) -> Review:
    """Save what is given, check it against the outcome, sign, and move the case on.

    advice → answered, referral → referred (a PK pathway marks the case), video → video scheduled,
    close → closed. "More information" sends `info_request` to the patient side and leaves the
    review a draft: the dermatologist signs once the answer has come back.
    """
    case = _lock_for_review(by=by, case=case, expected_version=expected_version)
    review = _apply(
        by=by,
        case=case,
        fields=fields,
        diagnoses=diagnoses,
        prescriptions=prescriptions,
        referral=referral,
        video_reason=video_reason,
    )
    if review.outcome == Outcome.MORE_INFO:
        return _request_info(by=by, case=case, review=review, text=info_request, request=request)
    _check_complete(review, require_diagnosis=review.outcome == Outcome.ADVICE)
    return _sign(by=by, case=case, review=review, request=request)


@transaction.atomic
def answer_case(
    *,
    by: User,
    case: Case,
    expected_version: int,
    assessment: str,
    diagnosis: str,
    advice: str,
    request: HttpRequest | None = None,
) -> Review:
    """Save and sign an answer with the advice outcome in one step.

    The short path of the first workspace (and of tests and the demo): a plain-words diagnosis is
    enough here; `sign_review` is where a coded diagnosis is required.
    """
    case = _lock_for_review(by=by, case=case, expected_version=expected_version)
    review = _apply(
        by=by,
        case=case,
        fields={
            "assessment": assessment,
            "diagnosis": diagnosis,
            "advice": advice,
            "outcome": Outcome.ADVICE,
        },
    )
    _check_complete(review, require_diagnosis=False)
    return _sign(by=by, case=case, review=review, request=request)


def _lock_for_review(*, by: User, case: Case, expected_version: int) -> Case:
    case = lock_case(case=case, expected_version=expected_version)
    allowed = policies.can_answer(by, case)
    signed = Review.objects.filter(case=case, signed_at__isnull=False).first()
    # A signed review is the record: nobody changes it, not even its author (ADR 0020).
    if signed is not None and (allowed or signed.author_id == by.pk):
        raise ReviewRefused(_("This review has been signed and can no longer be changed."))
    if not allowed:
        raise PermissionDenied
    return case


def _apply(
    *,
    by: User,
    case: Case,
    fields: Mapping[str, Any],
    diagnoses: Iterable[DiagnosisChoice] | None = None,
    prescriptions: Iterable[PrescriptionLine] | None = None,
    referral: ReferralDetails | None = None,
    video_reason: str | None = None,
) -> Review:
    """Write the draft's fields and parts onto the (locked) case's review, creating it if needed."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValueError(f"not review fields: {sorted(unknown)}")
    review = Review.objects.filter(case=case).first() or Review(case=case, author=by)
    review.author = by
    for name, value in fields.items():
        if name == "guides":
            value = _guides(value)
        elif name == "outcome":
            if value not in Outcome.values:
                raise ValueError(f"unknown outcome {value!r}")
        else:
            value = str(value or "").strip()
        setattr(review, name, value)
    review.save()
    if diagnoses is not None:
        _replace_diagnoses(review, list(diagnoses))
    if prescriptions is not None:
        review.prescriptions.all().delete()
        Prescription.objects.bulk_create(
            Prescription(
                review=review,
                drug=line.drug.strip(),
                strength=line.strength.strip(),
                dosage=line.dosage.strip(),
                duration=line.duration.strip(),
                instructions=line.instructions.strip(),
            )
            for line in prescriptions
            if line.drug.strip()
        )
    if referral is not None:
        if referral.priority not in Case.Priority.values:
            raise ReviewRefused(_("Choose the referral's priority."))
        if referral.pathway not in Case.Pathway.values:
            raise ValueError(f"unknown pathway {referral.pathway!r}")
        Referral.objects.update_or_create(
            review=review,
            defaults={
                "priority": referral.priority,
                "pathway": referral.pathway,
                "receiver": referral.receiver.strip(),
                "reason": referral.reason.strip(),
                "receiver_her_id": referral.receiver_her_id,
            },
        )
    if video_reason is not None:
        if video_reason.strip():
            VideoRequest.objects.update_or_create(
                review=review, defaults={"reason": video_reason.strip()}
            )
        else:
            VideoRequest.objects.filter(review=review).delete()
    return review


def _guides(value: Any) -> list[str]:
    slugs = [str(slug) for slug in (value or [])]
    unknown = [slug for slug in slugs if slug not in GUIDE_SLUGS]
    if unknown:
        raise ReviewRefused(_("Unknown self-care guide: %(slug)s") % {"slug": unknown[0]})
    # Library order, each once.
    return [slug for slug in GUIDE_SLUGS if slug in slugs]


def _replace_diagnoses(review: Review, choices: list[DiagnosisChoice]) -> None:
    """Replace the review's coded diagnoses; unknown codes are refused, titles are official."""
    rows: dict[tuple[str, str], Diagnosis] = {}
    for choice in choices:
        if choice.system not in Diagnosis.System.values:
            raise ReviewRefused(_("Choose ICD-10 or ICPC-2 for each diagnosis."))
        code = codes.lookup(choice.system, choice.code)
        if code is None:
            raise ReviewRefused(
                _("%(code)s is not a known %(system)s code.")
                % {"code": choice.code, "system": Diagnosis.System(choice.system).label}
            )
        key = (choice.system, code.code)
        if key in rows:
            rows[key].is_primary |= choice.is_primary
            continue
        # The record is Norwegian: keep the official bokmål title, English where none exists.
        rows[key] = Diagnosis(
            review=review,
            system=choice.system,
            code=code.code,
            title=code.title_nb or code.title_en,
            is_primary=choice.is_primary,
        )
    if rows and not any(row.is_primary for row in rows.values()):
        next(iter(rows.values())).is_primary = True
    review.diagnoses.all().delete()
    Diagnosis.objects.bulk_create(rows.values())


def _check_complete(review: Review, *, require_diagnosis: bool) -> None:
    """Refuse to sign a review that lacks what its outcome needs (nothing is saved then)."""
    if not review.assessment or not review.advice:
        raise ReviewIncomplete(_("Write both an assessment and advice to the patient."))
    if require_diagnosis and not review.diagnoses.exists():
        raise ReviewIncomplete(_("Add at least one coded diagnosis (ICD-10 or ICPC-2)."))
    if review.outcome == Outcome.REFERRAL:
        referral = Referral.objects.filter(review=review).first()
        if referral is None or not (referral.priority and referral.receiver and referral.reason):
            raise ReviewIncomplete(
                _("A referral needs a priority, where to refer to, and the reason.")
            )
    if review.outcome == Outcome.VIDEO and not VideoRequest.objects.filter(review=review).exists():
        raise ReviewIncomplete(_("Say what the video consultation is for."))


def _sign(*, by: User, case: Case, review: Review, request: HttpRequest | None) -> Review:
    now = clock.now()
    # Parts left over from another outcome tried in the draft do not go with the signed answer.
    if review.outcome != Outcome.REFERRAL:
        Referral.objects.filter(review=review).delete()
    if review.outcome != Outcome.VIDEO:
        VideoRequest.objects.filter(review=review).delete()
    review.signed_at = now
    review.save(update_fields=["signed_at", "updated_at"])
    to, action = OUTCOME_STEPS[review.outcome]
    case.answered_at = now
    if review.outcome == Outcome.REFERRAL:
        referral = Referral.objects.get(review=review)
        if referral.pathway:
            case.pathway = referral.pathway
    transition_case(by=by, case=case, to=to, action=action)
    # The advice, in the patient's thread too (and to connected systems a FHIR Communication).
    Message.objects.create(
        case=case,
        author=by,
        from_clinic=True,
        kind=Message.Kind.ANSWER,
        body="\n\n".join(part for part in (review.advice, review.safety_net) if part.strip()),
        guides=review.guides,
        sent_at=now,
    )
    record(
        actor=by, action="case.answer", patient=case.patient, case=case, obj=review, request=request
    )
    outbox.enqueue(tasks.notify_answer, case_uuid=str(case.uuid))
    signals.review_signed.send(sender=Review, review=review, case=case, by=by)
    return review


def _request_info(
    *, by: User, case: Case, review: Review, text: str, request: HttpRequest | None
) -> Review:
    """Ask the patient side for more; the case waits for their reply, the review stays a draft."""
    body = text.strip()
    if not body:
        raise ReviewIncomplete(_("Write what you need from the patient or the sender."))
    Message.objects.create(
        case=case,
        author=by,
        from_clinic=True,
        kind=Message.Kind.INFO_REQUEST,
        body=body,
        guides=review.guides,
    )
    to, action = OUTCOME_STEPS[Outcome.MORE_INFO]
    transition_case(by=by, case=case, to=to, action=action)
    record(
        actor=by,
        action="case.info_request",
        patient=case.patient,
        case=case,
        obj=review,
        request=request,
    )
    outbox.enqueue(tasks.notify_info_request, case_uuid=str(case.uuid))
    return review
