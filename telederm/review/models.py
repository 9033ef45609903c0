"""A dermatologist's answer to a case."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case


class Review(models.Model):
    """The signed answer: an assessment for clinicians and advice the patient can understand."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="review")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessment = models.TextField(
        _("Assessment"),
        max_length=5000,
        help_text=_("Your clinical assessment, for the referring professional and the record."),
    )
    diagnosis = models.CharField(
        _("Diagnosis"), max_length=200, blank=True, help_text=_("Most likely diagnosis, in words.")
    )
    advice = models.TextField(
        _("Advice to the patient"),
        max_length=5000,
        help_text=_("Plain language: what it is, what to do, when to seek help again."),
    )
    signed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Review of {self.case}"
