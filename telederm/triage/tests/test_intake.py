"""The symptom checker's services: keeping a check, escalating its case, starting a case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from conftest import synthetic_number
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.patients.services import parse_identifier
from telederm.triage import engine, intake
from telederm.triage.models import Alarm, SymptomCheck
from telederm.triage.questions import RED_FLAGS

NO_RED_FLAGS = dict.fromkeys(RED_FLAGS, False)
MOLE = {
    **NO_RED_FLAGS,
    "problem": "mole",
    "body_site": "back",
    "duration": "months",
    "change": "growing",
    "mole_changed_size": True,
    "mole_irregular_shape": True,
    "mole_irregular_colour": False,
    "mole_diameter_7mm": False,
    "mole_inflamed": False,
    "mole_oozing": False,
    "mole_sensation": False,
    "bleeds": False,
    "impact": "mild",
    "treatment_tried": "none",
}
QUESTIONNAIRE = {
    "complaint": "A mole on my back has grown.",
    "body_site": "back",
    "onset": "months",
    "change": "growing",
    "itch": "none",
    "pain": "none",
}


def document(age: int = 54, **answers: Any) -> dict[str, Any]:
    return {"format": engine.FORMAT, "age_years": age, "answers": answers}


@pytest.mark.django_db
def test_a_patients_check_is_kept_with_its_result_and_logged(patient_user: User) -> None:
    outcome = intake.record_check(by=patient_user, data=document(**MOLE))
    check = SymptomCheck.objects.get()
    assert check == outcome.check
    assert check.patient == patient_user.patient
    assert check.disposition == "teledermatology"
    assert check.result["flags"] == ["pk"]
    assert check.rules_version == engine.load_rules().version
    assert check.answers["answers"]["problem"] == "mole"
    event = AccessEvent.objects.get(action="symptom_check.create")
    assert event.actor == patient_user
    assert not outcome.escalated


@pytest.mark.django_db
def test_invalid_answers_keep_nothing(patient_user: User) -> None:
    with pytest.raises(engine.InvalidAnswers):
        intake.record_check(by=patient_user, data=document(problem="mole"))
    assert not SymptomCheck.objects.exists()


@pytest.mark.django_db
def test_an_emergency_for_a_sent_case_escalates_it_and_alarms_the_duty_nurse(
    make_case: Callable[..., Case], patient_user: User, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    outcome = intake.record_check(
        by=patient_user,
        data=document(rf_cellulitis_fever=True),
        case_uuid=case.uuid,
    )
    case.refresh_from_db()
    assert outcome.escalated
    assert case.status == Case.Status.ESCALATED
    assert outcome.check.case == case
    assert Alarm.objects.get(case=case).kind == Alarm.Kind.EMERGENCY
    call_command("worker", batch=True, interval=0.01)
    assert duty_nurse.email in [m.to[0] for m in mail.outbox]


@pytest.mark.django_db
def test_an_emergency_for_a_draft_sends_it_at_once(
    make_case: Callable[..., Case], patient_user: User
) -> None:
    case = make_case()
    outcome = intake.record_check(
        by=patient_user, data=document(rf_face_swelling_breathing=True), case_uuid=case.uuid
    )
    case.refresh_from_db()
    assert outcome.escalated
    assert case.status == Case.Status.ESCALATED and case.submitted_at is not None


@pytest.mark.django_db
def test_a_check_for_a_case_that_is_not_an_emergency_only_links_it(
    make_case: Callable[..., Case], patient_user: User
) -> None:
    case = make_case(submit=True)
    outcome = intake.record_check(by=patient_user, data=document(**MOLE), case_uuid=case.uuid)
    case.refresh_from_db()
    assert not outcome.escalated
    assert case.status == Case.Status.SUBMITTED
    assert outcome.check.case == case


@pytest.mark.django_db
def test_a_closed_case_is_not_escalated_but_the_emergency_result_stands(
    make_case: Callable[..., Case], patient_user: User
) -> None:
    case = make_case()
    case.status = Case.Status.WITHDRAWN
    case.save()
    outcome = intake.record_check(
        by=patient_user, data=document(rf_blisters_mucosa=True), case_uuid=case.uuid
    )
    assert outcome.assessment.disposition == "emergency"
    assert not outcome.escalated
    assert not Alarm.objects.exists()


@pytest.mark.django_db
def test_nobody_checks_against_someone_elses_case(
    make_case: Callable[..., Case], other_patient_user: User
) -> None:
    case = make_case(submit=True)
    with pytest.raises(PermissionDenied):
        intake.record_check(
            by=other_patient_user, data=document(rf_cellulitis_fever=True), case_uuid=case.uuid
        )
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED
    assert not SymptomCheck.objects.exists()


@pytest.mark.django_db
def test_a_case_started_from_a_check_takes_its_priority_and_pathway(patient_user: User) -> None:
    check = intake.record_check(by=patient_user, data=document(**MOLE)).check
    case = intake.start_case_from_check(by=patient_user, check=check, answers=QUESTIONNAIRE)
    assert case.is_draft
    assert case.priority == Case.Priority.URGENT
    assert case.pathway == Case.Pathway.PK_MELANOMA
    check.refresh_from_db()
    assert check.case == case
    assert AccessEvent.objects.filter(
        action="symptom_check.start_case", case_uuid=case.uuid
    ).exists()
    with pytest.raises(intake.CaseAlreadyStarted):
        intake.start_case_from_check(by=patient_user, check=check, answers=QUESTIONNAIRE)
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_gp_refers_a_patient_from_a_check(gp: User) -> None:
    answers = {**MOLE, "mole_changed_size": False}  # 2 points: a routine case
    check = intake.record_check(by=gp, data=document(**answers)).check
    assert check.patient is None
    assert not AccessEvent.objects.filter(action="symptom_check.create").exists()
    case = intake.start_case_from_check(
        by=gp,
        check=check,
        answers={**QUESTIONNAIRE, "patient_consents": True},
        identifier=parse_identifier(synthetic_number(1970, 1, 1)),
        patient_name="Kari Nordmann",
    )
    assert case.priority == Case.Priority.ROUTINE and case.pathway == ""
    assert case.created_by == gp and case.patient.full_name == "Kari Nordmann"
    check.refresh_from_db()
    assert check.patient == case.patient


@pytest.mark.django_db
def test_no_case_from_a_self_care_result_or_from_someone_elses_check(
    patient_user: User, other_patient_user: User
) -> None:
    mole = {**MOLE, "mole_changed_size": False, "mole_irregular_shape": False}
    self_care = intake.record_check(by=patient_user, data=document(**mole)).check
    assert self_care.disposition == "self_care"
    with pytest.raises(PermissionDenied):
        intake.start_case_from_check(by=patient_user, check=self_care, answers=QUESTIONNAIRE)
    other = intake.record_check(by=patient_user, data=document(**MOLE)).check
    with pytest.raises(PermissionDenied):
        intake.start_case_from_check(by=other_patient_user, check=other, answers=QUESTIONNAIRE)
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_the_questionnaire_is_prefilled_from_the_check(patient_user: User) -> None:
    check = intake.record_check(by=patient_user, data=document(**MOLE)).check
    assert intake.questionnaire_from(check) == {
        "body_site": "back",
        "onset": "months",
        "change": "growing",
    }
