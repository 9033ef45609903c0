"""Triage side effects, run by `telederm worker`."""

from __future__ import annotations

from django_tasks import task

from telederm.accounts.models import User
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
