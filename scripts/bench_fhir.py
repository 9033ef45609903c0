"""FHIR API read and search throughput and latency with 100,000 patients on PostgreSQL.

    python scripts/with_postgres.py python scripts/bench_fhir.py            # what `make bench` runs
    BENCH_QUICK=1 python scripts/with_postgres.py python scripts/bench_fhir.py   # 5,000 patients

On the throwaway cluster that scripts/with_postgres.py starts (127.0.0.1, removed afterwards):
migrate, seed 100,000 patients and about 1.7 million FHIR resources with COPY
(scripts/seed_fhir.py, on scripts/seed_cases.py), issue API tokens to a few dermatologists
(`user/*.read`: their own and the pool's cases) and to a privacy officer (the access log), then

1. time each request kind in-process, one request at a time (Django's test client against the
   same database, through every middleware): the server's own work, without network or queuing;
   the SQL each sends (count), and the slowest SELECT of each under EXPLAIN ANALYZE;
2. serve with the production server (`telederm serve`: uvicorn, one worker per core, DEBUG off,
   a connection pool per worker as in production: TELEDERM_DB_POOL=1) on 127.0.0.1 and run locust
   headless on loopback (scripts/locust_fhir.py) at fixed concurrencies, requests back to back;
   the client runs on the same cores as the server and the database, and its CPU share is
   measured (its own rusage against the machine's busy time from /proc/stat);
3. EXPLAIN ANALYZE every SELECT; then a what-if, in this process only: the case policy's query
   rewritten so that PostgreSQL can use its indexes (`rewritten_cases_visible_to`, checked to
   find the same cases), timed in-process and explained again, also with random_page_cost 1.1
   (and PROPOSED_INDEXES, if any, added to this throwaway database only).

The results replace the "FHIR API" section of docs/benchmarks.md, beside HAPI FHIR's published
figures (Health Samurai's FHIR server benchmark, 2026: about 380 CRUD requests/s per vCPU, p99
67-77 ms) as the ratio to beat. The server and locust are stopped whatever happens.

Environment: BENCH_FHIR_PATIENTS (100000; 5000 with BENCH_QUICK=1), BENCH_FHIR_SECONDS (60; 15
quick; 0 skips locust), BENCH_FHIR_USERS (concurrencies, "8,32"), BENCH_FHIR_SAMPLES (in-process
requests per kind: 100; 30 quick), BENCH_FHIR_READERS (dermatologists with tokens: 8),
BENCH_WRITE_DOCS (1: write docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(SCRIPTS)]

QUICK = os.environ.get("BENCH_QUICK") == "1"
PATIENTS = int(os.environ.get("BENCH_FHIR_PATIENTS", 5_000 if QUICK else 100_000))
SECONDS = int(os.environ.get("BENCH_FHIR_SECONDS", 15 if QUICK else 60))
CONCURRENCIES = [int(n) for n in os.environ.get("BENCH_FHIR_USERS", "8,32").split(",") if n.strip()]
SAMPLES = int(os.environ.get("BENCH_FHIR_SAMPLES", 30 if QUICK else 100))
READERS = int(os.environ.get("BENCH_FHIR_READERS", 8))
WRITE_DOCS = os.environ.get("BENCH_WRITE_DOCS", "1") == "1"
SECTION = "## FHIR API"
# Paths per request kind and token in the plan: enough that caches do not make it a replay.
PATHS_PER_READER = 200
# Health Samurai's FHIR server benchmark (2026), HAPI FHIR's CRUD results.
HAPI_RPS_PER_VCPU = 380.0
HAPI_P99_MS = (67.0, 77.0)

# What the searches need, proposed for a migration and tried on the throwaway database after the
# first timings: (name, SQL, why). Filled in from what EXPLAIN ANALYZE showed (see the report).
PROPOSED_INDEXES: list[tuple[str, str, str]] = []

# A change to try, not yet made: cases.policies.cases_visible_to ORs "the person's grants" into
# the case filter as `id IN (SELECT case_id FROM cases_casegrant ...)`. PostgreSQL cannot use an
# index for an OR one of whose arms is a subquery, so every FHIR query that starts from the
# readable cases reads the whole case table (a seq scan, EXPLAIN below). With the grants (almost
# always none) fetched first and put in as a list of ids, every arm is indexable (created_by_id,
# assigned_to_id, status, the primary key) and PostgreSQL ORs bitmap index scans instead.
# `rewritten_cases_visible_to` does that, with the same rules; the benchmark times it in-process
# only, patched into telederm.api.policies (what the FHIR API calls), never in the server.
# Tried with the rewrite, for the EXPLAIN pass only: a planner setting for data in memory or on SSD.
RANDOM_PAGE_COST = 1.1
REWRITE_NOTE = (
    "cases.policies.cases_visible_to with the grants (and break-glass openings) fetched first "
    "and ORed in as a list of case ids instead of a subquery, so that every arm of the OR can "
    "use an index"
)

from bench_queues import (  # after the path is set
    explain,
    free_port,
    ms,
    percentile,
    run_in_workdir,
    short_sql,
    stop,
    table,
    use_bench_environment,
    wait_for,
    without_columns,
)


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: its name (as locust reports it) and weight."""

    name: str
    weight: int
    interaction: str  # "read" or "search"


KINDS = [
    Kind("read Patient/<id>", 2, "read"),
    Kind("read ServiceRequest/<id>", 2, "read"),
    Kind("read Media/<id>", 2, "read"),
    Kind("search Patient?identifier=<fnr>", 1, "search"),
    Kind("search ServiceRequest?patient=&_include", 1, "search"),
    Kind("search Condition?code=&_count=20", 1, "search"),
    Kind("search Task?status=", 1, "search"),
    Kind("search ServiceRequest?_lastUpdated=gt", 1, "search"),
    Kind("search AuditEvent?patient= (privacy officer)", 1, "search"),
]


# --- the plan: tokens and the requests each may make -------------------------------------------


def make_plan(rng: random.Random) -> dict[str, Any]:
    """Tokens for READERS dermatologists and a privacy officer, and per kind (token, path) pairs."""
    from urllib.parse import urlencode

    from telederm.accounts.models import User
    from telederm.api.tokens import issue_token
    from telederm.audit.models import AccessEvent
    from telederm.cases.policies import cases_visible_to
    from telederm.core import clock
    from telederm.interop.fhir import mapping
    from telederm.photos.models import Photo
    from telederm.review.models import Diagnosis

    derms = list(
        User.objects.filter(role=User.Role.DERMATOLOGIST, is_active=True).order_by("pk")[:READERS]
    )
    tokens: list[str] = []
    requests: dict[str, list[tuple[int, str]]] = {kind.name: [] for kind in KINDS}
    since = (clock.now() - dt_days(60)).date().isoformat()
    visible_counts = []
    for derm in derms:
        _token, text = issue_token(user=derm, scopes=["user/*.read"], label="bench_fhir")
        index = len(tokens)
        tokens.append(text)
        visible = cases_visible_to(derm, include_break_glass=False)
        visible_counts.append(visible.count())
        cases = list(
            visible.order_by("?")
            .select_related("patient")
            .only("uuid", "status", "patient__uuid", "patient__identifier")[:PATHS_PER_READER]
        )
        for case in cases:
            requests["read ServiceRequest/<id>"].append(
                (index, f"/fhir/ServiceRequest/{case.uuid}")
            )
            requests["read Patient/<id>"].append((index, f"/fhir/Patient/{case.patient.uuid}"))
            requests["search Patient?identifier=<fnr>"].append(
                (
                    index,
                    "/fhir/Patient?"
                    + urlencode({"identifier": f"{mapping.FNR}|{case.patient.identifier}"}),
                )
            )
            requests["search ServiceRequest?patient=&_include"].append(
                (
                    index,
                    "/fhir/ServiceRequest?"
                    + urlencode(
                        {
                            "patient": f"Patient/{case.patient.uuid}",
                            "_include": "ServiceRequest:patient",
                        }
                    ),
                )
            )
        photos = Photo.objects.filter(case__in=[case.pk for case in cases]).exclude(
            status=Photo.Status.REJECTED
        )
        for photo_uuid in photos.values_list("uuid", flat=True)[:PATHS_PER_READER]:
            requests["read Media/<id>"].append((index, f"/fhir/Media/{photo_uuid}"))
        codes = (
            Diagnosis.objects.filter(
                review__signed_at__isnull=False, review__case__in=visible.values("pk")
            )
            .values_list("system", "code")
            .distinct()
        )
        for system, code in codes:
            requests["search Condition?code=&_count=20"].append(
                (
                    index,
                    "/fhir/Condition?"
                    + urlencode(
                        {"code": f"{mapping.DIAGNOSIS_SYSTEMS[system]}|{code}", "_count": 20}
                    ),
                )
            )
        statuses = {
            mapping.TASK_STATUS[s] for s in visible.values_list("status", flat=True).distinct()
        }
        for status in sorted(statuses):
            requests["search Task?status="].append(
                (index, "/fhir/Task?" + urlencode({"status": status}))
            )
        requests["search ServiceRequest?_lastUpdated=gt"].append(
            (
                index,
                "/fhir/ServiceRequest?" + urlencode({"_lastUpdated": f"gt{since}", "_count": 20}),
            )
        )

    officer, _ = User.objects.get_or_create(
        email="privacy-officer@bench.example",
        defaults={"full_name": "Privacy Officer (bench)", "role": User.Role.PRIVACY_OFFICER},
    )
    _token, text = issue_token(user=officer, scopes=["user/*.read"], label="bench_fhir")
    index = len(tokens)
    tokens.append(text)
    logged = (
        AccessEvent.objects.filter(patient_uuid__isnull=False)
        .order_by("?")
        .values_list("patient_uuid", flat=True)[:PATHS_PER_READER]
    )
    for patient_uuid in logged:
        requests["search AuditEvent?patient= (privacy officer)"].append(
            (
                index,
                "/fhir/AuditEvent?"
                + urlencode({"patient": f"Patient/{patient_uuid}", "_count": 20}),
            )
        )
    return {
        "tokens": tokens,
        "kinds": [
            {"name": kind.name, "weight": kind.weight, "requests": requests[kind.name]}
            for kind in KINDS
        ],
        "visible_cases": visible_counts,
    }


def dt_days(days: int) -> Any:
    import datetime as dt

    return dt.timedelta(days=days)


def rewritten_cases_visible_to(user: Any, *, include_break_glass: bool = True) -> Any:
    """cases.policies.cases_visible_to, same rules, with every OR arm indexable (see above)."""
    from django.db.models import Q

    from telederm.accounts.models import User
    from telederm.cases import policies
    from telederm.cases.models import BreakGlassAccess, Case, CaseGrant
    from telederm.cases.states import CaseStatus

    person = policies._active(user)
    if person is None or person.is_patient:
        return policies.cases_visible_to(user, include_break_glass=include_break_glass)
    sent = ~Q(status=CaseStatus.DRAFT)
    rule = Q(created_by=person)
    if person.role == User.Role.DERMATOLOGIST:
        rule |= sent & (
            Q(assigned_to=person) | Q(status__in=policies.POOL_STATUSES, assigned_to__isnull=True)
        )
    if person.role == User.Role.DUTY_NURSE:
        rule |= Q(status__in=policies.TRIAGE_STATUSES)
    opened = list(
        CaseGrant.objects.active().filter(grantee=person).values_list("case_id", flat=True)
    )
    if include_break_glass:
        opened += (
            BreakGlassAccess.objects.active().filter(user=person).values_list("case_id", flat=True)
        )
    if opened:
        rule |= sent & Q(pk__in=opened)
    return Case.objects.filter(rule)


def check_rewrite_agrees() -> None:
    """The rewritten query must find the same cases as the policy for every kind of person."""
    from telederm.accounts.models import User
    from telederm.cases.policies import cases_visible_to

    for role in (User.Role.DERMATOLOGIST, User.Role.DUTY_NURSE, User.Role.SUBMITTER):
        for person in User.objects.filter(role=role).order_by("pk")[:3]:
            ours = set(rewritten_cases_visible_to(person).values_list("pk", flat=True))
            theirs = set(cases_visible_to(person).values_list("pk", flat=True))
            if ours != theirs:
                raise SystemExit(f"the rewritten policy query differs for {person.email}")


@contextlib.contextmanager
def policy_rewritten() -> Any:
    from telederm.api import policies

    original = policies.cases_visible_to
    policies.cases_visible_to = rewritten_cases_visible_to
    try:
        yield
    finally:
        policies.cases_visible_to = original


# --- in-process timings ------------------------------------------------------------------------


def time_in_process(plan: dict[str, Any], samples: int, rng: random.Random) -> list[dict[str, Any]]:
    """Each kind `samples` times, one request at a time, in this process: the server's work.

    The first request of each kind (not timed) records the statements it sends, for the count and
    for EXPLAIN ANALYZE; every answer must be 200 and parse with fhir.resources (R4B).
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from fhir.resources.R4B import get_fhir_model_class

    rows = []
    client = Client()
    with override_settings(ALLOWED_HOSTS=["testserver", "127.0.0.1"]):
        for kind in plan["kinds"]:
            requests = kind["requests"]
            if not requests:
                rows.append({"label": kind["name"], "requests": 0, "selects": []})
                continue

            def get(i: int, requests: list[Any] = requests) -> Any:
                token, path = requests[i % len(requests)]
                return client.get(
                    path,
                    HTTP_AUTHORIZATION=f"Bearer {plan['tokens'][token]}",
                    HTTP_ACCEPT="application/fhir+json",
                )

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

            get(0)  # Warm: imports, the token's last-used mark.
            with connection.execute_wrapper(capture):
                first = get(0)
            if first.status_code != 200:
                raise SystemExit(
                    f"{kind['name']}: HTTP {first.status_code}: {first.content[:300]!r}"
                )
            body = json.loads(first.content)
            get_fhir_model_class(body["resourceType"]).model_validate(body)
            order = list(range(len(requests)))
            rng.shuffle(order)
            timings, cpu, entries = [], [], []
            for i in range(samples):
                start, start_cpu = time.perf_counter(), time.process_time()
                response = get(order[i % len(order)])
                timings.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{kind['name']}: HTTP {response.status_code}")
                answer = json.loads(response.content)
                if answer["resourceType"] == "Bundle":
                    entries.append(
                        sum(1 for e in answer.get("entry", []) if e["search"]["mode"] == "match")
                    )
            rows.append(
                {
                    "label": kind["name"],
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
                    "matches": statistics.mean(entries) if entries else None,
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


# --- under load --------------------------------------------------------------------------------


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total


def cpu_seconds(*, pgid: int | None = None, parent: int | None = None) -> float:
    """User + system CPU of the live processes in a process group (the server and its workers)
    or with a parent (PostgreSQL's backends, children of the postmaster)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            after = stat.rsplit(")", 1)[1].split()
            # Fields 4 and 5 of /proc/<pid>/stat: ppid, pgrp; 14 and 15: utime, stime.
            if (pgid is not None and int(after[2]) == pgid) or (
                parent is not None and int(after[1]) == parent
            ):
                used += int(after[11]) + int(after[12])
    return used / ticks


def postmaster_pid() -> int | None:
    """The PostgreSQL server process (the parent of our connection's backend), if it is local."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{backend}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    return None


def run_locust(
    *,
    host: str,
    users: int,
    env: dict[str, str],
    plan_path: Path,
    workdir: Path,
    server_pgid: int,
    postmaster: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, float]]:
    """One locust run at `users` concurrent clients; stopped whatever happens."""
    prefix = workdir / f"locust-{users}"
    command = [
        *(sys.executable, "-m", "locust", "-f", str(SCRIPTS / "locust_fhir.py")),
        *("--headless", "-u", str(users), "-r", str(users), "-t", f"{SECONDS}s"),
        *("--host", host, "--csv", str(prefix), "--reset-stats", "--only-summary"),
        *("--stop-timeout", "5", "--loglevel", "WARNING"),
    ]
    print(f"  locust: {users} clients for {SECONDS} s against {host}", flush=True)
    busy_start, total_start = busy_jiffies()
    server_start = cpu_seconds(pgid=server_pgid)
    database_start = cpu_seconds(parent=postmaster) if postmaster else 0.0
    wall_start = time.perf_counter()
    locust = subprocess.Popen(  # nosec B603  # our own command, no shell
        command,
        env={**env, "BENCH_PLAN": str(plan_path)},
        cwd=ROOT,
        start_new_session=True,
    )
    usage = None
    try:
        deadline = time.monotonic() + SECONDS + 120
        while usage is None:
            pid, _status, rusage = os.wait4(locust.pid, os.WNOHANG)
            if pid:
                usage = rusage
                locust.returncode = 0
            elif time.monotonic() > deadline:
                raise SystemExit("locust did not finish in time")
            else:
                time.sleep(0.2)
    finally:
        if usage is None:
            stop(locust)
    wall = time.perf_counter() - wall_start
    busy_end, total_end = busy_jiffies()
    server_cpu = cpu_seconds(pgid=server_pgid) - server_start
    database_cpu = (cpu_seconds(parent=postmaster) - database_start) if postmaster else 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    busy = (busy_end - busy_start) / ticks
    client_cpu = usage.ru_utime + usage.ru_stime
    cpu = {
        "wall": wall,
        "busy": busy,
        "capacity": (total_end - total_start) / ticks,
        "client": client_cpu,
        "server": server_cpu,
        "database": database_cpu,
        "rest": max(0.0, busy - client_cpu - server_cpu - database_cpu),
    }
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise SystemExit("locust wrote no statistics")
    rows = []
    total: dict[str, Any] = {}
    with stats_file.open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            row = {
                "label": record["Name"],
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
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        total["failure_text"] = failures.read_text(encoding="utf-8")[:2000]
    return rows, total, cpu


def warm(host: str, plan: dict[str, Any], rounds: int = 6) -> None:
    """A few requests of every kind first, so that each worker has imported and built its FHIR
    models and filled its pool before anything is measured."""
    import urllib.request

    for kind in plan["kinds"]:
        for token, path in kind["requests"][:rounds]:
            request = urllib.request.Request(  # noqa: S310  # http on loopback
                host + path,
                headers={
                    "Authorization": f"Bearer {plan['tokens'][token]}",
                    "Accept": "application/fhir+json",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
                response.read()


def serve_and_load(
    *,
    env: dict[str, str],
    plan: dict[str, Any],
    plan_path: Path,
    workdir: Path,
    postmaster: int | None,
) -> list[tuple[int, list[dict[str, Any]], dict[str, Any], dict[str, float]]]:
    """Serve with `telederm serve` and run locust at each concurrency; both stopped in the end."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    workers = os.cpu_count() or 1
    server = None
    results = []
    server_log = (workdir / "server.log").open("wb")  # closed in finally
    try:
        server = subprocess.Popen(  # nosec B603  # our own command, no shell
            [
                *(sys.executable, "-m", "telederm", "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ],
            env={**env, "TELEDERM_DB_POOL": "1"},
            cwd=ROOT,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(f"{host}/healthz", 60, server)
        warm(host, plan)
        for users in CONCURRENCIES:
            rows, total, cpu = run_locust(
                host=host,
                users=users,
                env=env,
                plan_path=plan_path,
                workdir=workdir,
                server_pgid=server.pid,
                postmaster=postmaster,
            )
            print(f"  {users} clients: {total} {cpu}", flush=True)
            results.append((users, rows, total, cpu))
    finally:
        stop(server)
        server_log.close()
    return results


# --- indexes and the report --------------------------------------------------------------------


def add_proposed_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for _name, sql, _why in PROPOSED_INDEXES:
            cursor.execute(sql)
        cursor.execute("ANALYZE")


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


def machine() -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    return {"cpu": model or platform.processor() or "?", "memory": memory or "?"}


def main() -> int:
    return run_in_workdir(run, prefix="telederm-bench-fhir-")


def run(workdir: Path) -> int:
    env = use_bench_environment(workdir)
    load_start = os.getloadavg()[0]
    rng = random.Random(2026)  # noqa: S311 - sampling, not a secret

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from seed_fhir import seed

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    migrate_seconds = time.perf_counter() - started
    print(f"Seeding {PATIENTS:,} patients ...", flush=True)
    summary = seed(patients=PATIENTS)
    print(
        f"  {summary.total_rows:,} rows, {summary.total_resources:,} FHIR resources in "
        f"{summary.seconds:.1f} s: {summary.resources}",
        flush=True,
    )
    plan = make_plan(rng)
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    missing = [kind["name"] for kind in plan["kinds"] if not kind["requests"]]

    print("In-process timings, one request at a time ...", flush=True)
    in_process = time_in_process(plan, SAMPLES, rng)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    postmaster = postmaster_pid()
    connection.close()

    load: list[tuple[int, list[dict[str, Any]], dict[str, Any], dict[str, float]]] = []
    if SECONDS > 0:
        print("Serving and running locust ...", flush=True)
        load = serve_and_load(
            env=env, plan=plan, plan_path=plan_path, workdir=workdir, postmaster=postmaster
        )
    load_end = os.getloadavg()[0]

    print("EXPLAIN ANALYZE ...", flush=True)
    plans_before = explain(in_process)
    if PROPOSED_INDEXES:
        add_proposed_indexes()
    print("In-process again with the policy query rewritten (what-if) ...", flush=True)
    check_rewrite_agrees()
    with policy_rewritten():
        rewritten = time_in_process(plan, max(10, SAMPLES // 2), rng)
    plans_after = explain(rewritten)
    print(f"EXPLAIN ANALYZE again with random_page_cost = {RANDOM_PAGE_COST} ...", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SET random_page_cost = {RANDOM_PAGE_COST}")
    plans_tuned = explain(rewritten)
    with connection.cursor() as cursor:
        cursor.execute("RESET random_page_cost")

    from telederm.audit.models import AccessEvent

    text = report(
        summary=summary,
        plan=plan,
        missing=missing,
        in_process=in_process,
        rewritten=rewritten,
        load=load,
        plans_before=plans_before,
        plans_after=plans_after,
        plans_tuned=plans_tuned,
        facts={
            "load_start": load_start,
            "load_end": load_end,
            "pg_version": pg_version,
            "django": django.get_version(),
            "migrate_seconds": migrate_seconds,
            "log_entries": AccessEvent.objects.count(),
            "pool": settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
            **machine(),
        },
    )
    print(text)
    if WRITE_DOCS:
        write_section(text)
    connection.close()
    failed = sum(total.get("failures", 0) for _u, _r, total, _c in load)
    if failed:
        print(f"{failed} requests failed under load", file=sys.stderr)
    return 1 if failed or missing else 0


def server_vcpus(cpu: dict[str, float]) -> float:
    """The vCPUs the server and PostgreSQL used on average during the run."""
    return max(cpu["server"] + cpu["database"], 1e-9) / cpu["wall"]


def report(
    *,
    summary: Any,
    plan: dict[str, Any],
    missing: list[str],
    in_process: list[dict[str, Any]],
    rewritten: list[dict[str, Any]],
    load: list[tuple[int, list[dict[str, Any]], dict[str, Any], dict[str, float]]],
    plans_before: list[list[tuple[float, str, str]]],
    plans_after: list[list[tuple[float, str, str]]],
    plans_tuned: list[list[tuple[float, str, str]]],
    facts: dict[str, Any],
) -> str:
    cores = os.cpu_count() or 1
    visible = plan["visible_cases"]
    lines = [
        f"{SECTION} (PostgreSQL, {summary.cases.patients:,} patients, "
        f"{summary.total_resources:,} resources)",
        "",
        "Made by scripts/bench_fhir.py (`make bench`) on a throwaway PostgreSQL cluster on "
        "127.0.0.1 (scripts/with_postgres.py: fsync off, default settings otherwise), with "
        "scripts/seed_fhir.py's data and locust (scripts/locust_fhir.py) on loopback.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {facts['cpu']}, {cores} vCPUs shared by PostgreSQL, the server, the load "
        "generator and this script (and by whatever else runs: load average "
        f"{facts['load_start']:.1f} at the start, {facts['load_end']:.1f} after the load), "
        f"{facts['memory']} RAM, {platform.platform()}",
        f"- Python {platform.python_version()}, Django {facts['django']}, "
        f"PostgreSQL {facts['pg_version']}",
        f"- Data: {summary.cases.patients:,} patients (synthetic fødselsnummer), "
        f"{summary.cases.cases:,} cases, {summary.total_rows:,} rows seeded with COPY in "
        f"{summary.seconds:.0f} s (migrate and collectstatic before: "
        f"{facts['migrate_seconds']:.0f} s). The access log held "
        f"{facts['log_entries']:,} entries at the end (its hash chain seeded consistently).",
        "- FHIR resources the API exposes (over all readers): "
        + ", ".join(f"{name} {count:,}" for name, count in summary.resources.items())
        + f"; **{summary.total_resources:,} in all**.",
        f"- Readers: {len(visible)} dermatologists with `user/*.read` tokens, each seeing "
        f"{min(visible):,}-{max(visible):,} cases (their own and the unassigned pool: the "
        "policy filter runs inside every query), and a privacy officer's token for the access "
        "log. Every read and every search row is written to the access log (hash chain, one "
        "append lock), as in production.",
        f"- Server: `telederm serve` (uvicorn, {cores} workers), DEBUG off, a connection pool "
        "per worker (TELEDERM_DB_POOL=1, the production default; the in-process timings run "
        "without it and open a connection per request, about 2-3 ms).",
        "",
    ]
    if missing:
        lines += [f"Not measured (nothing to ask for): {'; '.join(missing)}.", ""]
    weights = ", ".join(f"{k['name']} ×{k['weight']}" for k in plan["kinds"])
    if load:
        lines += [
            "### Under load (locust on loopback, ms as the client saw them)",
            "",
            f"Closed loop: each client sends its next request as soon as the answer came, "
            f"{SECONDS} s measured after all clients started. Mix by weight: {weights}. "
            "The load generator runs on the same vCPUs.",
            "",
        ]
        summary_rows = []
        for users, _rows, total, cpu in load:
            rps = total.get("rps", 0.0)
            server_side = server_vcpus(cpu)
            summary_rows.append(
                [
                    str(users),
                    str(total.get("requests", 0)),
                    str(total.get("failures", 0)),
                    f"{rps:.0f}",
                    f"{rps / cores:.0f}",
                    f"{rps / server_side:.0f}",
                    ms(total.get("p50", 0)),
                    ms(total.get("p95", 0)),
                    ms(total.get("p99", 0)),
                    f"{100 * cpu['busy'] / max(cpu['capacity'], 1e-9):.0f} %",
                    f"{100 * cpu['client'] / max(cpu['busy'], 1e-9):.0f} %",
                    f"{100 * cpu['server'] / max(cpu['busy'], 1e-9):.0f} %",
                    f"{100 * cpu['database'] / max(cpu['busy'], 1e-9):.0f} %",
                    f"{100 * cpu['rest'] / max(cpu['busy'], 1e-9):.0f} %",
                ]
            )
        lines += [
            *table(
                [
                    *("clients", "requests", "errors", "req/s", "req/s per vCPU"),
                    *("req/s per server vCPU", "p50", "p95", "p99", "CPU busy"),
                    *("client", "server", "PostgreSQL", "others"),
                ],
                "rrrrrrrrrrrrrr",
                summary_rows,
            ),
            "",
            "CPU busy: the machine's busy share during the run. The last four columns split the "
            "busy time: the load generator (its rusage), the server (uvicorn and its workers), "
            "PostgreSQL's backends, and everything else on the machine (other people's work "
            "shares these cores). Requests/s per server vCPU divide by the vCPUs the server "
            "and PostgreSQL used, which is the figure closest to HAPI's per-vCPU one.",
            "",
        ]
        for users, rows, _total, _cpu in load:
            lines += [
                f"{users} clients, by request kind:",
                "",
                *table(
                    ["request", "requests", "errors", "req/s", "p50", "p95", "p99"],
                    "lrrrrrr",
                    [
                        [
                            r["label"],
                            str(r["requests"]),
                            str(r["failures"]),
                            f"{r['rps']:.1f}",
                            ms(r["p50"]),
                            ms(r["p95"]),
                            ms(r["p99"]),
                        ]
                        for r in rows
                    ],
                ),
                "",
            ]
        best = max(load, key=lambda result: result[2].get("rps", 0.0))
        best_rps = best[2].get("rps", 0.0)
        low = min(load, key=lambda result: result[0])
        lines += [
            "### Beside HAPI FHIR (the ratio to beat)",
            "",
            "HAPI FHIR's figures are Health Samurai's published FHIR server benchmark (2026): "
            f"about {HAPI_RPS_PER_VCPU:.0f} CRUD requests/s per vCPU and a p99 of "
            f"{HAPI_P99_MS[0]:.0f}-{HAPI_P99_MS[1]:.0f} ms. They are not like for like: their "
            "servers and database ran on dedicated cores with the load generator elsewhere, "
            "their mix is create/read/update/delete of resources without per-row access "
            "policies, while ours is reads and searches, each filtered by the reader's case "
            "policy and each writing its access-log entries, on 2 shared vCPUs where the client "
            "takes its share.",
            "",
            *table(
                ["measure", "ours", "HAPI FHIR", "ours / HAPI"],
                "lrrr",
                [
                    [
                        f"req/s per vCPU (machine; {best[0]} clients)",
                        f"{best_rps / cores:.0f}",
                        f"{HAPI_RPS_PER_VCPU:.0f}",
                        f"{best_rps / cores / HAPI_RPS_PER_VCPU:.2f}",
                    ],
                    [
                        f"req/s per vCPU the server and PostgreSQL used ({best[0]} clients)",
                        f"{best_rps / server_vcpus(best[3]):.0f}",
                        f"{HAPI_RPS_PER_VCPU:.0f}",
                        f"{best_rps / server_vcpus(best[3]) / HAPI_RPS_PER_VCPU:.2f}",
                    ],
                    [
                        f"p99 ms ({low[0]} clients)",
                        ms(low[2].get("p99", 0)),
                        f"{HAPI_P99_MS[0]:.0f}-{HAPI_P99_MS[1]:.0f}",
                        f"{low[2].get('p99', 0) / HAPI_P99_MS[1]:.2f}-"
                        f"{low[2].get('p99', 0) / HAPI_P99_MS[0]:.2f}",
                    ],
                    *(
                        (
                            [
                                f"p99 ms ({best[0]} clients)",
                                ms(best[2].get("p99", 0)),
                                f"{HAPI_P99_MS[0]:.0f}-{HAPI_P99_MS[1]:.0f}",
                                f"{best[2].get('p99', 0) / HAPI_P99_MS[1]:.2f}-"
                                f"{best[2].get('p99', 0) / HAPI_P99_MS[0]:.2f}",
                            ],
                        )
                        if best[0] != low[0]
                        else ()
                    ),
                ],
            ),
            "",
        ]
    lines += [
        "### What limits it",
        "",
        "- **The case policy's query (fixed).** `cases.policies.cases_visible_to` used to OR "
        "the person's grants in as `id IN (SELECT case_id FROM cases_casegrant …)`; "
        "PostgreSQL cannot serve an OR with a subquery arm from indexes, so every FHIR query "
        "that started from the readable cases read the whole case table. It now fetches the "
        "grants first and ORs them in as a list of ids (same rules, same cases), a BitmapOr "
        "of index scans; `rewritten_cases_visible_to` here is that form, kept to check the "
        "two agree. The first run of this benchmark, before the fix (2026-11-22 13:05 UTC, "
        "busier machine), gave 30 req/s with p99 920 ms at 8 clients and 29 req/s with p99 "
        "2,200 ms at 32.",
        "- **The planner's random_page_cost.** With PostgreSQL's default (4) the Condition "
        "search still scans every signed review to join them to the reader's few thousand "
        f"cases; with {RANDOM_PAGE_COST} (usual for SSDs and data in memory) it probes them by "
        "case instead. A setting for the production database, not an index: the extra indexes "
        "tried (reviews by case where signed, diagnoses by code) did not change the plan.",
        "- **Python per request.** A read costs about 8-10 ms of the server's CPU in-process "
        "(token check, policy, mapping to fhir.resources models and JSON, the access-log "
        "entry); under load with uvicorn's overhead more. That alone caps a worker near "
        "100 requests/s, whatever the SQL does.",
        "- **One request at a time per worker.** Django's sync views under ASGI run in one "
        "thread per worker: beyond 2 requests in flight, requests queue, so from 8 to 32 "
        "clients throughput stays the same and latency grows with the queue.",
        "- **Every read is written down.** Each read appends to the access log's hash chain "
        "under one advisory lock (a search: one entry per row, in one statement), so reads "
        "also write and serialise briefly; the log grows by about one entry per resource "
        "shown.",
        "- **A shared machine.** The 2 vCPUs also ran other people's test suites during the "
        'run (the "others" column): the absolute figures are a floor, the in-process ones '
        "the steadier guide.",
        "",
    ]
    pairs = [
        (row, after, before_plans, after_plans, tuned_plans)
        for row, after, before_plans, after_plans, tuned_plans in zip(
            in_process, rewritten, plans_before, plans_after, plans_tuned, strict=True
        )
        if row["requests"]
    ]
    lines += [
        "### One request at a time (in-process: the server's work without queuing)",
        "",
        f"{SAMPLES} requests per kind with Django's test client and the token in the header, "
        "through every middleware, each answer checked (200; the first parsed with "
        "fhir.resources R4B). CPU is this process's own (Python, not PostgreSQL's). Statements "
        "counted on one more request (writes: the access log and its lock, the token's "
        "last-used mark). Matches: mean rows a search returned. The last two columns: "
        f"{max(10, SAMPLES // 2)} requests with the policy query rewritten ({REWRITE_NOTE}; "
        "tried in this process only, see `rewritten_cases_visible_to`).",
        "",
        *table(
            [
                *("request", "p50", "p95", "p99", "CPU p50", "statements", "writes"),
                *("KiB", "matches", "p50 rewritten", "p95 rewritten"),
            ],
            "lrrrrrrrrrr",
            [
                [
                    row["label"],
                    ms(row["p50"]),
                    ms(row["p95"]),
                    ms(row["p99"]),
                    ms(row["cpu"]),
                    str(row["queries"]),
                    str(row["writes"]),
                    f"{row['kib']:.1f}",
                    "" if row["matches"] is None else f"{row['matches']:.1f}",
                    ms(after["p50"]),
                    ms(after["p95"]),
                ]
                for row, after, _b, _a, _t in pairs
            ],
        ),
        "",
        "### The SELECTs under EXPLAIN ANALYZE (execution ms)",
        "",
        "Every distinct SELECT each kind sent, run again under EXPLAIN (ANALYZE, BUFFERS): the "
        "sum and the slowest, as the code is, with the policy query rewritten, and rewritten "
        f"with random_page_cost = {RANDOM_PAGE_COST} (PostgreSQL's default is 4, which prices "
        "a random read as for a spinning disk; here, as on an SSD or with the tables in "
        "memory, an index probe is nearly as cheap as a sequential read, and with 4 the "
        "planner prefers scanning all signed reviews to probing them by case).",
        "",
        *table(
            [
                *("request", "SELECTs", "sum", "slowest", "ms", "sum rewritten"),
                *("slowest rewritten", "sum + rpc", "slowest + rpc"),
            ],
            "lrrlrrrrr",
            [
                [
                    row["label"],
                    str(len(before)),
                    f"{sum(p[0] for p in before):.1f}",
                    short_sql(before[0][1]) if before else "",
                    f"{before[0][0]:.2f}" if before else "",
                    f"{sum(p[0] for p in after):.1f}",
                    f"{after[0][0]:.2f}" if after else "",
                    f"{sum(p[0] for p in tuned):.1f}",
                    f"{tuned[0][0]:.2f}" if tuned else "",
                ]
                for row, _r, before, after, tuned in pairs
            ],
        ),
        "",
    ]
    if PROPOSED_INDEXES:
        lines += [
            "Proposed indexes (tried here on the throwaway database only, before the second "
            "pass; a migration adds them):",
            "",
            *[f"- `{name}`: {why}" for name, _sql, why in PROPOSED_INDEXES],
            "",
            "```sql",
            *[sql + ";" for _name, sql, _why in PROPOSED_INDEXES],
            "```",
            "",
        ]
    # The plans of the statements that take a millisecond or more: the ones worth reading.
    for title, plans in (
        ("as the code is", plans_before),
        (f"rewritten, random_page_cost = {RANDOM_PAGE_COST}", plans_tuned),
    ):
        lines += [
            f"<details><summary>The slowest plan of each kind that takes 1 ms or more, "
            f"{title}</summary>",
            "",
            "```",
        ]
        for row, kind_plans in zip(in_process, plans, strict=True):
            for executed, sql, text in kind_plans[:1]:
                if executed >= 1.0:
                    lines += [
                        f"-- {row['label']}: {executed:.2f} ms",
                        without_columns(sql),
                        text,
                        "",
                    ]
        lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
