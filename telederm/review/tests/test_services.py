"""Review services: one dermatologist per case, a signed answer, the patient and sender told."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from conftest import answer
from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.review import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dermatologist_takes_and_answers_a_case(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    assert (case.status, case.assigned_to) == (CaseStatus.IN_REVIEW, dermatologist)
    answer(case, dermatologist)
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED
    assert case.review.advice == "Keep an eye on it."
    assert case.answered_at is not None


def test_a_colleague_cannot_take_a_case_already_taken(
    make_case: Callable[..., Case], dermatologist: User, other_dermatologist: User
) -> None:
    case = make_case(submit=True)
    taken = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    with pytest.raises(services.ReviewRefused, match="colleague has already taken"):
        services.take_for_review(by=other_dermatologist, case=taken, expected_version=taken.version)
    with pytest.raises(PermissionDenied):
        answer(taken, other_dermatologist)


@pytest.mark.parametrize("persona", ["duty_nurse", "gp", "patient_user"])
def test_only_a_dermatologist_answers(
    request: pytest.FixtureRequest, make_case: Callable[..., Case], persona: str
) -> None:
    case = make_case(submit=True)
    with pytest.raises(PermissionDenied):
        services.take_for_review(
            by=request.getfixturevalue(persona), case=case, expected_version=case.version
        )


def test_an_empty_answer_is_refused_and_nothing_is_saved(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    with pytest.raises(services.ReviewRefused, match="assessment and advice"):
        services.answer_case(
            by=dermatologist,
            case=case,
            expected_version=case.version,
            assessment="  ",
            diagnosis="",
            advice="",
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert not hasattr(case, "review")


def test_the_worker_tells_patient_and_sender_without_clinical_content(
    make_case: Callable[..., Case], gp: User, patient_user: User, dermatologist: User
) -> None:
    case = make_case(by=gp, submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    answer(case, dermatologist)
    call_command("worker", batch=True, interval=0.01)
    recipients = sorted(m.to[0] for m in mail.outbox)
    # The receipt to the GP on sending, then the answer notice to the GP and to the patient.
    assert recipients == sorted([gp.email, gp.email, patient_user.email])
    for message in mail.outbox:
        assert "Naevus" not in message.body
        assert "Keep an eye on it" not in message.body
