"""The duty nurse's triage queue and case page, and the alarms page, at /clinic/triage/.

Every view checks a policy first; the case page opens the case through `open_case` (which logs
the read); every change is one service call with the version the nurse saw.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from telederm.accounts.models import User
from telederm.audit.services import record_listing
from telederm.cases.forms import VersionForm
from telederm.cases.models import Case, Message
from telederm.cases.policies import TRIAGE_STATUSES
from telederm.cases.services import open_case
from telederm.cases.states import CaseStatus
from telederm.core import calendar, clock
from telederm.core.errors import UserFacingError
from telederm.triage import messages, policies, services
from telederm.triage.forms import (
    QUEUE_FILTERS,
    EscalateForm,
    ForwardForm,
    InfoRequestForm,
    NoteForm,
    PriorityForm,
    ResolveForm,
    SelfCareForm,
)
from telederm.triage.models import Alarm

PAGE_SIZE = 50
# A nurse opens a case from an alarm only while it is hers to triage; a breach in review belongs
# to the dermatologist (the alarm still tells her, so she can follow it up).
TRIAGE_STATUS_VALUES = frozenset(s.value for s in TRIAGE_STATUSES)
ALARM_BANNER_LIMIT = 20


def describe_time_left(now: dt.datetime, due: dt.datetime | None) -> str:
    """ "2 h 10 min left", "overdue by 3 h", "4 days 1 h left", in the active language."""
    if due is None:
        return ""
    left = calendar.time_left(now, due)
    parts = []
    if left.days:
        parts.append(ngettext("%(n)d day", "%(n)d days", left.days) % {"n": left.days})
    if left.hours:
        parts.append(_("%(n)d h") % {"n": left.hours})
    if left.minutes and not left.days:
        parts.append(_("%(n)d min") % {"n": left.minutes})
    span = " ".join(parts) or _("less than a minute")
    if left.overdue:
        return _("overdue by %(span)s") % {"span": span}
    return _("%(span)s left") % {"span": span}


def flag_label(flag: str) -> str:
    """A symptom-check flag ("pk", "escalate") as the clinician reads it."""
    pathway = _("Cancer pathway (PK)")
    labels = {"pk": pathway, "pk_melanoma": pathway, "escalate": _("Escalate as an emergency")}
    return labels.get(flag, flag)


def priority_label(priority: object) -> str:
    """A symptom-check priority ("urgent") as the case's priority is shown ("Urgent")."""
    if not priority:
        return ""
    try:
        return str(Case.Priority(str(priority)).label)
    except ValueError:
        return str(priority)


def symptom_checks_of(the_case: Case) -> list[dict[str, Any]]:
    """The case's symptom-check results with their reasons in the reader's language, and the
    priority and flags worded for people (the nurse's case page shows them too)."""
    language = get_language() or "nb"
    checks = []
    for check in the_case.symptom_checks.all()[:5]:
        result = check.result if isinstance(check.result, dict) else {}
        reasons = []
        for reason in result.get("reasons", []):
            text = reason.get("text", "") if isinstance(reason, dict) else str(reason)
            if isinstance(text, dict):
                text = text.get(language[:2]) or text.get("en") or next(iter(text.values()), "")
            reasons.append(str(text))
        checks.append(
            {
                "check": check,
                "priority": priority_label(result.get("priority")),
                "urgent": result.get("priority") == Case.Priority.URGENT,
                "flags": [
                    {"key": str(flag), "label": flag_label(str(flag))}
                    for flag in result.get("flags", [])
                ],
                "seven_point": result.get("seven_point"),
                "reasons": reasons,
            }
        )
    return checks


def _person(request: HttpRequest, allowed: Callable[[User], bool]) -> User:
    user = request.user
    if not isinstance(user, User) or not allowed(user):
        raise PermissionDenied
    return user


def _queue_cases(person: User, show: str) -> QuerySet[Case]:
    cases = Case.objects.select_related("patient", "claimed_by", "created_by")
    if show == "mine":
        return cases.filter(
            claimed_by=person,
            status__in=[CaseStatus.SUBMITTED, CaseStatus.INFO_REQUESTED, CaseStatus.TRIAGED],
        )
    if show == "unclaimed":
        return cases.filter(status=CaseStatus.SUBMITTED, claimed_by__isnull=True)
    if show == "waiting":
        return cases.filter(status=CaseStatus.INFO_REQUESTED)
    if show == "forwarded":
        return cases.filter(status=CaseStatus.TRIAGED)
    return cases.filter(status=CaseStatus.SUBMITTED)


def _short(moment: dt.datetime | dt.date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, dt.datetime):
        return date_format(localtime(moment), "SHORT_DATETIME_FORMAT")
    return date_format(moment, "SHORT_DATE_FORMAT")


def _rows(cases: list[Case], now: dt.datetime, person: User) -> list[dict[str, Any]]:
    """Each case with what its row says, worded here rather than in the template: a page has
    up to 50 rows plus every emergency, and Python words them several times faster than
    template tags. Unread messages are counted for the whole page in one query."""
    unread = dict(
        Message.objects.unread_by_clinic()
        .filter(case__in=cases)
        .values("case")
        .annotate(n=Count("pk"))
        .values_list("case", "n")
    )
    rows = []
    for case in cases:
        sender = (
            _("Referred by %(who)s") % {"who": case.created_by.full_name}
            if case.is_on_behalf
            else _("Self-referral")
        )
        if case.claimed_by_id is None:
            claimed = ""
        elif case.claimed_by_id == person.pk:
            claimed = _("You")
        else:
            claimed = case.claimed_by.full_name if case.claimed_by else ""
        rows.append(
            {
                "case": case,
                "overdue": case.due_at is not None and case.due_at <= now,
                "time_left": describe_time_left(now, case.due_at),
                "due": _("due %(due)s") % {"due": _short(case.due_at)} if case.due_at else "",
                "deadline": _("Legal deadline %(day)s") % {"day": _short(case.assessment_deadline)}
                if case.assessment_deadline
                else "",
                "sender": sender,
                "claimed": claimed,
                "unread": unread.get(case.pk, 0),
            }
        )
    return rows


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Emergencies first (always all of them), then the chosen list by due time, 50 a page."""
    person = _person(request, policies.can_use_triage_queue)
    show = request.GET.get("show", "all")
    if show not in dict(QUEUE_FILTERS):
        show = "all"
    now = clock.now()
    escalated = list(
        Case.objects.select_related("patient", "claimed_by", "created_by")
        .filter(status=CaseStatus.ESCALATED)
        .order_by("escalated_at", "pk")
    )
    page = Paginator(_queue_cases(person, show).order_by("due_at", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    shown = escalated + list(page.object_list)
    # The banner names no patient (kind, time and a link), so it needs no access-log rows.
    open_alarms = list(
        Alarm.objects.filter(acknowledged_at__isnull=True)
        .select_related("case")
        .order_by("-raised_at", "pk")[:ALARM_BANNER_LIMIT]
    )
    record_listing(
        actor=person,
        action="triage.queue.list.view",
        cases=shown,
        request=request,
        basis="triage",
    )
    return render(
        request,
        "triage/queue.html",
        {
            "escalated": _rows(escalated, now, person),
            "rows": _rows(list(page.object_list), now, person),
            "page": page,
            "show": show,
            "filters": QUEUE_FILTERS,
            "alarms": open_alarms,
            "triage_statuses": TRIAGE_STATUS_VALUES,
            "now": now,
        },
    )


@login_required
@require_GET
def alarms(request: HttpRequest) -> HttpResponse:
    """Open alarms: kind, when, the case's reference and priority; never a patient's name, so
    coordinators follow the clock without seeing health data (and nothing is logged as a read).
    Duty nurses get a link to each case."""
    person = _person(request, policies.can_see_alarms)
    open_alarms = list(
        Alarm.objects.filter(acknowledged_at__isnull=True)
        .select_related("case")
        .order_by("-raised_at", "pk")[:100]
    )
    return render(
        request,
        "triage/alarms.html",
        {
            "alarms": open_alarms,
            "with_links": policies.can_use_triage_queue(person),
            "triage_statuses": TRIAGE_STATUS_VALUES,
            "now": clock.now(),
        },
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, alarm_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request, policies.can_acknowledge_alarm)
    alarm = get_object_or_404(Alarm, uuid=alarm_uuid)
    services.acknowledge_alarm(by=person, alarm=alarm, request=request)
    flash.success(request, _("Alarm acknowledged."))
    if request.POST.get("next") == "alarms" or not policies.can_use_triage_queue(person):
        return redirect("triage:alarms")
    return redirect("triage:queue")


def _forms(case: Case, **bound: Any) -> dict[str, Any]:
    """The action forms of the case page, unbound unless given."""
    version = {"version": case.version}
    language = services.reader_language(case)
    return {
        "priority_form": bound.get("priority_form")
        or PriorityForm(initial={**version, "priority": case.priority, "pathway": case.pathway}),
        "note_form": bound.get("note_form") or NoteForm(),
        "info_form": bound.get("info_form")
        or InfoRequestForm(initial={**version, "text": messages.render_request([], language)}),
        "self_care_form": bound.get("self_care_form")
        or SelfCareForm(initial={**version, "text": messages.render_self_care(language)}),
        "forward_form": bound.get("forward_form") or ForwardForm(initial=version),
        "escalate_form": bound.get("escalate_form") or EscalateForm(initial=version),
        "resolve_form": bound.get("resolve_form") or ResolveForm(initial=version),
        "version_form": VersionForm(initial=version),
    }


def _render_case(
    request: HttpRequest, person: User, case: Case, status: int = 200, **bound: Any
) -> HttpResponse:
    now = clock.now()
    can = {
        "claim": policies.can_claim(person, case),
        "release": policies.can_release(person, case),
        "priority": policies.can_set_priority(person, case),
        "note": policies.can_add_note(person, case),
        "info": policies.can_request_information(person, case),
        "self_care": policies.can_advise_self_care(person, case),
        "forward": policies.can_forward(person, case),
        "escalate": policies.can_escalate(person, case),
        "resolve": policies.can_resolve_escalation(person, case),
    }
    return render(
        request,
        "triage/case.html",
        {
            "case": case,
            "can": can,
            "overdue": case.due_at is not None and case.due_at <= now,
            "time_left": describe_time_left(now, case.due_at),
            "reader_language": services.reader_language(case),
            "photos": case.photos.ready().order_by("created_at", "pk"),
            "symptom_checks": symptom_checks_of(case),
            "notes": case.triage_notes.select_related("author"),
            "case_messages": case.messages.select_related("author"),
            "events": case.events.select_related("actor"),
            "alarms": case.alarms.filter(acknowledged_at__isnull=True),
            "now": now,
            **_forms(case, **bound),
        },
        status=status,
    )


@login_required
@require_GET
def case(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request, policies.can_use_triage_queue)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    return _render_case(request, person, the_case)


def _act(
    request: HttpRequest,
    case_uuid: uuid.UUID,
    *,
    form_class: type[VersionForm],
    form_name: str,
    step: Callable[[User, Case, dict[str, Any]], str],
    allowed: Callable[[User], bool] = policies.can_use_triage_queue,
) -> HttpResponse:
    """Parse the form, call one service, and come back to the case with the outcome."""
    person = _person(request, allowed)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    form = form_class(request.POST)
    if not form.is_valid():
        if not policies.can_use_triage_queue(person):  # a dermatologist, from the review page
            flash.error(request, _("The form was incomplete. Please try again."))
            return redirect("review:case", case_uuid=the_case.uuid)
        return _render_case(request, person, the_case, status=400, **{form_name: form})
    try:
        done = step(person, the_case, form.cleaned_data)
    except UserFacingError as error:
        flash.error(request, str(error))
        if not policies.can_use_triage_queue(person):  # back to the page they came from
            return redirect("review:case", case_uuid=the_case.uuid)
        return redirect("triage:case", case_uuid=the_case.uuid)
    flash.success(request, done)
    if person.role == User.Role.DERMATOLOGIST:
        return redirect("review:queue")
    the_case.refresh_from_db()
    if not policies.can_use_triage_queue(person) or the_case.state not in {
        CaseStatus.SUBMITTED,
        CaseStatus.ESCALATED,
        CaseStatus.INFO_REQUESTED,
        CaseStatus.TRIAGED,
    }:
        return redirect("triage:queue")
    return redirect("triage:case", case_uuid=the_case.uuid)


@login_required
@require_POST
def claim(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        services.claim_case(
            by=person, case=the_case, expected_version=data["version"], request=request
        )
        return _("You have claimed the case.")

    return _act(request, case_uuid, form_class=VersionForm, form_name="version_form", step=step)


@login_required
@require_POST
def release(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        services.release_case(
            by=person, case=the_case, expected_version=data["version"], request=request
        )
        return _("The case is back in the queue for any duty nurse.")

    return _act(request, case_uuid, form_class=VersionForm, form_name="version_form", step=step)


@login_required
@require_POST
def priority(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        services.set_priority(
            by=person,
            case=the_case,
            expected_version=data["version"],
            priority=data["priority"],
            pathway=data["pathway"],
            request=request,
        )
        return _("Priority and pathway saved; the due time follows the priority.")

    return _act(request, case_uuid, form_class=PriorityForm, form_name="priority_form", step=step)


@login_required
@require_POST
def note(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request, policies.can_use_triage_queue)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _render_case(request, person, the_case, status=400, note_form=form)
    try:
        services.add_triage_note(
            by=person, case=the_case, text=form.cleaned_data["text"], request=request
        )
    except UserFacingError as error:
        flash.error(request, str(error))
    else:
        flash.success(request, _("Note saved for the dermatologist."))
    return redirect("triage:case", case_uuid=the_case.uuid)


@login_required
@require_POST
def request_information(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    """Two buttons: "fill in" puts the chosen templates in the text (in the reader's language)
    for the nurse to edit, without JavaScript; "send" sends the text as it stands."""
    person = _person(request, policies.can_use_triage_queue)
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    form = InfoRequestForm(request.POST)
    if request.POST.get("action") == "prepare" and form.is_valid():
        text = messages.render_request(
            form.cleaned_data["templates"], services.reader_language(the_case)
        )
        prepared = InfoRequestForm(
            initial={
                "version": form.cleaned_data["version"],
                "templates": form.cleaned_data["templates"],
                "text": text,
            }
        )
        return _render_case(request, person, the_case, info_form=prepared)
    if form.is_valid() and not form.cleaned_data["text"].strip():
        form.add_error("text", _("Write what you need from the patient."))
    if not form.is_valid():
        return _render_case(request, person, the_case, status=400, info_form=form)
    try:
        services.request_information(
            by=person,
            case=the_case,
            expected_version=form.cleaned_data["version"],
            text=form.cleaned_data["text"],
            request=request,
        )
    except UserFacingError as error:
        flash.error(request, str(error))
        return redirect("triage:case", case_uuid=the_case.uuid)
    flash.success(request, _("The request has been sent. The case waits for the reply."))
    return redirect("triage:queue")


@login_required
@require_POST
def self_care(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        services.advise_self_care(
            by=person,
            case=the_case,
            expected_version=data["version"],
            text=data["text"],
            guides=data["guides"],
            request=request,
        )
        return _("Self-care advice sent; the case is closed.")

    return _act(request, case_uuid, form_class=SelfCareForm, form_name="self_care_form", step=step)


def _dermatologist_or_nurse(user: User) -> bool:
    return policies.can_use_triage_queue(user) or user.role == User.Role.DERMATOLOGIST


@login_required
@require_POST
def forward(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        target = data["dermatologist"]
        services.forward_case(
            by=person, case=the_case, expected_version=data["version"], to=target, request=request
        )
        if target is None:
            return _("The case is in the dermatologists' pool.")
        return _("The case has been passed to %(name)s.") % {"name": target.full_name}

    return _act(
        request,
        case_uuid,
        form_class=ForwardForm,
        form_name="forward_form",
        step=step,
        allowed=_dermatologist_or_nurse,
    )


@login_required
@require_POST
def assign(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        _case, choice = services.assign_automatically(
            by=person, case=the_case, expected_version=data["version"], request=request
        )
        chosen = (
            _("Passed automatically to %(name)s.") % {"name": choice.chosen.name}
            if choice.chosen
            else _("Sent to the pool.")
        )
        return " ".join([chosen, *choice.reasons])

    return _act(
        request,
        case_uuid,
        form_class=VersionForm,
        form_name="forward_form",
        step=step,
        allowed=_dermatologist_or_nurse,
    )


@login_required
@require_POST
def escalate(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        services.escalate_case(
            by=person,
            case=the_case,
            reason=data["reason"],
            expected_version=data["version"],
            request=request,
        )
        return _("The case is escalated as an emergency; duty nurses and coordinators are alarmed.")

    return _act(
        request,
        case_uuid,
        form_class=EscalateForm,
        form_name="escalate_form",
        step=step,
        allowed=_dermatologist_or_nurse,
    )


@login_required
@require_POST
def resolve(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    def step(person: User, the_case: Case, data: dict[str, Any]) -> str:
        send_on = data["outcome"] == "review"
        services.resolve_escalation(
            by=person,
            case=the_case,
            expected_version=data["version"],
            send_to_review=send_on,
            request=request,
        )
        if send_on:
            return _("The emergency is handled; the case goes on for an urgent review.")
        return _("The emergency is handled and the case closed.")

    return _act(request, case_uuid, form_class=ResolveForm, form_name="resolve_form", step=step)
