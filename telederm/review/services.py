"""Taking a case for review and answering it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case, CaseEvent
from telederm.cases.services import lock_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError
from telederm.review import policies, tasks
from telederm.review.models import Review


class ReviewRefused(UserFacingError):
    """The review step cannot be taken in the case's present state."""


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
    """Sign the answer and send it to the patient and, for a referral, to the sender."""
    case = lock_case(case=case, expected_version=expected_version)
    if not policies.can_answer(by, case):
        raise PermissionDenied
    if not assessment.strip() or not advice.strip():
        raise ReviewRefused(_("Write both an assessment and advice to the patient."))
    now = clock.now()
    review = Review.objects.create(
        case=case,
        author=by,
        assessment=assessment.strip(),
        diagnosis=diagnosis.strip(),
        advice=advice.strip(),
        signed_at=now,
    )
    case.answered_at = now
    transition_case(by=by, case=case, to=CaseStatus.ANSWERED, action=CaseEvent.Action.ANSWERED)
    record(
        actor=by, action="case.answer", patient=case.patient, case=case, obj=review, request=request
    )
    outbox.enqueue(tasks.notify_answer, case_uuid=str(case.uuid))
    return review
