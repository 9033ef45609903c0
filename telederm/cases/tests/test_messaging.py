"""Secure messages on a case: who may write, the info-request reply, reading, notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import transaction

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases import messaging, policies
from telederm.cases.access import break_glass, grant_access
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import lock_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.cases.tasks import clinic_recipients, patient_side_recipients
from telederm.core import clock, sms

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
SECRET = "my melanoma question 4711"


def _move(case: Case, by: User, to: CaseStatus, action: CaseEvent.Action, **fields: object) -> Case:
    with transaction.atomic():
        case = lock_case(case=case, expected_version=None)
        for name, value in fields.items():
            setattr(case, name, value)
        return transition_case(by=by, case=case, to=to, action=action)


def ask_for_info(case: Case, nurse: User) -> Case:
    """What the duty nurse's or dermatologist's request for information leaves behind."""
    Message.objects.create(
        case=case,
        author=nurse,
        from_clinic=True,
        kind=Message.Kind.INFO_REQUEST,
        body="Please send a sharper close-up.",
    )
    return _move(case, nurse, CaseStatus.INFO_REQUESTED, CaseEvent.Action.INFO_REQUESTED)


def run_worker() -> None:
    call_command("worker", batch=True, interval=0.01)


def test_patient_writes_on_a_sent_case(make_case: MakeCase, patient_user: User) -> None:
    case = make_case(submit=True)
    message = messaging.send_message(by=patient_user, case=case, body="  It itches more now.  ")
    assert message.from_clinic is False
    assert message.body == "It itches more now."
    assert message.kind == Message.Kind.MESSAGE
    assert case.events.filter(action=CaseEvent.Action.MESSAGE).count() == 1
    entry = AccessEvent.objects.get(action="case.message.send")
    assert entry.object_uuid == message.uuid
    assert entry.basis == "own"


def test_the_duty_nurse_writes_from_the_clinic(make_case: MakeCase, duty_nurse: User) -> None:
    case = make_case(submit=True)
    message = messaging.send_message(by=duty_nurse, case=case, body="How long has it itched?")
    assert message.from_clinic is True
    assert AccessEvent.objects.get(action="case.message.send").basis == "triage"


def test_patient_reply_to_an_info_request_sends_the_case_back(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = ask_for_info(make_case(submit=True), duty_nurse)
    version = case.version
    later = clock.now() + dt.timedelta(days=3)
    with clock.frozen_at(later):
        messaging.send_message(by=patient_user, case=case, body="Here is more: it started in May.")
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert case.version == version + 1
    assert case.due_at is not None and case.due_at > later
    event = case.events.get(action=CaseEvent.Action.INFO_PROVIDED)
    assert (event.from_status, event.to_status) == ("info_requested", "submitted")
    assert not case.events.filter(action=CaseEvent.Action.MESSAGE).exists()


def test_a_clinic_message_on_an_info_requested_case_keeps_waiting_for_the_patient(
    make_case: MakeCase, duty_nurse: User
) -> None:
    case = ask_for_info(make_case(submit=True), duty_nurse)
    messaging.send_message(by=duty_nurse, case=case, body="A photo with a ruler helps too.")
    case.refresh_from_db()
    assert case.status == CaseStatus.INFO_REQUESTED


def test_the_sender_of_a_referral_replies_for_the_patient(
    make_case: MakeCase, gp: User, duty_nurse: User
) -> None:
    case = ask_for_info(make_case(by=gp, submit=True), duty_nurse)
    messaging.send_message(by=gp, case=case, body="The patient uses no medicines.")
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED


@pytest.mark.parametrize(
    "persona", ["other_patient_user", "outsider", "coordinator", "other_dermatologist"]
)
def test_people_outside_the_case_cannot_write(
    make_case: MakeCase, persona: str, request: pytest.FixtureRequest, dermatologist: User
) -> None:
    case = make_case(submit=True)
    Case.objects.filter(pk=case.pk).update(assigned_to=dermatologist, status="in_review")
    case.refresh_from_db()
    person = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        messaging.send_message(by=person, case=case, body="Hello")
    assert not Message.objects.exists()


def test_a_grantee_reads_but_does_not_write(make_case: MakeCase, duty_nurse: User) -> None:
    case = make_case(submit=True)
    grant = grant_access(
        by=duty_nurse,
        case=case,
        hpr_number="1234567",
        email="kirurg@example.no",
        full_name="Kari Kirurg",
        purpose="Second opinion",
        days=2,
    )
    assert policies.can_view_case(grant.grantee, case)
    assert not messaging.can_send(grant.grantee, case)
    with pytest.raises(PermissionDenied):
        messaging.send_message(by=grant.grantee, case=case, body="Looks benign")


def test_break_glass_lets_a_clinician_write(
    make_case: MakeCase, other_dermatologist: User, dermatologist: User
) -> None:
    case = make_case(submit=True)
    Case.objects.filter(pk=case.pk).update(assigned_to=dermatologist, status="in_review")
    case.refresh_from_db()
    break_glass(by=other_dermatologist, case=case, reason="Covering for a sick colleague today")
    message = messaging.send_message(by=other_dermatologist, case=case, body="I cover today.")
    assert message.from_clinic is True


def test_no_messages_on_drafts_or_withdrawn_cases(make_case: MakeCase, patient_user: User) -> None:
    draft = make_case()
    with pytest.raises(PermissionDenied):
        messaging.send_message(by=patient_user, case=draft, body="Hello")
    sent = _move(
        make_case(submit=True), patient_user, CaseStatus.WITHDRAWN, CaseEvent.Action.WITHDRAWN
    )
    with pytest.raises(PermissionDenied):
        messaging.send_message(by=patient_user, case=sent, body="Hello")


def test_an_empty_message_is_refused(make_case: MakeCase, patient_user: User) -> None:
    case = make_case(submit=True)
    with pytest.raises(messaging.MessageRefused):
        messaging.send_message(by=patient_user, case=case, body="   \n ")
    with pytest.raises(messaging.MessageRefused):
        messaging.send_message(by=patient_user, case=case, body="x" * 5001)
    assert not Message.objects.exists()


def _closed_after_answer(case: Case, dermatologist: User) -> Case:
    case = _move(
        case,
        dermatologist,
        CaseStatus.IN_REVIEW,
        CaseEvent.Action.REVIEW_STARTED,
        assigned_to=dermatologist,
    )
    case = _move(
        case, dermatologist, CaseStatus.ANSWERED, CaseEvent.Action.ANSWERED, answered_at=clock.now()
    )
    return _move(case, dermatologist, CaseStatus.CLOSED, CaseEvent.Action.CLOSED)


def test_a_closed_case_takes_the_patients_message_for_thirty_days(
    make_case: MakeCase, patient_user: User, dermatologist: User
) -> None:
    case = _closed_after_answer(make_case(submit=True), dermatologist)
    with clock.frozen_at(clock.now() + dt.timedelta(days=29)):
        message = messaging.send_message(by=patient_user, case=case, body="It did not help.")
    assert message.case.status == CaseStatus.CLOSED
    assert clinic_recipients(case) == [dermatologist]
    with clock.frozen_at(clock.now() + dt.timedelta(days=31)):
        assert not messaging.can_send(patient_user, case)
        with pytest.raises(PermissionDenied):
            messaging.send_message(by=patient_user, case=case, body="Still bad.")


def test_a_case_closed_with_self_care_advice_takes_no_messages(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = _move(make_case(submit=True), duty_nurse, CaseStatus.CLOSED, CaseEvent.Action.CLOSED)
    assert not messaging.can_send(patient_user, case)
    thread = messaging.open_thread(by=patient_user, case=case)
    assert thread.closed_for_messages and not thread.can_reply


def test_opening_the_thread_logs_the_read_and_marks_the_other_sides_messages(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    mine = messaging.send_message(by=patient_user, case=case, body="Question one")
    theirs = messaging.send_message(by=duty_nurse, case=case, body="Answer one")
    thread = messaging.open_thread(by=patient_user, case=case)
    assert thread.new == {theirs.pk}
    assert thread.is_patient_side and thread.can_reply and thread.can_attach_photos
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert theirs.read_at is not None
    assert mine.read_at is None
    assert AccessEvent.objects.filter(action="case.messages.view", basis="own").count() == 1
    assert messaging.open_thread(by=patient_user, case=case).new == set()
    clinic_view = messaging.open_thread(by=duty_nurse, case=case)
    assert clinic_view.new == {mine.pk}
    assert not clinic_view.can_attach_photos


def test_a_break_glass_look_leaves_messages_unread(
    make_case: MakeCase, patient_user: User, dermatologist: User, other_dermatologist: User
) -> None:
    case = make_case(submit=True)
    Case.objects.filter(pk=case.pk).update(assigned_to=dermatologist, status="in_review")
    case.refresh_from_db()
    message = messaging.send_message(by=patient_user, case=case, body="Any news?")
    break_glass(by=other_dermatologist, case=case, reason="Checking an urgent case on call")
    thread = messaging.open_thread(by=other_dermatologist, case=case)
    assert thread.new == set()
    message.refresh_from_db()
    assert message.read_at is None
    entry = AccessEvent.objects.filter(action="case.messages.view").get()
    assert entry.basis == "break_glass"


def test_the_thread_is_closed_to_outsiders(make_case: MakeCase, outsider: User) -> None:
    with pytest.raises(PermissionDenied):
        messaging.open_thread(by=outsider, case=make_case(submit=True))


# Notifications ---------------------------------------------------------------------------------


def test_the_clinic_hears_of_a_patients_message_without_its_content(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    duty_nurse.mobile_number = "+4791234567"
    duty_nurse.save()
    case = make_case(submit=True)
    run_worker()  # the receipt
    mail.outbox.clear()
    messaging.send_message(by=patient_user, case=case, body=SECRET)
    run_worker()
    assert [m.to for m in mail.outbox] == [[duty_nurse.email]]
    text = mail.outbox[0].subject + mail.outbox[0].body
    assert "ny melding" in text  # the nurse reads bokmål
    assert f"/clinic/cases/{case.uuid}/" in text
    assert [s.to for s in sms.outbox] == ["+4791234567"]
    for sent in (text, sms.outbox[0].text):
        assert SECRET not in sent
        assert patient_user.full_name not in sent
        assert case.complaint not in sent


def test_the_patient_hears_of_the_clinics_message(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    patient_user.mobile_number = "+4798765432"
    patient_user.save()
    case = make_case(submit=True)
    run_worker()
    mail.outbox.clear()
    messaging.send_message(by=duty_nurse, case=case, body=SECRET)
    run_worker()
    assert [m.to for m in mail.outbox] == [[patient_user.email]]
    assert f"/cases/{case.uuid}/#messages" in mail.outbox[0].body
    assert SECRET not in mail.outbox[0].body
    assert len(sms.outbox) == 1
    # In the patient's own language (bokmål by default).
    assert sms.outbox[0].text.startswith("Du har en ny melding i Telederm")
    assert SECRET not in sms.outbox[0].text and duty_nurse.full_name not in sms.outbox[0].text


def test_clinic_recipients_follow_who_has_the_case(
    make_case: MakeCase, duty_nurse: User, dermatologist: User, clinic: object
) -> None:
    second_nurse = User.objects.create_user(
        "sykepleier2@telederm.example", "x", full_name="Siri Sykepleier", role=User.Role.DUTY_NURSE
    )
    case = make_case(submit=True)
    assert clinic_recipients(case) == [duty_nurse, second_nurse]
    case.claimed_by = second_nurse
    assert clinic_recipients(case) == [second_nurse]
    case.assigned_to = dermatologist
    assert clinic_recipients(case) == [dermatologist]


def test_the_patient_of_a_referral_hears_only_once_they_have_written(
    make_case: MakeCase, gp: User, patient_user: User, duty_nurse: User
) -> None:
    case = make_case(by=gp, submit=True)
    assert patient_side_recipients(case) == [gp]
    messaging.send_message(by=patient_user, case=case, body="I am the patient.")
    assert patient_side_recipients(case) == [gp, patient_user]
