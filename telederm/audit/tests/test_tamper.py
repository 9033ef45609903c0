"""`telederm audit verify` finds entries edited or deleted behind the application's back.

Each database enforces what it can: PostgreSQL refuses UPDATE and DELETE with a trigger (these
tests turn it off inside their own transaction, as an owner could, to show verify still catches
the edit); SQLite has no trigger, so there raw SQL goes through and verify is the check.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from telederm.audit.models import AccessEvent
from telederm.audit.services import record

pytestmark = pytest.mark.django_db

TRIGGER = "audit_accessevent_append_only"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's trigger; SQLite has its own test"
)
on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite has no trigger; PostgreSQL has its own test"
)


@pytest.fixture
def log(patient_user: AbstractBaseUser) -> list[AccessEvent]:
    """Five entries, #1 to #5."""
    assert not AccessEvent.objects.exists()
    return [
        record(actor=patient_user, action="case.view", reason=f"entry {n}") for n in range(1, 6)
    ]


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        verify(*args)
    assert caught.value.returncode == 1
    return str(caught.value)


def tamper(sql: str, params: list[object]) -> int:
    """Run raw SQL on the log as someone with the table owner's rights would; rows touched."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire the rows' deferred foreign-key checks now: ALTER TABLE refuses pending events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE audit_accessevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        return cursor.rowcount


def test_an_intact_log_verifies_and_reports_its_head(log: list[AccessEvent]) -> None:
    assert verify() == f"Access log intact: 5 entries, head #5 {log[-1].hash}\n"
    assert verify("--batch", "2").startswith("Access log intact: 5 entries")
    assert verify("--expect-head", f"5:{log[-1].hash}").startswith("Access log intact")
    assert verify("--expect-head", f"#3:{log[2].hash.upper()}").startswith("Access log intact")


def test_an_empty_log_verifies(db: None) -> None:
    assert verify() == "Access log intact: 0 entries\n"
    assert "removed from the end" in broken("--expect-head", f"1:{'a' * 64}")


def test_an_edited_entry_is_named(log: list[AccessEvent]) -> None:
    edited = log[2]
    assert (
        tamper("UPDATE audit_accessevent SET reason = %s WHERE id = %s", ["nothing", edited.pk])
        == 1
    )
    message = broken()
    assert message.startswith(f"Access log broken at entry #3 (id {edited.pk}, ")
    assert "changed after it was written" in message


def test_a_deleted_middle_entry_is_caught_as_a_gap(log: list[AccessEvent]) -> None:
    assert tamper("DELETE FROM audit_accessevent WHERE id = %s", [log[1].pk]) == 1
    message = broken("--batch", "2")
    assert message.startswith(f"Access log broken at entry #3 (id {log[2].pk}, ")
    assert "entry #2 is missing before it" in message


def test_an_entry_rehashed_to_match_its_edit_breaks_the_next_link(
    log: list[AccessEvent],
) -> None:
    from telederm.audit import chain

    fields = {name: getattr(log[1], name) for name in chain.FIELDS} | {"reason": "nothing"}
    forged = chain.entry_hash(log[1].previous_hash, 2, fields)
    tamper(
        "UPDATE audit_accessevent SET reason = %s, hash = %s WHERE id = %s",
        ["nothing", forged, log[1].pk],
    )
    message = broken()
    assert message.startswith(f"Access log broken at entry #3 (id {log[2].pk}, ")
    assert "link to entry #2 is wrong" in message


def test_a_recorded_head_catches_entries_removed_from_the_end(log: list[AccessEvent]) -> None:
    head = f"5:{log[-1].hash}"
    tamper("DELETE FROM audit_accessevent WHERE sequence > %s", [3])
    assert verify().startswith("Access log intact: 3 entries"), "alone, the chain cannot tell"
    assert "entries #4–#5 were removed from the end" in broken("--expect-head", head)


def test_a_malformed_head_is_refused(log: list[AccessEvent]) -> None:
    with pytest.raises(CommandError, match="SEQUENCE:HASH"):
        verify("--expect-head", "5")
    with pytest.raises(CommandError, match="SEQUENCE:HASH"):
        verify("--expect-head", f"0:{log[0].hash}")


@on_postgresql
def test_postgresql_refuses_to_update_or_delete_entries(log: list[AccessEvent]) -> None:
    for sql in ("UPDATE audit_accessevent SET reason = 'nothing'", "DELETE FROM audit_accessevent"):
        with (
            pytest.raises(DatabaseError, match="the access log is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert list(AccessEvent.objects.values_list("reason", flat=True)) == [
        f"entry {n}" for n in range(1, 6)
    ]
    assert verify().startswith("Access log intact: 5 entries")


@on_sqlite
def test_sqlite_lets_raw_sql_through_and_verify_catches_it(log: list[AccessEvent]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_accessevent SET reason = 'nothing' WHERE sequence = 4")
        assert cursor.rowcount == 1
    message = broken()
    assert message.startswith(f"Access log broken at entry #4 (id {log[3].pk}, ")


@on_postgresql
def test_postgresql_column_types_refuse_unreadable_values(log: list[AccessEvent]) -> None:
    with pytest.raises(DatabaseError, match="uuid"), transaction.atomic():
        tamper("UPDATE audit_accessevent SET patient_uuid = %s WHERE sequence = 2", ["garbage"])
    assert verify().startswith("Access log intact: 5 entries")


@on_sqlite
def test_sqlite_unreadable_values_are_reported_not_crashed_on(log: list[AccessEvent]) -> None:
    tamper("UPDATE audit_accessevent SET patient_uuid = %s WHERE sequence = 4", ["garbage"])
    message = broken("--batch", "3")
    assert message.startswith("Access log broken after entry #3: an entry cannot be read")


def test_the_command_needs_a_subcommand(db: None) -> None:
    with pytest.raises(CommandError, match=r"SUBCOMMAND|subcommand"):
        call_command("audit", stdout=io.StringIO(), stderr=io.StringIO())


def test_services_log_into_one_chain(
    make_case: Callable[..., Any], dermatologist: AbstractBaseUser
) -> None:
    make_case(submit=True)
    assert AccessEvent.objects.count() >= 3
    assert verify().startswith(f"Access log intact: {AccessEvent.objects.count()} entries")
