"""A dermatologist's answer to a case: a draft until signed, with coded diagnoses and outcomes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.core import clock


class Review(models.Model):
    """The answer: an assessment for clinicians, advice the patient can understand, an outcome.

    Saved as a draft as often as the dermatologist likes (`signed_at` empty); only the signing
    dermatologist's sign-off makes it visible to the patient and the sender.
    """

    class Outcome(models.TextChoices):
        ADVICE = "advice", _("Advice (answer the case)")
        REFERRAL = "referral", _("Refer for an in-person appointment")
        MORE_INFO = "more_info", _("Ask for more information")
        VIDEO = "video", _("Request a video consultation")
        CLOSE = "close", _("Close without further action")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="review")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessment = models.TextField(
        _("Assessment"),
        max_length=5000,
        blank=True,
        help_text=_("Your clinical assessment, for the referring professional and the record."),
    )
    diagnosis = models.CharField(
        _("What it probably is"),
        max_length=200,
        blank=True,
        help_text=_("In plain words for the patient, for example “hand eczema”."),
    )
    advice = models.TextField(
        _("Advice to the patient"),
        max_length=5000,
        blank=True,
        help_text=_("Plain language: what it is and what to do."),
    )
    safety_net = models.TextField(
        _("When to seek help again"),
        max_length=2000,
        blank=True,
        help_text=_("For example: if it spreads, bleeds or has not healed in four weeks."),
    )
    advice_gp = models.TextField(
        _("Advice to the GP or sender"),
        max_length=5000,
        blank=True,
        help_text=_("For the referring professional and the GP: findings, treatment, follow-up."),
    )
    # Self-care guides (slugs in the guide library) the patient's summary links to.
    guides = models.JSONField(default=list, blank=True)
    outcome = models.CharField(
        _("Outcome"), max_length=20, choices=Outcome.choices, default=Outcome.ADVICE
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # "Draft in progress" on the dermatologist's queue.
            models.Index(
                fields=["case"],
                name="review_draft_case_idx",
                condition=models.Q(signed_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signed_at__isnull=True)
                | (~models.Q(assessment="") & ~models.Q(advice="")),
                name="review_signed_has_assessment_and_advice",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.case}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class Diagnosis(models.Model):
    """A coded diagnosis on a review: ICD-10 for specialist care, ICPC-2 for the GP's record."""

    class System(models.TextChoices):
        ICD10 = "icd10", "ICD-10"
        ICPC2 = "icpc2", "ICPC-2"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="diagnoses")
    system = models.CharField(max_length=10, choices=System.choices)
    code = models.CharField(max_length=10)
    # The code's official title when it was chosen, kept so the record reads the same later.
    title = models.CharField(max_length=300)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "system", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "system", "code"], name="diagnosis_once_per_review"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.code} {self.title}"


class Prescription(models.Model):
    """A prescription record (national e-resept transport is a later issue)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="prescriptions")
    drug = models.CharField(_("Drug"), max_length=200)
    strength = models.CharField(_("Strength"), max_length=100, blank=True)
    dosage = models.CharField(_("Dosage"), max_length=300)
    duration = models.CharField(_("Duration"), max_length=100, blank=True)
    instructions = models.TextField(_("Instructions to the patient"), max_length=1000, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.drug} {self.strength}".strip()


class Referral(models.Model):
    """An in-person referral decided in the review, sent as Henvisning 2.0 when it has a HER-id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="referral")
    priority = models.CharField(_("Priority"), max_length=10, choices=Case.Priority.choices)
    pathway = models.CharField(
        _("Pathway"), max_length=20, choices=Case.Pathway.choices, blank=True, default=""
    )
    receiver = models.CharField(
        _("Refer to"),
        max_length=200,
        help_text=_("Department or clinic, for example “Hudavdelingen, UNN Tromsø”."),
    )
    # The receiver's HER-id in the address register, when the referral goes as Henvisning 2.0.
    receiver_her_id = models.PositiveIntegerField(_("Receiver's HER-id"), null=True, blank=True)
    reason = models.TextField(_("Reason for referral"), max_length=3000)

    def __str__(self) -> str:
        return f"Referral to {self.receiver}"


class VideoRequest(models.Model):
    """A dermatologist asked for a video consultation; booking it is the scheduling issue's work."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="video_request")
    reason = models.TextField(_("What the video consultation is for"), max_length=2000)
    requested_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"Video request on {self.review.case}"
