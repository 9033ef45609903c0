"""`telederm serve`: the ASGI app under uvicorn, optionally with a worker beside it."""

from __future__ import annotations

import subprocess
import sys
from argparse import ArgumentParser
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Telederm under uvicorn (ASGI)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also run `telederm worker` for queued side effects (the embedded default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = None
        if options["with_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "telederm", "worker"])  # nosec B603  # our own worker, no shell
        try:
            uvicorn.run(
                "telederm.asgi:application",
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                lifespan="off",
                proxy_headers=False,
                # uvicorn's own loggers go through Django's LOGGING, whose filter redacts
                # identity numbers and e-mail addresses from access lines too.
                log_config=None,
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
