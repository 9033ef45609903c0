"""Photos of a case, the lesions they show, and the resumable uploads they arrive through.

Photos are stored privately and served only through a view that checks the policy. A photo is
born `pending` when its upload completes; a worker task (`photos.tasks.process_photo`) decodes
it, strips its metadata, makes the renditions and runs the quality checks, and leaves it `ready`
or `rejected`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case, Message
from telederm.core import clock
from telederm.patients.models import Patient
from telederm.photos.processing import QUALITY_ADVICE, REJECTIONS


class Lesion(models.Model):
    """One skin finding of a patient, at one body site; its photos may span several cases."""

    class Laterality(models.TextChoices):
        LEFT = "left", _("Left")
        RIGHT = "right", _("Right")
        MIDLINE = "midline", _("Middle of the body")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lesions")
    # The case the lesion was first described in; later cases reach it through their photos.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="lesions")
    # A code from telederm.photos.sites (SNOMED CT body structure).
    body_site = models.CharField(_("body site"), max_length=20)
    laterality = models.CharField(_("side"), max_length=8, choices=Laterality.choices)
    label = models.CharField(_("description"), max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Lesion {self.uuid}"


class Upload(models.Model):
    """A tus upload: bytes arriving, perhaps over many requests, into a file on local disk."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    # Upload-Metadata as sent, decoded, after services.authorise_upload has checked it.
    metadata = models.JSONField(default=dict)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # sha256 of every byte received, set when the upload completes.
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
                name="upload_offset_within_length",
            ),
        ]

    def __str__(self) -> str:
        return f"Upload {self.uuid}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None

    @property
    def path(self) -> Path:
        """Where the bytes are: local disk, never a public folder."""
        return Path(settings.TELEDERM_UPLOAD_DIR) / f"{self.uuid}.part"


class PhotoQuerySet(models.QuerySet["Photo"]):
    def ready(self) -> PhotoQuerySet:
        return self.filter(status=Photo.Status.READY)

    def counting(self) -> PhotoQuerySet:
        """The photos that count towards the case: ready or still being processed."""
        return self.exclude(status=Photo.Status.REJECTED)


class Photo(models.Model):
    class Kind(models.TextChoices):
        OVERVIEW = "overview", _("Overview (the whole area)")
        CLOSE_UP = "close_up", _("Close-up")
        DERMOSCOPY = "dermoscopy", _("Dermoscopy")

    class Status(models.TextChoices):
        PENDING = "pending", _("Being processed")
        READY = "ready", _("Ready")
        REJECTED = "rejected", _("Refused")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    lesion = models.ForeignKey(
        Lesion, on_delete=models.CASCADE, related_name="photos", null=True, blank=True
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A photo sent with a secure message after the case was sent (for example a retake the
    # clinic asked for); empty for photos sent with the case itself.
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    kind = models.CharField(
        _("kind of photo"), max_length=12, choices=Kind.choices, default=Kind.OVERVIEW
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    upload = models.OneToOneField(
        Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="photo"
    )
    # Why a photo was refused: a code of processing.REJECTIONS, shown in the reader's language.
    rejection = models.CharField(max_length=30, blank=True)
    # Quality flags (codes of processing.QUALITY_ADVICE) and the measures behind them.
    quality_flags = models.JSONField(default=list, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    # Storage names of the renditions. The uploaded original is never kept: it may carry metadata.
    full_name = models.CharField(max_length=200, blank=True)
    screen_name = models.CharField(max_length=200, blank=True)
    thumb_name = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    byte_size = models.PositiveIntegerField(default=0)
    # sha256 of the full rendition, and of the bytes as uploaded (to spot the same file twice).
    sha256 = models.CharField(max_length=64, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "source_sha256"],
                condition=~Q(status="rejected") & ~Q(source_sha256=""),
                name="photo_unique_source_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"Photo {self.uuid}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def is_rejected(self) -> bool:
        return self.status == self.Status.REJECTED

    @property
    def advice(self) -> list[str]:
        """What the quality checks found, as advice to the sender, in the active language."""
        return [str(QUALITY_ADVICE[flag]) for flag in self.quality_flags if flag in QUALITY_ADVICE]

    @property
    def flag_labels(self) -> list[str]:
        """The quality flags in a word or two, for the clinic."""
        labels = {
            "blurry": _("Out of focus"),
            "too_dark": _("Too dark"),
            "too_bright": _("Too bright"),
            "low_resolution": _("Low resolution"),
        }
        return [str(labels.get(flag, flag)) for flag in self.quality_flags]

    @property
    def rejection_text(self) -> str:
        message = REJECTIONS.get(self.rejection)
        return str(message) if message else str(_("This photo could not be used. Take it again."))

    def storage_name(self, size: str) -> str:
        return {"full": self.full_name, "screen": self.screen_name, "thumb": self.thumb_name}[size]
