"""Alarms: a case that needs a person now. Raised once per case, kind and reference time."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from telederm.cases.models import Case
from telederm.core import outbox
from telederm.triage import tasks
from telederm.triage.models import Alarm


def raise_alarm(*, case: Case, kind: Alarm.Kind, reference: dt.datetime) -> Alarm | None:
    """Record an alarm and queue notices to duty nurses and coordinators; None if already raised.

    Runs inside the caller's transaction (the notice is queued with it through the outbox).
    """
    if Alarm.objects.filter(case=case, kind=kind, reference=reference).exists():
        return None
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(case=case, kind=kind, reference=reference)
    except IntegrityError:  # raised meanwhile by another worker
        return None
    outbox.enqueue(tasks.notify_alarm, alarm_uuid=str(alarm.uuid))
    return alarm
