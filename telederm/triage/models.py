"""Triage: symptom checks, clinicians' triage notes and skills, and the alarms of the clock."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.core import clock
from telederm.patients.models import Patient


class SymptomCheck(models.Model):
    """One run of the symptom checker by a signed-in person, kept with the case it led to.

    `answers` is the JSON answer format of docs/triage-assess.md; `result` is what the rules
    engine (rules version `rules_version`) answered, so a decision can be explained later.
    """

    class Disposition(models.TextChoices):
        EMERGENCY = "emergency", _("Emergency")
        URGENT = "urgent", _("Urgent")
        TELEDERMATOLOGY = "teledermatology", _("Teledermatology case")
        GP = "gp", _("See your GP")
        SELF_CARE = "self_care", _("Self-care")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="symptom_checks"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="symptom_checks"
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="symptom_checks"
    )
    answers = models.JSONField()
    result = models.JSONField()
    rules_version = models.CharField(max_length=40)
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return f"Symptom check {self.uuid} ({self.disposition})"


class TriageNote(models.Model):
    """A duty nurse's note on a case, for the dermatologist; never shown to the patient."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="triage_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("Triage note"), max_length=3000)
    written_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["written_at", "pk"]

    def __str__(self) -> str:
        return f"Triage note on {self.case_id}"


class ClinicianProfile(models.Model):
    """What automatic assignment needs to know about a dermatologist or duty nurse."""

    class Competence(models.TextChoices):
        DERMOSCOPY = "dermoscopy", _("Dermoscopy")
        PAEDIATRIC = "paediatric", _("Children's skin")
        SKIN_CANCER = "skin_cancer", _("Skin cancer")
        WOUNDS = "wounds", _("Wounds and ulcers")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinician_profile"
    )
    # Languages the clinician answers in (e.g. ["nb", "en"]).
    languages = models.JSONField(default=list, blank=True)
    competences = models.JSONField(default=list, blank=True)
    available = models.BooleanField(
        _("available for new cases"), default=True, help_text=_("Off when away or off duty.")
    )
    max_open_cases = models.PositiveIntegerField(_("most open cases at a time"), default=30)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Alarm(models.Model):
    """A case that needs a person now: an emergency, a breached clock, or nobody owning it.

    Raised by the `check_clocks` worker task (and at once for an emergency); shown on the duty
    nurse's and coordinator's queue until acknowledged. One alarm per case, kind and due time,
    so re-running the check raises nothing twice.
    """

    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("Emergency")
        BREACH = "breach", _("Answer time exceeded")
        UNOWNED = "unowned", _("Nobody has taken the case")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="alarms")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The case's due time when raised: a new due time (re-prioritised) may raise a new breach.
    reference = models.DateTimeField()
    raised_at = models.DateTimeField(default=clock.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "pk"]
        indexes = [
            models.Index(
                fields=["-raised_at", "id"],
                name="alarm_open_idx",
                condition=models.Q(acknowledged_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "reference"], name="alarm_once_per_case_kind_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} alarm on {self.case_id}"
