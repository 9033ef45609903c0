"""Who may do each triage step: persona × step × case state, as a table."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.triage import policies

pytestmark = pytest.mark.django_db

PERSONAS = [
    "patient_user",
    "other_patient_user",
    "gp",
    "duty_nurse",
    "dermatologist",
    "coordinator",
    "outsider",
]

Check = Callable[[User, Case], bool]

STEPS: dict[str, Check] = {
    "claim": policies.can_claim,
    "priority": policies.can_set_priority,
    "note": policies.can_add_note,
    "info": policies.can_request_information,
    "self_care": policies.can_advise_self_care,
    "forward": policies.can_forward,
    "resolve": policies.can_resolve_escalation,
    "escalate": policies.can_escalate,
}

# Who may take each step on a freshly sent case (status submitted, unclaimed, unassigned).
ON_A_SENT_CASE = {
    "claim": {"duty_nurse"},
    "priority": {"duty_nurse"},
    "note": {"duty_nurse"},
    "info": {"duty_nurse"},
    "self_care": {"duty_nurse"},
    "forward": {"duty_nurse", "dermatologist"},
    "resolve": set(),
    "escalate": {"patient_user", "duty_nurse", "dermatologist"},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", list(STEPS))
def test_who_may_act_on_a_sent_case(
    request: pytest.FixtureRequest, make_case: Callable[..., Case], persona: str, step: str
) -> None:
    case = make_case(submit=True)
    user = request.getfixturevalue(persona)
    assert STEPS[step](user, case) is (persona in ON_A_SENT_CASE[step])


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("draft", set()),
        ("submitted", {"claim", "priority", "note", "info", "self_care", "forward", "escalate"}),
        ("triaged", {"priority", "note", "info", "self_care", "forward", "escalate"}),
        ("info_requested", {"claim", "priority", "note", "escalate"}),
        ("escalated", {"claim", "priority", "note", "resolve"}),
        ("in_review", set()),
        ("closed", set()),
    ],
)
def test_what_a_duty_nurse_may_do_by_state(
    make_case: Callable[..., Case], duty_nurse: User, status: str, allowed: set[str]
) -> None:
    case = make_case(submit=status != "draft")
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    assert {step for step, check in STEPS.items() if check(duty_nurse, case)} == allowed


def test_a_case_claimed_by_another_nurse_is_hers_alone(
    make_case: Callable[..., Case], duty_nurse: User, dermatologist: User
) -> None:
    other = User.objects.create_user("n2@telederm.example", "x", role=User.Role.DUTY_NURSE)
    case = make_case(submit=True)
    case.claimed_by = other
    assert not any(check(duty_nurse, case) for step, check in STEPS.items() if step != "escalate")
    assert policies.can_release(other, case) and not policies.can_release(duty_nurse, case)
    # A dermatologist's hand-over does not depend on the nurse's claim.
    assert policies.can_forward(dermatologist, case)


@pytest.mark.parametrize(
    ("persona", "queue", "alarms"),
    [
        ("duty_nurse", True, True),
        ("coordinator", False, True),
        ("dermatologist", False, False),
        ("patient_user", False, False),
        ("gp", False, False),
        ("outsider", False, False),
    ],
)
def test_who_sees_the_queue_and_the_alarms(
    request: pytest.FixtureRequest, persona: str, queue: bool, alarms: bool
) -> None:
    user = request.getfixturevalue(persona)
    assert policies.can_use_triage_queue(user) is queue
    assert policies.can_see_alarms(user) is alarms
    assert policies.can_acknowledge_alarm(user) is alarms


def test_an_inactive_nurse_may_do_nothing(make_case: Callable[..., Case], duty_nurse: User) -> None:
    duty_nurse.is_active = False
    case = make_case(submit=True)
    assert not policies.can_use_triage_queue(duty_nurse)
    assert not any(check(duty_nurse, case) for check in STEPS.values())
