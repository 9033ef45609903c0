"""The access log: one row for every read and write of patient data.

Rows are only ever added (see `record`); the identity-and-access issue adds hash chaining and
database-level append-only enforcement. Patient and case are kept as their public UUIDs, not
foreign keys, so that the log outlives and never blocks what it describes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessEvent(models.Model):
    class Kind(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("write")

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
    client_address = models.GenericIPAddressField(null=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
