"""The case: one skin problem sent for a dermatologist's answer, its questionnaire and history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.cases.states import OPEN_IN_QUEUE, CaseStatus
from telederm.core import clock
from telederm.patients.models import Patient


class CaseQuerySet(models.QuerySet["Case"]):
    def awaiting_review(self) -> CaseQuerySet:
        """Sent cases nobody has answered yet, most urgent first."""
        return self.filter(status__in=[s.value for s in OPEN_IN_QUEUE]).order_by("due_at", "pk")

    def other_sent_cases_of(self, case: Case) -> CaseQuerySet:
        """The same patient's other sent cases, newest first: the clinician's context."""
        return (
            self.filter(patient_id=case.patient_id)
            .exclude(pk=case.pk)
            .exclude(status=CaseStatus.DRAFT)
            .order_by("-submitted_at")
        )


STATUS_LABELS = {
    CaseStatus.DRAFT: _("Draft"),
    CaseStatus.SUBMITTED: _("Sent"),
    CaseStatus.TRIAGED: _("Triaged"),
    CaseStatus.IN_REVIEW: _("In review"),
    CaseStatus.INFO_REQUESTED: _("More information requested"),
    CaseStatus.ANSWERED: _("Answered"),
    CaseStatus.VIDEO_SCHEDULED: _("Video consultation scheduled"),
    CaseStatus.REFERRED: _("Referred in person"),
    CaseStatus.ESCALATED: _("Emergency: escalated"),
    CaseStatus.WITHDRAWN: _("Withdrawn"),
    CaseStatus.CLOSED: _("Closed"),
}


class Case(models.Model):
    Status = CaseStatus

    class Priority(models.TextChoices):
        URGENT = "urgent", _("Urgent")
        SOON = "soon", _("Soon")
        ROUTINE = "routine", _("Routine")

    class Pathway(models.TextChoices):
        NONE = "", _("No pathway")
        PK_MELANOMA = "pk_melanoma", _("Cancer patient pathway: melanoma (pakkeforløp)")

    class BodySite(models.TextChoices):
        SCALP = "scalp", _("Scalp")
        FACE = "face", _("Face")
        NECK = "neck", _("Neck")
        CHEST = "chest", _("Chest")
        ABDOMEN = "abdomen", _("Abdomen")
        BACK = "back", _("Back")
        ARM = "arm", _("Arm")
        HAND = "hand", _("Hand or fingers")
        GENITAL = "genital", _("Genital area")
        BUTTOCKS = "buttocks", _("Buttocks")
        LEG = "leg", _("Leg")
        FOOT = "foot", _("Foot or toes")
        NAIL = "nail", _("Nails")
        MOUTH = "mouth", _("Mouth or lips")
        WIDESPREAD = "widespread", _("Many places")

    class Onset(models.TextChoices):
        DAYS = "days", _("Less than a week")
        WEEKS = "weeks", _("1 to 4 weeks")
        MONTHS = "months", _("1 to 12 months")
        YEARS = "years", _("More than a year")

    class Change(models.TextChoices):
        GROWING = "growing", _("Growing or spreading")
        CHANGING = "changing", _("Changing colour or shape")
        UNCHANGED = "unchanged", _("About the same")
        IMPROVING = "improving", _("Getting better")
        COMES_AND_GOES = "comes_and_goes", _("Comes and goes")

    class Severity(models.TextChoices):
        NONE = "none", _("None")
        MILD = "mild", _("Mild")
        MODERATE = "moderate", _("Moderate")
        SEVERE = "severe", _("Severe")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cases")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_cases"
    )
    status = models.CharField(
        max_length=20,
        choices=[(s.value, label) for s, label in STATUS_LABELS.items()],
        default=CaseStatus.DRAFT.value,
    )
    # Optimistic concurrency: every change bumps it; a form carries the version it was drawn
    # from, so a change made by someone else meanwhile is refused instead of overwritten.
    version = models.PositiveIntegerField(default=1)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    # Suspected melanoma follows the cancer patient pathway (pakkeforløp), marked PK in referrals.
    pathway = models.CharField(
        _("pathway"), max_length=20, choices=Pathway.choices, blank=True, default=""
    )
    # A referral from a health professional must be assessed within 10 working days of receipt
    # (pasient- og brukerrettighetsloven § 2-2); set when such a case is sent.
    assessment_deadline = models.DateField(null=True, blank=True)
    # The duty nurse who has claimed the case for triage (the dermatologist is `assigned_to`).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_cases",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )

    complaint = models.TextField(_("What is the problem?"), max_length=2000)
    body_site = models.CharField(_("Where on the body?"), max_length=20, choices=BodySite.choices)
    body_site_detail = models.CharField(_("More exactly where"), max_length=200, blank=True)
    onset = models.CharField(_("Since when?"), max_length=10, choices=Onset.choices)
    change = models.CharField(_("How has it changed?"), max_length=20, choices=Change.choices)
    itch = models.CharField(_("Itching"), max_length=10, choices=Severity.choices)
    pain = models.CharField(_("Pain or soreness"), max_length=10, choices=Severity.choices)
    treatments_tried = models.TextField(_("Treatments tried"), max_length=2000, blank=True)
    other_information = models.TextField(_("Anything else?"), max_length=2000, blank=True)
    patient_consents = models.BooleanField(_("The patient agrees to this referral"), default=False)

    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The queues: open cases by state, soonest due first.
            models.Index(fields=["status", "due_at"], name="case_status_due"),
            # Only the few thousand open cases, soonest due first: the queues page through it
            # without reading the answered and closed ones that were due earlier.
            models.Index(
                fields=["due_at", "id"],
                name="case_open_due_idx",
                condition=models.Q(
                    status__in=[
                        CaseStatus.ESCALATED.value,
                        CaseStatus.SUBMITTED.value,
                        CaseStatus.TRIAGED.value,
                        CaseStatus.IN_REVIEW.value,
                        CaseStatus.INFO_REQUESTED.value,
                    ]
                ),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=CaseStatus.DRAFT.value)
                | models.Q(status=CaseStatus.WITHDRAWN.value)
                | (models.Q(submitted_at__isnull=False) & models.Q(due_at__isnull=False)),
                name="case_sent_has_submitted_and_due_times",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=CaseStatus.ANSWERED.value)
                | models.Q(answered_at__isnull=False),
                name="case_answered_has_answered_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.uuid}"

    @property
    def state(self) -> CaseStatus:
        return CaseStatus(self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == CaseStatus.DRAFT

    @property
    def is_on_behalf(self) -> bool:
        """Sent by a professional for the patient, not by the patient themself."""
        return self.patient.user_id != self.created_by_id


class CaseEvent(models.Model):
    """One step in a case's history, shown to the patient and clinicians: who did what, when."""

    class Action(models.TextChoices):
        CREATED = "created", _("Case started")
        EDITED = "edited", _("Questionnaire changed")
        LESION_ADDED = "lesion_added", _("Spot or rash described")
        PHOTO_ADDED = "photo_added", _("Photo added")
        PHOTO_REMOVED = "photo_removed", _("Photo removed")
        SUBMITTED = "submitted", _("Sent to the clinic")
        TRIAGE_CLAIMED = "triage_claimed", _("A duty nurse took the case for triage")
        PRIORITY_SET = "priority_set", _("Priority set")
        FORWARDED = "forwarded", _("Passed to a dermatologist")
        INFO_REQUESTED = "info_requested", _("More information asked for")
        INFO_PROVIDED = "info_provided", _("More information sent")
        ESCALATED = "escalated", _("Escalated as an emergency")
        SELF_CARE_ADVISED = "self_care_advised", _("Self-care advice given")
        MESSAGE = "message", _("Message")
        REVIEW_STARTED = "review_started", _("A dermatologist started the review")
        ANSWERED = "answered", _("Answered by a dermatologist")
        REFERRED = "referred", _("Referred for an in-person appointment")
        VIDEO_REQUESTED = "video_requested", _("Video consultation requested")
        CLOSED = "closed", _("Closed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        ACCESS_GRANTED = "access_granted", _("A health professional was given access")
        ACCESS_REVOKED = "access_revoked", _("A health professional's access was ended")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    # A short, non-clinical note for the history (for example "priority urgent → soon").
    detail = models.CharField(max_length=200, blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} at {self.at}"


class TimeBoxedAccessQuerySet(models.QuerySet[Any]):
    def active(self, at: dt.datetime | None = None) -> TimeBoxedAccessQuerySet:
        """Accesses in force now: not revoked, not expired."""
        moment = at or clock.now()
        return self.filter(revoked_at__isnull=True, starts_at__lte=moment, expires_at__gt=moment)


class CaseGrant(models.Model):
    """Access to one case, for a limited time and purpose, for a health professional outside it.

    A clinician grants it (for example to a plastic surgeon asked for an opinion); the grantee signs
    in with two factors and sees that case only. It ends when it expires or is revoked.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=300)
    starts_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = TimeBoxedAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("starts_at")),
                name="case_grant_expires_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantee} on {self.case_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_active(self, at: dt.datetime | None = None) -> bool:
        moment = at or clock.now()
        return self.revoked_at is None and self.starts_at <= moment < self.expires_at


class BreakGlassAccess(models.Model):
    """A clinician opened a case outside their rights, giving a reason ("break the glass").

    Time-boxed, flagged in the access log, and listed for the privacy officer to review.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="break_glass_accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_accesses"
    )
    reason = models.CharField(_("reason"), max_length=300)
    starts_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.CharField(_("review note"), max_length=300, blank=True)

    objects = TimeBoxedAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "pk"]

    def __str__(self) -> str:
        return f"{self.user} on {self.case_id} at {self.starts_at:%Y-%m-%d %H:%M}"


class MessageQuerySet(models.QuerySet["Message"]):
    def unread_by_clinic(self) -> MessageQuerySet:
        return self.filter(from_clinic=False, read_at__isnull=True)

    def unread_by_patient_side(self) -> MessageQuerySet:
        return self.filter(from_clinic=True, read_at__isnull=True)


class Message(models.Model):
    """A secure message on a case between the patient side (patient or sender) and the clinic.

    Notifications only say that there is a message; its text is read after signing in. Photos
    sent with a message go through the photo pipeline (`Photo.message`).
    """

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        INFO_REQUEST = "info_request", _("Request for more information")
        SELF_CARE = "self_care", _("Self-care advice")
        # The signed answer's advice to the patient, kept in the thread where they read on.
        ANSWER = "answer", _("Answer from the dermatologist")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_clinic = models.BooleanField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MESSAGE)
    body = models.TextField(_("message"), max_length=5000)
    # Self-care guides linked from the message (slugs in the guide library).
    guides = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["case", "sent_at"])]

    def __str__(self) -> str:
        return f"Message on {self.case_id} at {self.sent_at:%Y-%m-%d %H:%M}"
