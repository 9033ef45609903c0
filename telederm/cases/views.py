"""The patient's and the sender's pages: start a case, add photos, send it, read the answer."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases import policies, services
from telederm.cases.forms import (
    OnBehalfQuestionnaireForm,
    QuestionnaireForm,
    ReferralForm,
    VersionForm,
)
from telederm.cases.models import Case
from telederm.core.errors import UserFacingError
from telederm.core.forms import posted


def _person(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not policies.can_list_cases(person):
        raise PermissionDenied
    cases = list(
        policies.cases_visible_to(person).select_related("patient").order_by("-created_at")[:100]
    )
    record_listing(actor=person, action="case.list.view", cases=cases, request=request)
    return render(
        request,
        "cases/case_list.html",
        {"cases": cases, "can_create": policies.can_create_case(person)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_case(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not policies.can_create_case(person):
        raise PermissionDenied
    form_class = ReferralForm if person.is_submitter else QuestionnaireForm
    form = form_class(posted(request))
    if request.method == "POST" and form.is_valid():
        answers = {k: v for k, v in form.cleaned_data.items() if k in services.QUESTIONNAIRE_FIELDS}
        if person.is_submitter:
            case = services.start_referral(
                by=person,
                identifier=form.cleaned_data["patient_identifier"],
                patient_name=form.cleaned_data["patient_name"],
                answers=answers,
                request=request,
            )
        else:
            case = services.start_case(
                by=person, patient=person.patient, answers=answers, request=request
            )
        return redirect("photos:manage", case_uuid=case.uuid)
    return render(request, "cases/questionnaire.html", {"form": form, "case": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit_case(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    if not policies.can_edit_draft(person, case):
        messages.info(request, _("This case has been sent and can no longer be changed."))
        return redirect("cases:detail", case_uuid=case.uuid)
    form_class = OnBehalfQuestionnaireForm if case.is_on_behalf else QuestionnaireForm
    form = form_class(posted(request), initial=_answers(case))
    version = VersionForm(posted(request), initial={"version": case.version})
    if request.method == "POST" and form.is_valid() and version.is_valid():
        try:
            services.update_draft(
                by=person,
                case=case,
                expected_version=version.cleaned_data["version"],
                answers=form.cleaned_data,
                request=request,
            )
        except UserFacingError as exc:
            messages.error(request, str(exc))
            return redirect("cases:edit", case_uuid=case.uuid)
        return redirect("photos:manage", case_uuid=case.uuid)
    return render(
        request, "cases/questionnaire.html", {"form": form, "case": case, "version_form": version}
    )


@login_required
def summary(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    if not case.is_draft:
        return redirect("cases:detail", case_uuid=case.uuid)
    if not policies.can_submit(person, case):
        raise PermissionDenied
    return render(
        request,
        "cases/summary.html",
        {
            "case": case,
            "photos": case.photos.ready(),
            "version_form": VersionForm(initial={"version": case.version}),
        },
    )


@login_required
@require_POST
def submit(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    version = VersionForm(request.POST)
    if not version.is_valid():
        messages.error(request, _("The form was incomplete. Please try again."))
        return redirect("cases:summary", case_uuid=case.uuid)
    try:
        services.submit_case(
            by=person, case=case, expected_version=version.cleaned_data["version"], request=request
        )
    except services.CaseAlreadySent as exc:
        messages.info(request, str(exc))
        return redirect("cases:detail", case_uuid=case.uuid)
    except UserFacingError as exc:
        messages.error(request, str(exc))
        return redirect("cases:summary", case_uuid=case.uuid)
    messages.success(request, _("Your case has been sent to the skin clinic."))
    return redirect("cases:detail", case_uuid=case.uuid)


@login_required
@require_POST
def withdraw(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    version = VersionForm(request.POST)
    if not version.is_valid():
        messages.error(request, _("The form was incomplete. Please try again."))
        return redirect("cases:detail", case_uuid=case.uuid)
    try:
        services.withdraw_case(
            by=person, case=case, expected_version=version.cleaned_data["version"], request=request
        )
    except UserFacingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The case has been withdrawn."))
    return redirect("cases:detail", case_uuid=case.uuid)


@login_required
def case_detail(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "photos": case.photos.ready(),
            "events": case.events.select_related("actor", "actor__organisation"),
            "review": getattr(case, "review", None),
            "can_edit": policies.can_edit_draft(person, case),
            "can_withdraw": policies.can_withdraw(person, case),
            "version_form": VersionForm(initial={"version": case.version}),
        },
    )


def _answers(case: Case) -> dict[str, object]:
    return {field: getattr(case, field) for field in services.QUESTIONNAIRE_FIELDS}
