"""The outbox: queued in the change's transaction, delivered once, retried, recovered, settled."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.core import clock
from telederm.interop import outbox
from telederm.interop.kith import model as kith
from telederm.interop.kith.errors import InvalidMessage
from telederm.interop.models import OutgoingMessage
from telederm.interop.tests.test_outbox_support import Receiver, message_xml, msg_id_of
from telederm.interop.transports import base

pytestmark = pytest.mark.django_db
Status = OutgoingMessage.Status
LATER = dt.timedelta(minutes=10)  # past the lease


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user(
        "drift@telederm.example", "x", full_name="Ola Drift", role=User.Role.OPERATOR
    )


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    return make_case(photos=0)


def queue(case: Case | None = None, by: User | None = None, **extra: Any) -> OutgoingMessage:
    msg_id = extra.pop("msg_id", uuid.uuid4())
    fields: dict[str, Any] = {
        "by": by,
        "kind": OutgoingMessage.Kind.DIALOGMELDING,
        "msg_id": msg_id,
        "msg_type": "DIALOG_NOTAT",
        "receiver_her_id": 56704,
        "receiver_name": "Kattskinnet legesenter",
        "payload": message_xml(msg_id),
        "case": case,
    }
    fields.update(extra)
    with transaction.atomic():
        return outbox.queue_message(**fields)


def apprec(message: OutgoingMessage, status: kith.AppRecStatus, *errors: str) -> kith.AppRec:
    party = kith.Party(organisation=kith.Organisation(name="Kattskinnet legesenter", her_id=56704))
    now = clock.now()
    return kith.AppRec(
        msg_id=str(uuid.uuid4()),
        generated_at=now,
        status=status,
        sender=party,
        receiver=party,
        original_msg_id=str(message.msg_id),
        original_msg_type=message.msg_type,
        original_issued_at=now,
        errors=tuple(kith.AppRecError(code=code, text=f"text {code}") for code in errors),
    )


# Queueing ---------------------------------------------------------------------------------


def test_a_queued_message_is_stored_due_now_logged_and_its_delivery_queued(
    case: Case, dermatologist: User
) -> None:
    tasks_before = DBTaskResult.objects.count()
    message = queue(case, by=dermatologist)
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 0
    assert message.next_attempt_at is not None and message.next_attempt_at <= clock.now()
    assert message.created_by == dermatologist
    assert msg_id_of(bytes(message.payload)) == str(message.msg_id)
    event = AccessEvent.objects.get(action="message.queue")
    assert (event.case_uuid, event.object_uuid, event.actor) == (
        case.uuid,
        message.uuid,
        dermatologist,
    )
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert DBTaskResult.objects.latest("enqueued_at").task_path.endswith("deliver_messages")


def test_a_message_without_a_case_is_not_in_the_access_log() -> None:
    queue()
    assert not AccessEvent.objects.filter(action__startswith="message.").exists()


def test_an_invalid_message_is_refused_and_nothing_is_stored() -> None:
    msg_id = uuid.uuid4()
    broken = message_xml(msg_id).replace(b"<MIGversion>", b"<Unexpected/><MIGversion>")
    with pytest.raises(InvalidMessage):
        queue(msg_id=msg_id, payload=broken)
    assert not OutgoingMessage.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_msg_id_that_differs_from_the_documents_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="differs"):
        queue(msg_id=uuid.uuid4(), payload=message_xml(uuid.uuid4()))
    assert not OutgoingMessage.objects.exists()


def test_queueing_the_same_msg_id_twice_keeps_one_message() -> None:
    msg_id = uuid.uuid4()
    first = queue(msg_id=msg_id)
    again = queue(msg_id=msg_id)
    assert again.pk == first.pk
    assert OutgoingMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_queueing_outside_a_transaction_is_refused() -> None:
    msg_id = uuid.uuid4()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox.queue_message(
            by=None,
            kind="dialogmelding",
            msg_id=msg_id,
            msg_type="DIALOG_NOTAT",
            receiver_her_id=56704,
            receiver_name="",
            payload=message_xml(msg_id),
        )
    assert not OutgoingMessage.objects.exists()


# Delivering -------------------------------------------------------------------------------


def test_delivery_sends_once_and_marks_sent_with_the_reference(case: Case) -> None:
    message = queue(case)
    receiver = Receiver()
    assert outbox.deliver_due(transport=receiver) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 1
    assert message.transport_ref == f"ref-{message.msg_id}"
    assert message.sent_at is not None
    assert message.next_attempt_at is None
    assert receiver.delivered == {str(message.msg_id): [bytes(message.payload)]}
    assert AccessEvent.objects.filter(action="message.send", object_uuid=message.uuid).count() == 1
    # Nothing is due any more: a second run sends nothing.
    assert outbox.deliver_due(transport=receiver) == 0
    assert receiver.copies() == 1


def test_a_message_not_yet_due_waits() -> None:
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=clock.now() + dt.timedelta(minutes=1)
    )
    receiver = Receiver()
    assert outbox.deliver_due(transport=receiver) == 0
    assert receiver.copies() == 0


def test_a_transient_failure_is_retried_later_with_a_growing_wait(settings: Any) -> None:
    settings.TELEDERM_MESSAGE_BACKOFF_SECONDS = 60
    message = queue()
    receiver = Receiver(fail_with=base.TransportError("connection refused"))
    start = clock.now()
    outbox.deliver_due(start, transport=receiver)
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.last_error == "connection refused"
    assert message.next_attempt_at is not None
    first_wait = message.next_attempt_at - start
    assert dt.timedelta(seconds=45) <= first_wait <= dt.timedelta(seconds=60)
    # Not due yet: nothing happens.
    assert outbox.deliver_due(start + dt.timedelta(seconds=30), transport=receiver) == 0
    second = start + dt.timedelta(seconds=61)
    outbox.deliver_due(second, transport=receiver)
    message.refresh_from_db()
    assert message.attempts == 2
    assert dt.timedelta(seconds=90) <= message.next_attempt_at - second <= dt.timedelta(seconds=120)
    receiver.fail_with = None
    outbox.deliver_due(second + dt.timedelta(seconds=121), transport=receiver)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.last_error == ""
    assert receiver.copies() == 1


def test_after_the_last_attempt_the_message_has_failed(settings: Any) -> None:
    settings.TELEDERM_MESSAGE_MAX_ATTEMPTS = 3
    message = queue()
    receiver = Receiver(fail_with=base.TransportError("timeout"))
    at = clock.now()
    for _ in range(5):
        outbox.deliver_due(at, transport=receiver)
        at += dt.timedelta(days=1)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.attempts == 3
    assert message.next_attempt_at is None


def test_a_permanent_failure_fails_at_once() -> None:
    message = queue()
    receiver = Receiver(fail_with=base.TransportError("unknown receiver", permanent=True))
    outbox.deliver_due(transport=receiver)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (
        Status.FAILED,
        1,
        "unknown receiver",
    )


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 45, 60), (2, 90, 120), (3, 180, 240), (20, 0.75 * 3600, 3600)],
)
def test_backoff_doubles_up_to_the_cap_with_jitter(
    settings: Any, attempts: int, low: float, high: float
) -> None:
    settings.TELEDERM_MESSAGE_BACKOFF_SECONDS = 60
    settings.TELEDERM_MESSAGE_BACKOFF_CAP_SECONDS = 3600
    waits = {outbox.backoff(attempts).total_seconds() for _ in range(20)}
    assert all(low <= wait <= high for wait in waits)
    assert len(waits) > 1  # jittered


def test_with_no_transport_messages_wait_in_the_queue(settings: Any) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "none"
    message = queue()
    assert outbox.deliver_due() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 0)


# Crashes: exactly once ----------------------------------------------------------------------


class Crash(Exception):
    pass


def crash_at(step: str) -> Callable[[str], None]:
    def crash(where: str) -> None:
        if where == step:
            raise Crash(where)

    return crash


def test_a_crash_after_sending_does_not_send_a_second_copy(
    monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    message = queue(case)
    receiver = Receiver()
    monkeypatch.setattr(outbox, "_crash_point", crash_at("after_send"))
    start = clock.now()
    with pytest.raises(Crash):
        outbox.deliver_due(start, transport=receiver)
    message.refresh_from_db()
    # The evidence left behind: it may have left.
    assert (message.status, message.attempts) == (Status.SENDING, 1)
    assert receiver.copies() == 1
    monkeypatch.setattr(outbox, "_crash_point", lambda where: None)
    # A worker inside the lease leaves it alone (the first may still be working on it).
    assert outbox.deliver_due(start + dt.timedelta(minutes=1), transport=receiver) == 0
    # After the lease a fresh worker reconciles instead of sending again.
    assert outbox.deliver_due(start + LATER, transport=receiver) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert receiver.copies() == 1
    assert outbox.deliver_due(start + 2 * LATER, transport=receiver) == 0
    assert receiver.copies() == 1


def test_a_crash_before_sending_sends_it_after_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    message = queue()
    receiver = Receiver()
    monkeypatch.setattr(outbox, "_crash_point", crash_at("before_send"))
    start = clock.now()
    with pytest.raises(Crash):
        outbox.deliver_due(start, transport=receiver)
    monkeypatch.setattr(outbox, "_crash_point", lambda where: None)
    assert receiver.copies() == 0
    outbox.deliver_due(start + LATER, transport=receiver)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 2
    assert receiver.copies() == 1


def test_when_the_transport_cannot_tell_the_message_is_in_doubt_and_never_resent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = queue()
    receiver = Receiver()
    monkeypatch.setattr(outbox, "_crash_point", crash_at("after_send"))
    start = clock.now()
    with pytest.raises(Crash):
        outbox.deliver_due(start, transport=receiver)
    monkeypatch.setattr(outbox, "_crash_point", lambda where: None)
    receiver.reconcile_says = base.UNKNOWN
    outbox.deliver_due(start + LATER, transport=receiver)
    message.refresh_from_db()
    assert message.status == Status.IN_DOUBT
    assert "cannot tell" in message.last_error
    for step in range(1, 4):
        assert outbox.deliver_due(start + step * LATER * 10, transport=receiver) == 0
    assert receiver.copies() == 1
    # The receiver's AppRec settles it.
    outbox.record_apprec(message, apprec(message, kith.AppRecStatus.OK))
    message.refresh_from_db()
    assert message.status == Status.ACKNOWLEDGED


def test_an_apprec_that_beats_the_sent_mark_is_not_overwritten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = queue()

    def receipt_arrives(where: str) -> None:
        if where == "after_send":
            outbox.record_apprec(message, apprec(message, kith.AppRecStatus.OK))

    monkeypatch.setattr(outbox, "_crash_point", receipt_arrives)
    outbox.deliver_due(transport=Receiver())
    message.refresh_from_db()
    assert message.status == Status.ACKNOWLEDGED
    assert message.transport_ref == f"ref-{message.msg_id}"
    assert message.sent_at is not None


# Receipts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (kith.AppRecStatus.OK, Status.ACKNOWLEDGED),
        (kith.AppRecStatus.REJECTED, Status.REJECTED),
        (kith.AppRecStatus.OK_WITH_ERRORS, Status.OK_WITH_ERRORS),
    ],
)
def test_an_apprec_settles_the_message(
    case: Case, status: kith.AppRecStatus, expected: str
) -> None:
    message = queue(case)
    outbox.deliver_due(transport=Receiver())
    errors = () if status == kith.AppRecStatus.OK else ("E21",)
    outbox.record_apprec(message, apprec(message, status, *errors))
    message.refresh_from_db()
    assert message.status == expected
    assert message.apprec_status == status.value
    assert message.acknowledged_at is not None
    assert message.apprec_errors == [
        {"code": code, "text": f"text {code}", "details": ""} for code in errors
    ]
    assert AccessEvent.objects.filter(action="message.receipt", case_uuid=case.uuid).count() == 1


# The operator's actions ---------------------------------------------------------------------


def failed(**extra: Any) -> OutgoingMessage:
    message = queue(**extra)
    outbox.deliver_due(transport=Receiver(fail_with=base.TransportError("no", permanent=True)))
    message.refresh_from_db()
    assert message.status == Status.FAILED
    return message


def test_a_failed_message_is_queued_again_as_it_was(operator: User, case: Case) -> None:
    message = failed(case=case)
    with transaction.atomic():
        again = outbox.resend(by=operator, message=message, expected_status=Status.FAILED)
    assert again.pk == message.pk
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.QUEUED, 0, "")
    assert AccessEvent.objects.filter(action="message.resend", actor=operator).count() == 1
    receiver = Receiver()
    outbox.deliver_due(transport=receiver)
    assert list(receiver.delivered) == [str(message.msg_id)]


def test_a_rejected_message_is_resent_as_a_valid_copy_with_a_new_msg_id(operator: User) -> None:
    message = queue()
    outbox.deliver_due(transport=Receiver())
    outbox.record_apprec(message, apprec(message, kith.AppRecStatus.REJECTED, "E21"))
    message.refresh_from_db()
    with transaction.atomic():
        copy = outbox.resend(by=operator, message=message)
    assert copy.pk != message.pk
    assert copy.resent_from == message
    assert copy.msg_id != message.msg_id
    assert msg_id_of(bytes(copy.payload)) == str(copy.msg_id)
    assert copy.status == Status.QUEUED
    assert copy.created_by == operator
    message.refresh_from_db()
    assert message.status == Status.REJECTED  # the original stays as it was: its history


def test_a_message_in_doubt_is_resent_only_when_the_operator_confirms(
    operator: User,
) -> None:
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(status=Status.IN_DOUBT)
    with pytest.raises(outbox.ConfirmationNeeded), transaction.atomic():
        outbox.resend(by=operator, message=message)
    message.refresh_from_db()
    assert message.status == Status.IN_DOUBT
    with transaction.atomic():
        outbox.resend(by=operator, message=message, confirmed_not_received=True)
    message.refresh_from_db()
    # The same msg_id: a receiver that did get it sees the copy as a duplicate.
    assert message.status == Status.QUEUED


@pytest.mark.parametrize(
    "status", [Status.QUEUED, Status.SENDING, Status.SENT, Status.ACKNOWLEDGED]
)
def test_only_failed_rejected_and_in_doubt_messages_can_be_resent(
    operator: User, status: str
) -> None:
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(status=status)
    with pytest.raises(outbox.CannotResend), transaction.atomic():
        outbox.resend(by=operator, message=message, confirmed_not_received=True)


def test_a_resend_of_a_message_that_changed_meanwhile_is_refused(operator: User) -> None:
    message = failed()
    with pytest.raises(outbox.CannotResend, match="changed meanwhile"), transaction.atomic():
        outbox.resend(by=operator, message=message, expected_status=Status.REJECTED)


def test_cancelling_stops_a_waiting_message(operator: User, case: Case) -> None:
    message = queue(case)
    with transaction.atomic():
        outbox.cancel(by=operator, message=message)
    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    receiver = Receiver()
    assert outbox.deliver_due(transport=receiver) == 0
    assert receiver.copies() == 0
    assert AccessEvent.objects.filter(action="message.cancel", actor=operator).count() == 1


def test_a_sent_message_cannot_be_cancelled(operator: User) -> None:
    message = queue()
    outbox.deliver_due(transport=Receiver())
    with pytest.raises(outbox.CannotCancel), transaction.atomic():
        outbox.cancel(by=operator, message=message)


@pytest.mark.parametrize("persona", ["dermatologist", "duty_nurse", "coordinator", "outsider"])
def test_only_an_operator_may_resend_or_cancel(
    request: pytest.FixtureRequest, persona: str
) -> None:
    person = request.getfixturevalue(persona)
    message = failed()
    with pytest.raises(PermissionDenied), transaction.atomic():
        outbox.resend(by=person, message=message)
    with pytest.raises(PermissionDenied), transaction.atomic():
        outbox.cancel(by=person, message=message)
    message.refresh_from_db()
    assert message.status == Status.FAILED


# Through the worker -------------------------------------------------------------------------


def test_the_worker_drops_a_queued_message_in_the_outgoing_folder(
    settings: Any, tmp_path: Any, case: Case
) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "file"
    settings.TELEDERM_MESSAGE_FILE_OUT = tmp_path / "out"
    settings.TELEDERM_MESSAGE_FILE_IN = tmp_path / "in"
    message = queue(case)
    call_command("worker", batch=True, interval=0.01)
    message.refresh_from_db()
    assert message.status == Status.SENT
    dropped = tmp_path / "out" / f"{message.msg_id}.xml"
    assert dropped.read_bytes() == bytes(message.payload)
    assert message.transport_ref == dropped.name


def test_a_message_that_could_not_be_composed_cannot_be_resent(operator: User, case: Case) -> None:
    # What the triggers leave when composing fails: a failed row with the reason, no document.
    message = OutgoingMessage.objects.create(
        msg_id=uuid.uuid4(),
        kind=OutgoingMessage.Kind.DIALOGMELDING,
        msg_type="DIALOG_NOTAT",
        case=case,
        receiver_her_id=56704,
        payload=b"",
        status=Status.FAILED,
        last_error="Could not be composed: no GP",
    )
    with pytest.raises(outbox.CannotResend, match="not a valid document"), transaction.atomic():
        outbox.resend(by=operator, message=message)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    with transaction.atomic():
        outbox.cancel(by=operator, message=message)
    message.refresh_from_db()
    assert message.status == Status.CANCELLED


class LostAnswer(base.TransportError):
    """Like NHN's DeliveryInDoubt: the request left, its answer did not come back."""

    def __init__(self, message: str) -> None:
        super().__init__(message, in_doubt=True)


def test_a_lost_answer_is_reconciled_after_the_lease_never_simply_resent() -> None:
    message = queue()
    receiver = Receiver()

    def send_and_lose_the_answer(outgoing: base.Outgoing) -> str:
        receiver.delivered.setdefault(outgoing.msg_id, []).append(outgoing.payload)
        raise LostAnswer("read timed out")

    receiver.send = send_and_lose_the_answer  # type: ignore[method-assign]
    start = clock.now()
    outbox.deliver_due(start, transport=receiver)
    message.refresh_from_db()
    assert (message.status, message.last_error) == (Status.SENDING, "read timed out")
    assert outbox.deliver_due(start + dt.timedelta(minutes=1), transport=receiver) == 0
    receiver.reconcile_says = base.UNKNOWN
    outbox.deliver_due(start + LATER, transport=receiver)
    message.refresh_from_db()
    assert message.status == Status.IN_DOUBT
    assert outbox.deliver_due(start + 100 * LATER, transport=receiver) == 0
    assert receiver.copies() == 1
