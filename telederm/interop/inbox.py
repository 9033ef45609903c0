"""Incoming KITH messages: stored first, then read, acted on and answered with an AppRec (ADR 0026).

`receive_all` fetches what the transport has for us. Each message is stored verbatim as an
`IncomingMessage` (RECEIVED) in its own transaction before anything else, and only then
acknowledged to the transport, so a message that has left the transport is always in the
database. It is then handled in one transaction, which either commits completely (the case or
message it made, its status and the AppRec queued in the outbox) or not at all: a crash in
between leaves the row RECEIVED, and the next run handles it, once (`process_pending`).

What each kind of message does:
- Henvisning 2.0 addressed to us (our HER-id or one of our services in the address register): a
  new referral becomes a sent case (`referrals.receive_referral`); a change is added to its case
  as a message for the clinic; a cancellation withdraws a case nobody has started to assess, and
  is otherwise added as a message too. AppRec OK, or "OK with errors" with what was left out.
- Dialogmelding 1.0/1.1 addressed to us: an answer to one of our messages, or about one of our
  cases, becomes a message on that case from its sender; anything else is a GP's enquiry and
  becomes a case like a referral.
- AppRec: matched to the message of ours it answers (`outbox.record_apprec`). An AppRec is never
  answered, and one that answers nothing of ours is kept and logged for the operator.
- Anything else, anything invalid, and anything not addressed to us is rejected with AppRec error
  codes (kodeverk 8221). A message without a readable sender is kept REJECTED and not answered:
  there is nobody to answer. The operator's page lists both.
- The same message again (same sender HER-id and MsgId) is a duplicate: nothing new is made and
  the AppRec we gave the first time is sent again, since the sender evidently did not get it.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from lxml import etree

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import services as case_services
from telederm.cases import tasks as case_tasks
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.states import CaseStatus
from telederm.core import clock, outbox
from telederm.interop import outbox as message_outbox
from telederm.interop import referrals
from telederm.interop.kith import apprec, dialogmelding, errors, henvisning, msghead, schemas
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.interop.transports import base
from telederm.interop.transports.registry import get_transport

logger = logging.getLogger(__name__)

Status = IncomingMessage.Status
AppRecStatus = kith.AppRecStatus

# Kodeverk 8221 codes this module gives itself (kith/errors.py has the texts).
NO_RECEIVER = "E21"
PATIENT_MISSING = "E30"
OTHER = "X99"

# A change or cancellation that cannot be carried out as asked is put before the clinic instead.
WITHDRAWABLE = frozenset({CaseStatus.SUBMITTED, CaseStatus.TRIAGED, CaseStatus.INFO_REQUESTED})
# Dialogmelding types (kodeverk 8279) that may start a case when they answer nothing of ours: a
# health professional's note or question. Answers, statuses and error reports need their case.
NEW_CASE_DIALOGS = frozenset({"DIALOG_HELSEFAGLIG", "DIALOG_NOTAT", "DIALOG_FORESPORSEL"})
# Helsenorge's citizen messages (DIALOG_INNBYGGER_*) are not for a referral channel.
CITIZEN_DIALOG = "DIALOG_INNBYGGER"
# Earlier referrals from the same sender searched for the document id a change refers to: each is
# parsed again (up to schemas.MAX_BYTES), so only the sender's latest few. A DocumentId column on
# IncomingMessage would make this one indexed query (it needs a migration).
DOCUMENT_SEARCH_LIMIT = 100
MESSAGE_LIMIT = 5000  # cases.messaging.MAX_LENGTH
# What reading the head of a message that failed validation can raise: missing parts, bad dates.
HEAD_FAULTS = (AssertionError, AttributeError, KeyError, TypeError, ValueError)


@dataclass
class Outcome:
    """What handling one message came to: its status, why, and what it touched."""

    status: str
    problems: list[kith.AppRecError] = field(default_factory=list)
    case: Case | None = None
    answers: OutgoingMessage | None = None
    actor: User | None = None


# --- receiving ----------------------------------------------------------------------------


def receive_all(transport: base.Transport | None = None) -> int:
    """Fetch, store, acknowledge and handle what the transport has; how many were received.

    One bad message never stops the others: its failure is logged and it waits, stored, for the
    next run.
    """
    chosen = transport if transport is not None else get_transport()
    received = 0
    try:
        fetched = chosen.fetch()
    except base.TransportError:
        logger.exception("could not fetch incoming messages")
        fetched = []
    for item in fetched:
        try:
            incoming = store(item.payload, transport=chosen.name, ref=item.ref)
        except Exception:  # Logged: one message must not stop the others.
            logger.exception("could not store incoming message %s", item.ref)
            continue  # Not acknowledged: the transport keeps it for the next run.
        received += 1
        try:
            chosen.acknowledge(item.ref)
        except base.TransportError:
            # Stored already: if it comes again it is recognised by its sender and MsgId.
            logger.exception("could not acknowledge incoming message %s", item.ref)
        _process_safely(incoming)
    process_pending()
    return received


def receive(payload: bytes, *, transport: str = "", ref: str = "") -> IncomingMessage:
    """Store one message, then handle and answer it; the stored row with what became of it."""
    return _process_safely(store(payload, transport=transport, ref=ref))


def process_pending() -> int:
    """Handle messages stored but never handled (a crash between the two); how many.

    Only their ids are listed: each payload is read by `process`, one at a time.
    """
    pending = list(
        IncomingMessage.objects.filter(status=Status.RECEIVED)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    for pk in pending:
        incoming = IncomingMessage.objects.only("pk", "uuid", "status").filter(pk=pk).first()
        if incoming is not None:
            _process_safely(incoming)
    return len(pending)


def _process_safely(incoming: IncomingMessage) -> IncomingMessage:
    if incoming.status != Status.RECEIVED:
        return incoming
    try:
        return process(incoming)
    except Exception:  # Logged: one message must not stop the others.
        # The database failed, or a fault of ours outside the handlers (which reject the message
        # themselves): nothing of it was written, it stays RECEIVED and is tried on the next run.
        logger.exception("could not handle incoming message %s", incoming.uuid)
        return incoming


@dataclass(frozen=True)
class _Peek:
    """What can be read of a message before it is validated: enough to store and to deduplicate."""

    msg_id: str = ""
    msg_type: str = ""
    sender_her_id: int | None = None
    receiver_her_id: int | None = None


def store(payload: bytes, *, transport: str = "", ref: str = "") -> IncomingMessage:
    """Keep the raw bytes (own transaction); a message seen before becomes a DUPLICATE row.

    A message stored earlier but never handled is returned as it is, to be handled now. A
    payload larger than a KITH message may be (`schemas.MAX_BYTES`) is not kept: a REJECTED row
    notes its size, and it is not answered (it cannot be read for a sender).
    """
    if len(payload) > schemas.MAX_BYTES:
        logger.warning("incoming message %s: %d bytes, not kept", ref or "(no ref)", len(payload))
        return IncomingMessage.objects.create(
            payload=b"",
            transport=transport[:20],
            transport_ref=ref[:200],
            status=Status.REJECTED,
            errors=[
                {
                    "code": errors.NOT_XML,
                    "text": errors.CODES[errors.NOT_XML],
                    "details": f"{len(payload)} bytes, more than {schemas.MAX_BYTES}: not kept",
                }
            ],
        )
    peek = _peek(payload)
    fields = {
        "msg_id": peek.msg_id,
        "msg_type": peek.msg_type,
        "sender_her_id": peek.sender_her_id,
        "receiver_her_id": peek.receiver_her_id,
        "payload": bytes(payload),
        "transport": transport[:20],
        "transport_ref": ref[:200],
    }
    with transaction.atomic():
        first = _first_copy(peek)
        if first is None:
            try:
                with transaction.atomic():
                    return IncomingMessage.objects.create(**fields)
            except IntegrityError:
                first = _first_copy(peek)  # Stored by another worker a moment ago.
        assert first is not None
        if first.status == Status.RECEIVED:
            return first
        return _duplicate(first, fields)


def _first_copy(peek: _Peek) -> IncomingMessage | None:
    if not peek.msg_id or peek.sender_her_id is None:
        return None
    return (
        IncomingMessage.objects.filter(sender_her_id=peek.sender_her_id, msg_id=peek.msg_id)
        .exclude(status=Status.DUPLICATE)
        .first()
    )


def _duplicate(first: IncomingMessage, fields: Mapping[str, Any]) -> IncomingMessage:
    """Keep the copy, make nothing new, and send the first copy's AppRec again."""
    copy = IncomingMessage.objects.create(
        **fields, status=Status.DUPLICATE, case=first.case, errors=first.errors
    )
    answer = first.apprecs.order_by("created_at", "pk").first()
    if answer is not None:
        again = dataclasses.replace(
            apprec.parse(bytes(answer.payload)),
            msg_id=str(uuid.uuid4()),
            generated_at=clock.now(),
        )
        message_outbox.queue_message(
            by=None,
            kind=OutgoingMessage.Kind.APPREC,
            msg_id=again.msg_id,
            msg_type=apprec.MSG_TYPE,
            receiver_her_id=answer.receiver_her_id,
            receiver_name=answer.receiver_name,
            payload=apprec.build(again),
            case=first.case,
            in_reply_to=copy,
        )
    logger.info("duplicate message %s from %s", copy.msg_id, copy.sender_her_id)
    return copy


def _peek(payload: bytes) -> _Peek:
    try:
        root = schemas.parse(payload)
    except errors.InvalidMessage:
        return _Peek()
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname == "AppRec":
        return _Peek(
            msg_id=_first_text(root, f"{{{ns}}}Id")[:100],
            msg_type=apprec.MSG_TYPE,
            sender_her_id=_apprec_her_id(root, ns, "Sender"),
            receiver_her_id=_apprec_her_id(root, ns, "Receiver"),
        )
    try:
        head = msghead.read_head(root)
    except HEAD_FAULTS:  # An invalid head: read what can be read, for the operator.
        m = schemas.MSGHEAD
        kind = root.find(f"{{{m}}}MsgInfo/{{{m}}}Type")
        return _Peek(
            msg_id=_first_text(root, f"{{{m}}}MsgInfo/{{{m}}}MsgId")[:100],
            msg_type=(kind.get("V", "") if kind is not None else "")[:40],
        )
    return _Peek(
        msg_id=head.msg_id[:100],
        msg_type=head.msg_type[:40],
        sender_her_id=_her_id(head.sender),
        receiver_her_id=_her_id(head.receiver),
    )


def _first_text(root: etree._Element, path: str) -> str:
    found = root.find(path)
    return (found.text or "").strip() if found is not None else ""


def _apprec_her_id(root: etree._Element, ns: str, side: str) -> int | None:
    """The most specific HER-id of an AppRec's Sender or Receiver (department, else institution)."""
    inst = root.find(f"{{{ns}}}{side}/{{{ns}}}HCP/{{{ns}}}Inst")
    if inst is None:
        return None
    for unit in (inst.find(f"{{{ns}}}Dept"), inst):
        if unit is None:
            continue
        value = _first_text(unit, f"{{{ns}}}Id")
        kind = unit.find(f"{{{ns}}}TypeId")
        if value.isdigit() and kind is not None and kind.get("V") == kith.IdKind.HER:
            return _small(int(value))
    return None


def _her_id(party: kith.Party) -> int | None:
    return _small(party.her_id) if party.her_id is not None else None


def _small(value: int) -> int | None:
    """A HER-id that fits the column (PositiveIntegerField); nonsense is treated as missing."""
    return value if 0 < value < 2**31 else None


# --- handling -----------------------------------------------------------------------------


def process(incoming: IncomingMessage) -> IncomingMessage:
    """Read, act on and answer one stored message, in one transaction; idempotent."""
    with transaction.atomic():
        row = IncomingMessage.objects.select_for_update().get(pk=incoming.pk)
        if row.status != Status.RECEIVED:
            return row
        payload = bytes(row.payload)
        if _is_bare_apprec(payload):
            outcome = _handle_apprec(row, payload)
            _finish(row, outcome)
            return row
        try:
            envelope = msghead.read(payload)
        except errors.InvalidMessage as invalid:
            outcome = Outcome(Status.REJECTED, list(invalid.problems))
            _finish(row, outcome)
            _answer(row, _lenient_head(payload), outcome)
            return row
        outcome = _dispatch(row, envelope)
        _finish(row, outcome)
        if not _is_apprec_envelope(envelope):  # Never answer an AppRec.
            _answer(row, envelope.head, outcome)
        return row


def _is_bare_apprec(payload: bytes) -> bool:
    try:
        root = schemas.parse(payload)
    except errors.InvalidMessage:
        return False
    return etree.QName(root).localname == "AppRec"


def _is_apprec_envelope(envelope: kith.Envelope) -> bool:
    document = envelope.document
    return isinstance(document, etree._Element) and etree.QName(document).localname == "AppRec"


def _finish(row: IncomingMessage, outcome: Outcome) -> None:
    row.status = outcome.status
    row.errors = [{"code": p.code, "text": p.text, "details": p.details} for p in outcome.problems]
    row.case = outcome.case
    row.answers = outcome.answers
    row.save(update_fields=["status", "errors", "case", "answers"])
    if outcome.case is not None:
        record(
            actor=outcome.actor,
            action="message.receive",
            patient=outcome.case.patient,
            case=outcome.case,
            obj=row,
        )
    if outcome.status == Status.REJECTED:
        logger.warning(
            "rejected message %s from %s: %s",
            row.msg_id or "(no id)",
            row.sender_her_id or "(unknown sender)",
            ", ".join(p.code for p in outcome.problems),
        )


def _dispatch(row: IncomingMessage, envelope: kith.Envelope) -> Outcome:
    """Act on a valid MsgHead; a refusal of any kind becomes a REJECTED outcome, never a crash."""
    document = envelope.document
    namespace = etree.QName(document).namespace if isinstance(document, etree._Element) else ""
    if namespace in (schemas.APPREC_10, schemas.APPREC_11):
        return _handle_apprec(row, etree.tostring(document))
    if not _addressed_to_us(envelope.head.receiver):
        return Outcome(
            Status.REJECTED,
            [errors.problem(NO_RECEIVER, f"HER-id {envelope.head.receiver.her_id} is not ours")],
        )
    if namespace == schemas.HENVISNING_20:
        handler = _handle_referral
    elif namespace in (schemas.DIALOG_10, schemas.DIALOG_11):
        handler = _handle_dialog
    else:
        return Outcome(
            Status.REJECTED,
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT,
                    f"Telederm takes referrals and dialogue messages, not {envelope.head.msg_type}",
                )
            ],
        )
    try:
        with transaction.atomic():  # A refusal leaves nothing of a half-made case behind.
            return handler(envelope)
    except errors.InvalidMessage as invalid:
        return Outcome(Status.REJECTED, list(invalid.problems))
    except referrals.ReferralRefused as refusal:
        return Outcome(Status.REJECTED, [errors.problem(refusal.code, str(refusal))])
    except PermissionDenied:
        return Outcome(
            Status.REJECTED,
            [errors.problem(OTHER, "the sender is not a referring health professional here")],
        )
    except DatabaseError:
        raise
    except Exception as failure:  # A fault of ours: say so to the sender, keep the message.
        logger.exception("could not handle message %s", row.msg_id)
        return Outcome(Status.REJECTED, [errors.problem(OTHER, type(failure).__name__)])


def _addressed_to_us(receiver: kith.Party) -> bool:
    """Our HER-id, or one of our services in the address register (a department of ours)."""
    ours = int(settings.TELEDERM_HER_ID)
    wanted = {receiver.organisation.her_id}
    if receiver.department is not None:
        wanted.add(receiver.department.her_id)
    wanted.discard(None)
    if ours in wanted:
        return True
    return AddressEntry.objects.filter(parent_her_id=ours, her_id__in=wanted).exists()


# Referrals ---------------------------------------------------------------------------------


def _handle_referral(envelope: kith.Envelope) -> Outcome:
    received = henvisning.read(envelope)
    head = envelope.head
    if received.change != henvisning.Change.NEW:
        return _change_referral(envelope, received)
    if head.patient is None:
        raise referrals.ReferralRefused(_("The referral names no patient."), code=PATIENT_MISSING)
    referral = received.referral
    registered = referrals.receive_referral(
        by=None,
        referrer=referral.referrer,
        organisation=head.sender.organisation,
        patient=head.patient,
        reason=referral.reason,
        clinical_information=_with_requested_service(referral),
        priority=referral.priority,
        cancer_pathway=referral.cancer_pathway,
        photos=envelope.attachments,
        channel="kith",
    )
    return _registered_outcome(registered)


def _with_requested_service(referral: kith.Referral) -> str:
    parts = [referral.clinical_information.strip()]
    if referral.requested_service.strip():
        parts.append(_("Requested: %(service)s") % {"service": referral.requested_service.strip()})
    if referral.diagnoses:
        codes = ", ".join(f"{c.code} {c.text}".strip() for c in referral.diagnoses)
        parts.append(_("Diagnoses: %(codes)s") % {"codes": codes})
    return "\n\n".join(part for part in parts if part)


def _registered_outcome(registered: referrals.Registered) -> Outcome:
    problems = [
        errors.problem(OTHER, f"attachment {item.filename!r} was not used: {item.reason}")
        for item in registered.left_out
    ]
    photo_problems = registered.photo_problems
    return Outcome(
        Status.ACCEPTED_WITH_ERRORS if photo_problems else Status.ACCEPTED,
        problems if photo_problems else [],
        case=registered.case,
        actor=registered.case.created_by,
    )


def _change_referral(envelope: kith.Envelope, received: henvisning.ReceivedReferral) -> Outcome:
    """A change or cancellation of a referral we have: withdraw, or tell the clinic."""
    head = envelope.head
    case = _case_of_referral(head, received.referral.document_id)
    if case is None:
        raise referrals.ReferralRefused(
            _("There is no referral here that this change or cancellation refers to."),
            code=OTHER,
        )
    author = referrals.referrer_account(received.referral.referrer, head.sender.organisation)
    cancel = received.change == henvisning.Change.CANCEL
    if cancel and case.state in WITHDRAWABLE:
        case = case_services.lock_case(case=case, expected_version=None)
        case_services.transition_case(
            by=author,
            case=case,
            to=CaseStatus.WITHDRAWN,
            action=CaseEvent.Action.WITHDRAWN,
            detail="cancelled by the referrer's message",
        )
        record(actor=author, action="case.withdraw", patient=case.patient, case=case)
        return Outcome(Status.ACCEPTED, case=case, actor=author)
    if cancel:
        text = _("The referrer has cancelled this referral.")
        why = "the case was already being assessed; the clinic has been told of the cancellation"
    else:
        text = _("The referrer has changed this referral.")
        why = "the change was given to the clinic as a message on the case"
    parts = [text, received.note, received.referral.reason, received.referral.clinical_information]
    names = [a.filename for a in envelope.attachments]
    if names:
        parts.append(_("Attachments not kept: %(names)s") % {"names": ", ".join(names)})
    post_message(case=case, author=author, body="\n\n".join(p.strip() for p in parts if p.strip()))
    return Outcome(
        Status.ACCEPTED_WITH_ERRORS, [errors.problem(OTHER, why)], case=case, actor=author
    )


def _case_of_referral(head: kith.Head, document_id: str) -> Case | None:
    """The case made from the referral a change refers to: by its first MsgId, else by the
    DocumentId the first message carried (IncomingMessage keeps no document id, so the sender's
    earlier referrals are read for it)."""
    sent_by = IncomingMessage.objects.filter(
        sender_her_id=_her_id(head.sender), case__isnull=False
    ).exclude(status=Status.DUPLICATE)
    refs = {ref for ref in (head.conversation_ref, head.parent_ref, document_id) if ref}
    found = sent_by.filter(msg_id__in=refs).select_related("case").order_by("received_at").first()
    if found is not None:
        return found.case
    if not document_id:
        return None
    earlier = sent_by.filter(msg_type__startswith="HENVISNING").order_by("-received_at", "-pk")
    for candidate in earlier[:DOCUMENT_SEARCH_LIMIT].iterator():
        try:
            root = schemas.parse(bytes(candidate.payload))
        except errors.InvalidMessage:
            continue
        ids = root.iter(f"{{{schemas.HENVISNING_20}}}DocumentId")
        if any((element.text or "").strip() == document_id for element in ids):
            return candidate.case
    return None


# Dialogue messages ---------------------------------------------------------------------------


def _handle_dialog(envelope: kith.Envelope) -> Outcome:
    head = envelope.head
    if head.msg_type.startswith(CITIZEN_DIALOG):
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT,
                    f"{head.msg_type}: citizens write to Telederm through its own pages",
                )
            ]
        )
    dialog = dialogmelding.parse(envelope)
    person = dialog.responsible or head.sender.person or kith.Person(family_name="", given_name="")
    case = _case_of_dialog(head, dialog)
    if case is not None:
        author = referrals.referrer_account(person, head.sender.organisation)
        body = "\n\n".join(part for part in (dialog.subject, dialog.text) if part.strip())
        names = [a.filename for a in envelope.attachments]
        if names:
            body += "\n\n" + _("Attachments not kept: %(names)s") % {"names": ", ".join(names)}
        post_message(case=case, author=author, body=body)
        problems = (
            [errors.problem(OTHER, "attachments to a message on a case are not kept")]
            if names
            else []
        )
        status = Status.ACCEPTED_WITH_ERRORS if names else Status.ACCEPTED
        return Outcome(status, problems, case=case, actor=author)
    if head.msg_type not in NEW_CASE_DIALOGS or head.parent_ref or dialog.in_reply_to:
        # An answer, a status or an error report about something we do not know: not a new case.
        raise referrals.ReferralRefused(
            _("The message answers or refers to nothing Telederm has sent or received."),
            code=OTHER,
        )
    if head.patient is None:
        raise referrals.ReferralRefused(
            _("The message is about no patient and answers nothing of ours."),
            code=PATIENT_MISSING,
        )
    registered = referrals.receive_referral(
        by=None,
        referrer=person,
        organisation=head.sender.organisation,
        patient=head.patient,
        reason="\n\n".join(part for part in (dialog.subject, dialog.text) if part.strip()),
        clinical_information="",
        photos=envelope.attachments,
        channel="kith",
    )
    return _registered_outcome(registered)


def _case_of_dialog(head: kith.Head, dialog: kith.Dialog) -> Case | None:
    """The case a dialogue message answers or refers to, if any: one of our messages to the
    sender it replies to, a message of the sender's own it follows up, or a case (or review) id it
    quotes when the sender is the case's referrer. Nobody else reaches a case: a message about
    another patient than the case's is refused (`ReferralRefused`)."""
    refs = [ref for ref in (head.parent_ref, head.conversation_ref, dialog.in_reply_to) if ref]
    ids = [value for value in (_uuid(ref) for ref in refs) if value is not None]
    case = _case_of_ours(head.sender, ids) or _case_of_theirs(head.sender, refs)
    if case is None and ids:
        # Our Dialogmelding names the review it answers with (DokIdNotat), the GP's reply quotes it.
        quoted = (
            Case.objects.filter(Q(uuid__in=ids) | Q(review__uuid__in=ids))
            .select_related("created_by__organisation")
            .first()
        )
        referrer = quoted.created_by.organisation if quoted is not None else None
        if referrer is not None and referrer.her_id in message_outbox.party_her_ids(head.sender):
            case = quoted
    named = head.patient.identifier.strip() if head.patient is not None else ""
    if case is not None and named and named != case.patient.identifier:
        raise referrals.ReferralRefused(
            _("The patient the message is about is not the patient of the case it refers to."),
            code=OTHER,
        )
    return case


def _case_of_ours(sender: kith.Party, ids: Sequence[uuid.UUID]) -> Case | None:
    """The case of a message of ours to this sender that the message quotes."""
    ours = OutgoingMessage.objects.filter(msg_id__in=ids, case__isnull=False).select_related("case")
    for message in ours:
        if message_outbox.sent_to(message, sender):
            return message.case
    return None


def _case_of_theirs(sender: kith.Party, refs: Sequence[str]) -> Case | None:
    """The case of an earlier message of the same sender's that the message quotes."""
    her_id = _her_id(sender)
    if her_id is None or not refs:
        return None
    theirs = (
        IncomingMessage.objects.filter(sender_her_id=her_id, msg_id__in=refs, case__isnull=False)
        .exclude(status=Status.DUPLICATE)
        .select_related("case")
        .first()
    )
    return theirs.case if theirs is not None else None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def post_message(*, case: Case, author: User, body: str) -> Message:
    """A message on the case from outside the clinic (the GP's reply or news), for the clinic.

    Like `cases.messaging.send_message` from the patient side, but without its sender check: the
    network vouches for the sender, who may be a GP the case was sent on to rather than the one
    who sent it. A reply to a request for information sends the case back to the clinic.
    """
    case = case_services.lock_case(case=case, expected_version=None)
    text = body.strip()[:MESSAGE_LIMIT] or _("(no text)")
    message = Message.objects.create(
        case=case, author=author, from_clinic=False, body=text, sent_at=clock.now()
    )
    if case.state == CaseStatus.INFO_REQUESTED:
        case.due_at = case_services.due_time(priority=case.priority, start=message.sent_at)
        case_services.transition_case(
            by=author, case=case, to=CaseStatus.SUBMITTED, action=CaseEvent.Action.INFO_PROVIDED
        )
    else:
        CaseEvent.objects.create(
            case=case, at=message.sent_at, actor=author, action=CaseEvent.Action.MESSAGE
        )
    outbox.enqueue(case_tasks.notify_new_message, message_uuid=str(message.uuid))
    return message


# AppRecs -----------------------------------------------------------------------------------


def _handle_apprec(row: IncomingMessage, payload: bytes) -> Outcome:
    """Match an AppRec to the message of ours it answers; never answer it."""
    try:
        rec = apprec.parse(payload)
    except errors.InvalidMessage as invalid:
        return Outcome(Status.REJECTED, list(invalid.problems))
    original = _uuid(rec.original_msg_id)
    ours = OutgoingMessage.objects.filter(msg_id=original).first() if original else None
    if ours is None:
        return Outcome(
            Status.REJECTED,
            [errors.problem(errors.INVALID_MESSAGE_ID, f"no message {rec.original_msg_id} sent")],
        )
    try:
        ours = message_outbox.record_apprec(ours, rec)
    except message_outbox.AppRecRefused as refused:
        logger.warning("AppRec %s for %s ignored: %s", rec.msg_id, ours.msg_id, refused)
        return Outcome(Status.REJECTED, [errors.problem(OTHER, str(refused))])
    return Outcome(Status.ACCEPTED, answers=ours)


# Answering -----------------------------------------------------------------------------------


def us() -> kith.Party:
    """Telederm as the sender of an AppRec to a message that was not addressed to us."""
    return kith.Party(
        organisation=kith.Organisation(
            name=settings.TELEDERM_ORGANISATION_NAME,
            her_id=int(settings.TELEDERM_HER_ID),
            organisation_number=settings.TELEDERM_ORGANISATION_NUMBER,
        )
    )


def _answer(row: IncomingMessage, head: kith.Head | None, outcome: Outcome) -> None:
    """Queue the AppRec for a message (in the caller's transaction), if it has anyone to go to."""
    if head is None or _her_id(head.sender) is None:
        logger.warning("message %s has no sender to answer; kept for the operator", row.uuid)
        return
    answers: dict[str, AppRecStatus] = {
        Status.ACCEPTED: AppRecStatus.OK,
        Status.ACCEPTED_WITH_ERRORS: AppRecStatus.OK_WITH_ERRORS,
    }
    status = answers.get(outcome.status, AppRecStatus.REJECTED)
    problems: Sequence[kith.AppRecError] = outcome.problems
    if status == AppRecStatus.REJECTED and not problems:
        problems = [errors.problem(OTHER)]
    sender = head.receiver if _addressed_to_us(head.receiver) else us()
    rec = apprec.for_message(
        head,
        status=status,
        errors=problems,
        msg_id=str(uuid.uuid4()),
        at=clock.now(),
        sender=sender,
    )
    try:
        document = apprec.build(rec)
    except errors.InvalidMessage:
        # The sender is too garbled for a valid AppRec (no name, no id): nothing can be sent.
        logger.warning("message %s: its AppRec would not be valid; not answered", row.uuid)
        return
    message_outbox.queue_message(
        by=outcome.actor,
        kind=OutgoingMessage.Kind.APPREC,
        msg_id=rec.msg_id,
        msg_type=apprec.MSG_TYPE,
        receiver_her_id=_her_id(head.sender) or 0,
        receiver_name=head.sender.organisation.name[:200],
        payload=document,
        case=outcome.case,
        in_reply_to=row,
    )


def _lenient_head(payload: bytes) -> kith.Head | None:
    """The head of a message that failed validation, if it can be read: to answer it."""
    try:
        root = schemas.parse(payload)
        if etree.QName(root).localname != "MsgHead":
            return None
        return msghead.read_head(root)
    except (errors.InvalidMessage, *HEAD_FAULTS):  # Then it is not answered.
        return None
