"""Everything that changes a case: one function a step, one transaction, checked and logged."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies, tasks
from telederm.cases.access import access_for_log
from telederm.cases.models import Case, CaseEvent
from telederm.cases.states import CaseStatus, check_transition
from telederm.core import calendar, clock, outbox
from telederm.core.errors import ChangedMeanwhile, UserFacingError
from telederm.patients.identifiers import PersonIdentifier
from telederm.patients.models import Patient
from telederm.patients.services import find_or_register_patient

# The questionnaire: what a sender fills in, and what a draft edit may change.
QUESTIONNAIRE_FIELDS = (
    "complaint",
    "body_site",
    "body_site_detail",
    "onset",
    "change",
    "itch",
    "pain",
    "treatments_tried",
    "other_information",
    "patient_consents",
)


class CaseIncomplete(UserFacingError):
    """The case lacks something it needs before it can be sent."""


class CaseAlreadySent(UserFacingError):
    """The case has left the draft state; a second send or a late edit changes nothing."""


def open_case(*, by: User, case_uuid: uuid.UUID, request: HttpRequest | None = None) -> Case:
    """Fetch a case for reading, if this person may see it, and log the read.

    Missing and forbidden look the same (404), so nobody can probe which cases exist.
    """
    case = (
        Case.objects.select_related("patient", "created_by", "assigned_to")
        .filter(uuid=case_uuid)
        .first()
    )
    access = access_for_log(by, case) if case is not None else None
    if case is None or access is None:
        raise Http404
    basis, reason = access
    record(
        actor=by,
        action="case.view",
        patient=case.patient,
        case=case,
        request=request,
        basis=basis,
        reason=reason,
    )
    return case


@transaction.atomic
def start_case(
    *, by: User, patient: Patient, answers: Mapping[str, Any], request: HttpRequest | None = None
) -> Case:
    """Open a draft case with the sender's answers; photos are added next."""
    if not policies.can_create_case(by):
        raise PermissionDenied
    if by.role == User.Role.PATIENT and patient.user_id != by.pk:
        raise PermissionDenied
    case = Case.objects.create(patient=patient, created_by=by, **_questionnaire(answers))
    _event(case, by, CaseEvent.Action.CREATED)
    record(actor=by, action="case.create", patient=patient, case=case, request=request)
    return case


@transaction.atomic
def start_referral(
    *,
    by: User,
    identifier: PersonIdentifier,
    patient_name: str,
    answers: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Case:
    """A professional refers a patient: find or register the patient and open the draft together.

    One transaction, so a refused case leaves no newly registered patient behind.
    """
    patient = find_or_register_patient(by=by, identifier=identifier, full_name=patient_name)
    return start_case(by=by, patient=patient, answers=answers, request=request)


@transaction.atomic
def update_draft(
    *,
    by: User,
    case: Case,
    expected_version: int,
    answers: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Case:
    """Change the questionnaire of a case that has not been sent."""
    case = lock_draft(by=by, case=case, expected_version=expected_version)
    for field, value in _questionnaire(answers).items():
        setattr(case, field, value)
    case.version += 1
    case.save()
    _event(case, by, CaseEvent.Action.EDITED)
    record(actor=by, action="case.edit", patient=case.patient, case=case, request=request)
    return case


def lock_draft(*, by: User, case: Case, expected_version: int | None = None) -> Case:
    """Lock a draft for a change by its sender; refuse if sent or changed meanwhile.

    Used inside the caller's transaction by every change to a draft (questionnaire, photos), so
    that a change cannot slip in after the case was sent.
    """
    locked = _lock(case)
    if not locked.is_draft:
        raise CaseAlreadySent(_("This case has already been sent and can no longer be changed."))
    if not policies.can_edit_draft(by, locked):
        raise PermissionDenied
    _check_version(locked, expected_version)
    return locked


def note_draft_change(*, by: User, case: Case, action: CaseEvent.Action) -> Case:
    """Record a change made to a locked draft by another part of the case (a photo)."""
    case.version += 1
    case.save(update_fields=["version", "updated_at"])
    _event(case, by, action)
    return case


def _check_photos(case: Case) -> None:
    """A case goes with checked photos only, and with an overview and a close-up of each lesion.

    The photos are read through the case's relations: the photos app builds on this one.
    """
    photos = case.photos.exclude(status="rejected")
    if photos.filter(status="pending").exists():
        raise CaseIncomplete(
            _("A photo is still being checked. Wait a moment, then send the case.")
        )
    if not photos.exists():
        raise CaseIncomplete(_("Add at least one photo before you send the case."))
    for lesion in case.lesions.all():
        kinds = set(photos.filter(lesion=lesion).values_list("kind", flat=True))
        if not {"overview", "close_up"} <= kinds:
            raise CaseIncomplete(
                _("Each spot needs an overview and a close-up photo before the case is sent.")
            )


@transaction.atomic
def submit_case(
    *, by: User, case: Case, expected_version: int, request: HttpRequest | None = None
) -> Case:
    """Freeze the case and hand it to the clinic; its photos can no longer change."""
    case = _lock(case)
    if not policies.can_submit(by, case):
        raise PermissionDenied
    if not case.is_draft:
        raise CaseAlreadySent(
            _("This case has already been sent. You do not need to send it again.")
        )
    _check_version(case, expected_version)
    _check_photos(case)
    if case.is_on_behalf and not case.patient_consents:
        raise CaseIncomplete(_("Confirm that the patient agrees to this referral."))
    now = clock.now()
    case.submitted_at = now
    case.due_at = due_time(priority=case.priority, start=now)
    if case.is_on_behalf:
        case.assessment_deadline = assessment_deadline(received=now)
    transition_case(by=by, case=case, to=CaseStatus.SUBMITTED, action=CaseEvent.Action.SUBMITTED)
    record(actor=by, action="case.submit", patient=case.patient, case=case, request=request)
    outbox.enqueue(tasks.send_receipt, case_uuid=str(case.uuid))
    return case


@transaction.atomic
def withdraw_case(
    *, by: User, case: Case, expected_version: int, request: HttpRequest | None = None
) -> Case:
    """Withdraw a case that nobody has started to review."""
    case = _lock(case)
    if not policies.can_withdraw(by, case):
        raise PermissionDenied
    _check_version(case, expected_version)
    transition_case(by=by, case=case, to=CaseStatus.WITHDRAWN, action=CaseEvent.Action.WITHDRAWN)
    record(actor=by, action="case.withdraw", patient=case.patient, case=case, request=request)
    return case


def transition_case(
    *, by: User, case: Case, to: CaseStatus, action: CaseEvent.Action, detail: str = ""
) -> Case:
    """Move a locked case to its next state and write the step to its history.

    Called inside the transaction of the service that decided the step (here, or in triage and
    review), after that service has locked the case and checked its policy.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition_case runs inside its caller's transaction")
    before = case.state
    check_transition(before, to)
    case.status = to.value
    case.version += 1
    case.save()
    _event(case, by, action, from_status=before, to_status=to, detail=detail)
    return case


def due_time(*, priority: str, start: dt.datetime) -> dt.datetime:
    """When the clinic must have answered, by the priority's clock (settings), from `start`."""
    rule = settings.TELEDERM_PRIORITY_CLOCKS[priority]
    clock_rule = calendar.PriorityClock(
        hours=float(str(rule["hours"])), counting=str(rule["counting"])
    )
    return calendar.due_after(start, clock_rule, opening_hours())


def opening_hours() -> calendar.WorkingHours:
    return calendar.WorkingHours(
        settings.TELEDERM_WORKDAY_START_HOUR, settings.TELEDERM_WORKDAY_END_HOUR
    )


def assessment_deadline(*, received: dt.datetime) -> dt.date:
    """The legal deadline to assess a referral received at `received` (10 working days)."""
    day = received.astimezone(calendar.OSLO).date()
    return calendar.add_working_days(day, settings.TELEDERM_REFERRAL_ASSESSMENT_WORKING_DAYS)


def lock_case(*, case: Case, expected_version: int | None) -> Case:
    """Lock a case row for a change and refuse if it changed since the caller loaded it."""
    locked = _lock(case)
    _check_version(locked, expected_version)
    return locked


def _lock(case: Case) -> Case:
    # select_for_update locks the row on PostgreSQL; on SQLite the IMMEDIATE transaction mode
    # (settings) already serialises writers, so the re-read below sees the latest committed row.
    return Case.objects.select_for_update().select_related("patient").get(pk=case.pk)


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise ChangedMeanwhile(
            _(
                "Someone else changed this case while you had it open. "
                "Nothing was overwritten: look at the latest version and try again."
            )
        )


def _questionnaire(answers: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(answers) - set(QUESTIONNAIRE_FIELDS)
    if unknown:
        raise ValueError(f"not questionnaire fields: {sorted(unknown)}")
    return dict(answers)


def _event(
    case: Case,
    by: User,
    action: CaseEvent.Action,
    *,
    from_status: str = "",
    to_status: str = "",
    detail: str = "",
) -> None:
    CaseEvent.objects.create(
        detail=detail,
        case=case,
        at=clock.now(),
        actor=by,
        action=action,
        from_status=from_status,
        to_status=to_status,
    )
