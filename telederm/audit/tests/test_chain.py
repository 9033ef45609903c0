"""The access log's hash chain: the pure functions, and `record()` appending to it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory

from telederm.audit import chain
from telederm.audit.models import AccessEvent, AppendOnlyError
from telederm.audit.services import record, record_listing
from telederm.core import clock
from telederm.core.calendar import OSLO

AT = dt.datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=dt.UTC)
PATIENT = uuid.UUID("2b7e1516-28ae-4d2a-9f15-88093e0f6d3c")


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "at": AT,
        "actor_id": 7,
        "actor_role": "dermatologist",
        "actor_organisation": "Telederm hudklinikk",
        "kind": "read",
        "action": "case.view",
        "patient_uuid": PATIENT,
        "case_uuid": None,
        "object_uuid": None,
        "reason": "",
        "basis": "assigned",
        "client_address": "192.0.2.10",
    }
    return {**base, **changes}


def build(count: int) -> list[dict[str, Any]]:
    """A valid chain of `count` rows, as the database would hand them to `verify`."""
    rows: list[dict[str, Any]] = []
    head: tuple[int, str] | None = None
    for index in range(count):
        link = chain.next_link(head)
        values = fields(action=f"case.view.{index}", at=AT + dt.timedelta(seconds=index))
        digest = chain.entry_hash(link.previous_hash, link.sequence, values)
        rows.append(
            {
                "id": 100 + index,
                "sequence": link.sequence,
                "previous_hash": link.previous_hash,
                "hash": digest,
                **values,
            }
        )
        head = (link.sequence, digest)
    return rows


# Pure: the serialisation and the hash.


def test_the_serialisation_is_canonical_json_and_pinned() -> None:
    # Pinned byte for byte: changing it orphans every hash already written (bump chain.VERSION).
    assert (
        chain.serialise("ab" * 32, 5, fields())
        == (
            '{"action":"case.view","actor_id":7,"actor_organisation":"Telederm hudklinikk",'
            '"actor_role":"dermatologist","at":"2026-11-23T09:30:15.123456+00:00",'
            '"basis":"assigned","case_uuid":null,"client_address":"192.0.2.10","kind":"read",'
            '"object_uuid":null,"patient_uuid":"2b7e1516-28ae-4d2a-9f15-88093e0f6d3c",'
            f'"previous_hash":"{"ab" * 32}","reason":"","sequence":5,"v":1}}'
        ).encode()
    )
    digest = chain.entry_hash("", 1, fields())
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert digest == chain.entry_hash("", 1, fields())


@pytest.mark.parametrize("name", chain.FIELDS)
def test_every_field_is_covered_by_the_hash(name: str) -> None:
    other = {
        "at": AT + dt.timedelta(microseconds=1),
        "actor_id": 8,
        "patient_uuid": uuid.uuid4(),
        "case_uuid": uuid.uuid4(),
        "object_uuid": uuid.uuid4(),
        "client_address": "192.0.2.11",
    }.get(name, "x")
    assert chain.entry_hash("", 1, fields(**{name: other})) != chain.entry_hash("", 1, fields())


def test_the_place_in_the_chain_is_covered_by_the_hash() -> None:
    assert chain.entry_hash("", 1, fields()) != chain.entry_hash("", 2, fields())
    assert chain.entry_hash("", 2, fields()) != chain.entry_hash("0" * 64, 2, fields())


def test_equal_values_in_the_forms_a_database_returns_hash_alike() -> None:
    in_oslo = AT.astimezone(OSLO)
    same = fields(
        at=in_oslo,
        patient_uuid=str(PATIENT).upper(),
        client_address="2001:DB8:0:0::1",
        actor_id="7",
    )
    assert chain.entry_hash("", 1, same) == chain.entry_hash(
        "", 1, fields(client_address="2001:db8::1")
    )
    assert chain.canonical_address("::ffff:192.0.2.1") == "::ffff:192.0.2.1"
    assert chain.canonical_address("") is None
    assert chain.canonical_address("not an address") == "not an address"


def test_naive_times_and_missing_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        chain.entry_hash("", 1, fields(at=dt.datetime(2026, 11, 23, 9, 30)))
    incomplete = fields()
    del incomplete["basis"]
    with pytest.raises(KeyError, match="basis"):
        chain.entry_hash("", 1, incomplete)


# Pure: verify.


def test_an_intact_chain_and_an_empty_one_verify() -> None:
    assert chain.verify(build(5)) is None
    assert chain.verify([]) is None
    walk = chain.Walk()
    for row in build(3):
        walk.feed(row)
    assert (walk.count, walk.head) == (3, (3, build(3)[2]["hash"]))


def test_a_changed_entry_is_named() -> None:
    rows = build(5)
    rows[2]["reason"] = "edited afterwards"
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence, problem.entry_id) == ("changed", 3, 102)
    assert str(problem).startswith(
        "Access log broken at entry #3 (id 102, 2026-11-23T09:30:17.123456+00:00): it was changed"
    )


def test_a_deleted_middle_entry_shows_as_a_gap_before_the_next() -> None:
    rows = build(6)
    del rows[2:4]
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("missing", 5)
    assert "entries #3–#4 are missing before it" in str(problem)


def test_deleting_the_first_entries_is_a_gap_too() -> None:
    problem = chain.verify(build(4)[1:])
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("missing", 2)
    assert "entry #1 is missing" in problem.detail


def test_reordered_entries_are_caught() -> None:
    rows = build(4)
    rows[1], rows[2] = rows[2], rows[1]
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("missing", 3)
    # Renumbering them to hide the swap breaks the links instead.
    rows[1]["sequence"], rows[2]["sequence"] = 2, 3
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("link", 2)


def test_a_rehashed_entry_breaks_the_link_of_the_next() -> None:
    rows = build(4)
    rows[1]["reason"] = "edited afterwards"
    rows[1]["hash"] = chain.entry_hash(rows[1]["previous_hash"], 2, rows[1])
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("link", 3)
    assert "link to entry #2 is wrong" in problem.detail


def test_a_first_entry_that_links_backwards_is_caught() -> None:
    rows = build(2)
    rows[0]["previous_hash"] = "0" * 64
    problem = chain.verify(rows)
    assert problem is not None
    assert (problem.kind, problem.sequence) == ("link", 1)


def test_a_recorded_head_catches_a_truncated_or_rewritten_tail() -> None:
    rows = build(5)
    recorded = (5, rows[4]["hash"])

    def walk(over: list[dict[str, Any]], head: tuple[int, str]) -> chain.Problem | None:
        walker = chain.Walk()
        walker.watch(head[0])
        for row in over:
            walker.feed(row)
        return walker.check_head(*head)

    assert walk(rows, recorded) is None
    assert walk(rows, (3, rows[2]["hash"])) is None, "the log has grown since: fine"
    truncated = walk(rows[:3], recorded)
    assert truncated is not None
    assert truncated.kind == "head"
    assert "entries #4–#5 were removed from the end" in str(truncated)
    rewritten = walk(rows, (5, "f" * 64))
    assert rewritten is not None
    assert (rewritten.kind, rewritten.sequence) == ("head", 5)


# record() appends to the chain.


def stored_rows() -> list[dict[str, Any]]:
    return list(AccessEvent.objects.order_by("sequence").values("id", *chain.ROW_KEYS))


@pytest.mark.django_db
def test_record_links_each_entry_to_the_one_before(
    dermatologist: AbstractBaseUser, make_case: Callable[..., Any]
) -> None:
    case = make_case(submit=True)
    before = AccessEvent.objects.count()
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8::7")
    first = record(
        actor=dermatologist,
        action="case.view",
        patient=case.patient,
        case=case,
        request=request,
        basis=AccessEvent.Basis.ASSIGNED,
    )
    with clock.frozen_at(dt.datetime(2026, 3, 29, 2, 30, 0, 5, tzinfo=OSLO)):
        second = record(actor=dermatologist, action="case.view", case=case, reason="second")
    assert (first.sequence, second.sequence) == (before + 1, before + 2)
    assert second.previous_hash == first.hash
    assert first.client_address == "2001:db8::7"
    rows = stored_rows()
    assert [row["sequence"] for row in rows] == list(range(1, before + 3))
    assert rows[0]["previous_hash"] == ""
    assert chain.verify(rows) is None
    assert AccessEvent.objects.get(pk=first.pk).basis == "assigned"


@pytest.mark.django_db
def test_record_inside_a_callers_transaction_and_after_a_rollback_leaves_no_gap(
    patient_user: AbstractBaseUser,
) -> None:
    first = record(actor=patient_user, action="case.view")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(actor=patient_user, action="case.edit")
        raise RuntimeError("the service failed after logging")
    with transaction.atomic():
        second = record(actor=patient_user, action="case.edit")
    assert second.sequence == first.sequence + 1
    assert second.previous_hash == first.hash
    assert chain.verify(stored_rows()) is None


@pytest.mark.django_db
def test_basis_is_checked_and_passed_on_by_record_listing(
    dermatologist: AbstractBaseUser, make_case: Callable[..., Any]
) -> None:
    with pytest.raises(ValueError, match="unknown access basis"):
        record(actor=dermatologist, action="case.view", basis="curious")
    case = make_case(submit=True)
    record_listing(actor=dermatologist, action="clinic.queue.view", cases=[case], basis="pool")
    event = AccessEvent.objects.get(action="clinic.queue.view")
    assert (event.basis, event.case_uuid, event.kind) == ("pool", case.uuid, "read")
    assert AccessEvent.Basis.BREAK_GLASS.label == "emergency access"


@pytest.mark.django_db
def test_the_model_refuses_changes_deletions_and_unchained_rows(
    patient_user: AbstractBaseUser,
) -> None:
    event = record(actor=patient_user, action="case.view")
    event.reason = "edited afterwards"
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.save()
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.delete()
    with pytest.raises(AppendOnlyError, match="append-only"):
        AccessEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(AppendOnlyError, match="append-only"):
        AccessEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError, match="append-only"):
        AccessEvent.objects.bulk_create([AccessEvent(at=clock.now(), action="x")])
    with pytest.raises(AppendOnlyError, match=r"services\.record"):
        AccessEvent.objects.create(at=clock.now(), kind="read", action="case.view")
    forged = AccessEvent(at=clock.now(), kind="read", action="case.view", sequence=2)
    forged.hash = "0" * 64
    with pytest.raises(AppendOnlyError, match=r"services\.record"):
        forged.save()
    assert stored_rows() == [
        {"id": event.pk, **{key: getattr(event, key) for key in chain.ROW_KEYS}, "reason": ""}
    ]


def _append_from_threads(threads: int, each: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(number: int) -> None:
        try:
            start.wait()
            for index in range(each):
                record(actor=None, action=f"thread{number}.write", reason=str(index))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return errors


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database cannot be shared by threads' connections; "
    "on SQLite, BEGIN IMMEDIATE serialises writers anyway. `make test` runs this on PostgreSQL.",
)
def test_concurrent_appends_make_one_unbroken_chain(transactional_db: None) -> None:
    errors = _append_from_threads(threads=4, each=25)
    assert errors == []
    rows = stored_rows()
    assert [row["sequence"] for row in rows] == list(range(1, 101))
    assert chain.verify(rows) is None
    for number in range(4):
        reasons = [r["reason"] for r in rows if r["action"] == f"thread{number}.write"]
        assert reasons == [str(index) for index in range(25)]


SQLITE_FILE_SCRIPT = """
import threading

import django

django.setup()
from django.core.management import call_command
from django.db import connections

from telederm.audit.services import record

call_command("migrate", verbosity=0)
start, errors = threading.Barrier(4), []


def work(number):
    try:
        start.wait()
        for index in range(25):
            record(actor=None, action=f"thread{number}.write", reason=str(index))
    except BaseException as error:
        errors.append(repr(error))
    finally:
        connections.close_all()


workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
if errors:
    raise SystemExit("\\n".join(errors))
call_command("audit", "verify")
"""


def test_concurrent_appends_on_a_sqlite_file_make_one_chain(tmp_path: Any) -> None:
    """SQLite's side of the test above, on a real file in WAL mode (whatever this run's database):
    BEGIN IMMEDIATE makes the threads take turns, with the project's busy timeout."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"TELEDERM_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "telederm.settings"}
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_FILE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Access log intact: 100 entries, head #100 "), done.stdout


def test_the_migration_links_entries_written_before_the_chain(transactional_db: None) -> None:
    executor = MigrationExecutor(connection)
    before_chain = [("audit", "0002_chain_fields")]
    try:
        executor.migrate(before_chain)
        old = executor.loader.project_state(before_chain).apps.get_model("audit", "AccessEvent")
        for index in range(3):
            old.objects.create(
                at=AT + dt.timedelta(minutes=index),
                kind="read",
                action="case.view",
                patient_uuid=PATIENT,
                reason=f"before the chain {index}",
            )
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        rows = stored_rows()
        assert [(row["sequence"], row["reason"]) for row in rows] == [
            (1, "before the chain 0"),
            (2, "before the chain 1"),
            (3, "before the chain 2"),
        ]
        assert chain.verify(rows) is None
        assert record(actor=None, action="case.view").sequence == 4
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_a_listing_is_chained_in_one_append_and_a_download_is_a_read(
    dermatologist: AbstractBaseUser, make_case: Callable[..., Any]
) -> None:
    cases = [make_case(submit=True) for _ in range(3)]
    before = AccessEvent.objects.count()
    record_listing(actor=dermatologist, action="queue.list.view", cases=cases, basis="pool")
    listed = list(AccessEvent.objects.filter(action="queue.list.view").order_by("sequence"))
    assert [e.case_uuid for e in listed] == [c.uuid for c in cases]
    assert [e.sequence for e in listed] == list(range(before + 1, before + 4))
    assert chain.verify(stored_rows()) is None
    download = record(actor=dermatologist, action="case.summary.download", case=cases[0])
    assert download.kind == "read"
    assert chain.verify(stored_rows()) is None
