"""Triage steps on a case. Each is one transaction: lock, policy, change, history, audit, outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import due_time, lock_case, transition_case
from telederm.cases.states import OPEN_IN_QUEUE, CaseStatus
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError
from telederm.triage import alarms, assignment, messages, policies, tasks
from telederm.triage.models import Alarm, ClinicianProfile, TriageNote


@transaction.atomic
def escalate_case(
    *,
    by: User,
    case: Case,
    reason: str,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> Case:
    """Mark a case an emergency: it jumps every queue and alarms the duty nurse at once.

    A draft (its symptom check found an emergency) is sent in the same step. The person who
    escalates is shown what to do now (call 113); the case is never only queued.
    """
    case = lock_case(case=case, expected_version=expected_version)
    if not policies.can_escalate(by, case):
        raise PermissionDenied
    now = clock.now()
    if case.submitted_at is None:
        case.submitted_at = now
    case.escalated_at = now
    case.due_at = now + dt.timedelta(minutes=settings.TELEDERM_EMERGENCY_DUE_MINUTES)
    transition_case(
        by=by,
        case=case,
        to=CaseStatus.ESCALATED,
        action=CaseEvent.Action.ESCALATED,
        detail=reason[:200],
    )
    record(
        actor=by,
        action="case.escalate",
        patient=case.patient,
        case=case,
        request=request,
        reason=reason[:300],
    )
    alarms.raise_alarm(case=case, kind=Alarm.Kind.EMERGENCY, reference=now)
    return case


class TriageRefused(UserFacingError):
    """The triage step cannot be taken: someone else has the case, or its state has moved on."""


def _refuse_unless(allowed: bool, by: User, case: Case) -> None:
    """PermissionDenied for someone who may never act; a clear refusal for a nurse who lost a race.

    Two nurses may claim the same case within a second: the second finds it claimed once she
    holds the lock, and is told who has it rather than shown a bare 403.
    """
    if allowed:
        return
    if (
        policies.is_duty_nurse(by)
        and case.claimed_by_id is not None
        and case.claimed_by_id != by.pk
    ):
        raise TriageRefused(
            _("%(name)s has already claimed this case. Nothing was changed.")
            % {"name": case.claimed_by.full_name if case.claimed_by else ""}
        )
    raise PermissionDenied


def _lock(case: Case, expected_version: int | None) -> Case:
    locked = lock_case(case=case, expected_version=expected_version)
    return Case.objects.select_related("patient", "claimed_by", "created_by", "assigned_to").get(
        pk=locked.pk
    )


def _note(case: Case, by: User, action: CaseEvent.Action, detail: str = "") -> None:
    """A step that changes the case but not its state: bump the version, write the history."""
    case.version += 1
    case.save()
    CaseEvent.objects.create(
        case=case, at=clock.now(), actor=by, action=action, detail=detail[:200]
    )


@transaction.atomic
def claim_case(
    *, by: User, case: Case, expected_version: int | None, request: HttpRequest | None = None
) -> Case:
    """A duty nurse takes a case for triage, so no other nurse works on it at the same time."""
    case = _lock(case, expected_version)
    if case.claimed_by_id == by.pk:
        return case
    _refuse_unless(policies.can_claim(by, case), by, case)
    case.claimed_by = by
    _note(case, by, CaseEvent.Action.TRIAGE_CLAIMED)
    record(actor=by, action="case.triage.claim", patient=case.patient, case=case, request=request)
    return case


@transaction.atomic
def release_case(
    *, by: User, case: Case, expected_version: int | None, request: HttpRequest | None = None
) -> Case:
    """The nurse who claimed a case gives it back to the queue."""
    case = _lock(case, expected_version)
    if not policies.can_release(by, case):
        raise PermissionDenied
    case.claimed_by = None
    case.version += 1
    case.save()
    record(actor=by, action="case.triage.release", patient=case.patient, case=case, request=request)
    return case


@transaction.atomic
def set_priority(
    *,
    by: User,
    case: Case,
    expected_version: int | None,
    priority: str,
    pathway: str,
    request: HttpRequest | None = None,
) -> Case:
    """Set the priority and pathway; the due time is counted again from when the case was sent.

    An escalated case keeps its emergency due time until the emergency is handled.
    """
    if priority not in Case.Priority.values or pathway not in Case.Pathway.values:
        raise ValueError("unknown priority or pathway")
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_set_priority(by, case), by, case)
    changes = []
    if case.priority != priority:
        changes.append(f"priority {case.priority} → {priority}")
    if case.pathway != pathway:
        changes.append(f"pathway {case.pathway or '–'} → {pathway or '–'}")
    if not changes:
        return case
    case.priority = priority
    case.pathway = pathway
    if case.state != CaseStatus.ESCALATED and case.submitted_at is not None:
        case.due_at = due_time(priority=priority, start=case.submitted_at)
    _note(case, by, CaseEvent.Action.PRIORITY_SET, "; ".join(changes))
    record(
        actor=by, action="case.triage.priority", patient=case.patient, case=case, request=request
    )
    return case


@transaction.atomic
def add_triage_note(
    *, by: User, case: Case, text: str, request: HttpRequest | None = None
) -> TriageNote:
    """A note for the dermatologist; the patient never sees it. Notes do not change the case."""
    case = _lock(case, None)
    _refuse_unless(policies.can_add_note(by, case), by, case)
    text = text.strip()
    if not text:
        raise TriageRefused(_("Write the note first."))
    note = TriageNote.objects.create(case=case, author=by, text=text)
    record(actor=by, action="case.triage.note", patient=case.patient, case=case, request=request)
    return note


def reader_language(case: Case) -> str:
    """The language of whoever reads what the clinic writes: the sender of an on-behalf case
    (a GP reads it, and tells the patient), otherwise the patient."""
    if case.is_on_behalf:
        return case.created_by.preferred_language
    return case.patient.preferred_language


@transaction.atomic
def request_information(
    *,
    by: User,
    case: Case,
    expected_version: int | None,
    text: str,
    request: HttpRequest | None = None,
) -> Message:
    """Ask the sender for better photos or more information; the case waits for the reply."""
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_request_information(by, case), by, case)
    text = text.strip()
    if not text:
        raise TriageRefused(_("Write what you need from the patient."))
    message = Message.objects.create(
        case=case, author=by, from_clinic=True, kind=Message.Kind.INFO_REQUEST, body=text
    )
    transition_case(
        by=by, case=case, to=CaseStatus.INFO_REQUESTED, action=CaseEvent.Action.INFO_REQUESTED
    )
    record(
        actor=by,
        action="case.triage.info_request",
        patient=case.patient,
        case=case,
        obj=message,
        request=request,
    )
    outbox.enqueue(tasks.tell_sender, case_uuid=str(case.uuid), template="info_request")
    return message


@transaction.atomic
def advise_self_care(
    *,
    by: User,
    case: Case,
    expected_version: int | None,
    text: str,
    guides: Sequence[str],
    request: HttpRequest | None = None,
) -> Message:
    """Close a case that needs no dermatologist, with self-care advice and guides."""
    unknown = set(guides) - messages.GUIDE_SLUGS
    if unknown:
        raise ValueError(f"unknown guides: {sorted(unknown)}")
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_advise_self_care(by, case), by, case)
    text = text.strip()
    if not text:
        raise TriageRefused(_("Write the advice to the patient."))
    message = Message.objects.create(
        case=case,
        author=by,
        from_clinic=True,
        kind=Message.Kind.SELF_CARE,
        body=text,
        guides=list(guides),
    )
    case.claimed_by = None
    transition_case(
        by=by,
        case=case,
        to=CaseStatus.CLOSED,
        action=CaseEvent.Action.SELF_CARE_ADVISED,
        detail=", ".join(guides),
    )
    record(
        actor=by,
        action="case.triage.self_care",
        patient=case.patient,
        case=case,
        obj=message,
        request=request,
    )
    outbox.enqueue(tasks.tell_sender, case_uuid=str(case.uuid), template="self_care")
    return message


def _dermatologist(user: User | None) -> User | None:
    if user is None:
        return None
    if not user.is_active or user.role != User.Role.DERMATOLOGIST:
        raise TriageRefused(_("Choose an active dermatologist."))
    return user


@transaction.atomic
def forward_case(
    *,
    by: User,
    case: Case,
    expected_version: int | None,
    to: User | None,
    detail: str = "",
    request: HttpRequest | None = None,
) -> Case:
    """Send a case to the dermatologists' pool (`to` None) or to one named dermatologist."""
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_forward(by, case), by, case)
    target = _dermatologist(to)
    case.assigned_to = target
    note = detail or (f"to {target.full_name}" if target else "to the pool")
    if case.state == CaseStatus.TRIAGED:
        _note(case, by, CaseEvent.Action.FORWARDED, note)
    else:
        transition_case(
            by=by, case=case, to=CaseStatus.TRIAGED, action=CaseEvent.Action.FORWARDED, detail=note
        )
    record(actor=by, action="case.triage.forward", patient=case.patient, case=case, request=request)
    if target is not None and target.pk != by.pk:
        outbox.enqueue(tasks.tell_dermatologist, case_uuid=str(case.uuid))
    return case


def case_needs(case: Case) -> assignment.Need:
    """What the case asks of its dermatologist: language and competences."""
    competences = set()
    if case.photos.filter(kind="dermoscopy").exclude(status="rejected").exists():
        competences.add(ClinicianProfile.Competence.DERMOSCOPY.value)
    if case.pathway == Case.Pathway.PK_MELANOMA:
        competences.add(ClinicianProfile.Competence.SKIN_CANCER.value)
    return assignment.Need(language=reader_language(case), competences=frozenset(competences))


def assignment_candidates() -> list[assignment.Candidate]:
    """Every active dermatologist with a profile, with their open cases counted in one query."""
    open_statuses = [s.value for s in OPEN_IN_QUEUE | {CaseStatus.INFO_REQUESTED}]
    people = (
        User.objects.filter(
            is_active=True, role=User.Role.DERMATOLOGIST, clinician_profile__isnull=False
        )
        .select_related("clinician_profile")
        .annotate(
            open_cases=Count("assigned_cases", filter=Q(assigned_cases__status__in=open_statuses))
        )
        .order_by("pk")
    )
    return [
        assignment.Candidate(
            key=person.pk,
            name=person.full_name,
            languages=frozenset(person.clinician_profile.languages),
            competences=frozenset(person.clinician_profile.competences),
            available=person.clinician_profile.available,
            open_cases=person.open_cases,
            max_open_cases=person.clinician_profile.max_open_cases,
        )
        for person in people
    ]


def assignment_labels() -> dict[str, str]:
    return {
        **{code: str(name) for code, name in settings.LANGUAGES},
        **{c.value: str(c.label) for c in ClinicianProfile.Competence},
    }


@transaction.atomic
def assign_automatically(
    *, by: User, case: Case, expected_version: int | None, request: HttpRequest | None = None
) -> tuple[Case, assignment.Choice]:
    """Forward to the best-suited dermatologist (language, competence, availability, load), or
    to the pool when nobody suits; the reasons come back to show the nurse."""
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_forward(by, case), by, case)
    choice = assignment.choose(case_needs(case), assignment_candidates(), assignment_labels())
    target = User.objects.get(pk=choice.chosen.key) if choice.chosen else None
    detail = f"automatically to {target.full_name}" if target else "automatically to the pool"
    case = forward_case(
        by=by, case=case, expected_version=None, to=target, detail=detail, request=request
    )
    return case, choice


@transaction.atomic
def resolve_escalation(
    *,
    by: User,
    case: Case,
    expected_version: int | None,
    send_to_review: bool,
    request: HttpRequest | None = None,
) -> Case:
    """The emergency is handled: close the case, or send it on to the dermatologists as urgent."""
    case = _lock(case, expected_version)
    _refuse_unless(policies.can_resolve_escalation(by, case), by, case)
    now = clock.now()
    # The nurse keeps her claim: the case she handled is not "unowned" while it waits for review.
    if send_to_review:
        case.priority = Case.Priority.URGENT
        case.due_at = due_time(priority=Case.Priority.URGENT, start=now)
        transition_case(
            by=by,
            case=case,
            to=CaseStatus.TRIAGED,
            action=CaseEvent.Action.FORWARDED,
            detail="emergency handled; urgent review",
        )
    else:
        transition_case(
            by=by,
            case=case,
            to=CaseStatus.CLOSED,
            action=CaseEvent.Action.CLOSED,
            detail="emergency handled",
        )
    Alarm.objects.filter(case=case, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by
    )
    record(actor=by, action="case.triage.resolve", patient=case.patient, case=case, request=request)
    return case


@transaction.atomic
def acknowledge_alarm(*, by: User, alarm: Alarm, request: HttpRequest | None = None) -> Alarm:
    """Say that an alarm has been seen and is being acted on; it leaves the banner."""
    if not policies.can_acknowledge_alarm(by):
        raise PermissionDenied
    alarm = Alarm.objects.select_for_update().select_related("case__patient").get(pk=alarm.pk)
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = clock.now()
        alarm.acknowledged_by = by
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(
            actor=by,
            action="alarm.acknowledge",
            patient=alarm.case.patient,
            case=alarm.case,
            obj=alarm,
            request=request,
        )
    return alarm
