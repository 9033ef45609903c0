"""`telederm messages`: an example referral to stdout or into the inbox, receive, send and list."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.interop.kith import henvisning, msghead
from telederm.interop.models import IncomingMessage, OutgoingMessage
from telederm.patients.identifiers import parse_person_identifier

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("messages", *args, stdout=out)
    return out.getvalue()


def inbox_folder() -> Path:
    return Path(settings.TELEDERM_MESSAGE_FILE_IN)


def outbox_files() -> list[Path]:
    folder = Path(settings.TELEDERM_MESSAGE_FILE_OUT)
    return sorted(folder.glob("*.xml")) if folder.exists() else []


def test_example_referral_is_a_valid_henvisning_from_the_demo_gp_with_two_photos() -> None:
    payload = run("example-referral").encode("utf-8")
    envelope = msghead.read(payload)  # validates MsgHead with the Henvisning 2.0 schema
    head = envelope.head
    assert head.msg_type == henvisning.MSG_TYPE
    assert head.sender.organisation.her_id == 8100002
    assert head.sender.person is not None and head.sender.person.hpr_number == "9100021"
    assert head.receiver.her_id == settings.TELEDERM_HER_ID
    assert head.patient is not None
    assert parse_person_identifier(head.patient.identifier, accept_synthetic=True).is_synthetic
    referral = henvisning.parse(envelope)
    assert referral.reason and referral.referrer.family_name == "Lie"
    assert [a.mime_type for a in envelope.attachments] == ["image/jpeg", "image/jpeg"]
    assert all(a.data.startswith(b"\xff\xd8\xff") for a in envelope.attachments)


def test_each_example_referral_is_a_new_message() -> None:
    first = msghead.read(run("example-referral").encode()).head
    second = msghead.read(run("example-referral").encode()).head
    assert first.msg_id != second.msg_id


def test_example_referral_to_the_inbox_is_one_complete_file_named_by_its_msg_id() -> None:
    output = run("example-referral", "--to-inbox")
    files = list(inbox_folder().iterdir())
    assert len(files) == 1 and files[0].suffix == ".xml"
    assert str(files[0]) in output
    assert msghead.read(files[0].read_bytes()).head.msg_id == files[0].stem


def test_a_failed_rename_leaves_nothing_in_the_inbox(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_rename(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(OSError, match="disk full"):
        run("example-referral", "--to-inbox")
    assert list(inbox_folder().iterdir()) == []  # no half file, no temporary file


def test_receive_turns_the_dropped_referral_into_a_case_and_send_delivers_its_apprec() -> None:
    run("example-referral", "--to-inbox")
    output = run("receive")
    assert "Received 1 message(s)." in output
    incoming = IncomingMessage.objects.get()
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    case = Case.objects.get()
    assert case.status == CaseStatus.SUBMITTED and case.photos.count() == 2
    assert f"HENVISNING_NYTILSTAND from HER-id 8100002: Accepted; case {case.uuid}" in output
    assert case.patient.full_name not in output
    assert "queued to send" in output
    assert list(inbox_folder().glob("*.xml")) == []  # acknowledged: the file is gone

    output = run("send")
    assert "Handled 1 message(s)." in output
    receipt = OutgoingMessage.objects.get(in_reply_to=incoming)
    assert receipt.kind == OutgoingMessage.Kind.APPREC
    assert receipt.status == OutgoingMessage.Status.SENT
    assert [path.stem for path in outbox_files()] == [str(receipt.msg_id)]


def test_receive_with_nothing_waiting_says_so() -> None:
    assert run("receive").startswith("Received 0 message(s).")
    assert run("send").startswith("Handled 0 message(s).")


def test_list_shows_receivers_and_states_never_patients_and_filters_by_status() -> None:
    run("example-referral", "--to-inbox")
    run("receive")
    run("send")
    receipt = OutgoingMessage.objects.get()
    output = run("list")
    assert str(receipt.msg_id) in output
    assert "APPREC" in output and "to 8100002" in output and ": sent" in output
    assert Case.objects.get().patient.full_name not in output

    assert run("list", "--status", "failed") == "No outgoing messages failed.\n"
    OutgoingMessage.objects.filter(pk=receipt.pk).update(
        status=OutgoingMessage.Status.FAILED, attempts=8, last_error="connection refused"
    )
    failed = run("list", "--status", "failed")
    assert str(receipt.msg_id) in failed
    assert "failed after 8 attempts (connection refused)" in failed


def test_list_refuses_an_unknown_status() -> None:
    with pytest.raises(CommandError):
        run("list", "--status", "lost")
