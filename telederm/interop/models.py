"""Messages to and from other health actors, and the address register that finds them.

An `OutgoingMessage` is an outbox row: written in the transaction of the change that causes it,
holding the complete, schema-validated XML, and delivered by the worker through a transport
exactly once (ADR 0024). An `IncomingMessage` is what a transport fetched, kept verbatim with
what became of it and the AppRec we answered with. `AddressEntry` is our copy of the national
address register (Adresseregisteret), imported from a file: who has which HER-id.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.core import clock


class AddressEntry(models.Model):
    """A communication party in the national address register, by HER-id."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", _("Organisation")
        SERVICE = "service", _("Service or department")
        PERSON = "person", _("Health professional")

    her_id = models.PositiveIntegerField(_("HER-id"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The organisation a service or person belongs to (its HER-id; level 1 in the register).
    parent_her_id = models.PositiveIntegerField(_("parent HER-id"), null=True, blank=True)
    organisation_number = models.CharField(_("organisation number"), max_length=9, blank=True)
    hpr_number = models.CharField(_("HPR number"), max_length=9, blank=True)
    municipality = models.CharField(_("municipality"), max_length=100, blank=True)
    # Message types the party takes (KITH MsgType codes, e.g. "DIALOG_NOTAT", "HENVISNING").
    accepts = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "her_id"]
        indexes = [models.Index(fields=["parent_her_id"], name="address_parent_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.her_id})"


class OutgoingMessage(models.Model):
    """One message we send, from the moment it is composed until its AppRec comes back."""

    class Kind(models.TextChoices):
        DIALOGMELDING = "dialogmelding", _("Dialogue message (Dialogmelding 1.1)")
        HENVISNING = "henvisning", _("Referral (Henvisning 2.0)")
        EPIKRISE = "epikrise", _("Discharge summary (Epikrise 1.2)")
        APPREC = "apprec", _("Application receipt (AppRec 1.1)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        IN_DOUBT = "in_doubt", _("In doubt: sending was interrupted")
        SENT = "sent", _("Sent, waiting for receipt")
        ACKNOWLEDGED = "acknowledged", _("Received by the receiver")
        OK_WITH_ERRORS = "ok_with_errors", _("Received with errors")
        REJECTED = "rejected", _("Rejected by the receiver")
        FAILED = "failed", _("Could not be delivered")
        CANCELLED = "cancelled", _("Cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # MsgHead/MsgInfo/MsgId: the message's identity everywhere, the receiver's duplicate key.
    msg_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    msg_type = models.CharField(max_length=40)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="outgoing_messages"
    )
    receiver_her_id = models.PositiveIntegerField()
    receiver_name = models.CharField(max_length=200, blank=True)
    # The whole MsgHead document, UTF-8, validated against its schemas before it was stored.
    payload = models.BinaryField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    transport = models.CharField(max_length=20, blank=True)
    # What the transport calls it: NHN's message id, or the file name dropped.
    transport_ref = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The receiver's AppRec: status 1 OK, 2 rejected, 3 OK with errors; errors as {code, text}.
    apprec_status = models.CharField(max_length=2, blank=True)
    apprec_errors = models.JSONField(default=list, blank=True)
    # An AppRec we send answers an incoming message.
    in_reply_to = models.ForeignKey(
        "IncomingMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="apprecs",
    )
    # A copy made by an operator's resend of a rejected or failed message.
    resent_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="resends"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outgoing_due_idx",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.msg_id} to {self.receiver_her_id}"


class IncomingMessage(models.Model):
    """One message a transport fetched, kept verbatim, with what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACCEPTED = "accepted", _("Accepted")
        ACCEPTED_WITH_ERRORS = "accepted_with_errors", _("Accepted with errors")
        REJECTED = "rejected", _("Rejected")
        DUPLICATE = "duplicate", _("Duplicate (already received)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # MsgHead/MsgInfo/MsgId as written by the sender (blank when it could not be read).
    msg_id = models.CharField(max_length=100, blank=True)
    msg_type = models.CharField(max_length=40, blank=True)
    sender_her_id = models.PositiveIntegerField(null=True, blank=True)
    receiver_her_id = models.PositiveIntegerField(null=True, blank=True)
    payload = models.BinaryField()
    transport = models.CharField(max_length=20, blank=True)
    transport_ref = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=clock.now)
    status = models.CharField(max_length=25, choices=Status.choices, default=Status.RECEIVED)
    # Why it was rejected or accepted with errors: AppRec error codes and texts {code, text}.
    errors = models.JSONField(default=list, blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="incoming_messages"
    )
    # An incoming AppRec answers one of ours.
    answers = models.ForeignKey(
        OutgoingMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # A message that comes twice is the same message: the receiver's duplicate key.
            models.UniqueConstraint(
                fields=["sender_her_id", "msg_id"],
                condition=~models.Q(msg_id="") & ~models.Q(status="duplicate"),
                name="incoming_once_per_sender",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.msg_type or 'message'} {self.msg_id} from {self.sender_her_id}"
