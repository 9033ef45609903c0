"""Triage steps on a case. Each is one transaction: lock, policy, change, history, audit, outbox."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case, CaseEvent
from telederm.cases.services import lock_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.core import clock
from telederm.triage import alarms, policies
from telederm.triage.models import Alarm


@transaction.atomic
def escalate_case(
    *,
    by: User,
    case: Case,
    reason: str,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> Case:
    """Mark a case an emergency: it jumps every queue and alarms the duty nurse at once.

    A draft (its symptom check found an emergency) is sent in the same step. The person who
    escalates is shown what to do now (call 113); the case is never only queued.
    """
    case = lock_case(case=case, expected_version=expected_version)
    if not policies.can_escalate(by, case):
        raise PermissionDenied
    now = clock.now()
    if case.submitted_at is None:
        case.submitted_at = now
    case.escalated_at = now
    case.due_at = now + dt.timedelta(minutes=settings.TELEDERM_EMERGENCY_DUE_MINUTES)
    transition_case(
        by=by,
        case=case,
        to=CaseStatus.ESCALATED,
        action=CaseEvent.Action.ESCALATED,
        detail=reason[:200],
    )
    record(
        actor=by,
        action="case.escalate",
        patient=case.patient,
        case=case,
        request=request,
        reason=reason[:300],
    )
    alarms.raise_alarm(case=case, kind=Alarm.Kind.EMERGENCY, reference=now)
    return case
