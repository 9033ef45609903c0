"""Triage side effects, run by `telederm worker`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django_tasks import task

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.cases.states import OPEN_IN_QUEUE, CaseStatus
from telederm.core import clock
from telederm.core.notify import notify_person
from telederm.triage.models import Alarm


@task()
def notify_alarm(alarm_uuid: str) -> None:
    """Tell every active duty nurse and coordinator that a case needs attention (no details)."""
    alarm = Alarm.objects.select_related("case").get(uuid=alarm_uuid)
    if alarm.acknowledged_at is not None:
        return
    people = User.objects.filter(
        is_active=True, role__in=[User.Role.DUTY_NURSE, User.Role.COORDINATOR]
    ).order_by("pk")
    for person in people:
        notify_person(
            person=person,
            template="triage/email/alarm.txt",
            context={"alarm": alarm, "person": person},
        )


# What the sender is told, by the kind of step: template names under triage/email/.
SENDER_NOTICES = frozenset({"info_request", "self_care"})


@task()
def tell_sender(case_uuid: str, template: str) -> None:
    """Tell the person who sent the case that the clinic has written (no health details)."""
    if template not in SENDER_NOTICES:
        raise ValueError(f"unknown notice {template!r}")
    case = Case.objects.select_related("created_by").get(uuid=case_uuid)
    notify_person(
        person=case.created_by,
        template=f"triage/email/{template}.txt",
        context={"person": case.created_by},
    )


@task()
def tell_dermatologist(case_uuid: str) -> None:
    """Tell a dermatologist that a case has been passed to them (no health details)."""
    case = Case.objects.select_related("assigned_to").get(uuid=case_uuid)
    if case.assigned_to is None:
        return
    notify_person(
        person=case.assigned_to,
        template="triage/email/assigned.txt",
        context={"person": case.assigned_to},
    )


@task()
def check_clocks() -> None:
    """Raise an alarm for every open case past its due time, and every sent case nobody has
    claimed or taken within TELEDERM_UNOWNED_ALARM_MINUTES. Safe to run at any time, in
    parallel too: an alarm is unique per case, kind and reference time, so nothing is raised
    twice (a re-prioritised case with a new due time may breach again, once)."""
    from telederm.triage import alarms  # alarms queues notify_alarm from this module

    now = clock.now()
    open_statuses = [s.value for s in OPEN_IN_QUEUE]
    breached = Case.objects.filter(status__in=open_statuses, due_at__lt=now).exclude(
        _alarm_exists(Alarm.Kind.BREACH, "due_at")
    )
    for case in breached.only("pk", "uuid", "due_at").iterator():
        assert case.due_at is not None
        with transaction.atomic():
            alarms.raise_alarm(case=case, kind=Alarm.Kind.BREACH, reference=case.due_at)
    waited = now - dt.timedelta(minutes=settings.TELEDERM_UNOWNED_ALARM_MINUTES)
    unowned = Case.objects.filter(
        status__in=[CaseStatus.SUBMITTED.value, CaseStatus.TRIAGED.value],
        claimed_by__isnull=True,
        assigned_to__isnull=True,
        submitted_at__lte=waited,
    ).exclude(_alarm_exists(Alarm.Kind.UNOWNED, "submitted_at"))
    for case in unowned.only("pk", "uuid", "submitted_at").iterator():
        assert case.submitted_at is not None
        with transaction.atomic():
            alarms.raise_alarm(case=case, kind=Alarm.Kind.UNOWNED, reference=case.submitted_at)


def _alarm_exists(kind: Alarm.Kind, reference_field: str) -> Exists:
    return Exists(
        Alarm.objects.filter(case=OuterRef("pk"), kind=kind, reference=OuterRef(reference_field))
    )
