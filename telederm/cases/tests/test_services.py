"""Case services: every step one transaction, checked, logged, with nothing half-written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases import services
from telederm.cases.models import Case, CaseEvent
from telederm.cases.states import CaseStatus
from telederm.core import clock
from telederm.core.calendar import OSLO
from telederm.core.errors import ChangedMeanwhile

pytestmark = pytest.mark.django_db

RECEIPT = "telederm.cases.tasks.send_receipt"


def test_a_patient_sends_a_case_and_it_gets_a_due_time(make_case: Callable[..., Case]) -> None:
    case = make_case()
    with clock.frozen_at(dt.datetime(2026, 11, 23, 9, 0, tzinfo=OSLO)):
        sent = services.submit_case(by=case.created_by, case=case, expected_version=case.version)
    assert sent.status == CaseStatus.SUBMITTED
    assert sent.submitted_at == dt.datetime(2026, 11, 23, 9, 0, tzinfo=OSLO)
    # Routine: 80 working hours = 10 working days of 8 hours, counted from 09:00 Monday.
    assert sent.due_at == dt.datetime(2026, 12, 7, 9, 0, tzinfo=OSLO)
    assert [e.action for e in sent.events.all()] == ["created", "photo_added", "submitted"]


def test_sending_queues_the_receipt_in_the_same_transaction(make_case: Callable[..., Case]) -> None:
    case = make_case()
    services.submit_case(by=case.created_by, case=case, expected_version=case.version)
    task = DBTaskResult.objects.get(task_path="telederm.cases.tasks.send_receipt")
    assert task.args_kwargs["kwargs"] == {"case_uuid": str(case.uuid)}


def test_a_rolled_back_send_leaves_no_task_and_no_change(make_case: Callable[..., Case]) -> None:
    case = make_case()
    with pytest.raises(RuntimeError, match="rollback"), transaction.atomic():
        services.submit_case(by=case.created_by, case=case, expected_version=case.version)
        raise RuntimeError("rollback")
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT
    assert not DBTaskResult.objects.filter(task_path=RECEIPT).exists()


def test_a_case_without_photos_cannot_be_sent(make_case: Callable[..., Case]) -> None:
    case = make_case(photos=0)
    with pytest.raises(services.CaseIncomplete, match="at least one photo"):
        services.submit_case(by=case.created_by, case=case, expected_version=case.version)
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT


def test_a_second_send_is_refused_and_changes_nothing(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    with pytest.raises(services.CaseAlreadySent, match="already been sent"):
        services.submit_case(by=case.created_by, case=case, expected_version=case.version)
    assert case.events.filter(action=CaseEvent.Action.SUBMITTED).count() == 1
    assert DBTaskResult.objects.filter(task_path=RECEIPT).count() == 1


def test_a_change_made_meanwhile_is_not_overwritten(make_case: Callable[..., Case]) -> None:
    case = make_case()
    stale_version = case.version
    services.update_draft(
        by=case.created_by,
        case=case,
        expected_version=stale_version,
        answers={"complaint": "Changed in another tab"},
    )
    with pytest.raises(ChangedMeanwhile, match="Someone else changed this case"):
        services.submit_case(by=case.created_by, case=case, expected_version=stale_version)
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT
    assert case.complaint == "Changed in another tab"


def test_a_sent_case_can_no_longer_be_edited(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    with pytest.raises(services.CaseAlreadySent):
        services.update_draft(
            by=case.created_by,
            case=case,
            expected_version=case.version,
            answers={"complaint": "late edit"},
        )


def test_a_referral_needs_the_patients_consent(
    gp: User, other_patient_user: User, make_case: Callable[..., Case]
) -> None:
    case = make_case(by=gp, patient=other_patient_user.patient, patient_consents=False)
    with pytest.raises(services.CaseIncomplete, match="patient agrees"):
        services.submit_case(by=gp, case=case, expected_version=case.version)


def test_a_patient_cannot_start_a_case_for_someone_else(
    patient_user: User, other_patient_user: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.start_case(
            by=patient_user, patient=other_patient_user.patient, answers={"complaint": "x"}
        )
    assert not Case.objects.exists()


def test_only_the_sender_can_send(make_case: Callable[..., Case], other_patient_user: User) -> None:
    case = make_case()
    with pytest.raises(PermissionDenied):
        services.submit_case(by=other_patient_user, case=case, expected_version=case.version)


def test_every_write_is_in_the_access_log(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    actions = list(AccessEvent.objects.filter(case_uuid=case.uuid).values_list("action", "kind"))
    assert actions == [("case.create", "write"), ("photo.add", "write"), ("case.submit", "write")]
    assert set(AccessEvent.objects.values_list("patient_uuid", flat=True)) == {case.patient.uuid}


def test_withdrawing_a_sent_case_takes_it_out_of_the_queue(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    services.withdraw_case(by=case.created_by, case=case, expected_version=case.version)
    assert not Case.objects.awaiting_review().exists()


def test_a_refused_referral_registers_no_patient(gp: User) -> None:
    from conftest import synthetic_number
    from telederm.patients.models import Patient
    from telederm.patients.services import parse_identifier

    identifier = parse_identifier(synthetic_number(1961, 4, 9))
    with pytest.raises(ValueError, match="not questionnaire fields"):
        services.start_referral(
            by=gp,
            identifier=identifier,
            patient_name="Liv Andersen",
            answers={"complaint": "x", "unknown_field": 1},
        )
    assert not Patient.objects.filter(identifier=identifier.value).exists()
