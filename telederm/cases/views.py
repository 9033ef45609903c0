"""The patient's and the sender's pages: start a case, add photos, send it, read the answer."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases import messaging, policies, services
from telederm.cases.forms import (
    MessageForm,
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
    review = getattr(case, "review", None)
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "photos": case.photos.ready(),
            "events": case.events.select_related("actor", "actor__organisation"),
            # A review still being drafted is the dermatologist's work, not yet the patient's.
            "review": review if review is not None and review.signed_at else None,
            "can_edit": policies.can_edit_draft(person, case),
            "can_withdraw": policies.can_withdraw(person, case),
            "version_form": VersionForm(initial={"version": case.version}),
            "has_self_care_advice": case.messages.filter(kind="self_care").exists(),
            # A draft has no thread yet: nothing to show, and no read to log.
            **({} if case.is_draft else message_thread_context(request, case)),
        },
    )


def message_thread_context(
    request: HttpRequest, case: Case, *, next_url: str = "", form: MessageForm | None = None
) -> dict[str, object]:
    """What `cases/_messages.html` needs: the thread (its read logged, the other side's messages
    marked read), the reply form, and where the form returns to (`next_url`, default this page).

    Every page that includes the partial calls this with the case it has opened.
    """
    thread = messaging.open_thread(by=_person(request), case=case, request=request)
    back = safe_next(request, next_url) or request.get_full_path()
    return {
        "message_thread": thread,
        "message_form": form or MessageForm(initial={"next": back}),
        "message_next": back,
    }


def at_thread(url: str) -> str:
    """`url` scrolled to the thread, unless it already names a place on its page."""
    return url if "#" in url else f"{url}#messages"


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` if it is a path on this site, else ""."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else ""


@login_required
@require_GET
def case_messages(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    """The thread on a page of its own: where notifications and the thread's fallback lead."""
    person = _person(request)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    next_url = safe_next(request, request.GET.get("next"))
    return render(
        request,
        "cases/messages.html",
        {"case": case, **message_thread_context(request, case, next_url=next_url)},
    )


@login_required
@require_POST
def send_message(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    """Post a message; back to `next` (if on this site) or the case, at the thread."""
    person = _person(request)
    messaging.case_to_write_on(by=person, case_uuid=case_uuid)
    case = services.open_case(by=person, case_uuid=case_uuid, request=request)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            messaging.send_message(
                by=person, case=case, body=form.cleaned_data["body"], request=request
            )
        except UserFacingError as exc:
            form.add_error("body", str(exc))
        else:
            messages.success(request, _("Your message was sent."))
            back = safe_next(request, form.cleaned_data["next"])
            return redirect(at_thread(back or reverse("cases:detail", args=[case.uuid])))
    next_url = safe_next(request, request.POST.get("next"))
    return render(
        request,
        "cases/messages.html",
        {"case": case, **message_thread_context(request, case, next_url=next_url, form=form)},
        status=400,
    )


def _answers(case: Case) -> dict[str, object]:
    return {field: getattr(case, field) for field in services.QUESTIONNAIRE_FIELDS}
