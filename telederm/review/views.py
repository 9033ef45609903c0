"""The clinic workspace: the review queue, a case with its photos, and the answer form."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases import access
from telederm.cases import policies as case_policies
from telederm.cases import views as case_views
from telederm.cases.forms import VersionForm
from telederm.cases.models import Case, CaseGrant
from telederm.cases.services import open_case
from telederm.core import calendar, clock
from telederm.core.errors import UserFacingError
from telederm.photos import sites
from telederm.photos.models import Photo
from telederm.photos.services import lesions_of
from telederm.review import policies, services
from telederm.review.forms import (
    BreakGlassForm,
    GrantForm,
    ReviewForm,
    prescription_formset,
    prescription_lines,
)
from telederm.review.models import Review
from telederm.triage import policies as triage_policies
from telederm.triage.forms import EscalateForm, ForwardForm
from telederm.triage.views import symptom_checks_of

# The queue is paged: a page is what a dermatologist reads, and each case shown is logged.
QUEUE_PAGE_SIZE = 25
LANGUAGE_NAMES = {"nb": gettext_lazy("Norwegian bokmål"), "en": gettext_lazy("English")}


def _clinician(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not policies.can_use_clinic(user):
        raise PermissionDenied
    return user


def time_left_label(now: dt.datetime, due: dt.datetime | None) -> str:
    """ "3 h 20 min left", "2 d 4 h left" or "overdue by 45 min", for the queue and the case."""
    if due is None:
        return ""
    left = calendar.time_left(now, due)
    parts = []
    if left.days:
        parts.append(_("%(n)d d") % {"n": left.days})
    if left.hours or left.days:
        parts.append(_("%(n)d h") % {"n": left.hours})
    if not left.days:
        parts.append(_("%(n)d min") % {"n": left.minutes})
    span = " ".join(parts)
    if left.overdue:
        return _("overdue by %(span)s") % {"span": span}
    return _("%(span)s left") % {"span": span}


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The dermatologist's queue: their own cases and the pool, soonest due first, a page at a time.

    Duty nurses work from the triage queue. Queries per page are fixed (one for the page, with
    patient, sender and assignee joined and whether a draft exists) plus the access-log rows.
    """
    person = _clinician(request)
    if policies.is_duty_nurse(person):
        try:
            return redirect(reverse("triage:queue"))
        except NoReverseMatch:  # the triage queue not mounted: show the nurse's cases here
            pass
    page = _page_number(request)
    start = (page - 1) * QUEUE_PAGE_SIZE
    # Two narrow steps: the page's ids in queue order (sorting only keys), then those rows with
    # everything shown joined. One query joining first would join every open case before the
    # sort: about 10 ms more at 100,000 cases on PostgreSQL (ADR 0020).
    ids = list(
        policies.review_queue_for(person).values_list("pk", flat=True)[
            start : start + QUEUE_PAGE_SIZE + 1
        ]
    )
    has_next = len(ids) > QUEUE_PAGE_SIZE
    ids = ids[:QUEUE_PAGE_SIZE]
    drafts = Review.objects.filter(case=OuterRef("pk"), signed_at__isnull=True)
    by_pk = {
        row.pk: row
        for row in Case.objects.filter(pk__in=ids)
        .annotate(has_draft=Exists(drafts))
        .select_related("patient", "assigned_to", "created_by__organisation")
    }
    cases = [by_pk[pk] for pk in ids if pk in by_pk]
    now = clock.now()
    for item in cases:
        item.time_left = time_left_label(now, item.due_at)  # type: ignore[attr-defined]
    record_listing(actor=person, action="queue.list.view", cases=cases, request=request)
    return render(
        request,
        "review/queue.html",
        {
            "cases": cases,
            "mine": [c for c in cases if c.assigned_to_id == person.pk],
            "pool": [c for c in cases if c.assigned_to_id != person.pk],
            "now": now,
            "page": page,
            "has_next": has_next,
            "has_previous": page > 1,
        },
    )


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
    form: ReviewForm | None = None,
    grant_form: GrantForm | None = None,
    prescriptions: Any = None,
    status: int | None = None,
) -> HttpResponse:
    earlier = [
        (other, case_policies.can_view_case(person, other))
        for other in Case.objects.other_sent_cases_of(the_case).select_related("review")[:20]
    ]
    can_grant = case_policies.can_grant_access(person, the_case)
    review = (
        Review.objects.filter(case=the_case)
        .select_related("referral", "video_request")
        .prefetch_related("diagnoses", "prescriptions")
        .first()
    )
    can_answer = policies.can_answer(person, the_case) and not (review and review.is_signed)
    if form is None:
        form = ReviewForm(initial=ReviewForm.initial_for(review, the_case.version))
    if prescriptions is None:
        prescriptions = prescription_formset(review=review)
    now = clock.now()
    language = the_case.patient.preferred_language
    has_errors = bool(form.errors) or bool(grant_form and grant_form.errors)
    return render(
        request,
        "review/case.html",
        {
            "case": the_case,
            "photos": the_case.photos.ready().filter(lesion__isnull=True),
            "lesions": _lesion_groups(the_case),
            "events": the_case.events.select_related("actor"),
            "earlier_cases": earlier,
            "review": review,
            "can_take": policies.can_take_for_review(person, the_case),
            "can_answer": can_answer,
            "version_form": VersionForm(initial={"version": the_case.version}),
            "form": form,
            "prescriptions": prescriptions,
            "can_grant": can_grant,
            "grants": the_case.grants.active().select_related("grantee") if can_grant else [],
            "grant_form": grant_form or GrantForm(),
            "now": now,
            "time_left": time_left_label(now, the_case.due_at) if the_case.due_at else "",
            "symptom_checks": symptom_checks_of(the_case),
            # Hand the case on (to the pool or a colleague) or mark it an emergency: the triage
            # views take these posts and bring the dermatologist back to the review queue.
            "can_forward": triage_policies.can_forward(person, the_case),
            "can_escalate": triage_policies.can_escalate(person, the_case),
            "forward_form": ForwardForm(
                initial={"version": the_case.version}, auto_id="forward_%s"
            ),
            "escalate_form": EscalateForm(
                initial={"version": the_case.version}, auto_id="escalate_%s"
            ),
            "triage_notes": the_case.triage_notes.select_related("author"),
            # The secure-message thread (its read is logged as case.messages.view).
            **case_views.message_thread_context(
                request, the_case, next_url=reverse("review:case", args=[the_case.uuid])
            ),
            "patient_language": LANGUAGE_NAMES.get(language, language),
            "has_code_search": _has_code_search(),
        },
        status=status or (400 if has_errors else 200),
    )


def _has_code_search() -> bool:
    try:
        reverse("review:code_search")
    except NoReverseMatch:
        return False
    return True


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
    """The workspace's form: "Save draft" (action=save) or "Sign and send" (action=sign)."""
    person = _clinician(request)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    if not policies.can_answer(person, the_case):
        raise PermissionDenied
    form = ReviewForm(request.POST)
    prescriptions = prescription_formset(request.POST)
    if not (form.is_valid() and prescriptions.is_valid()):
        if not form.errors:
            form.add_error(None, _("Check the prescription lines."))
        return _render_case(request, person, the_case, form, prescriptions=prescriptions)
    signing = request.POST.get("action") == "sign"
    kwargs: dict[str, Any] = {
        "by": person,
        "case": the_case,
        "expected_version": form.cleaned_data["version"],
        "diagnoses": form.diagnoses(),
        "prescriptions": prescription_lines(prescriptions),
        "referral": form.referral(),
        "video_reason": form.cleaned_data["video_reason"],
        "request": request,
        **form.fields_for_service(),
    }
    try:
        if signing:
            review = services.sign_review(info_request=form.cleaned_data["info_request"], **kwargs)
        else:
            services.save_draft(**kwargs)
    except UserFacingError as exc:
        form.add_error(None, str(exc))
        return _render_case(request, person, the_case, form, prescriptions=prescriptions)
    if not signing:
        messages.success(request, _("Draft saved. Only you can see it."))
        return redirect(reverse("review:case", args=[the_case.uuid]) + "#write-heading")
    if review.outcome == Review.Outcome.MORE_INFO:
        messages.success(request, _("Your question has been sent. The case waits for the reply."))
    else:
        messages.success(request, _("The answer has been signed and sent."))
    return redirect("review:queue")
