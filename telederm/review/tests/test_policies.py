"""Review policies as a table: persona × case state × step → allowed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.review import policies, services

pytestmark = pytest.mark.django_db

PERSONAS = ("dermatologist", "other_dermatologist", "duty_nurse", "gp", "patient_user", "outsider")


@pytest.fixture
def pool_case(make_case: Callable[..., Case]) -> Case:
    return make_case(submit=True)


@pytest.fixture
def taken_case(make_case: Callable[..., Case], dermatologist: User) -> Case:
    case = make_case(submit=True)
    return services.take_for_review(by=dermatologist, case=case, expected_version=case.version)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [(p, p in {"dermatologist", "other_dermatologist"}) for p in PERSONAS],
)
def test_any_dermatologist_may_take_a_pool_case(
    request: pytest.FixtureRequest, pool_case: Case, persona: str, allowed: bool
) -> None:
    person = request.getfixturevalue(persona)
    assert policies.can_take_for_review(person, pool_case) is allowed
    assert policies.can_sign(person, pool_case) is False, "nobody signs before taking"


@pytest.mark.parametrize(("persona", "allowed"), [(p, p == "dermatologist") for p in PERSONAS])
def test_only_the_assigned_dermatologist_saves_and_signs(
    request: pytest.FixtureRequest, taken_case: Case, persona: str, allowed: bool
) -> None:
    person = request.getfixturevalue(persona)
    assert policies.can_save_draft(person, taken_case) is allowed
    assert policies.can_sign(person, taken_case) is allowed
    assert policies.can_take_for_review(person, taken_case) is False


def test_an_inactive_dermatologist_can_do_nothing(taken_case: Case, dermatologist: User) -> None:
    dermatologist.is_active = False
    assert not policies.can_sign(dermatologist, taken_case)
    assert not policies.can_use_clinic(dermatologist)


@pytest.mark.parametrize(
    ("persona", "uses_clinic", "nurse"),
    [
        ("dermatologist", True, False),
        ("duty_nurse", True, True),
        ("gp", False, False),
        ("patient_user", False, False),
        ("coordinator", False, False),
    ],
)
def test_who_uses_the_clinic_and_who_is_sent_to_triage(
    request: pytest.FixtureRequest, persona: str, uses_clinic: bool, nurse: bool
) -> None:
    person = request.getfixturevalue(persona)
    assert policies.can_use_clinic(person) is uses_clinic
    assert policies.is_duty_nurse(person) is nurse


def test_the_dermatologists_queue_is_the_pool_and_their_own(
    pool_case: Case, taken_case: Case, dermatologist: User, other_dermatologist: User
) -> None:
    assert set(policies.review_queue_for(dermatologist)) == {pool_case, taken_case}
    assert set(policies.review_queue_for(other_dermatologist)) == {pool_case}
