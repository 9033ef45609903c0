"""The patient's "Who has seen my information" page and the privacy officer's review."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telederm.accounts.models import User
from telederm.cases.models import BreakGlassAccess
from telederm.privacy import policies, services
from telederm.privacy.forms import BreakGlassReviewForm, ReviewFilterForm
from telederm.privacy.unusual import LABELS, Flag


def _person(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


@login_required
@require_GET
def my_access_log(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not policies.can_see_own_access_log(person):
        raise PermissionDenied
    rows = services.own_access_log(by=person, request=request)
    return render(request, "privacy/my_access_log.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not policies.can_review_access_log(person):
        raise PermissionDenied
    form = ReviewFilterForm(
        request.POST if request.method == "POST" else ReviewFilterForm.defaults()
    )
    result = None
    if form.is_valid():
        data = form.cleaned_data
        start = timezone.make_aware(dt.datetime.combine(data["start"], dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(data["end"], dt.time.min))
        result = services.review_accesses(
            by=person,
            criteria=services.ReviewFilter(
                start=start,
                end=end + dt.timedelta(days=1),
                person=data["person"],
                patient_identifier=data["patient_identifier"],
                unusual_only=data["unusual_only"],
            ),
            request=request,
        )
    return render(
        request,
        "privacy/review.html",
        {
            "form": form,
            "result": result,
            "flag_labels": [(flag, LABELS[flag]) for flag in Flag],
            "break_glass": services.break_glass_to_review(),
            "review_form": BreakGlassReviewForm(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def review_break_glass(request: HttpRequest, access_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    if not policies.can_review_access_log(person):
        raise PermissionDenied
    access = BreakGlassAccess.objects.filter(uuid=access_uuid).first()
    if access is None:
        raise Http404
    form = BreakGlassReviewForm(request.POST)
    if form.is_valid():
        services.mark_break_glass_reviewed(
            by=person, access=access, note=form.cleaned_data["note"], request=request
        )
        messages.success(request, _("The break-glass access is marked as reviewed."))
    else:
        messages.error(request, _("Write a short note on what you found."))
    return redirect("privacy:review")
