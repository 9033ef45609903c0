"""The clinic workspace: the review queue, a case with its photos, and the answer form."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases import access
from telederm.cases import policies as case_policies
from telederm.cases.forms import VersionForm
from telederm.cases.models import Case, CaseGrant
from telederm.cases.services import open_case
from telederm.core import clock
from telederm.core.errors import UserFacingError
from telederm.photos import sites
from telederm.photos.models import Photo
from telederm.photos.services import lesions_of
from telederm.review import policies, services
from telederm.review.forms import AnswerForm, BreakGlassForm, GrantForm


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
    record_listing(actor=person, action="queue.list.view", cases=cases, request=request)
    return render(request, "review/queue.html", {"cases": cases, "now": clock.now()})


@login_required
@require_GET
def case(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    try:
        the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    except Http404:
        # A clinician outside the case is offered to break the glass, with a reason; nothing
        # about the case is shown until they do.
        locked = Case.objects.filter(uuid=case_uuid).first()
        if locked is None or not case_policies.can_break_glass(person, locked):
            raise
        return render(
            request,
            "review/break_glass.html",
            {"case_uuid": locked.uuid, "form": BreakGlassForm()},
            status=403,
        )
    return _render_case(request, person, the_case)


@login_required
@require_POST
def break_glass(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    locked = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
    if locked is None or not case_policies.can_break_glass(person, locked):
        raise Http404
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            access.break_glass(
                by=person, case=locked, reason=form.cleaned_data["reason"], request=request
            )
        except UserFacingError as exc:
            form.add_error("reason", str(exc))
        else:
            messages.warning(
                request,
                _(
                    "You have opened this case outside your usual access. The access is logged "
                    "with your reason and will be reviewed."
                ),
            )
            return redirect("review:case", case_uuid=locked.uuid)
    return render(
        request,
        "review/break_glass.html",
        {"case_uuid": locked.uuid, "form": form},
        status=400,
    )


@login_required
@require_POST
def grant(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    if not case_policies.can_grant_access(person, the_case):
        raise PermissionDenied
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            access.grant_access(by=person, case=the_case, request=request, **form.cleaned_data)
        except UserFacingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(name)s can now open this case. They have been told by e-mail.")
                % {"name": form.cleaned_data["full_name"] or form.cleaned_data["email"]},
            )
            return redirect("review:case", case_uuid=the_case.uuid)
    return _render_case(request, person, the_case, grant_form=form)


@login_required
@require_POST
def revoke_grant(request: HttpRequest, case_uuid: uuid.UUID, grant_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    the_grant = CaseGrant.objects.filter(uuid=grant_uuid, case=the_case).first()
    if the_grant is None or not case_policies.can_revoke_grant(person, the_grant):
        raise Http404
    access.revoke_grant(by=person, grant=the_grant, request=request)
    messages.success(request, _("The access has been ended."))
    return redirect("review:case", case_uuid=the_case.uuid)


def _lesion_groups(the_case: Case) -> list[dict[str, object]]:
    """The case's photos by lesion, with how many photos of each exist from other dates."""
    groups = []
    for lesion in lesions_of(the_case):
        ready = Photo.objects.ready().filter(lesion=lesion)
        groups.append(
            {
                "lesion": lesion,
                "site": sites.describe(lesion.body_site, lesion.laterality),
                "photos": list(ready.filter(case=the_case)),
                "other_dates": ready.exclude(case=the_case).count(),
            }
        )
    return groups


def _render_case(
    request: HttpRequest,
    person: User,
    the_case: Case,
    form: AnswerForm | None = None,
    grant_form: GrantForm | None = None,
) -> HttpResponse:
    earlier = [
        (other, case_policies.can_view_case(person, other))
        for other in Case.objects.other_sent_cases_of(the_case).select_related("review")[:20]
    ]
    can_grant = case_policies.can_grant_access(person, the_case)
    return render(
        request,
        "review/case.html",
        {
            "case": the_case,
            "photos": the_case.photos.ready().filter(lesion__isnull=True),
            "lesions": _lesion_groups(the_case),
            "events": the_case.events.select_related("actor"),
            "earlier_cases": earlier,
            "review": getattr(the_case, "review", None),
            "can_take": policies.can_take_for_review(person, the_case),
            "can_answer": policies.can_answer(person, the_case),
            "version_form": VersionForm(initial={"version": the_case.version}),
            "form": form or AnswerForm(initial={"version": the_case.version}),
            "can_grant": can_grant,
            "grants": the_case.grants.active().select_related("grantee") if can_grant else [],
            "grant_form": grant_form or GrantForm(),
            "now": clock.now(),
        },
        status=400 if (form and form.errors) or (grant_form and grant_form.errors) else 200,
    )


@login_required
@require_POST
def take(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    version = VersionForm(request.POST)
    if not version.is_valid():
        messages.error(request, _("The form was incomplete. Please try again."))
        return redirect("review:case", case_uuid=the_case.uuid)
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
