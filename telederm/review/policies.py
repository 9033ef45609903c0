"""Who may review and answer a case."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from telederm.accounts.models import User
from telederm.cases.models import Case, CaseQuerySet
from telederm.cases.policies import POOL_STATUSES, TRIAGE_STATUSES
from telederm.cases.states import CaseStatus

AnyUser = User | AnonymousUser


def _dermatologist(user: AnyUser) -> User | None:
    if isinstance(user, User) and user.is_active and user.role == User.Role.DERMATOLOGIST:
        return user
    return None


def can_use_clinic(user: AnyUser) -> bool:
    """The clinic workspace is for duty nurses and dermatologists."""
    return isinstance(user, User) and user.is_active and user.is_clinical_staff


def review_queue_for(user: AnyUser) -> CaseQuerySet:
    """The clinician's queue, soonest due first: for a dermatologist the pool and their own open
    cases, for a duty nurse the cases to triage; empty for anyone outside the clinic."""
    if not isinstance(user, User) or not can_use_clinic(user):
        return Case.objects.none()
    waiting = Case.objects.awaiting_review()
    if user.role == User.Role.DERMATOLOGIST:
        waiting = waiting.filter(
            Q(assigned_to=user) | Q(status__in=POOL_STATUSES, assigned_to__isnull=True)
        )
    else:
        waiting = waiting.filter(status__in=TRIAGE_STATUSES)
    return waiting.select_related("patient", "assigned_to", "created_by")


def can_take_for_review(user: AnyUser, case: Case) -> bool:
    """A dermatologist takes a sent case nobody else has taken."""
    person = _dermatologist(user)
    return (
        person is not None
        and case.status in {CaseStatus.SUBMITTED, CaseStatus.TRIAGED}
        and case.assigned_to_id in {None, person.pk}
    )


def can_answer(user: AnyUser, case: Case) -> bool:
    """Only the dermatologist who took the case writes and signs its review."""
    person = _dermatologist(user)
    return (
        person is not None
        and case.status == CaseStatus.IN_REVIEW
        and case.assigned_to_id == person.pk
    )


def can_save_draft(user: AnyUser, case: Case) -> bool:
    """The assigned dermatologist saves drafts while the case is in review."""
    return can_answer(user, case)


def can_sign(user: AnyUser, case: Case) -> bool:
    """Only the assigned dermatologist signs; a duty nurse never does."""
    return can_answer(user, case)


def is_duty_nurse(user: AnyUser) -> bool:
    """Duty nurses work from the triage queue, not the dermatologist's."""
    return isinstance(user, User) and user.is_active and user.role == User.Role.DUTY_NURSE
