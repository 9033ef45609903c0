"""Queue and case-page response times with 100,000 cases on PostgreSQL, under 50 clinicians.

    python scripts/with_postgres.py python scripts/bench_queues.py     # what `make bench` runs
    BENCH_QUICK=1 python scripts/with_postgres.py python scripts/bench_queues.py   # 5,000 cases

On the throwaway cluster that scripts/with_postgres.py starts (127.0.0.1, removed afterwards):
migrate, seed the cases with COPY (scripts/seed_cases.py), sign clinicians in by making their
sessions directly (two factors marked done, as conftest.sign_in does), then

1. time each page in-process, one request at a time (Django's test client against the same
   database): the server's own work, without the network or queuing;
2. serve with the production server (`telederm serve`: uvicorn, one worker per core, DEBUG off)
   on 127.0.0.1 and run locust headless on loopback: duty nurses and dermatologists reading
   their queues and cases with 1-3 s of thought between pages;
3. EXPLAIN ANALYZE the queue and case-page queries, then add the indexes proposed in
   PROPOSED_INDEXES to this throwaway database only and time them again in-process.

The results replace the "Queues and case pages" section of docs/benchmarks.md (appended after
what scripts/bench.py wrote). The server and locust are stopped whatever happens.

Environment: BENCH_CASES (100000; 5000 with BENCH_QUICK=1), BENCH_USERS (50), BENCH_SECONDS
(120; 30 quick; 0 skips locust), BENCH_SPAWN_RATE (10), BENCH_SAMPLES (200 in-process requests
per page; a quarter of that with the proposed indexes), BENCH_WRITE_DOCS (1: write
docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(SCRIPTS)]

QUICK = os.environ.get("BENCH_QUICK") == "1"
CASES = int(os.environ.get("BENCH_CASES", 5_000 if QUICK else 100_000))
USERS = int(os.environ.get("BENCH_USERS", 50))
SECONDS = int(os.environ.get("BENCH_SECONDS", 30 if QUICK else 120))
SPAWN_RATE = int(os.environ.get("BENCH_SPAWN_RATE", 10))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", 200))
# The second in-process pass (with the proposed indexes) only compares: fewer requests.
INDEXED_SAMPLES = max(20, SAMPLES // 4)
WRITE_DOCS = os.environ.get("BENCH_WRITE_DOCS", "1") == "1"
GOAL_P95_MS = 50
SECTION = "## Queues and case pages"

# The pages measured, per role: (label, URL names to try in order, takes a case, weight). The
# first URL name that exists is used, so the list follows the clinic's views as they change;
# the path actually measured is printed in the results.
PAGES: dict[str, list[tuple[str, list[str], bool, int]]] = {
    "nurse": [
        ("Duty nurse: triage queue", ["triage:queue", "review:queue"], False, 1),
        ("Duty nurse: case page", ["triage:case", "review:case"], True, 1),
    ],
    "dermatologist": [
        ("Dermatologist: review queue", ["review:queue"], False, 1),
        ("Dermatologist: case page", ["review:case"], True, 1),
    ],
}
# Share of the simulated people per role (locust weights).
ROLE_WEIGHTS = {"nurse": 2, "dermatologist": 3}

# What the queue queries need, proposed for a migration and tried on the throwaway database after
# the first timings: (name, SQL). The queues read the few thousand open cases of a table that
# keeps every case ever sent, soonest due first, a page at a time:
# - a partial index on the open cases in due order lets PostgreSQL walk them and stop after a
#   page, instead of reading every case with an earlier due time (the closed ones);
# - statistics on status and assignee together: without them PostgreSQL multiplies the
#   selectivities of the dermatologist's "mine or the unassigned pool" conditions, expects 18 rows
#   where there are ~2,000, joins them all and sorts afterwards;
# - a partial index on unsigned reviews answers the queue's "has a draft" without reading every
#   signed review;
# - a partial index on unacknowledged alarms keeps the alarm banner cheap as alarms accumulate.
PROPOSED_INDEXES: list[tuple[str, str]] = [
    (
        "case_open_due_idx",
        "CREATE INDEX IF NOT EXISTS case_open_due_idx ON cases_case (due_at, id) "
        "WHERE status IN ('escalated', 'submitted', 'triaged', 'in_review', 'info_requested')",
    ),
    (
        "case_status_assignee",
        "CREATE STATISTICS IF NOT EXISTS case_status_assignee (mcv) "
        "ON status, assigned_to_id FROM cases_case",
    ),
    (
        "review_draft_case_idx",
        "CREATE INDEX IF NOT EXISTS review_draft_case_idx ON review_review (case_id) "
        "WHERE signed_at IS NULL",
    ),
    (
        "alarm_open_idx",
        "CREATE INDEX IF NOT EXISTS alarm_open_idx ON triage_alarm (raised_at DESC, id) "
        "WHERE acknowledged_at IS NULL",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile (as locust reports them)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ensure_database(url: str) -> None:
    """with_postgres.py makes the cluster; the database itself is made here."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Page:
    role: str
    label: str
    path: str  # With "{case}" where a case's UUID goes.
    weight: int


def resolve_pages() -> tuple[list[Page], list[str]]:
    from django.urls import NoReverseMatch, reverse

    marker = "00000000-0000-4000-8000-000000000000"
    pages, missing = [], []
    for role, entries in PAGES.items():
        for label, names, takes_case, weight in entries:
            for name in names:
                try:
                    path = reverse(name, args=[marker] if takes_case else [])
                except NoReverseMatch:
                    continue
                pages.append(Page(role, label, path.replace(marker, "{case}"), weight))
                break
            else:
                missing.append(f"{label} ({', '.join(names)})")
    return pages, missing


def sign_in_sessions(role: str, count: int) -> list[dict[str, Any]]:
    """Signed-in sessions (second factor done) of `count` clinicians with something in queue."""
    from django.test import Client

    from conftest import sign_in  # The same session contents the tests use.
    from telederm.accounts.models import User
    from telederm.cases.models import Case
    from telederm.cases.policies import TRIAGE_STATUSES
    from telederm.review.policies import review_queue_for

    db_role = User.Role.DUTY_NURSE if role == "nurse" else User.Role.DERMATOLOGIST
    people = list(User.objects.filter(role=db_role, is_active=True).order_by("pk")[:count])
    sessions = []
    for person in people:
        client = sign_in(Client(), person)
        if role == "nurse":
            waiting = Case.objects.filter(status__in=[s.value for s in TRIAGE_STATUSES])
            cases = waiting.order_by("due_at", "pk")[:200]
        else:
            cases = review_queue_for(person)[:200]
        sessions.append(
            {
                "email": person.email,
                "cookie": client.cookies["sessionid"].value,
                "cases": [str(u) for u in cases.values_list("uuid", flat=True)],
            }
        )
    return sessions


def time_in_process(pages: list[Page], plan: dict[str, Any], samples: int) -> list[dict[str, Any]]:
    """Each page `samples` times in a row, in this process: the server's work alone.

    The first request of each page (not timed) records the statements the page sends, for the
    query count and for EXPLAIN ANALYZE.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    rows = []
    with override_settings(ALLOWED_HOSTS=["testserver", "127.0.0.1"]):
        for page in pages:
            session = plan[page.role]["sessions"][0]
            client = Client()
            client.cookies["sessionid"] = session["cookie"]
            cases = session["cases"] or [""]

            def path(i: int, page: Page = page, cases: list[str] = cases) -> str:
                return page.path.replace("{case}", cases[i % len(cases)])

            statements: list[tuple[str, Any]] = []

            def capture(
                execute: Callable[..., Any],
                sql: str,
                params: Any,
                many: bool,
                context: Any,
                statements: list[tuple[str, Any]] = statements,
            ) -> Any:
                statements.append((sql, params))
                return execute(sql, params, many, context)

            client.get(path(0))  # Warm: templates compiled, the last-seen mark written.
            with connection.execute_wrapper(capture):
                first = client.get(path(0))
            if first.status_code != 200:
                raise SystemExit(f"{page.label}: HTTP {first.status_code} in-process at {path(0)}")
            timings, cpu = [], []
            for i in range(samples):
                # The test client keeps its connection; the server (CONN_MAX_AGE 0) does not.
                connection.close()
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(path(i))
                timings.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{page.label}: HTTP {response.status_code} at {path(i)}")
            rows.append(
                {
                    "label": page.label,
                    "requests": samples,
                    "p50": percentile(timings, 0.50),
                    "p95": percentile(timings, 0.95),
                    "p99": percentile(timings, 0.99),
                    "cpu": statistics.median(cpu),
                    "queries": len(statements),
                    "writes": sum(
                        1 for sql, _p in statements if not sql.lstrip().upper().startswith("SELECT")
                    ),
                    "kib": len(first.content) / 1024,
                    "selects": [
                        (sql, params)
                        for sql, params in statements
                        if sql.lstrip().upper().startswith("SELECT") and "pg_advisory" not in sql
                    ],
                }
            )
            shown = {k: v for k, v in rows[-1].items() if k != "selects"}
            print(f"  in-process {shown}", flush=True)
    return rows


def explain(rows: list[dict[str, Any]]) -> list[list[tuple[float, str, str]]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every distinct SELECT each page sent, slowest first."""
    from django.db import connection

    pages = []
    for row in rows:
        seen: dict[str, Any] = {}
        for sql, params in row["selects"]:
            seen.setdefault(sql, params)
        plans = []
        with connection.cursor() as cursor:
            for sql, params in seen.items():
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                text = "\n".join(line for (line,) in cursor.fetchall())
                executed = next(
                    (
                        float(line.split(":")[1].split()[0])
                        for line in text.splitlines()
                        if line.startswith("Execution Time")
                    ),
                    0.0,
                )
                plans.append((executed, sql, text))
        pages.append(sorted(plans, key=lambda plan: plan[0], reverse=True))
    return pages


def connect_ms(times: int = 20) -> float:
    """What opening a database connection costs (the server opens one per request)."""
    from django.db import connection

    samples = []
    for _ in range(times):
        connection.close()
        start = time.perf_counter()
        connection.ensure_connection()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def wait_for(url: str, seconds: float, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}) before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # nosec B310  # http on loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process we started, and its children (uvicorn's workers), by its process group."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def run_locust(
    *, env: dict[str, str], plan_path: Path, workdir: Path, pages: list[Page]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Serve with `telederm serve` and run locust against it; both stopped whatever happens."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    workers = os.cpu_count() or 1
    server = locust = None
    server_log = (workdir / "server.log").open("wb")  # closed in finally
    try:
        server = subprocess.Popen(  # nosec B603  # our own command, no shell
            [
                *(sys.executable, "-m", "telederm", "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ],
            env=env,
            cwd=ROOT,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(f"{host}/healthz", 60, server)
        prefix = workdir / "locust"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(SCRIPTS / "locust_queues.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(SPAWN_RATE),
            "-t",
            f"{SECONDS}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--reset-stats",
            "--only-summary",
            "--stop-timeout",
            "5",
            "--loglevel",
            "WARNING",
        ]
        print(f"  locust: {USERS} users for {SECONDS} s against {host}", flush=True)
        locust = subprocess.Popen(  # nosec B603  # our own command, no shell
            command,
            env={**env, "BENCH_PLAN": str(plan_path)},
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            locust.wait(timeout=SECONDS + 120)
        except subprocess.TimeoutExpired:
            raise SystemExit("locust did not finish in time") from None
        stats_file = Path(f"{prefix}_stats.csv")
        if not stats_file.exists():
            raise SystemExit(f"locust wrote no statistics (exit {locust.returncode})")
        rows = []
        total: dict[str, Any] = {}
        by_label = {page.label: page for page in pages}
        with stats_file.open(encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                row = {
                    "label": record["Name"],
                    "path": by_label[record["Name"]].path if record["Name"] in by_label else "",
                    "requests": int(record["Request Count"]),
                    "failures": int(record["Failure Count"]),
                    "p50": float(record["50%"] or 0),
                    "p95": float(record["95%"] or 0),
                    "p99": float(record["99%"] or 0),
                    "rps": float(record["Requests/s"] or 0),
                }
                if record["Name"] == "Aggregated":
                    total = row
                else:
                    rows.append(row)
        return rows, total
    finally:
        stop(locust)
        stop(server)
        server_log.close()


def add_proposed_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for _name, sql in PROPOSED_INDEXES:
            cursor.execute(sql)
        cursor.execute("ANALYZE")


def table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section of docs/benchmarks.md, leaving the rest."""
    target = ROOT / "docs" / "benchmarks.md"
    current = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n"
    start = current.find(SECTION)
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + len(SECTION))
        updated = current[:start] + text + (current[end + 1 :] if end != -1 else "")
    target.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    return run_in_workdir(run, prefix="telederm-bench-queues-")


def run_in_workdir(run: Callable[[Path], int], *, prefix: str) -> int:
    """Check PostgreSQL, then `run(workdir)` in a fresh folder (the data folder, the plan,
    locust's files, the server's log), removed afterwards unless the run failed."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Run under scripts/with_postgres.py: this benchmark needs PostgreSQL.")
    ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        code = run(workdir)
    except BaseException:
        print(f"The server's log and locust's files are kept in {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    return code


def use_bench_environment(workdir: Path) -> dict[str, str]:
    """The environment of this process and of the server it starts: production-like, quiet."""
    env = {
        **os.environ,
        "TELEDERM_VAR_DIR": str(workdir / "var"),
        "TELEDERM_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TELEDERM_SMS_BACKEND": "telederm.core.sms.LocMemBackend",
        "TELEDERM_DEBUG": "false",
        # uvicorn's access lines would cost the server a write per request.
        "TELEDERM_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "telederm.settings",
    }
    os.environ.update(env)
    return env


def run(workdir: Path) -> int:
    env = use_bench_environment(workdir)
    load_start = os.getloadavg()[0]

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from seed_cases import seed

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    migrate_seconds = time.perf_counter() - started
    print(f"Seeding {CASES:,} cases ...", flush=True)
    summary = seed(cases=CASES)
    print(f"  {summary.total_rows:,} rows in {summary.seconds:.1f} s", flush=True)

    pages, missing = resolve_pages()
    nurses = max(1, USERS * ROLE_WEIGHTS["nurse"] // sum(ROLE_WEIGHTS.values()))
    plan: dict[str, Any] = {}
    for role in PAGES:
        count = nurses if role == "nurse" else max(1, USERS - nurses)
        plan[role] = {
            "weight": ROLE_WEIGHTS[role],
            "pages": [
                {"name": p.label, "path": p.path, "weight": p.weight}
                for p in pages
                if p.role == role
            ],
            "sessions": sign_in_sessions(role, count),
        }
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")

    print("In-process timings, one request at a time ...", flush=True)
    in_process = time_in_process(pages, plan, SAMPLES)
    connection_ms = connect_ms()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    connection.close()

    locust_rows: list[dict[str, Any]] = []
    locust_total: dict[str, Any] = {}
    if SECONDS > 0:
        print("Serving and running locust ...", flush=True)
        locust_rows, locust_total = run_locust(
            env=env, plan_path=plan_path, workdir=workdir, pages=pages
        )
    load_end = os.getloadavg()[0]

    print("EXPLAIN ANALYZE, then the proposed indexes ...", flush=True)
    plans_before = explain(in_process)
    add_proposed_indexes()
    plans_after = explain(in_process)
    with_indexes = time_in_process(pages, plan, INDEXED_SAMPLES)

    from telederm.audit.models import AccessEvent

    log_entries = AccessEvent.objects.count()
    text = report(
        summary=summary,
        plan=plan,
        missing=missing,
        in_process=in_process,
        with_indexes=with_indexes,
        locust_rows=locust_rows,
        locust_total=locust_total,
        plans_before=plans_before,
        plans_after=plans_after,
        facts={
            "load_start": load_start,
            "load_end": load_end,
            "pg_version": pg_version,
            "django": django.get_version(),
            "migrate_seconds": migrate_seconds,
            "log_entries": log_entries,
            "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
            "connection_ms": connection_ms,
        },
    )
    print(text)
    if WRITE_DOCS:
        write_section(text)
    connection.close()
    return 0


def ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def verdict(p95: float) -> str:
    return "yes" if p95 <= GOAL_P95_MS else "**no**"


def short_sql(sql: str) -> str:
    """A statement's gist for a table cell: the table it reads and how many it joins."""
    tables = re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)
    if not tables:
        return "?"
    return f"`{tables[0]}`" + (f" + {len(set(tables)) - 1} joined" if len(set(tables)) > 1 else "")


def without_columns(sql: str) -> str:
    """The statement with its outer column list left out: what it reads, filters and orders."""
    depth = 0
    for i, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and sql.startswith(" FROM ", i):
            return "SELECT … " + sql[i + 1 :]
    return sql


def report(
    *,
    summary: Any,
    plan: dict[str, Any],
    missing: list[str],
    in_process: list[dict[str, Any]],
    with_indexes: list[dict[str, Any]],
    locust_rows: list[dict[str, Any]],
    locust_total: dict[str, Any],
    plans_before: list[list[tuple[float, str, str]]],
    plans_after: list[list[tuple[float, str, str]]],
    facts: dict[str, Any],
) -> str:
    open_total = sum(summary.open_by_status.values())
    lines = [
        f"{SECTION} (PostgreSQL, {CASES:,} cases, {USERS} clinicians)",
        "",
        "Made by scripts/bench_queues.py (`make bench`) on a throwaway PostgreSQL cluster on "
        "127.0.0.1 (scripts/with_postgres.py: fsync off, default settings otherwise), "
        "with scripts/seed_cases.py's data and locust (scripts/locust_queues.py). "
        f"Goal (issue 5): p95 ≤ {GOAL_P95_MS} ms.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores shared by the database, the "
        "server, locust and this script (and by whatever else runs: load average "
        f"{facts['load_start']:.1f} at the start, {facts['load_end']:.1f} after locust), "
        f"{platform.platform()}",
        f"- Python {platform.python_version()}, Django {facts['django']}, "
        f"PostgreSQL {facts['pg_version']}",
        f"- Data: {CASES:,} cases ({open_total:,} open: "
        + ", ".join(f"{n:,} {s}" for s, n in sorted(summary.open_by_status.items()))
        + f"; {summary.overdue_open} of them overdue), {summary.patients:,} patients, "
        f"{summary.clinicians} clinicians with assignment profiles; "
        f"{summary.total_rows:,} rows in all (events, lesions, photos, reviews, diagnoses, "
        f"notes, messages, alarms), seeded with COPY in {summary.seconds:.0f} s "
        f"(migrate and collectstatic before it: {facts['migrate_seconds']:.0f} s). "
        f"The access log held {facts['log_entries']:,} entries at the end.",
        f"- Server: `telederm serve` (uvicorn, {os.cpu_count()} workers), DEBUG off, "
        f"CONN_MAX_AGE {facts['conn_max_age']}: a new database connection per request, "
        f"{facts['connection_ms']:.1f} ms each (median of 20); sessions in the database.",
        f"- Load: {USERS} signed-in clinicians ({plan['nurse']['weight']}:"
        f"{plan['dermatologist']['weight']} duty nurses to dermatologists), each with their own "
        "session, 1-3 s between pages, their queue and a case from it equally often; "
        f"{SECONDS} s measured after ramping up at {SPAWN_RATE} a second; HTML only "
        "(no photos, scripts or styles).",
        "",
    ]
    if missing:
        lines += [f"Not measured (no such page): {'; '.join(missing)}.", ""]
    if locust_rows:
        every = [*locust_rows, {**locust_total, "label": "All", "path": ""}]
        lines += [
            "### Under load (locust on loopback, ms as the client saw them)",
            "",
            *table(
                [
                    "page",
                    "path",
                    "requests",
                    "p50",
                    "p95",
                    "p99",
                    "req/s",
                    "failures",
                    "p95 ≤ goal",
                ],
                "llrrrrrrl",
                [
                    [
                        r["label"],
                        f"`{r['path']}`" if r["path"] else "",
                        str(r["requests"]),
                        ms(r["p50"]),
                        ms(r["p95"]),
                        ms(r["p99"]),
                        f"{r['rps']:.1f}",
                        str(r["failures"]),
                        verdict(r["p95"]),
                    ]
                    for r in every
                    if r.get("requests") is not None
                ],
            ),
            "",
        ]
    lines += [
        "### One request at a time (in-process: the server's work without queuing)",
        "",
        f"{SAMPLES} requests per page with Django's test client, by the first clinician of each "
        "role, through every middleware, a new database connection each as the server makes. "
        "CPU is this process's own (Python, not PostgreSQL's): it is what a busy machine "
        "inflates least. Statements counted on one more request (writes: the access log, the "
        f"session). The last two columns: {INDEXED_SAMPLES} requests with the proposed indexes.",
        "",
        *table(
            [
                *("page", "p50", "p95", "p99", "CPU p50", "statements", "writes", "KiB"),
                *("p50 idx", "p95 idx"),
            ],
            "lrrrrrrrrr",
            [
                [
                    before["label"],
                    ms(before["p50"]),
                    ms(before["p95"]),
                    ms(before["p99"]),
                    ms(before["cpu"]),
                    str(before["queries"]),
                    str(before["writes"]),
                    f"{before['kib']:.0f}",
                    ms(after["p50"]),
                    ms(after["p95"]),
                ]
                for before, after in zip(in_process, with_indexes, strict=True)
            ],
        ),
        "",
        "### The pages' SELECTs under EXPLAIN ANALYZE (execution ms)",
        "",
        "Every distinct SELECT each page sent, run again under EXPLAIN (ANALYZE, BUFFERS): the "
        "sum, and the slowest two, as migrated and with the proposed indexes.",
        "",
        *table(
            [
                "page",
                "SELECTs",
                "sum",
                "sum idx",
                "slowest",
                "ms",
                "ms idx",
                "next",
                "ms",
                "ms idx",
            ],
            "lrrrlrrlrr",
            [
                [
                    row["label"],
                    str(len(before)),
                    f"{sum(p[0] for p in before):.1f}",
                    f"{sum(p[0] for p in after):.1f}",
                    *[
                        cell
                        for k in range(2)
                        for cell in (
                            [
                                short_sql(before[k][1]),
                                f"{before[k][0]:.2f}",
                                f"{next(a[0] for a in after if a[1] == before[k][1]):.2f}",
                            ]
                            if len(before) > k
                            else ["", "", ""]
                        )
                    ],
                ]
                for row, before, after in zip(in_process, plans_before, plans_after, strict=True)
            ],
        ),
        "",
        "Proposed indexes and statistics (tried here on the throwaway database only; a migration "
        "adds them; why each, in PROPOSED_INDEXES in scripts/bench_queues.py):",
        "",
        "```sql",
        *[sql + ";" for _name, sql in PROPOSED_INDEXES],
        "```",
        "",
    ]
    for title, plans in (("as migrated", plans_before), ("with the proposed indexes", plans_after)):
        lines += [f"<details><summary>Each page's slowest plan, {title}</summary>", "", "```"]
        for row, page_plans in zip(in_process, plans, strict=True):
            for executed, sql, text in page_plans[:1]:
                lines += [f"-- {row['label']}: {executed:.2f} ms", without_columns(sql), text, ""]
        lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
