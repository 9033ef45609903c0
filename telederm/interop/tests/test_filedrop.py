"""The file-drop transport: staged, renamed into place once, reconciled from what is on disk; and
a real worker process killed with SIGKILL between the rename and the commit leaves one copy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from telederm.interop.tests.test_outbox_support import message_xml
from telederm.interop.transports import base
from telederm.interop.transports.filedrop import FileDropTransport

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def drop(tmp_path: Path) -> FileDropTransport:
    return FileDropTransport(tmp_path / "out", tmp_path / "in")


def outgoing(payload: bytes = b"<MsgHead/>") -> base.Outgoing:
    return base.Outgoing(msg_id=str(uuid.uuid4()), receiver_her_id=56704, payload=payload)


def visible(folder: Path) -> list[str]:
    """What the communication server sees: complete .xml files, not our hidden folders."""
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".xml")


def test_prepare_stages_the_whole_file_out_of_the_servers_sight(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    message = outgoing(b"<MsgHead>whole</MsgHead>")
    drop.prepare(message)
    drop.prepare(message)  # safe to repeat
    assert visible(tmp_path / "out") == []
    staged = tmp_path / "out" / ".staging" / f"{message.msg_id}.xml"
    assert staged.read_bytes() == b"<MsgHead>whole</MsgHead>"
    assert [p.name for p in staged.parent.iterdir()] == [staged.name]  # no temporary left
    assert drop.reconcile(message) == base.NOT_DELIVERED


def test_send_renames_it_into_the_outgoing_folder(drop: FileDropTransport, tmp_path: Path) -> None:
    message = outgoing(b"<MsgHead>x</MsgHead>")
    drop.prepare(message)
    ref = drop.send(message)
    assert ref == f"{message.msg_id}.xml"
    assert visible(tmp_path / "out") == [ref]
    assert (tmp_path / "out" / ref).read_bytes() == b"<MsgHead>x</MsgHead>"
    assert not (tmp_path / "out" / ".staging" / ref).exists()
    assert drop.reconcile(message) == base.DELIVERED


def test_a_file_the_server_has_taken_away_still_counts_as_delivered(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    message = outgoing()
    drop.prepare(message)
    ref = drop.send(message)
    (tmp_path / "out" / ref).unlink()  # the communication server picked it up
    assert drop.reconcile(message) == base.DELIVERED
    # Sending again does not make a second copy.
    assert drop.send(message) == ref
    assert visible(tmp_path / "out") == []


def test_a_crash_between_marker_and_rename_is_not_delivered(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    message = outgoing()
    drop.prepare(message)
    (tmp_path / "out" / ".sent" / message.msg_id).write_bytes(b"")
    assert drop.reconcile(message) == base.NOT_DELIVERED
    drop.send(message)
    assert drop.reconcile(message) == base.DELIVERED


def test_a_message_never_prepared_was_not_delivered_and_cannot_be_sent(
    drop: FileDropTransport,
) -> None:
    message = outgoing()
    assert drop.reconcile(message) == base.NOT_DELIVERED
    with pytest.raises(base.TransportError, match="not prepared") as raised:
        drop.send(message)
    assert raised.value.permanent is False


def test_an_unwritable_folder_is_a_transport_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file where the folder should be")
    with pytest.raises(base.TransportError, match="could not stage"):
        FileDropTransport(tmp_path / "out", tmp_path / "in").prepare(outgoing())


def test_fetch_lists_complete_messages_oldest_first(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    incoming = tmp_path / "in"
    incoming.mkdir()
    for age, name in [(30, "b.xml"), (60, "a-old.xml"), (10, "c.xml")]:
        path = incoming / name
        path.write_bytes(name.encode())
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    (incoming / "d.xml.part").write_bytes(b"half")  # still being written by the other side
    (incoming / ".e.xml").write_bytes(b"hidden")
    (incoming / "processed.xml").mkdir()
    fetched = drop.fetch()
    assert [item.ref for item in fetched] == ["a-old.xml", "b.xml", "c.xml"]
    assert fetched[0].payload == b"a-old.xml"
    assert [item.ref for item in drop.fetch(limit=2)] == ["a-old.xml", "b.xml"]


def test_acknowledge_removes_the_file_and_nothing_else(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    incoming = tmp_path / "in"
    incoming.mkdir()
    (incoming / "a.xml").write_bytes(b"a")
    (tmp_path / "secret.xml").write_bytes(b"keep")
    drop.acknowledge("a.xml")
    drop.acknowledge("a.xml")  # twice is harmless
    assert drop.fetch() == []
    for hostile in ["../secret.xml", "/etc/passwd", "a"]:
        with pytest.raises(base.TransportError):
            drop.acknowledge(hostile)
    assert (tmp_path / "secret.xml").exists()


def test_fetch_from_a_missing_folder_finds_nothing(drop: FileDropTransport) -> None:
    assert drop.fetch() == []


def test_a_msg_id_that_is_not_a_uuid_never_becomes_a_path(drop: FileDropTransport) -> None:
    bad = base.Outgoing(msg_id="../../etc/x", receiver_her_id=1, payload=b"x")
    with pytest.raises(ValueError):
        drop.prepare(bad)


# A real crash ------------------------------------------------------------------------------

QUEUE = """
import uuid
from django.db import transaction
from telederm.interop import outbox
from telederm.interop.tests.test_outbox_support import message_xml
msg_id = uuid.UUID({msg_id!r})
with transaction.atomic():
    outbox.queue_message(by=None, kind="dialogmelding", msg_id=msg_id, msg_type="DIALOG_NOTAT",
        receiver_her_id=56704, receiver_name="", payload=message_xml(msg_id))
"""

RECOVER = """
import datetime as dt
from telederm.core import clock
from telederm.interop import outbox
outbox.deliver_due(clock.now() + dt.timedelta(minutes=10))
"""

STATE = """
import json
from telederm.interop.models import OutgoingMessage
m = OutgoingMessage.objects.get()
print(json.dumps({"status": m.status, "attempts": m.attempts, "ref": m.transport_ref}))
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telederm", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def state_of(env: dict[str, str]) -> dict[str, object]:
    result = run(env, "shell", "-c", STATE)
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return state


@pytest.mark.parametrize("taken_by_the_server", [False, True])
def test_a_worker_killed_after_the_rename_leaves_exactly_one_copy(
    tmp_path: Path, taken_by_the_server: bool
) -> None:
    """The whole stack in real processes on a SQLite file: queue, a worker that SIGKILLs itself
    between the rename and the commit, a fresh worker after the lease."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "telederm.settings",
        "TELEDERM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'telederm.sqlite3'}",
        "TELEDERM_MESSAGE_TRANSPORT": "file",
        "TELEDERM_MESSAGE_FILE_OUT": str(tmp_path / "out"),
        "TELEDERM_MESSAGE_FILE_IN": str(tmp_path / "in"),
        "TELEDERM_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    msg_id = str(uuid.uuid4())
    assert run(env, "migrate", "-v0").returncode == 0
    queued = run(env, "shell", "-c", QUEUE.format(msg_id=msg_id))
    assert queued.returncode == 0, queued.stderr

    crashed = run({**env, "TELEDERM_OUTBOX_CRASH_AT": "after_send"}, "worker", "--batch")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    state = state_of(env)
    assert state["status"] == "sending"  # the claim was committed before the rename
    assert visible(tmp_path / "out") == [f"{msg_id}.xml"]  # and the rename happened
    if taken_by_the_server:
        taken = tmp_path / "taken"
        taken.mkdir()
        (tmp_path / "out" / f"{msg_id}.xml").rename(taken / f"{msg_id}.xml")

    recovered = run(env, "shell", "-c", RECOVER)
    assert recovered.returncode == 0, recovered.stderr
    state = state_of(env)
    assert (state["status"], state["attempts"]) == ("sent", 1)
    # A later worker finds nothing to do.
    assert run(env, "worker", "--batch").returncode == 0
    copies = visible(tmp_path / "out") + (
        visible(tmp_path / "taken") if taken_by_the_server else []
    )
    assert copies == [f"{msg_id}.xml"]
    assert (
        Path(tmp_path / ("taken" if taken_by_the_server else "out")) / copies[0]
    ).read_bytes() == (message_xml(msg_id))


def test_a_worker_killed_before_the_rename_sends_it_once_after_recovery(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "telederm.settings",
        "TELEDERM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'telederm.sqlite3'}",
        "TELEDERM_MESSAGE_TRANSPORT": "file",
        "TELEDERM_MESSAGE_FILE_OUT": str(tmp_path / "out"),
        "TELEDERM_MESSAGE_FILE_IN": str(tmp_path / "in"),
    }
    msg_id = str(uuid.uuid4())
    assert run(env, "migrate", "-v0").returncode == 0
    assert run(env, "shell", "-c", QUEUE.format(msg_id=msg_id)).returncode == 0
    crashed = run({**env, "TELEDERM_OUTBOX_CRASH_AT": "before_send"}, "worker", "--batch")
    assert crashed.returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists() or visible(tmp_path / "out") == []
    assert run(env, "shell", "-c", RECOVER).returncode == 0
    state = state_of(env)
    assert (state["status"], state["attempts"]) == ("sent", 2)
    assert visible(tmp_path / "out") == [f"{msg_id}.xml"]


# Hostile incoming files ---------------------------------------------------------------------


def test_a_file_larger_than_a_message_may_be_is_set_aside_unread(
    drop: FileDropTransport, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from telederm.interop.kith.schemas import MAX_BYTES

    incoming = tmp_path / "in"
    incoming.mkdir()
    with open(incoming / "huge.xml", "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: costs no disk
    (incoming / "small.xml").write_bytes(b"<MsgHead/>")
    fetched = drop.fetch()
    assert [item.ref for item in fetched] == ["small.xml"]
    assert not (incoming / "huge.xml").exists()
    assert (incoming / "rejected" / "huge.xml").stat().st_size == MAX_BYTES + 1
    assert "huge.xml" in caplog.text and "more than" in caplog.text
    assert [item.ref for item in drop.fetch()] == ["small.xml"]  # not tried again


def test_a_file_that_grows_past_the_limit_is_not_taken(tmp_path: Path) -> None:
    small = FileDropTransport(tmp_path / "out", tmp_path / "in", max_bytes=16)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_bytes(b"x" * 17)
    (tmp_path / "in" / "b.xml").write_bytes(b"x" * 16)
    assert [item.ref for item in small.fetch()] == ["b.xml"]
    assert (tmp_path / "in" / "rejected" / "a.xml").exists()


def test_a_link_or_a_fifo_in_the_incoming_folder_is_never_followed(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    incoming = tmp_path / "in"
    incoming.mkdir()
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"<secret/>")
    (incoming / "link.xml").symlink_to(secret)
    os.mkfifo(incoming / "pipe.xml")
    assert drop.fetch() == []
    # Swapped in between listing and opening: the open itself refuses the link.
    with pytest.raises(Exception, match="symbolic link"):
        drop._read("link.xml")
    with pytest.raises(Exception, match="not a regular file"):
        drop._read("pipe.xml")
    assert secret.read_bytes() == b"<secret/>"
