"""Secure messages on a case between the patient side and the clinic (ADR 0022).

The patient side is the patient and the person who sent the case; the clinic side is the duty
nurse or dermatologist caring for it (or one who broke the glass). A message is health data: it
is read only after signing in, every write and every read of the thread is in the access log, and
the notification that goes out by e-mail and SMS says only that there is a message.

When the clinic has asked for more information (`info_requested`), the patient side's reply sends
the case back to the clinic (`submitted`) in the same transaction, and its clock starts again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies, tasks
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import due_time, lock_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError

MAX_LENGTH = 5000
# A closed case still takes messages for this many days (ADR 0022): "it did not help" belongs
# with the case it is about. TELEDERM_MESSAGES_AFTER_CLOSE_DAYS overrides it.
DAYS_AFTER_CLOSE = 30


class MessageRefused(UserFacingError):
    """The message was not sent; the person can change it or go another way."""


@dataclass
class Thread:
    """A case's messages as one person sees them, and what they may do next."""

    messages: list[Message]
    new: set[int] = field(default_factory=set)
    """Messages from the other side this person had not seen before opening the thread."""
    can_reply: bool = False
    can_attach_photos: bool = False
    is_patient_side: bool = False
    closed_for_messages: bool = False
    """The case is closed (or withdrawn) and takes no more messages."""

    @property
    def unread_count(self) -> int:
        return len(self.new)


def days_after_close() -> int:
    return int(getattr(settings, "TELEDERM_MESSAGES_AFTER_CLOSE_DAYS", DAYS_AFTER_CLOSE))


def closed_at(case: Case) -> dt.datetime | None:
    """When the case was closed (from its history), or None if it is not closed."""
    if case.state != CaseStatus.CLOSED:
        return None
    event = case.events.filter(to_status=CaseStatus.CLOSED).order_by("-at", "-pk").first()
    return event.at if event else None


def closed_window_open(case: Case) -> bool:
    """A closed case takes messages for a while, if a dermatologist is assigned to read them.

    A case closed by a duty nurse with self-care advice has nobody in the clinic who can still
    open it (the nurse's access ends with triage): its patient is pointed to the symptom checker
    and a new case instead, so that no message waits where nobody looks.
    """
    when = closed_at(case)
    if when is None or case.assigned_to_id is None:
        return False
    return clock.now() - when <= dt.timedelta(days=days_after_close())


def case_to_write_on(*, by: User, case_uuid: uuid.UUID) -> Case:
    """The case this person may write a message on, checked before anything is logged as seen:
    404 for a case they may not open, 403 for one they may read but not write on (a grantee)."""
    found = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
    if found is None or not policies.can_view_case(by, found):
        raise Http404
    if not can_send(by, found):
        raise PermissionDenied
    return found


def can_send(by: User, case: Case) -> bool:
    """Whether this person may write on this case now."""
    window = case.state == CaseStatus.CLOSED and closed_window_open(case)
    return policies.can_send_message(by, case, closed_window_open=window)


@transaction.atomic
def send_message(*, by: User, case: Case, body: str, request: HttpRequest | None = None) -> Message:
    """Write a message on a case; a patient's reply to a request for information sends the case
    back to the clinic."""
    case = lock_case(case=case, expected_version=None)
    if not can_send(by, case):
        raise PermissionDenied
    text = body.strip()
    if not text:
        raise MessageRefused(_("Write a message before you send it."))
    if len(text) > MAX_LENGTH:
        raise MessageRefused(
            _("A message can be at most %(count)d characters.") % {"count": MAX_LENGTH}
        )
    patient_side = policies.is_patient_side(by, case)
    message = Message.objects.create(
        case=case, author=by, from_clinic=not patient_side, body=text, sent_at=clock.now()
    )
    if patient_side and case.state == CaseStatus.INFO_REQUESTED:
        # The clinic's clock starts again from the reply, as it did when the case was sent: the
        # time spent waiting for the patient is not the clinic's.
        case.due_at = due_time(priority=case.priority, start=message.sent_at)
        transition_case(
            by=by, case=case, to=CaseStatus.SUBMITTED, action=CaseEvent.Action.INFO_PROVIDED
        )
    else:
        CaseEvent.objects.create(
            case=case, at=message.sent_at, actor=by, action=CaseEvent.Action.MESSAGE
        )
    record(
        actor=by,
        action="case.message.send",
        patient=case.patient,
        case=case,
        obj=message,
        request=request,
        basis=policies.access_basis(by, case) or "",
    )
    outbox.enqueue(tasks.notify_new_message, message_uuid=str(message.uuid))
    return message


@transaction.atomic
def open_thread(*, by: User, case: Case, request: HttpRequest | None = None) -> Thread:
    """The case's messages for this person; the read is logged, and the other side's messages
    are marked read when the person they were written to opens them."""
    basis = policies.access_basis(by, case)
    if basis is None:
        raise PermissionDenied
    patient_side = basis in {policies.Basis.OWN, policies.Basis.SENDER}
    messages = list(
        Message.objects.filter(case=case)
        .select_related("author", "author__organisation")
        .prefetch_related("photos")
        .order_by("sent_at", "pk")
    )
    reader = patient_side or (by.is_clinical_staff and basis in policies.MESSAGE_READER_BASES)
    new = {m.pk for m in messages if reader and m.read_at is None and m.from_clinic == patient_side}
    if new:
        now = clock.now()
        Message.objects.filter(pk__in=new, read_at__isnull=True).update(read_at=now)
        for message in messages:
            if message.pk in new:
                message.read_at = now
    record(
        actor=by,
        action="case.messages.view",
        patient=case.patient,
        case=case,
        request=request,
        basis=basis,
    )
    can_reply = can_send(by, case)
    return Thread(
        messages=messages,
        new=new,
        can_reply=can_reply,
        can_attach_photos=can_reply and policies.can_attach_message_photos(by, case),
        is_patient_side=patient_side,
        closed_for_messages=case.state in {CaseStatus.CLOSED, CaseStatus.WITHDRAWN}
        and not can_reply,
    )
