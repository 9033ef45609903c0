"""Symptom checker services: keep a signed-in check, act on an emergency, start a case.

A signed-out check stores nothing (the views call the engine directly). A signed-in check is kept
as a `SymptomCheck` with its answers, result and rules version, and access-logged when the patient
is known. An emergency found for an existing case escalates that case at once, so it is never
only queued.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies as case_policies
from telederm.cases import services as case_services
from telederm.cases.models import Case
from telederm.core.errors import UserFacingError
from telederm.patients.identifiers import PersonIdentifier
from telederm.patients.models import Patient
from telederm.triage import engine
from telederm.triage import policies as triage_policies
from telederm.triage.models import SymptomCheck
from telederm.triage.services import escalate_case

# The dispositions after which the person may send the problem to a dermatologist.
CASE_DISPOSITIONS = frozenset({"teledermatology", "urgent"})


class CaseAlreadyStarted(UserFacingError):
    """This check has already led to a case."""


@dataclass(frozen=True)
class CheckOutcome:
    check: SymptomCheck
    assessment: engine.Assessment
    # True when this check escalated its case (the page then says the duty nurse was alerted).
    escalated: bool


def can_view_check(user: User | AnonymousUser, check: SymptomCheck) -> bool:
    """A kept symptom check is seen only by the person who made it."""
    return isinstance(user, User) and user.is_active and check.created_by_id == user.pk


def can_start_case_from(user: User | AnonymousUser, check: SymptomCheck) -> bool:
    """Its maker may send a check's problem to a dermatologist, once, when the result allows."""
    return (
        can_view_check(user, check)
        and check.case_id is None
        and check.disposition in CASE_DISPOSITIONS
        and case_policies.can_create_case(user)
    )


def _patient_of(by: User, case: Case | None) -> Patient | None:
    if case is not None:
        return case.patient
    return getattr(by, "patient", None) if by.is_patient else None


@transaction.atomic
def record_check(
    *,
    by: User,
    data: Mapping[str, Any],
    case_uuid: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CheckOutcome:
    """Judge and keep a signed-in person's check; escalate its case if it is an emergency.

    `case_uuid` is the case the check was started from ("Has it got worse?"); the person must be
    able to open it. Raises engine.InvalidAnswers on bad answers.
    """
    case: Case | None = None
    if case_uuid is not None:
        case = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
        if case is None or not case_policies.can_view_case(by, case):
            raise PermissionDenied
    assessment = engine.assess(data)
    check = SymptomCheck.objects.create(
        created_by=by,
        patient=_patient_of(by, case),
        case=case,
        answers=dict(data),
        result=assessment.as_dict(),
        rules_version=assessment.rules_version,
        disposition=assessment.disposition,
    )
    if check.patient is not None:
        record(
            actor=by,
            action="symptom_check.create",
            patient=check.patient,
            case=case,
            obj=check,
            request=request,
        )
    escalated = False
    if (
        case is not None
        and "escalate" in assessment.flags
        and triage_policies.can_escalate(by, case)
    ):
        rules = ", ".join(reason.rule for reason in assessment.reasons)
        escalate_case(
            by=by,
            case=case,
            reason=f"Symptom check found an emergency ({rules})",
            request=request,
        )
        escalated = True
    return CheckOutcome(check=check, assessment=assessment, escalated=escalated)


@transaction.atomic
def start_case_from_check(
    *,
    by: User,
    check: SymptomCheck,
    answers: Mapping[str, Any],
    identifier: PersonIdentifier | None = None,
    patient_name: str = "",
    request: HttpRequest | None = None,
) -> Case:
    """Open a draft case from a check, with the priority and pathway its result gave.

    A patient starts their own case; a referring professional names the patient, as on
    `cases:new`. The check is linked to the case, in the same transaction.
    """
    check = SymptomCheck.objects.select_for_update().get(pk=check.pk)
    if check.case_id is not None:
        raise CaseAlreadyStarted(_("A case has already been started from this check."))
    if not can_start_case_from(by, check):
        raise PermissionDenied
    if by.is_submitter:
        if identifier is None:
            raise PermissionDenied
        case = case_services.start_referral(
            by=by,
            identifier=identifier,
            patient_name=patient_name,
            answers=answers,
            request=request,
        )
    else:
        case = case_services.start_case(by=by, patient=by.patient, answers=answers, request=request)
    result = check.result
    case.priority = result.get("priority") or Case.Priority.ROUTINE
    case.pathway = Case.Pathway.PK_MELANOMA if "pk" in result.get("flags", []) else ""
    case.save(update_fields=["priority", "pathway", "updated_at"])
    check.case = case
    check.patient = case.patient
    check.save(update_fields=["case", "patient"])
    record(
        actor=by,
        action="symptom_check.start_case",
        patient=case.patient,
        case=case,
        obj=check,
        request=request,
    )
    return case


def questionnaire_from(check: SymptomCheck) -> dict[str, Any]:
    """What the case questionnaire can take over from a check (values shared with Case)."""
    answers: Mapping[str, Any] = check.answers.get("answers", {})
    initial: dict[str, Any] = {}
    if answers.get("body_site") in Case.BodySite.values:
        initial["body_site"] = answers["body_site"]
    if answers.get("duration") in Case.Onset.values:
        initial["onset"] = answers["duration"]
    if answers.get("change") in Case.Change.values:
        initial["change"] = answers["change"]
    return initial
