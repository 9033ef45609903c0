"""`make bench`: time the steps a person waits for, on a throwaway SQLite database.

Writes docs/benchmarks.md with the machine and the date. Timing goals live here, not in tests.
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
workdir = tempfile.mkdtemp(prefix="telederm-bench-")
os.environ["TELEDERM_VAR_DIR"] = workdir
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telederm.settings")
os.environ["TELEDERM_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"

import django

django.setup()

from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings
from PIL import Image


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("demo", stdout=io.StringIO())
    from telederm.accounts.models import User
    from telederm.cases import services
    from telederm.photos.services import add_photo

    rows = []
    patient = User.objects.get(email="kari@pasient.example")
    answers = {
        "complaint": "bench",
        "body_site": "arm",
        "onset": "weeks",
        "change": "unchanged",
        "itch": "none",
        "pain": "none",
    }
    small = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 150, 130)).save(small, format="JPEG")

    def send_case() -> None:
        case = services.start_case(by=patient, patient=patient.patient, answers=answers)
        add_photo(by=patient, case=case, upload=io.BytesIO(small.getvalue()), process_now=True)
        case.refresh_from_db()
        services.submit_case(by=patient, case=case, expected_version=case.version)

    median, worst = timed(send_case, 20)
    rows.append(
        (
            "Start, add a 1 MP photo to (processed in the request), and send a case (SQLite)",
            20,
            median,
            worst,
        )
    )

    from conftest import sign_in

    client = sign_in(Client(), User.objects.get(email="hudlege@telederm.example"))
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        queue_size = len(client.get("/clinic/").content)
        median, worst = timed(lambda: client.get("/clinic/"), 10)
    from telederm.cases.models import Case

    waiting = Case.objects.awaiting_review().count()
    rows.append(
        (
            f"Render the clinic queue with {waiting} cases ({queue_size // 1024} KiB)",
            10,
            median,
            worst,
        )
    )

    # The access log: single-threaded appends to its hash chain, then verifying all of it.
    from telederm.audit.models import AccessEvent
    from telederm.audit.services import record

    reader = User.objects.get(email="hudlege@telederm.example")
    appends = 2000
    started = time.perf_counter()
    median, worst = timed(lambda: record(actor=reader, action="bench.view"), appends)
    per_second = appends / (time.perf_counter() - started)
    rows.append(
        (
            f"Append an access-log entry (hash chain; {per_second:,.0f} per second)",
            appends,
            median,
            worst,
        )
    )
    entries = AccessEvent.objects.count()
    median, worst = timed(lambda: call_command("audit", "verify", stdout=io.StringIO()), 3)
    rows.append((f"Verify the access log's chain ({entries} entries)", 3, median, worst))

    lines = [
        "# Benchmarks",
        "",
        "Made by `make bench` (scripts/bench.py) on a throwaway SQLite database with demo data.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
        "",
        "| step | runs | median ms | worst ms |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {runs} | {median:.1f} | {worst:.1f} |"
            for name, runs, median, worst in rows
        ],
        "",
    ]
    from bench_photos import photo_processing_rows  # scripts/ is on sys.path

    lines.extend(photo_processing_rows())
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
