"""The symptom checker's pages at /check/: a few questions a screen, then the result.

Anyone may use it. Signed out, nothing is stored: the answers travel between screens in a
signed hidden field and the result is shown in the response to the last screen. Signed in,
the check is kept (intake.record_check) and the result has its own address.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import services as case_services
from telederm.cases.forms import QuestionnaireForm, ReferralForm
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.core.errors import UserFacingError
from telederm.core.forms import posted
from telederm.triage import engine, intake, questions
from telederm.triage.models import SymptomCheck
from telederm.triage.symptom_forms import (
    CheckState,
    StepForm,
    asked_on,
    merge,
    next_step,
    previous_step,
)

GUIDE_TITLES = {
    "eczema-care": gettext_lazy("Eczema care"),
    "acne": gettext_lazy("Acne"),
    "fungal-infections": gettext_lazy("Fungal skin infections"),
    "sun-protection": gettext_lazy("Sun protection"),
    "mole-self-check": gettext_lazy("Checking your moles"),
    "wound-care": gettext_lazy("Wound care"),
    "scabies": gettext_lazy("Scabies"),
    "psoriasis": gettext_lazy("Psoriasis"),
    "hives": gettext_lazy("Hives"),
}
STEP_TITLES = dict(questions.STEPS)


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Every screen of the check: GET shows the first, each POST answers one and moves on."""
    person = _signed_in(request)
    if request.method == "GET":
        case_uuid = _case_param(request)
        if case_uuid is not None and person is None:
            # A check for an existing case may escalate it: that needs the person signed in.
            return redirect_to_login(request.get_full_path())
        state = CheckState(case_uuid=case_uuid)
        return _render_step(request, questions.STEP_IDS[0], state, None)
    try:
        state = CheckState.loads(request.POST.get("state", ""))
    except signing.BadSignature:
        messages.info(request, _("The check had been open too long, so it starts again."))
        return redirect("symptoms:start")
    step = request.POST.get("step", "")
    if step not in questions.STEP_IDS:
        return redirect("symptoms:start")
    if state.case_uuid is not None and person is None:
        raise PermissionDenied
    if "back" in request.POST:
        back = previous_step(state, step) or questions.STEP_IDS[0]
        return _render_step(request, back, state, None)
    form = StepForm(request.POST, step=step, state=state)
    if not form.is_valid():
        return _render_step(request, step, state, form)
    state = merge(state, step, form)
    following = None if state.has_red_flag else next_step(state, step)
    if following is not None:
        return _render_step(request, following, state, None)
    return _finish(request, person, state)


def _case_param(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.GET["case"]) if request.GET.get("case") else None
    except ValueError:
        return None


def _render_step(
    request: HttpRequest, step: str, state: CheckState, form: StepForm | None
) -> HttpResponse:
    form = form or StepForm(step=step, state=state)
    # The screens with questions to ask given the answers so far, for "step n of m".
    steps = [s for s in questions.STEP_IDS if s == step or asked_on(s, state)]
    return render(
        request,
        "triage/check/step.html",
        {
            "form": form,
            "step": step,
            "title": STEP_TITLES[step],
            "number": steps.index(step) + 1,
            "total": len(steps),
            "is_first": step == questions.STEP_IDS[0],
            "is_last": step == questions.STEP_IDS[-1],
            "is_red_flags": step.startswith("red_flags"),
            "state": state.dumps(),
            "for_case": state.case_uuid is not None,
        },
    )


def _finish(request: HttpRequest, person: User | None, state: CheckState) -> HttpResponse:
    document = state.document()
    try:
        if person is None:
            data = engine.assess(document).as_dict()
            return _render_result(request, data, check=None, escalated=False)
        outcome = intake.record_check(
            by=person, data=document, case_uuid=state.case_uuid, request=request
        )
    except engine.InvalidAnswers:
        # The screens ask exactly what the format needs; this means a stale or partial state.
        messages.info(request, _("Some answers were missing, so the check starts again."))
        return redirect("symptoms:start")
    except PermissionDenied as exc:
        raise Http404 from exc
    if outcome.escalated:
        request.session[f"check-escalated-{outcome.check.uuid}"] = True
    return redirect("symptoms:result", check_uuid=outcome.check.uuid)


@login_required
def result(request: HttpRequest, check_uuid: uuid.UUID) -> HttpResponse:
    """A kept check's result, for the person who made it."""
    check = get_object_or_404(SymptomCheck.objects.select_related("case"), uuid=check_uuid)
    if not intake.can_view_check(request.user, check):
        raise Http404
    if check.patient is not None:
        record(
            actor=request.user,
            action="symptom_check.view",
            patient=check.patient,
            case=check.case,
            obj=check,
            request=request,
            # Only its maker sees a check: the patient themself or the professional who ran it.
            basis="own" if getattr(request.user, "is_patient", False) else "sender",
        )
    escalated = bool(request.session.pop(f"check-escalated-{check.uuid}", False)) or (
        check.case is not None and check.case.status == CaseStatus.ESCALATED
    )
    # The stored result is what the person was told, shown as it was even if the rules changed.
    return _render_result(request, check.result, check=check, escalated=escalated)


def _render_result(
    request: HttpRequest, data: dict[str, Any], *, check: SymptomCheck | None, escalated: bool
) -> HttpResponse:
    language = "nb" if (get_language() or "").startswith("nb") else "en"
    reasons = [{**r, "text": r["text"].get(language, r["text"]["en"])} for r in data["reasons"]]
    person = _signed_in(request)
    return render(
        request,
        "triage/check/result.html",
        {
            "result": data,
            "disposition": data["disposition"],
            "reasons": reasons,
            "guides": [(slug, GUIDE_TITLES.get(slug, slug)) for slug in data["guides"]],
            "check": check,
            "escalated": escalated,
            "can_start_case": (
                person is not None
                and check is not None
                and intake.can_start_case_from(person, check)
            ),
            "signed_out": person is None,
            "case": check.case if check else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_case(request: HttpRequest, check_uuid: uuid.UUID) -> HttpResponse:
    """Send the problem to a dermatologist: the case questionnaire, prefilled from the check."""
    person = _signed_in(request)
    assert person is not None
    check = get_object_or_404(SymptomCheck, uuid=check_uuid)
    if not intake.can_view_check(person, check):
        raise Http404
    if check.case_id is not None:
        assert check.case is not None
        messages.info(request, _("A case has already been started from this check."))
        return redirect("cases:detail", case_uuid=check.case.uuid)
    if not intake.can_start_case_from(person, check):
        raise PermissionDenied
    form_class = ReferralForm if person.is_submitter else QuestionnaireForm
    form = form_class(posted(request), initial=intake.questionnaire_from(check))
    if request.method == "POST" and form.is_valid():
        answers = {
            k: v for k, v in form.cleaned_data.items() if k in case_services.QUESTIONNAIRE_FIELDS
        }
        try:
            case = intake.start_case_from_check(
                by=person,
                check=check,
                answers=answers,
                identifier=form.cleaned_data.get("patient_identifier"),
                patient_name=form.cleaned_data.get("patient_name", ""),
                request=request,
            )
        except UserFacingError as exc:
            messages.error(request, str(exc))
            return redirect("symptoms:result", check_uuid=check.uuid)
        return redirect("photos:manage", case_uuid=case.uuid)
    return render(
        request,
        "triage/check/new_case.html",
        {
            "form": form,
            "check": check,
            "priority": Case.Priority(check.result.get("priority") or "routine").label,
            "is_pk": "pk" in check.result.get("flags", []),
        },
    )
