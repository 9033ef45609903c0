"""Reading the access log: the patient's own entries, and the privacy officer's review."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.audit.services import record
from telederm.cases.models import BreakGlassAccess, Case, CaseGrant
from telederm.core import clock
from telederm.patients.models import Patient
from telederm.privacy import labels, policies
from telederm.privacy.unusual import Entry, Flag, flags_for, pairs

# Reasons shown to the patient: what the person wrote when they broke the glass or gave access.
REASONED_ACTIONS = frozenset({"case.break_glass", "case.grant"})


@dataclass(frozen=True)
class Row:
    """One access, ready to show."""

    at: dt.datetime
    who: str
    role: str
    organisation: str
    what: str
    why: str
    client_address: str
    patient_name: str = ""
    flags: list[Flag] = field(default_factory=list)


def _role_label(role: str) -> str:
    try:
        return str(User.Role(role).label)
    except ValueError:
        return role


def _why(event: AccessEvent) -> str:
    parts = [str(AccessEvent.Basis(event.basis).label)] if event.basis else []
    if event.reason and (event.basis == "break_glass" or event.action in REASONED_ACTIONS):
        parts.append(_("“%(reason)s”") % {"reason": event.reason})
    return ": ".join(parts)


def own_access_log(*, by: User, request: HttpRequest | None = None) -> list[Row]:
    """Every entry about this patient, newest first, in plain language. Reading it is logged."""
    if not policies.can_see_own_access_log(by):
        raise PermissionDenied
    patient = by.patient
    record(actor=by, action="access_log.own.view", patient=patient, request=request, basis="own")
    events = (
        AccessEvent.objects.filter(patient_uuid=patient.uuid)
        .select_related("actor")
        .order_by("-at", "-pk")[: settings.TELEDERM_OWN_LOG_LIMIT]
    )
    return [
        Row(
            at=event.at,
            who=_("You")
            if event.actor_id == by.pk
            else (event.actor.full_name if event.actor else _("Telederm (automatic)")),
            role="" if event.actor_id == by.pk else _role_label(event.actor_role),
            organisation=event.actor_organisation,
            what=labels.describe(event.action),
            why=_why(event),
            client_address="",
        )
        for event in events
    ]


@dataclass(frozen=True)
class ReviewFilter:
    start: dt.datetime
    end: dt.datetime
    person: str = ""
    patient_identifier: str = ""
    unusual_only: bool = False


@dataclass(frozen=True)
class Review:
    rows: list[Row]
    total: int
    counts: dict[Flag, int]
    truncated: bool


def review_accesses(
    *, by: User, criteria: ReviewFilter, request: HttpRequest | None = None
) -> Review:
    """The period's entries for the privacy officer, with the signs of unusual access."""
    if not policies.can_review_access_log(by):
        raise PermissionDenied
    events = AccessEvent.objects.filter(at__gte=criteria.start, at__lt=criteria.end)
    patient = None
    if criteria.patient_identifier:
        patient = Patient.objects.filter(identifier=criteria.patient_identifier).first()
        events = events.filter(patient_uuid=patient.uuid if patient else uuid.UUID(int=0))
    if criteria.person:
        term = criteria.person.strip()
        events = events.filter(Q(actor__email__iexact=term) | Q(actor__full_name__icontains=term))
    record(
        actor=by,
        action="access_log.review.view",
        patient=patient,
        request=request,
        reason=f"{criteria.start:%Y-%m-%d}–{criteria.end:%Y-%m-%d}",
    )
    limit = settings.TELEDERM_PRIVACY_REVIEW_LIMIT
    chosen = list(events.select_related("actor").order_by("-at", "-pk")[: limit + 1])
    truncated = len(chosen) > limit
    chosen = chosen[:limit]
    patient_users = dict(
        Patient.objects.filter(
            uuid__in={e.patient_uuid for e in chosen if e.patient_uuid}
        ).values_list("uuid", "user_id")
    )
    entries = [
        Entry(
            index=index,
            at=event.at,
            actor_id=event.actor_id,
            patient_uuid=event.patient_uuid,
            action=event.action,
            basis=event.basis,
            kind=event.kind,
            is_patient_self=event.actor_id is not None
            and event.patient_uuid is not None
            and patient_users.get(event.patient_uuid) == event.actor_id,
            is_listing=labels.is_listing(event.action),
        )
        for index, event in enumerate(chosen)
    ]
    flags = flags_for(
        entries,
        related=related_pairs(pairs(entries)),
        threshold=settings.TELEDERM_PRIVACY_MANY_PATIENTS,
    )
    names = dict(
        Patient.objects.filter(uuid__in=set(patient_users)).values_list("uuid", "full_name")
    )
    rows = [
        Row(
            at=event.at,
            who=event.actor.full_name if event.actor else _("Telederm (automatic)"),
            role=_role_label(event.actor_role),
            organisation=event.actor_organisation,
            what=event.action,
            why=_why(event),
            client_address=event.client_address or "",
            patient_name=names.get(event.patient_uuid, "") if event.patient_uuid else "",
            flags=flags[index],
        )
        for index, event in enumerate(chosen)
    ]
    counts = {flag: sum(flag in row.flags for row in rows) for flag in Flag}
    if criteria.unusual_only:
        rows = [row for row in rows if row.flags]
    return Review(rows=rows, total=len(chosen), counts=counts, truncated=truncated)


def related_pairs(wanted: set[tuple[int, uuid.UUID]]) -> set[tuple[int, uuid.UUID]]:
    """Which (person, patient) pairs have a recorded relationship: the patient themself, the
    sender, the duty nurse who claimed it or the assigned dermatologist of any of the patient's
    cases, a grantee on any of them, or anyone who changed something in them (took, answered,
    triaged, edited)."""
    if not wanted:
        return set()
    patients = {patient for _, patient in wanted}
    found: set[tuple[int, uuid.UUID]] = set()
    for user_id, patient_uuid in Patient.objects.filter(
        uuid__in=patients, user__isnull=False
    ).values_list("user_id", "uuid"):
        found.add((user_id, patient_uuid))
    for created_by, assigned_to, claimed_by, patient_uuid in Case.objects.filter(
        patient__uuid__in=patients
    ).values_list("created_by_id", "assigned_to_id", "claimed_by_id", "patient__uuid"):
        found.add((created_by, patient_uuid))
        for carer in (assigned_to, claimed_by):
            if carer:
                found.add((carer, patient_uuid))
    for grantee, patient_uuid in CaseGrant.objects.filter(
        case__patient__uuid__in=patients
    ).values_list("grantee_id", "case__patient__uuid"):
        found.add((grantee, patient_uuid))
    writers = (
        AccessEvent.objects.filter(
            patient_uuid__in=patients, kind=AccessEvent.Kind.WRITE, actor__isnull=False
        )
        .exclude(action="case.break_glass")
        .values_list("actor_id", "patient_uuid")
        .distinct()
    )
    found.update((actor, patient) for actor, patient in writers if patient)
    return found & wanted


def break_glass_to_review() -> list[BreakGlassAccess]:
    return list(
        BreakGlassAccess.objects.filter(reviewed_at__isnull=True)
        .select_related("user", "case__patient")
        .order_by("starts_at")[:100]
    )


@transaction.atomic
def mark_break_glass_reviewed(
    *, by: User, access: BreakGlassAccess, note: str, request: HttpRequest | None = None
) -> BreakGlassAccess:
    """The privacy officer has looked at a break-glass access and notes what they found."""
    if not policies.can_review_access_log(by):
        raise PermissionDenied
    access = (
        BreakGlassAccess.objects.select_for_update()
        .select_related("case__patient")
        .get(pk=access.pk)
    )
    if access.reviewed_at is None:
        access.reviewed_at = clock.now()
        access.reviewed_by = by
        access.review_note = note.strip()
        access.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        record(
            actor=by,
            action="case.break_glass.review",
            patient=access.case.patient,
            case=access.case,
            obj=access,
            request=request,
            reason=access.review_note,
        )
    return access
