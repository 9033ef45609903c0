"""`telederm messages`: the KITH message traffic from the command line (docs/interop.md).

telederm messages example-referral [--to-inbox]
    A synthetic, schema-valid Henvisning 2.0 from the demo GP (Ingrid Lie, Nordkapp legesenter)
    to this clinic, with two generated photos: to stdout, or with --to-inbox into
    TELEDERM_MESSAGE_FILE_IN the way a communication server drops it (a temporary name, then a
    rename, so the inbox never reads half a file).
telederm messages receive
    Fetch and handle what the transport has once (what the worker's fetch task does) and say what
    became of each message.
telederm messages send
    Deliver the due messages once (what the worker's delivery task does).
telederm messages list [--status STATUS] [--limit N]
    Outgoing messages, newest first: kind, receiver, status, receipt. Never a patient's name.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.utils import timezone

from telederm.interop import inbox, outbox
from telederm.interop.models import IncomingMessage, OutgoingMessage


class Command(BaseCommand):
    help = (
        "KITH message traffic: write an example referral, receive and send once, list the "
        "outgoing messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        example = subcommands.add_parser(
            "example-referral",
            help="write a synthetic Henvisning 2.0 from the demo GP, with two photos",
            description=(
                "Write a synthetic, schema-valid Henvisning 2.0 from the demo GP to this clinic "
                "(a new synthetic patient each time, two generated photos) to stdout, or into the "
                "incoming folder with --to-inbox."
            ),
        )
        example.add_argument(
            "--to-inbox",
            action="store_true",
            help="drop it into TELEDERM_MESSAGE_FILE_IN (atomically) instead of printing it",
        )
        subcommands.add_parser("receive", help="fetch and handle incoming messages once")
        subcommands.add_parser("send", help="deliver the due outgoing messages once")
        listing = subcommands.add_parser("list", help="list outgoing messages, newest first")
        listing.add_argument(
            "--status", choices=OutgoingMessage.Status.values, help="only messages in this state"
        )
        listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "example-referral": self.example_referral,
            "receive": self.receive,
            "send": self.send,
            "list": self.list_messages,
        }
        handlers[options["subcommand"]](**options)

    def example_referral(self, *, to_inbox: bool, **_: Any) -> None:
        # The demo's GP, texts and photo generator: imported when used, as only this needs them.
        from telederm.demo import content
        from telederm.demo.management.commands import demo

        rng = random.SystemRandom()
        msg_id = str(uuid.uuid4())
        payload = demo.example_referral(
            msg_id=msg_id,
            patient_name=rng.choice(content.EXAMPLE_PATIENT_NAMES),
            birth_date=dt.date(rng.randint(1940, 2000), rng.randint(1, 12), rng.randint(1, 28)),
            details=content.EXAMPLE_REFERRAL,
            seed=rng.randint(1000, 9999),
            individual=rng.randint(100, 489),
        )
        if not to_inbox:
            self.stdout.write(payload.decode("utf-8"), ending="")
            return
        path = drop(Path(settings.TELEDERM_MESSAGE_FILE_IN), f"{msg_id}.xml", payload)
        self.stdout.write(f"Wrote a Henvisning 2.0 ({len(payload)} bytes) to {path}")

    def receive(self, **_: Any) -> None:
        before = IncomingMessage.objects.aggregate(last=Max("pk"))["last"] or 0
        received = inbox.receive_all()
        self.stdout.write(f"Received {received} message(s).")
        for row in IncomingMessage.objects.filter(pk__gt=before).order_by("pk"):
            self.stdout.write(f"  {describe_incoming(row)}")
        waiting = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.QUEUED).count()
        if waiting:
            self.stdout.write(
                f"{waiting} message(s) queued to send: `telederm messages send`, or the worker."
            )

    def send(self, **_: Any) -> None:
        handled = outbox.deliver_due()
        self.stdout.write(f"Handled {handled} message(s).")
        counts = outbox.status_counts()
        summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
        self.stdout.write(f"Outgoing messages: {summary or 'none'}.")

    def list_messages(self, *, status: str | None, limit: int, **_: Any) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        rows = OutgoingMessage.objects.order_by("-created_at", "-pk")
        if status:
            rows = rows.filter(status=status)
        found = False
        for message in rows[:limit]:
            found = True
            self.stdout.write(describe_outgoing(message))
        if not found:
            self.stdout.write("No outgoing messages" + (f" {status}." if status else "."))


def drop(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` as `folder/name` all at once: a hidden temporary file, fsynced, renamed.

    The file-drop transport reads only complete `*.xml` names, never dot-files (transports/
    filedrop.py), so it can never read half a message.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        descriptor = os.open(folder, os.O_RDONLY)  # the rename survives a power cut
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    finally:
        temporary.unlink(missing_ok=True)
    return final


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _problems(items: list[dict[str, str]]) -> str:
    return "; ".join(
        " ".join(
            part
            for part in (item.get("code", ""), item.get("details") or item.get("text", ""))
            if part
        )
        for item in items
    )


def describe_incoming(row: IncomingMessage) -> str:
    """One line about a received message: type, sender, what became of it. No patient data."""
    line = (
        f"{row.msg_type or '(unreadable)'} from HER-id {row.sender_her_id or '?'}: "
        f"{row.get_status_display()}"
    )
    if row.case is not None:
        line += f"; case {row.case.uuid}"
    if row.errors:
        line += f" ({_problems(row.errors)})"
    receipt = OutgoingMessage.objects.filter(in_reply_to=row).order_by("pk").first()
    if receipt is not None:
        line += f"; AppRec {receipt.msg_id} {receipt.status}"
    return line


def describe_outgoing(message: OutgoingMessage) -> str:
    """One line about an outgoing message. The receiver is an organisation, never a patient."""
    line = (
        f"{_when(message.created_at)}  {message.msg_id}  {message.msg_type:22} "
        f"to {message.receiver_her_id} {message.receiver_name}: {message.status}"
    )
    if message.attempts > 1:
        line += f" after {message.attempts} attempts"
    if message.apprec_errors:
        line += f" ({_problems(message.apprec_errors)})"
    elif message.last_error and message.status not in SETTLED:
        line += f" ({message.last_error})"
    return line


# Messages whose last transport error no longer matters: the receiver has answered.
SETTLED = frozenset(
    {
        OutgoingMessage.Status.ACKNOWLEDGED,
        OutgoingMessage.Status.OK_WITH_ERRORS,
        OutgoingMessage.Status.REJECTED,
        OutgoingMessage.Status.CANCELLED,
    }
)
