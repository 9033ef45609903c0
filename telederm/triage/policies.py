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
