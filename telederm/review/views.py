"""The clinic workspace: the review queue, a case with its photos, and the answer form."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases.forms import VersionForm
from telederm.cases.models import Case
from telederm.cases.services import open_case
from telederm.core import clock
from telederm.core.errors import UserFacingError
from telederm.review import policies, services
from telederm.review.forms import AnswerForm


def _clinician(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not policies.can_use_clinic(user):
        raise PermissionDenied
    return user


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    person = _clinician(request)
    cases = list(policies.review_queue_for(person)[:200])
    record_listing(actor=person, action="queue.view", cases=cases, request=request)
    return render(request, "review/queue.html", {"cases": cases, "now": clock.now()})


@login_required
@require_GET
def case(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    return _render_case(request, person, open_case(by=person, case_uuid=case_uuid, request=request))


def _render_case(
    request: HttpRequest, person: User, the_case: Case, form: AnswerForm | None = None
) -> HttpResponse:
    earlier = list(Case.objects.other_sent_cases_of(the_case).select_related("review")[:20])
    return render(
        request,
        "review/case.html",
        {
            "case": the_case,
            "photos": the_case.photos.all(),
            "events": the_case.events.select_related("actor"),
            "earlier_cases": earlier,
            "review": getattr(the_case, "review", None),
            "can_take": policies.can_take_for_review(person, the_case),
            "can_answer": policies.can_answer(person, the_case),
            "version_form": VersionForm(initial={"version": the_case.version}),
            "form": form or AnswerForm(initial={"version": the_case.version}),
            "now": clock.now(),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def take(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    version = VersionForm(request.POST)
    if not version.is_valid():
        raise PermissionDenied
    try:
        services.take_for_review(
            by=person,
            case=the_case,
            expected_version=version.cleaned_data["version"],
            request=request,
        )
    except UserFacingError as exc:
        messages.error(request, str(exc))
    return redirect("review:case", case_uuid=the_case.uuid)


@login_required
@require_POST
def answer(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _render_case(request, person, the_case, form)
    try:
        services.answer_case(
            by=person,
            case=the_case,
            expected_version=form.cleaned_data["version"],
            assessment=form.cleaned_data["assessment"],
            diagnosis=form.cleaned_data["diagnosis"],
            advice=form.cleaned_data["advice"],
            request=request,
        )
    except UserFacingError as exc:
        form.add_error(None, str(exc))
        return _render_case(request, person, the_case, form)
    messages.success(request, _("The answer has been sent."))
    return redirect("review:queue")
