"""The message outbox: every KITH message we send is a row here before it is bytes on a wire.

A message is stored, schema-valid, in the transaction of the change that causes it
(`queue_message`), so a signed answer and its Dialogmelding commit or vanish together. The
worker (`deliver_due`, task `deliver_messages`) delivers it through the configured transport,
exactly once across crashes (ADR 0024):

1. claim a due row and mark it `sending` (attempts + 1, a lease in `next_attempt_at`) and COMMIT
   before the transport is called, so a crash always leaves the evidence "this may have left";
2. `transport.prepare`, then `transport.send` (the point of no return is inside it);
3. mark it `sent` with the transport's reference.

A row still `sending` when its lease has run out was interrupted somewhere in 2–3. It is never
simply sent again: the transport is asked (`reconcile`) whether the other side got it. DELIVERED
→ `sent`; NOT_DELIVERED → `queued` again; UNKNOWN → `in_doubt`, which only an AppRec from the
receiver or an operator's explicit "the receiver has not got it" settles. Failures are retried
with a doubling back-off and jitter up to TELEDERM_MESSAGE_MAX_ATTEMPTS, then `failed`; a
permanent transport error fails at once. The receiver's AppRec (`record_apprec`) ends the story:
acknowledged, acknowledged with errors, or rejected.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import signal
import uuid
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from lxml import etree

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case
from telederm.core import clock
from telederm.core.errors import UserFacingError
from telederm.core.outbox import enqueue
from telederm.interop import policies
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.interop.transports import base
from telederm.interop.transports.registry import get_transport

logger = logging.getLogger(__name__)

Status = OutgoingMessage.Status
MSGHEAD_NS = "http://www.kith.no/xmlstds/msghead/2006-05-24"

# How long a claimed message may stay `sending` before a worker treats it as interrupted. It must
# be longer than any transport call can take (the NHN client's timeouts are well under a minute).
LEASE = dt.timedelta(seconds=int(getattr(settings, "TELEDERM_MESSAGE_LEASE_SECONDS", 300)))
# One worker run delivers at most this many, so a long queue does not starve the other tasks.
BATCH = 100

# What the operator may do, by status.
RESENDABLE = frozenset({Status.FAILED, Status.REJECTED, Status.IN_DOUBT})
CANCELLABLE = frozenset({Status.QUEUED, Status.FAILED, Status.REJECTED, Status.IN_DOUBT})
# The operator page lists these first: each needs a person.
NEEDS_ATTENTION = (Status.FAILED, Status.REJECTED, Status.IN_DOUBT)

APPREC_STATUS = {
    kith.AppRecStatus.OK: Status.ACKNOWLEDGED,
    kith.AppRecStatus.REJECTED: Status.REJECTED,
    kith.AppRecStatus.OK_WITH_ERRORS: Status.OK_WITH_ERRORS,
}

# Test seam for crash injection: called between the steps of a delivery with the step's name.
# Tests replace it to raise; a test-only environment variable makes a real worker process kill
# itself there with SIGKILL (no cleanup, no commit: as a power cut or the OOM killer would).
CRASH_ENV = "TELEDERM_OUTBOX_CRASH_AT"


def _die_if_asked(where: str) -> None:
    if os.environ.get(CRASH_ENV) == where:
        os.kill(os.getpid(), signal.SIGKILL)


_crash_point: Callable[[str], None] = _die_if_asked


class CannotResend(UserFacingError):
    """The message is in a state that resending does not apply to."""


class CannotCancel(UserFacingError):
    """The message is being sent or has already arrived."""


class ConfirmationNeeded(UserFacingError):
    """Resending a message in doubt could make a second copy reach the receiver."""


# Queueing ---------------------------------------------------------------------------------


def queue_message(
    *,
    by: User | None,
    kind: str,
    msg_id: str | uuid.UUID,
    msg_type: str,
    receiver_her_id: int,
    receiver_name: str,
    payload: bytes,
    case: Case | None = None,
    in_reply_to: IncomingMessage | None = None,
) -> OutgoingMessage:
    """Store a schema-valid message for delivery; call inside the transaction of its cause.

    Raises `telederm.interop.kith.errors.InvalidMessage` (nothing stored) if the payload does
    not validate. Queueing the same msg_id twice returns the first row: the msg_id is the
    message's identity everywhere, and the receiver's duplicate key.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("queue_message must be called inside the transaction of the change")
    if kind not in OutgoingMessage.Kind.values:
        raise ValueError(f"unknown message kind {kind!r}")
    identity = uuid.UUID(str(msg_id))
    existing = OutgoingMessage.objects.filter(msg_id=identity).first()
    if existing is not None:
        return existing
    root = _validate(payload)
    written = _msg_id_in(root)
    if written is not None and written.lower() != str(identity):
        raise ValueError(f"msg_id {identity} differs from the document's MsgId {written}")
    message = OutgoingMessage.objects.create(
        msg_id=identity,
        kind=kind,
        msg_type=msg_type,
        case=case,
        receiver_her_id=receiver_her_id,
        receiver_name=receiver_name,
        payload=bytes(payload),
        status=Status.QUEUED,
        next_attempt_at=clock.now(),
        created_by=by if isinstance(by, User) else None,
        in_reply_to=in_reply_to,
    )
    _log(by, action="message.queue", message=message)
    _queue_delivery()
    return message


def _validate(payload: bytes) -> Any:
    # Imported when used: the schemas load lazily, and this module stays importable by the
    # apps that only read the outbox.
    schemas = import_module("telederm.interop.kith.schemas")
    return schemas.validate(bytes(payload))


def _msg_id_in(root: Any) -> str | None:
    element = (
        root.find(f"{{{MSGHEAD_NS}}}MsgInfo/{{{MSGHEAD_NS}}}MsgId") if root is not None else None
    )
    return element.text.strip() if element is not None and element.text else None


def _queue_delivery() -> None:
    from telederm.interop import tasks  # tasks imports this module

    enqueue(tasks.deliver_messages)


def _log(
    by: User | None, *, action: str, message: OutgoingMessage, request: HttpRequest | None = None
) -> None:
    """Access-log an action on a message that carries a patient's data (one with a case)."""
    case = message.case
    if case is None:
        return
    record(actor=by, action=action, patient=case.patient, case=case, obj=message, request=request)


# Delivering -------------------------------------------------------------------------------


def due(now: dt.datetime) -> QuerySet[OutgoingMessage]:
    """Rows a worker should act on: queued and due, or `sending` with their lease run out."""
    return OutgoingMessage.objects.filter(
        status__in=[Status.QUEUED, Status.SENDING], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")


def deliver_due(now: dt.datetime | None = None, *, transport: base.Transport | None = None) -> int:
    """Deliver the due messages and recover interrupted ones; returns how many were handled.

    Call it outside any transaction: each step commits on its own, which is the whole point.
    """
    the_transport = transport or get_transport()
    handled = 0
    while handled < BATCH:
        at = now or clock.now()
        claimed = _claim_next(at, the_transport)
        if claimed is None:
            break
        message, interrupted = claimed
        handled += 1
        if interrupted:
            _recover(message, at, transport)
        else:
            _send(message, at, the_transport)
    return handled


def _claim_next(at: dt.datetime, transport: base.Transport) -> tuple[OutgoingMessage, bool] | None:
    """Take the next due row and commit what this worker is about to do with it."""
    with transaction.atomic():
        rows = due(at)
        if transport.name == "none":
            # Nothing can be sent: queued rows wait; interrupted ones may still be recovered.
            rows = rows.filter(status=Status.SENDING)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        # On SQLite the IMMEDIATE transaction holds the write lock: no other worker claims now.
        message = rows.first()
        if message is None:
            return None
        if message.status == Status.SENDING:
            # Interrupted: push its lease so that no other worker reconciles it at the same time.
            message.next_attempt_at = at + LEASE
            message.save(update_fields=["next_attempt_at"])
            return message, True
        message.status = Status.SENDING
        message.attempts += 1
        message.next_attempt_at = at + LEASE
        message.transport = transport.name
        message.save(update_fields=["status", "attempts", "next_attempt_at", "transport"])
    return message, False


def _outgoing(message: OutgoingMessage) -> base.Outgoing:
    reply_to = message.in_reply_to
    return base.Outgoing(
        msg_id=str(message.msg_id),
        receiver_her_id=message.receiver_her_id,
        payload=bytes(message.payload),
        is_apprec=message.kind == OutgoingMessage.Kind.APPREC,
        in_reply_to_ref=reply_to.transport_ref if reply_to is not None else "",
    )


def _send(message: OutgoingMessage, at: dt.datetime, transport: base.Transport) -> None:
    outgoing = _outgoing(message)
    _crash_point("before_send")
    try:
        transport.prepare(outgoing)
        ref = transport.send(outgoing)
    except base.TransportError as error:
        if error.in_doubt:
            # The request left but its answer was lost (NHN's DeliveryInDoubt): as after a
            # crash, the row stays `sending` and is reconciled when its lease runs out, never
            # simply sent again.
            _note_error(message, error)
            return
        _failed_attempt(message, at, error)
        return
    # From here the receiver may have the message: until the next commit, a crash leaves the row
    # `sending`, and the recovery asks the transport instead of sending it again.
    _crash_point("after_send")
    _mark_sent(message, ref, at)


def _mark_sent(message: OutgoingMessage, ref: str, at: dt.datetime) -> None:
    with transaction.atomic():
        # The transport's reference and time always; the status only if nothing moved it on (a
        # quick receiver's AppRec may already have arrived).
        OutgoingMessage.objects.filter(pk=message.pk).update(
            transport_ref=ref[:200], sent_at=at, last_error=""
        )
        changed = OutgoingMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.SENT, next_attempt_at=None
        )
        if changed:
            message.refresh_from_db()
            _log(None, action="message.send", message=message)


def _note_error(message: OutgoingMessage, error: base.TransportError) -> None:
    logger.warning("message %s may or may not have left: %s", message.msg_id, error)
    OutgoingMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        last_error=str(error)[:2000]
    )


def _failed_attempt(message: OutgoingMessage, at: dt.datetime, error: base.TransportError) -> None:
    give_up = error.permanent or message.attempts >= settings.TELEDERM_MESSAGE_MAX_ATTEMPTS
    logger.warning(
        "message %s attempt %d failed%s: %s",
        message.msg_id,
        message.attempts,
        " (giving up)" if give_up else "",
        error,
    )
    with transaction.atomic():
        OutgoingMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.FAILED if give_up else Status.QUEUED,
            next_attempt_at=None if give_up else at + backoff(message.attempts),
            last_error=str(error)[:2000],
        )


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try: the first back-off doubling per attempt, capped, with jitter so
    that messages failing together (a receiver down) do not all come back at the same second."""
    first = float(settings.TELEDERM_MESSAGE_BACKOFF_SECONDS)
    cap = float(settings.TELEDERM_MESSAGE_BACKOFF_CAP_SECONDS)
    seconds = min(cap, first * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds * secrets.SystemRandom().uniform(0.75, 1.0))


def _recover(message: OutgoingMessage, at: dt.datetime, configured: base.Transport | None) -> None:
    """A `sending` row whose lease ran out: ask the transport what became of it."""
    # Ask the transport that was sending it, even if the configuration has changed since.
    if configured is not None and configured.name == message.transport:
        transport = configured
    else:
        transport = get_transport(message.transport or None)
    try:
        found = transport.reconcile(_outgoing(message))
    except base.TransportError as error:
        # Ask again when the lease (pushed by the claim) runs out.
        OutgoingMessage.objects.filter(pk=message.pk).update(last_error=str(error)[:2000])
        return
    with transaction.atomic():
        rows = OutgoingMessage.objects.filter(pk=message.pk, status=Status.SENDING)
        if found == base.DELIVERED:
            if rows.update(status=Status.SENT, sent_at=at, next_attempt_at=None, last_error=""):
                message.refresh_from_db()
                _log(None, action="message.send", message=message)
        elif found == base.NOT_DELIVERED:
            rows.update(
                status=Status.QUEUED,
                next_attempt_at=at,
                last_error=str(_("Sending was interrupted before the message left; sent again.")),
            )
        else:
            rows.update(
                status=Status.IN_DOUBT,
                next_attempt_at=None,
                last_error=str(
                    _(
                        "Sending was interrupted and the transport cannot tell whether the "
                        "receiver got the message."
                    )
                ),
            )


# Receipts ---------------------------------------------------------------------------------


# The messages an AppRec may settle: sent, or possibly sent. A queued message has not left, so an
# AppRec "for" it is forged or misdirected; a settled one is settled already.
APPREC_SETTLES = frozenset(
    {OutgoingMessage.Status.SENT, OutgoingMessage.Status.SENDING, OutgoingMessage.Status.IN_DOUBT}
)


class AppRecRefused(Exception):
    """An AppRec that may not settle the message it names: why (for the operator and the log)."""


def party_her_ids(party: kith.Party) -> set[int]:
    """Every HER-id a sender names: its organisation, its department and its person."""
    ids = {party.organisation.her_id}
    if party.department is not None:
        ids.add(party.department.her_id)
    if party.person is not None:
        ids.add(party.person.her_id)
    return {value for value in ids if value is not None}


def sent_to(message: OutgoingMessage, party: kith.Party) -> bool:
    """Whether the party is the one the message went to: its HER-id is one the party names, or
    that HER-id is a department or person of it in the address register."""
    ids = party_her_ids(party)
    if message.receiver_her_id in ids:
        return True
    return AddressEntry.objects.filter(
        her_id=message.receiver_her_id, parent_her_id__in=ids
    ).exists()


@transaction.atomic
def record_apprec(message: OutgoingMessage, apprec: kith.AppRec) -> OutgoingMessage:
    """The receiver's AppRec for one of ours: acknowledged, acknowledged with errors or rejected.

    It also settles a message in doubt: an AppRec proves the message arrived. Raises
    `AppRecRefused` (nothing changed) when the AppRec comes from anyone but the message's
    receiver, or when the message is not one that is out (queued, or settled already).
    """
    locked = OutgoingMessage.objects.select_for_update().get(pk=message.pk)
    if not sent_to(locked, apprec.sender):
        raise AppRecRefused(
            f"the AppRec comes from HER-id {apprec.sender.her_id}, "
            f"the message went to HER-id {locked.receiver_her_id}"
        )
    if locked.status not in APPREC_SETTLES:
        raise AppRecRefused(f"the message is {locked.status}, not waiting for a receipt")
    locked.status = APPREC_STATUS[kith.AppRecStatus(apprec.status)]
    locked.apprec_status = kith.AppRecStatus(apprec.status).value
    locked.apprec_errors = [
        {"code": error.code, "text": error.text, "details": error.details}
        for error in apprec.errors
    ]
    locked.acknowledged_at = clock.now()
    locked.next_attempt_at = None
    locked.save(
        update_fields=[
            "status",
            "apprec_status",
            "apprec_errors",
            "acknowledged_at",
            "next_attempt_at",
        ]
    )
    _log(None, action="message.receipt", message=locked)
    return locked


# The operator's actions -------------------------------------------------------------------


@transaction.atomic
def resend(
    *,
    by: User,
    message: OutgoingMessage,
    confirmed_not_received: bool = False,
    expected_status: str | None = None,
    request: HttpRequest | None = None,
) -> OutgoingMessage:
    """Send a failed, rejected or in-doubt message again; returns the row that will be sent.

    Failed: it never arrived, so it is queued again as it is (same msg_id, attempts from zero).
    In doubt: the same, but only when the operator confirms the receiver has not got it; keeping
    its msg_id lets a receiver that did get it recognise the copy as a duplicate. Rejected: the
    receiver has seen that msg_id, so a copy with a new msg_id is queued (`resent_from`), after
    validating it again.
    """
    if not policies.can_operate_messages(by):
        raise PermissionDenied
    locked = OutgoingMessage.objects.select_for_update().get(pk=message.pk)
    if expected_status is not None and locked.status != expected_status:
        raise CannotResend(_("The message has changed meanwhile; look at it again."))
    if locked.status not in RESENDABLE:
        raise CannotResend(_("Only failed, rejected and in-doubt messages can be sent again."))
    if locked.status == Status.IN_DOUBT and not confirmed_not_received:
        raise ConfirmationNeeded(
            _(
                "Confirm that the receiver has not got the message (ask them), or it may "
                "arrive twice."
            )
        )
    _check_still_valid(bytes(locked.payload))
    if locked.status == Status.REJECTED:
        copy_id = uuid.uuid4()
        payload = _with_msg_id(bytes(locked.payload), copy_id)
        _validate(payload)
        copy = OutgoingMessage.objects.create(
            msg_id=copy_id,
            kind=locked.kind,
            msg_type=locked.msg_type,
            case=locked.case,
            receiver_her_id=locked.receiver_her_id,
            receiver_name=locked.receiver_name,
            payload=payload,
            status=Status.QUEUED,
            next_attempt_at=clock.now(),
            created_by=by,
            in_reply_to=locked.in_reply_to,
            resent_from=locked,
        )
        _log(by, action="message.resend", message=copy, request=request)
        _queue_delivery()
        return copy
    locked.status = Status.QUEUED
    locked.attempts = 0
    locked.next_attempt_at = clock.now()
    locked.last_error = ""
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    _log(by, action="message.resend", message=locked, request=request)
    _queue_delivery()
    return locked


@transaction.atomic
def cancel(
    *,
    by: User,
    message: OutgoingMessage,
    expected_status: str | None = None,
    request: HttpRequest | None = None,
) -> OutgoingMessage:
    """Stop a message that is waiting, failed, rejected or in doubt: it will not be sent."""
    if not policies.can_operate_messages(by):
        raise PermissionDenied
    locked = OutgoingMessage.objects.select_for_update().get(pk=message.pk)
    if expected_status is not None and locked.status != expected_status:
        raise CannotCancel(_("The message has changed meanwhile; look at it again."))
    if locked.status not in CANCELLABLE:
        raise CannotCancel(_("A message being sent or already received cannot be cancelled."))
    locked.status = Status.CANCELLED
    locked.next_attempt_at = None
    locked.save(update_fields=["status", "next_attempt_at"])
    _log(by, action="message.cancel", message=locked, request=request)
    return locked


def _check_still_valid(payload: bytes) -> None:
    """A message that could not be composed (its row holds the reason, not a document), or that
    no longer validates, cannot simply go again: the clinician's action has to be redone."""
    try:
        _validate(payload)
    except ValueError as error:  # kith.errors.InvalidMessage is a ValueError
        raise CannotResend(
            _(
                "The stored message is not a valid document, so it cannot be sent again. "
                "Cancel it and ask the clinician to send the answer again."
            )
        ) from error


def _with_msg_id(payload: bytes, msg_id: uuid.UUID) -> bytes:
    """The same MsgHead document under a new MsgInfo/MsgId."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    root = etree.fromstring(payload, parser)
    element = root.find(f"{{{MSGHEAD_NS}}}MsgInfo/{{{MSGHEAD_NS}}}MsgId")
    if element is None:
        raise CannotResend(_("The stored message has no message id to replace."))
    element.text = str(msg_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# Reading, for the operator page -----------------------------------------------------------


def status_counts() -> dict[str, int]:
    """How many messages are in each status (every status, zeros included)."""
    counts = dict.fromkeys(Status.values, 0)
    for row in OutgoingMessage.objects.values("status").order_by().annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts
