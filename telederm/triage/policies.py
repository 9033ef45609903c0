"""Who may do what in triage: escalate, claim, set priority, forward, advise self-care."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.cases.policies import Basis, access_basis
from telederm.cases.states import TRANSITIONS, CaseStatus

AnyUser = User | AnonymousUser

# Everyone who may raise the alarm on a case they can open: the patient (through the symptom
# checker), the sender, and the clinicians caring for it.
ESCALATING_BASES = frozenset(
    {Basis.OWN, Basis.SENDER, Basis.TRIAGE, Basis.ASSIGNED, Basis.POOL, Basis.BREAK_GLASS}
)


def can_escalate(user: AnyUser, case: Case) -> bool:
    """Anyone caring for or owning a case may mark it an emergency, in a state that allows it."""
    return (
        CaseStatus.ESCALATED in TRANSITIONS[case.state]
        and access_basis(user, case) in ESCALATING_BASES
    )


def is_duty_nurse(user: AnyUser) -> bool:
    return isinstance(user, User) and user.is_active and user.role == User.Role.DUTY_NURSE


def receives_alarms(user: AnyUser) -> bool:
    """Duty nurses and coordinators are alarmed by emergencies, breaches and unowned cases."""
    return (
        isinstance(user, User)
        and user.is_active
        and user.role in {User.Role.DUTY_NURSE, User.Role.COORDINATOR}
    )


def _active(user: AnyUser) -> User | None:
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


# A duty nurse triages cases that have arrived and not yet gone to a dermatologist, emergencies,
# and cases waiting for the patient's reply (to add a note or change the priority meanwhile).
CLAIMABLE = frozenset({CaseStatus.SUBMITTED, CaseStatus.ESCALATED, CaseStatus.INFO_REQUESTED})
PRIORITISABLE = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.TRIAGED, CaseStatus.INFO_REQUESTED, CaseStatus.ESCALATED}
)
NOTABLE = frozenset(
    {
        CaseStatus.SUBMITTED,
        CaseStatus.TRIAGED,
        CaseStatus.INFO_REQUESTED,
        CaseStatus.ESCALATED,
        CaseStatus.IN_REVIEW,
    }
)
# Asking the sender and advising self-care happen before a dermatologist has the case.
BEFORE_REVIEW = frozenset({CaseStatus.SUBMITTED, CaseStatus.TRIAGED})
# A dermatologist may hand a case on (to the pool or a colleague) until they have answered it.
FORWARDABLE_BY_DERMATOLOGIST = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.TRIAGED, CaseStatus.IN_REVIEW}
)


def can_use_triage_queue(user: AnyUser) -> bool:
    """The triage queue, with patients' names, is the duty nurses' workplace."""
    return is_duty_nurse(user)


def can_see_alarms(user: AnyUser) -> bool:
    """Duty nurses and coordinators see the open alarms (coordinators without patient names)."""
    return receives_alarms(user)


def can_acknowledge_alarm(user: AnyUser) -> bool:
    """Whoever is alarmed may say that they have seen an alarm and are acting on it."""
    return receives_alarms(user)


def _nurse_on(user: AnyUser, case: Case) -> User | None:
    """The user, if a duty nurse who may triage this case now: nobody else has claimed it."""
    person = _active(user)
    if person is None or person.role != User.Role.DUTY_NURSE:
        return None
    if access_basis(person, case) != Basis.TRIAGE:
        return None
    if case.claimed_by_id is not None and case.claimed_by_id != person.pk:
        return None
    return person


def can_claim(user: AnyUser, case: Case) -> bool:
    """A duty nurse claims an unclaimed case waiting for triage."""
    return (
        case.state in CLAIMABLE and case.claimed_by_id is None and _nurse_on(user, case) is not None
    )


def can_release(user: AnyUser, case: Case) -> bool:
    """The nurse who claimed a case may give it back to the queue."""
    person = _active(user)
    return person is not None and case.claimed_by_id == person.pk


def can_set_priority(user: AnyUser, case: Case) -> bool:
    """A duty nurse sets the priority and pathway of a case that is not yet in review."""
    return case.state in PRIORITISABLE and _nurse_on(user, case) is not None


def can_add_note(user: AnyUser, case: Case) -> bool:
    """A duty nurse writes triage notes for the dermatologist while the case is open."""
    return case.state in NOTABLE and _nurse_on(user, case) is not None


def can_request_information(user: AnyUser, case: Case) -> bool:
    """A duty nurse asks the sender for better photos or more information before review."""
    return case.state in BEFORE_REVIEW and _nurse_on(user, case) is not None


def can_advise_self_care(user: AnyUser, case: Case) -> bool:
    """A duty nurse may close a case that needs no dermatologist with self-care advice."""
    return case.state in BEFORE_REVIEW and _nurse_on(user, case) is not None


def can_forward(user: AnyUser, case: Case) -> bool:
    """A duty nurse forwards a triaged case; a dermatologist may hand on one they could review."""
    person = _active(user)
    if person is None:
        return False
    if person.role == User.Role.DERMATOLOGIST:
        return case.state in FORWARDABLE_BY_DERMATOLOGIST and access_basis(person, case) in {
            Basis.ASSIGNED,
            Basis.POOL,
        }
    return case.state in BEFORE_REVIEW and _nurse_on(person, case) is not None


def can_resolve_escalation(user: AnyUser, case: Case) -> bool:
    """A duty nurse who has handled an emergency closes it or sends it on for review."""
    return case.state == CaseStatus.ESCALATED and _nurse_on(user, case) is not None
