from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from telederm.accounts.models import User
from telederm.cases.models import Case, CaseEvent
from telederm.core import sms
from telederm.triage.models import Alarm
from telederm.triage.services import escalate_case


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_escalating_a_draft_sends_it_and_alarms_the_duty_nurse(
    make_case: Callable[..., Case],
    patient_user: User,
    duty_nurse: User,
    coordinator: User,
) -> None:
    duty_nurse.mobile_number = "+4791234567"
    duty_nurse.preferred_language = "en"
    duty_nurse.save()
    case = make_case()
    escalate_case(by=patient_user, case=case, reason="Spreading rash with fever")
    call_command("worker", batch=True, interval=0.01)
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert case.submitted_at is not None and case.escalated_at is not None
    assert case.due_at is not None and case.due_at > case.escalated_at
    assert case.events.filter(action=CaseEvent.Action.ESCALATED).count() == 1
    alarm = Alarm.objects.get(case=case)
    assert alarm.kind == Alarm.Kind.EMERGENCY
    assert sorted(m.to[0] for m in mail.outbox) == sorted([duty_nurse.email, coordinator.email])
    assert "fever" not in mail.outbox[0].body
    assert [m.to for m in sms.outbox] == ["+4791234567"]
    assert "EMERGENCY" in sms.outbox[0].text


@pytest.mark.django_db
def test_a_stranger_cannot_escalate(
    make_case: Callable[..., Case], other_patient_user: User
) -> None:
    case = make_case(submit=True)
    with pytest.raises(PermissionDenied):
        escalate_case(by=other_patient_user, case=case, reason="x")
    assert not Alarm.objects.exists()
