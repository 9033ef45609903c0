"""Who may see and change a case. Every case view and service asks one of these first."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from telederm.accounts.models import User
from telederm.cases.models import Case, CaseQuerySet
from telederm.cases.states import CaseStatus

AnyUser = User | AnonymousUser


def _active(user: AnyUser) -> User | None:
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


def cases_visible_to(user: AnyUser) -> CaseQuerySet:
    """The cases this person may open: their own, those they sent, or the clinic's sent cases."""
    person = _active(user)
    if person is None:
        return Case.objects.none()
    if person.role == User.Role.PATIENT:
        # A professional's unsent draft is their work in progress, not yet the patient's case.
        return Case.objects.filter(patient__user=person).filter(
            ~Q(status=CaseStatus.DRAFT) | Q(created_by=person)
        )
    if person.role == User.Role.SUBMITTER:
        return Case.objects.filter(created_by=person)
    if person.is_clinical_staff:
        # Clinicians see sent cases, never someone's unsent draft.
        return Case.objects.exclude(status=CaseStatus.DRAFT)
    # Coordinators, analysts and operators see no identifiable clinical content.
    return Case.objects.none()


def can_view_case(user: AnyUser, case: Case) -> bool:
    """Whether this person may open this case."""
    person = _active(user)
    if person is None:
        return False
    if person.role == User.Role.PATIENT:
        return case.patient.user_id == person.pk and (
            not case.is_draft or case.created_by_id == person.pk
        )
    if person.role == User.Role.SUBMITTER:
        return case.created_by_id == person.pk
    if person.is_clinical_staff:
        return case.status != CaseStatus.DRAFT
    return False


def can_create_case(user: AnyUser) -> bool:
    """Patients with a record, and referring professionals, may start a case."""
    person = _active(user)
    if person is None:
        return False
    if person.role == User.Role.PATIENT:
        return hasattr(person, "patient")
    return person.role == User.Role.SUBMITTER


def can_edit_draft(user: AnyUser, case: Case) -> bool:
    """Only the person who started a case changes it, and only before it is sent."""
    person = _active(user)
    return person is not None and case.is_draft and case.created_by_id == person.pk


def can_submit(user: AnyUser, case: Case) -> bool:
    """The person who started the case sends it."""
    person = _active(user)
    return person is not None and case.created_by_id == person.pk


def can_withdraw(user: AnyUser, case: Case) -> bool:
    """The patient or the sender may withdraw a case nobody has started to review."""
    person = _active(user)
    if person is None or case.status not in {CaseStatus.DRAFT, CaseStatus.SUBMITTED}:
        return False
    return case.created_by_id == person.pk or case.patient.user_id == person.pk
