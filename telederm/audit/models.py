"""The access log: one row for every read and write of patient data.

Rows are only ever added, by `services.record`, and form a hash chain (`chain.py`, ADR 0007):
each row has its place (`sequence`, from 1), the hash of the row before it and its own hash, so
`telederm audit verify` finds a row changed or deleted afterwards. On PostgreSQL a trigger refuses
UPDATE and DELETE on the table; here the model refuses to save an existing row or delete one.
Patient and case are kept as their public UUIDs, not foreign keys, so that the log outlives and
never blocks what it describes.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.audit import chain

APPEND_ONLY = "the access log is append-only"


class AppendOnlyError(Exception):
    """Someone tried to change or delete an access-log entry."""


class AccessEventQuerySet(models.QuerySet["AccessEvent"]):
    """No bulk paths around the chain: rows come only from `services.record` and
    `services.record_listing`, which chain them first."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{APPEND_ONLY}: entries cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(f"{APPEND_ONLY}: entries cannot be deleted")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{APPEND_ONLY}: add entries one by one with services.record")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{APPEND_ONLY}: entries cannot be updated")


class AccessEvent(models.Model):
    class Kind(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("write")

    class Basis(models.TextChoices):
        """Why the person had access to what they read or changed."""

        OWN = "own", _("own record")
        SENDER = "sender", _("sender of the case")
        ASSIGNED = "assigned", _("assigned to the case")
        POOL = "pool", _("clinic's shared queue")
        TRIAGE = "triage", _("triage duty")
        GRANT = "grant", _("access granted")
        BREAK_GLASS = "break_glass", _("emergency access")
        # An operator handling a message that could not be delivered (the operator's page).
        OPERATIONS = "operations", _("operating the message service")

    sequence = models.PositiveBigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_role = models.CharField(max_length=20, blank=True)
    actor_organisation = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    action = models.CharField(max_length=60)
    patient_uuid = models.UUIDField(null=True, db_index=True)
    case_uuid = models.UUIDField(null=True, db_index=True)
    object_uuid = models.UUIDField(null=True)
    reason = models.CharField(max_length=300, blank=True)
    basis = models.CharField(max_length=20, choices=Basis.choices, blank=True, default="")
    client_address = models.GenericIPAddressField(null=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{APPEND_ONLY}: entry #{self.sequence} cannot be changed")
        if self.sequence is None or self.hash != chain.entry_hash(
            self.previous_hash, self.sequence, self.chain_fields()
        ):
            raise AppendOnlyError(
                f"{APPEND_ONLY}: add entries with telederm.audit.services.record, which links "
                "them into the chain"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{APPEND_ONLY}: entry #{self.sequence} cannot be deleted")

    def chain_fields(self) -> dict[str, Any]:
        """The values the hash covers, as `chain.entry_hash` takes them."""
        return {name: getattr(self, name) for name in chain.FIELDS}
