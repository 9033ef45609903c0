"""The clock check: breaches and unowned cases raise one alarm each, however often it runs."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.core import clock
from telederm.core.management.commands import worker
from telederm.triage import services, tasks
from telederm.triage.models import Alarm

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


def check_at(moment: dt.datetime) -> None:
    with clock.frozen_at(moment):
        tasks.check_clocks.call()


def kinds(case: Case) -> list[str]:
    return sorted(case.alarms.values_list("kind", flat=True))


def test_a_case_past_its_due_time_raises_one_breach_alarm(
    make_case: MakeCase, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    services.claim_case(by=duty_nurse, case=case, expected_version=None)  # owned: no unowned alarm
    assert case.due_at is not None
    check_at(case.due_at - dt.timedelta(minutes=1))
    assert kinds(case) == []
    check_at(case.due_at + dt.timedelta(minutes=1))
    check_at(case.due_at + dt.timedelta(minutes=6))
    assert kinds(case) == ["breach"]
    assert Alarm.objects.get().reference == case.due_at


def test_a_new_due_time_may_breach_again_once(make_case: MakeCase, duty_nurse: User) -> None:
    case = make_case(submit=True)
    case = services.claim_case(by=duty_nurse, case=case, expected_version=None)
    assert case.due_at is not None
    check_at(case.due_at + dt.timedelta(minutes=1))
    case = services.set_priority(
        by=duty_nurse, case=case, expected_version=None, priority="urgent", pathway=""
    )
    assert case.due_at is not None
    check_at(case.due_at + dt.timedelta(days=30))
    check_at(case.due_at + dt.timedelta(days=31))
    assert kinds(case) == ["breach", "breach"]


def test_a_case_nobody_has_taken_raises_an_unowned_alarm(
    make_case: MakeCase, settings: Any, duty_nurse: User, dermatologist: User
) -> None:
    settings.TELEDERM_UNOWNED_ALARM_MINUTES = 30
    waiting = make_case(submit=True)
    claimed = make_case(submit=True)
    taken = make_case(submit=True)
    services.claim_case(by=duty_nurse, case=claimed, expected_version=None)
    services.forward_case(by=dermatologist, case=taken, expected_version=None, to=dermatologist)
    assert waiting.submitted_at is not None
    check_at(waiting.submitted_at + dt.timedelta(minutes=29))
    assert not Alarm.objects.exists()
    check_at(waiting.submitted_at + dt.timedelta(minutes=31))
    check_at(waiting.submitted_at + dt.timedelta(minutes=45))
    assert kinds(waiting) == ["unowned"]
    assert kinds(claimed) == [] and kinds(taken) == []


def test_closed_and_answered_cases_raise_nothing(make_case: MakeCase, duty_nurse: User) -> None:
    case = make_case(submit=True)
    services.advise_self_care(by=duty_nurse, case=case, expected_version=None, text="x", guides=[])
    assert case.due_at is not None
    check_at(case.due_at + dt.timedelta(days=10))
    assert not Alarm.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_alarms_reach_nurses_and_coordinators_without_details(
    make_case: MakeCase, duty_nurse: User, coordinator: User, settings: Any
) -> None:
    settings.TELEDERM_PERIODIC_TASKS = ["telederm.triage.tasks.check_clocks"]
    case = make_case(submit=True, complaint="A bleeding mole")
    assert case.due_at is not None
    call_command("worker", batch=True, interval=0.01)
    mail.outbox.clear()
    with clock.frozen_at(case.due_at + dt.timedelta(hours=1)):
        call_command("worker", batch=True, interval=0.01)
    recipients = sorted(m.to[0] for m in mail.outbox)
    # One breach and one unowned alarm, each to both people.
    assert recipients == sorted([duty_nurse.email, coordinator.email] * 2)
    assert all("mole" not in m.body for m in mail.outbox)


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_the_worker_queues_the_periodic_tasks_at_start(settings: Any) -> None:
    settings.TELEDERM_PERIODIC_TASKS = ["telederm.triage.tasks.check_clocks"]
    assert worker.enqueue_periodic_tasks() == 1
    assert DBTaskResult.objects.filter(task_path="telederm.triage.tasks.check_clocks").count() == 1
    call_command("worker", batch=True, interval=0.01)
    # The batch run queued one more and ran both.
    results = DBTaskResult.objects.filter(task_path="telederm.triage.tasks.check_clocks")
    assert results.count() == 2
    assert set(results.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_the_worker_queues_the_periodic_tasks_again_while_it_runs(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = threading.Semaphore(0)
    monkeypatch.setattr(worker, "enqueue_periodic_tasks", lambda: queued.release() or 1)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(worker.connection, "close", lambda: None)
    schedule = worker.PeriodicEnqueuer(0.01)
    schedule.start()
    try:
        assert all(queued.acquire(timeout=5) for _ in range(3))
    finally:
        schedule.stop()
        schedule.join(timeout=5)
    assert not schedule.is_alive()
