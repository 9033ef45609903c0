"""`telederm worker`: run queued tasks from the database queue until stopped.

It also queues the periodic tasks named in `settings.TELEDERM_PERIODIC_TASKS` (dotted paths to
django-tasks tasks, such as the triage clock check): once at start, then every
`TELEDERM_CLOCK_CHECK_SECONDS` while it runs; with `--batch`, once. The periodic tasks are looked
up by name, so core imports no app above it. Several workers may each queue them: the tasks are
idempotent (an alarm is raised once however often the clocks are checked).
"""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection, transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def enqueue_periodic_tasks() -> int:
    """Queue each task of TELEDERM_PERIODIC_TASKS once; returns how many were queued."""
    paths: list[str] = list(getattr(settings, "TELEDERM_PERIODIC_TASKS", []))
    for path in paths:
        task = import_string(path)
        with transaction.atomic():
            task.enqueue()
    return len(paths)


class PeriodicEnqueuer(threading.Thread):
    """Queues the periodic tasks every `seconds` until stopped, on its own database connection."""

    def __init__(self, seconds: float) -> None:
        super().__init__(name="telederm-periodic", daemon=True)
        self.seconds = seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.seconds):
                close_old_connections()
                try:
                    enqueue_periodic_tasks()
                except Exception:  # a database hiccup must not end the schedule
                    logger.exception("could not queue the periodic tasks")
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()


class Command(BaseCommand):
    help = "Run queued side effects (e-mails, messages, clock checks) from the database task queue."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # django-tasks-db claims rows with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so any
        # number of workers can run side by side.
        worker_options: dict[str, Any] = {"interval": options["interval"], "reload": False}
        enqueue_periodic_tasks()
        if options["batch"]:
            worker_options["batch"] = True
            call_command("db_worker", **worker_options)
            return
        schedule = PeriodicEnqueuer(float(settings.TELEDERM_CLOCK_CHECK_SECONDS))
        schedule.start()
        try:
            call_command("db_worker", **worker_options)
        finally:
            schedule.stop()
            schedule.join(timeout=5)
