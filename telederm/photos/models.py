"""Photos of a case, stored privately; served only through a view that checks the policy."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.core import clock


class Photo(models.Model):
    class View(models.TextChoices):
        OVERVIEW = "overview", _("Overview (the whole area)")
        CLOSE_UP = "close_up", _("Close-up")
        DERMOSCOPY = "dermoscopy", _("Dermoscopy")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    view = models.CharField(
        _("kind of photo"), max_length=12, choices=View.choices, default=View.OVERVIEW
    )
    # Storage names of the renditions. The uploaded original is never kept: it may carry metadata.
    full_name = models.CharField(max_length=200)
    screen_name = models.CharField(max_length=200)
    thumb_name = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="photo_unique_per_case"),
        ]

    def __str__(self) -> str:
        return f"Photo {self.uuid}"

    def storage_name(self, size: str) -> str:
        return {"full": self.full_name, "screen": self.screen_name, "thumb": self.thumb_name}[size]
