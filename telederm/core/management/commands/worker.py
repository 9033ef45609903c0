"""`telederm worker`: run queued tasks from the database queue until stopped."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run queued side effects (e-mails, messages) from the database task queue."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # django-tasks-db claims rows with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so any
        # number of workers can run side by side.
        worker_options: dict[str, Any] = {"interval": options["interval"], "reload": False}
        if options["batch"]:
            worker_options["batch"] = True
        call_command("db_worker", **worker_options)
