"""Who may see a case: persona × case × expected, as one table."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telederm.accounts.models import User
from telederm.cases import policies
from telederm.cases.models import Case

pytestmark = pytest.mark.django_db

PERSONAS = [
    "patient_user",
    "other_patient_user",
    "gp",
    "other_gp",
    "duty_nurse",
    "dermatologist",
    "coordinator",
    "outsider",
]


@pytest.mark.parametrize(
    ("sender", "sent", "may_view"),
    [
        # A patient's own case, sent: the patient and the clinic see it; nobody else.
        ("patient_user", True, {"patient_user", "duty_nurse", "dermatologist"}),
        # A patient's own draft: only the patient.
        ("patient_user", False, {"patient_user"}),
        # A GP's referral for the patient: the GP who sent it, the patient, the clinic.
        ("gp", True, {"gp", "patient_user", "duty_nurse", "dermatologist"}),
        # A GP's unsent referral: only that GP, not even the patient yet.
        ("gp", False, {"gp"}),
    ],
)
def test_who_may_view_a_case(
    request: pytest.FixtureRequest,
    make_case: Callable[..., Case],
    sender: str,
    sent: bool,
    may_view: set[str],
) -> None:
    people = {name: request.getfixturevalue(name) for name in PERSONAS}
    case = make_case(by=people[sender], submit=sent)
    for name, person in people.items():
        assert policies.can_view_case(person, case) is (name in may_view), name
        listed = policies.cases_visible_to(person).filter(pk=case.pk).exists()
        assert listed is (name in may_view), f"{name} (list)"


def test_an_inactive_user_sees_nothing(make_case: Callable[..., Case], patient_user: User) -> None:
    case = make_case(submit=True)
    patient_user.is_active = False
    assert not policies.can_view_case(patient_user, case)
    assert not policies.cases_visible_to(patient_user).exists()


@pytest.mark.parametrize(
    ("persona", "may_create"),
    [
        ("patient_user", True),
        ("gp", True),
        ("duty_nurse", False),
        ("dermatologist", False),
        ("coordinator", False),
        ("outsider", False),
    ],
)
def test_who_may_start_a_case(
    request: pytest.FixtureRequest, persona: str, may_create: bool
) -> None:
    assert policies.can_create_case(request.getfixturevalue(persona)) is may_create
