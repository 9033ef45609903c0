"""Who may see and change a case. Every case view and service asks one of these first.

The rules (issue 3, DESIGN.md): a patient sees their own cases; a sender sees the cases they
sent; duty nurses see the triage queue; dermatologists see the cases assigned to them and those
open to the pool; anyone else (coordinators, analysts, operators, outside professionals) sees a
case only through a time-limited grant. A duty nurse or dermatologist may open any other sent
case by giving a reason ("break the glass"), which is time-boxed, flagged and reviewed.

`access_basis` names *why* a person may open a case; the access log keeps it with every read.
"""

from __future__ import annotations

import enum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from telederm.accounts.models import User
from telederm.cases.models import BreakGlassAccess, Case, CaseGrant, CaseQuerySet
from telederm.cases.states import CaseStatus

AnyUser = User | AnonymousUser

# Sent cases that wait in the pool for any dermatologist, and those the duty nurse triages.
POOL_STATUSES = frozenset({CaseStatus.SUBMITTED, CaseStatus.TRIAGED})
# The duty nurse also follows emergencies and cases waiting for the patient's reply.
TRIAGE_STATUSES = frozenset(
    {
        CaseStatus.ESCALATED,
        CaseStatus.SUBMITTED,
        CaseStatus.TRIAGED,
        CaseStatus.INFO_REQUESTED,
    }
)


class Basis(enum.StrEnum):
    """Why a person may open a case; stored with each access-log entry."""

    OWN = "own"
    SENDER = "sender"
    ASSIGNED = "assigned"
    POOL = "pool"
    TRIAGE = "triage"
    GRANT = "grant"
    BREAK_GLASS = "break_glass"


# The bases that make a clinician part of the case's care (and so able to grant access to it).
CARE_BASES = frozenset({Basis.ASSIGNED, Basis.POOL, Basis.TRIAGE})


def _active(user: AnyUser) -> User | None:
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


def access_basis(user: AnyUser, case: Case) -> Basis | None:
    """Why this person may open this case, or None if they may not."""
    person = _active(user)
    if person is None:
        return None
    if person.is_patient:
        # A professional's unsent draft is their work in progress, not yet the patient's case.
        own = case.patient.user_id == person.pk
        return Basis.OWN if own and (not case.is_draft or case.created_by_id == person.pk) else None
    if case.created_by_id == person.pk:
        return Basis.SENDER
    if case.is_draft:
        return None
    if person.role == User.Role.DERMATOLOGIST:
        if case.assigned_to_id == person.pk:
            return Basis.ASSIGNED
        if case.status in POOL_STATUSES and case.assigned_to_id is None:
            return Basis.POOL
    if person.role == User.Role.DUTY_NURSE and case.status in TRIAGE_STATUSES:
        return Basis.TRIAGE
    if CaseGrant.objects.active().filter(case=case, grantee=person).exists():
        return Basis.GRANT
    if BreakGlassAccess.objects.active().filter(case=case, user=person).exists():
        return Basis.BREAK_GLASS
    return None


def can_view_case(user: AnyUser, case: Case) -> bool:
    """Whether this person may open this case."""
    return access_basis(user, case) is not None


def cases_visible_to(user: AnyUser, *, include_break_glass: bool = True) -> CaseQuerySet:
    """The cases this person may open (the same rules as `access_basis`, as one query).

    Programs (API tokens) leave out break-glass openings: those are for the person at the screen.
    """
    person = _active(user)
    if person is None:
        return Case.objects.none()
    if person.is_patient:
        return Case.objects.filter(patient__user=person).filter(
            ~Q(status=CaseStatus.DRAFT) | Q(created_by=person)
        )
    sent = ~Q(status=CaseStatus.DRAFT)
    rule = Q(created_by=person)
    if person.role == User.Role.DERMATOLOGIST:
        rule |= sent & (
            Q(assigned_to=person) | Q(status__in=POOL_STATUSES, assigned_to__isnull=True)
        )
    if person.role == User.Role.DUTY_NURSE:
        rule |= Q(status__in=TRIAGE_STATUSES)
    # Grants and break-glass openings are few: read them first and name the cases, because an OR
    # with a subquery arm keeps PostgreSQL from using any index (a scan of every case; see the
    # FHIR benchmark in docs/benchmarks.md: a Patient read went from 42 to 12 ms).
    opened = list(
        CaseGrant.objects.active().filter(grantee=person).values_list("case_id", flat=True)
    )
    if include_break_glass:
        opened += (
            BreakGlassAccess.objects.active().filter(user=person).values_list("case_id", flat=True)
        )
    if opened:
        rule |= sent & Q(pk__in=opened)
    return Case.objects.filter(rule)


def can_list_cases(user: AnyUser) -> bool:
    """The "My cases" page: patients, senders, and anyone holding a grant."""
    person = _active(user)
    if person is None:
        return False
    if person.is_patient or person.is_submitter or person.role == User.Role.EXTERNAL:
        return True
    return CaseGrant.objects.active().filter(grantee=person).exists()


def can_create_case(user: AnyUser) -> bool:
    """Patients with a record, and referring professionals, may start a case."""
    person = _active(user)
    if person is None:
        return False
    if person.is_patient:
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


def can_grant_access(user: AnyUser, case: Case) -> bool:
    """A duty nurse or dermatologist caring for a sent case may let an outsider see it."""
    person = _active(user)
    return (
        person is not None
        and person.is_clinical_staff
        and not case.is_draft
        and access_basis(person, case) in CARE_BASES
    )


def can_revoke_grant(user: AnyUser, grant: CaseGrant) -> bool:
    """Whoever gave a grant, or any clinician who could give one on that case, may end it."""
    person = _active(user)
    if person is None:
        return False
    return grant.granted_by_id == person.pk or can_grant_access(person, grant.case)


def can_break_glass(user: AnyUser, case: Case) -> bool:
    """A duty nurse or dermatologist without access to a sent case may open it with a reason."""
    person = _active(user)
    return (
        person is not None
        and person.is_clinical_staff
        and not case.is_draft
        and access_basis(person, case) is None
    )


# Secure messages (issue 5, ADR 0022). The patient side is the patient and the person who sent the
# case; the clinic side is whoever cares for it now, or has broken the glass to do so. Outside
# professionals with a grant read the thread but do not write in it: they give an opinion to the
# clinician who asked, not to the patient.
MESSAGE_CLINIC_BASES = frozenset({Basis.ASSIGNED, Basis.POOL, Basis.TRIAGE, Basis.BREAK_GLASS})
# The clinicians whose reading marks the patient side's messages read (a break-glass look does
# not: the person caring for the case must still see them as new).
MESSAGE_READER_BASES = frozenset({Basis.ASSIGNED, Basis.POOL, Basis.TRIAGE})
# No messages on cases never sent or taken back; a closed case takes them for a while (below).
_NO_MESSAGES = frozenset({CaseStatus.DRAFT, CaseStatus.WITHDRAWN})


def is_patient_side(user: AnyUser, case: Case) -> bool:
    """The patient, or the person who sent the case for them."""
    return access_basis(user, case) in {Basis.OWN, Basis.SENDER}


def can_send_message(user: AnyUser, case: Case, *, closed_window_open: bool = False) -> bool:
    """The patient side or a clinician caring for the case may write on a sent case.

    A closed case takes messages only while `closed_window_open` (the caller knows when it was
    closed: ADR 0022 — 30 days, and only while a dermatologist is assigned who can read them).
    """
    person = _active(user)
    if person is None or case.state in _NO_MESSAGES:
        return False
    if case.state == CaseStatus.CLOSED and not closed_window_open:
        return False
    basis = access_basis(person, case)
    if basis in {Basis.OWN, Basis.SENDER}:
        return True
    return person.is_clinical_staff and basis in MESSAGE_CLINIC_BASES


def can_attach_message_photos(user: AnyUser, case: Case) -> bool:
    """The patient side may send photos with a message while the case is open (not closed)."""
    return (
        case.state not in _NO_MESSAGES
        and case.state != CaseStatus.CLOSED
        and is_patient_side(user, case)
    )
