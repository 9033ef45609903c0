"""Closing an answered or referred case with a discharge summary (Epikrise 1.2) to the GP.

The assigned dermatologist closes the consultation and the summary leaves in the same
transaction: the case is closed if and only if the Epikrise is in the outbox. The form starts
from the signed review and may be edited; what is sent is what the dermatologist saw.

The policy and the service live here beside their one view: they are the only code that closes
a case this way.
"""

from __future__ import annotations

import logging
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases.models import Case, CaseEvent
from telederm.cases.services import lock_case, open_case, transition_case
from telederm.cases.states import CaseStatus
from telederm.core.errors import UserFacingError
from telederm.interop import addresses, compose, outbox
from telederm.interop.kith.errors import InvalidMessage
from telederm.interop.models import OutgoingMessage
from telederm.review.models import Review
from telederm.review.policies import can_use_clinic

logger = logging.getLogger(__name__)

# A consultation is closed with a summary once it has been answered: advice given or referred.
DISCHARGEABLE = frozenset({CaseStatus.ANSWERED, CaseStatus.REFERRED})


class DischargeRefused(UserFacingError):
    """The discharge summary cannot be sent; the case stays as it was."""


def can_close_with_discharge(user: User | AnonymousUser, case: Case) -> bool:
    """Only the assigned dermatologist closes their answered or referred case with a summary."""
    return (
        isinstance(user, User)
        and user.is_active
        and user.role == User.Role.DERMATOLOGIST
        and case.assigned_to_id == user.pk
        and case.status in DISCHARGEABLE
        and Review.objects.filter(case=case, signed_at__isnull=False).exists()
    )


@transaction.atomic
def close_with_discharge_summary(
    *,
    by: User,
    case: Case,
    expected_version: int,
    summary: str,
    follow_up: str,
    request: HttpRequest | None = None,
) -> OutgoingMessage:
    """Close the case and queue the Epikrise to the patient's GP, in one transaction."""
    case = lock_case(case=case, expected_version=expected_version)
    if not can_close_with_discharge(by, case):
        raise PermissionDenied
    gp = addresses.answer_receiver(case)
    if gp is None:
        raise DischargeRefused(
            _(
                "The patient's GP office is not in the address register, so no discharge "
                "summary can be sent."
            )
        )
    try:
        msg_id, payload = compose.epikrise_for(
            case, by, summary=summary.strip(), follow_up=follow_up.strip()
        )
    except (InvalidMessage, ValueError) as exc:
        logger.exception("Could not compose the discharge summary for case %s", case.uuid)
        raise DischargeRefused(
            _("The discharge summary could not be made into a valid message: %(problem)s")
            % {"problem": exc}
        ) from exc
    message = outbox.queue_message(
        by=by,
        kind=OutgoingMessage.Kind.EPIKRISE,
        msg_id=msg_id,
        msg_type=compose.epikrise.MSG_TYPE,
        receiver_her_id=gp.her_id,
        receiver_name=gp.name,
        payload=payload,
        case=case,
    )
    transition_case(
        by=by,
        case=case,
        to=CaseStatus.CLOSED,
        action=CaseEvent.Action.CLOSED,
        detail="discharge summary to the GP",
    )
    record(
        actor=by,
        action="case.discharge",
        patient=case.patient,
        case=case,
        obj=message,
        request=request,
    )
    return message


class DischargeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=5000,
        help_text=_("What was found and done. Sent to the GP in the discharge summary."),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    follow_up = forms.CharField(
        label=_("Follow-up for the GP"),
        max_length=5000,
        required=False,
        help_text=_("Advice and follow-up for the GP."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def discharge(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    """GET: the summary, prefilled from the signed review; POST: close and send it."""
    person = request.user
    if not isinstance(person, User) or not can_use_clinic(person):
        raise PermissionDenied
    the_case = open_case(by=person, case_uuid=case_uuid, request=request)
    if not can_close_with_discharge(person, the_case):
        raise PermissionDenied
    review = the_case.review
    gp = addresses.answer_receiver(the_case)
    if request.method == "POST":
        form = DischargeForm(request.POST)
        if form.is_valid():
            try:
                close_with_discharge_summary(
                    by=person,
                    case=the_case,
                    expected_version=form.cleaned_data["version"],
                    summary=form.cleaned_data["summary"],
                    follow_up=form.cleaned_data["follow_up"],
                    request=request,
                )
            except UserFacingError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("The case is closed. The discharge summary is on its way to the GP.")
                )
                return redirect("review:case", case_uuid=the_case.uuid)
    else:
        summary, follow_up = compose.discharge_defaults(review)
        form = DischargeForm(
            initial={"version": the_case.version, "summary": summary, "follow_up": follow_up}
        )
    return render(
        request,
        "interop/clinic/discharge.html",
        {"case": the_case, "review": review, "form": form, "gp": gp},
    )
