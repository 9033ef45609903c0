"""The operator's message page: what is waiting, what failed, what the receivers rejected.

The list shows no patient names (a case is named by the start of its uuid), so it is not a read of
patient data. The detail shows the message itself, which is patient data: every view of it is in
the access log (`message.view`).
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from lxml import etree

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.audit.services import record
from telederm.core.errors import UserFacingError
from telederm.interop import outbox, policies
from telederm.interop.models import OutgoingMessage
from telederm.interop.transports.registry import configured_name

Status = OutgoingMessage.Status
PAGE_SIZE = 50
# Statuses in the order the page lists them: those that need a person first.
ORDER = (
    Status.FAILED,
    Status.REJECTED,
    Status.IN_DOUBT,
    Status.OK_WITH_ERRORS,
    Status.QUEUED,
    Status.SENDING,
    Status.SENT,
    Status.ACKNOWLEDGED,
    Status.CANCELLED,
)
# Text longer than this in the XML (base64 photos and PDFs) is summarised, not shown.
LONG_TEXT = 400


class ResendForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    confirm_not_received = forms.BooleanField(
        required=False,
        label=gettext_lazy(
            "I have asked the receiver: they have not got this message. Send it again."
        ),
    )


class CancelForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)


def _operator(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not policies.can_operate_messages(user):
        raise PermissionDenied
    return user


@login_required
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    _operator(request)
    counts = outbox.status_counts()
    chosen = request.GET.get("status", "")
    rows = (
        OutgoingMessage.objects.defer("payload")
        .select_related("case")
        .annotate(
            rank=models.Case(
                *[
                    models.When(status=status, then=models.Value(i))
                    for i, status in enumerate(ORDER)
                ],
                default=models.Value(len(ORDER)),
                output_field=models.IntegerField(),
            )
        )
        .order_by("rank", "-created_at", "-pk")
    )
    if chosen in Status.values:
        rows = rows.filter(status=chosen)
    else:
        chosen = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "interop/operator/messages.html",
        {
            "page": page,
            "chosen": chosen,
            "total": sum(counts.values()),
            "statuses": [
                (status.value, status.label, counts[status.value], status in outbox.NEEDS_ATTENTION)
                for status in ORDER
            ],
            "no_transport": configured_name() == "none",
        },
    )


@login_required
@require_GET
def message_detail(request: HttpRequest, message_uuid: uuid.UUID) -> HttpResponse:
    person = _operator(request)
    message = get_object_or_404(
        OutgoingMessage.objects.select_related(
            "case__patient", "created_by", "resent_from", "in_reply_to"
        ),
        uuid=message_uuid,
    )
    case = message.case
    record(
        actor=person,
        action="message.view",
        patient=case.patient if case is not None else None,
        case=case,
        obj=message,
        request=request,
        basis=AccessEvent.Basis.OPERATIONS,
    )
    return render(
        request,
        "interop/operator/message.html",
        {
            "message": message,
            "xml": pretty_xml(bytes(message.payload)),
            "resends": list(message.resends.order_by("created_at")),
            "can_resend": message.status in outbox.RESENDABLE,
            "can_cancel": message.status in outbox.CANCELLABLE,
            "in_doubt": message.status == Status.IN_DOUBT,
            "resend_form": ResendForm(initial={"status": message.status}, auto_id="resend_%s"),
            "cancel_form": CancelForm(initial={"status": message.status}, auto_id="cancel_%s"),
            "no_transport": configured_name() == "none",
        },
    )


@login_required
@require_POST
def message_resend(request: HttpRequest, message_uuid: uuid.UUID) -> HttpResponse:
    person = _operator(request)
    message = get_object_or_404(OutgoingMessage, uuid=message_uuid)
    form = ResendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; look at the message again."))
        return redirect("interop:operator-messages-detail", message_uuid=message.uuid)
    try:
        result = outbox.resend(
            by=person,
            message=message,
            confirmed_not_received=form.cleaned_data["confirm_not_received"],
            expected_status=form.cleaned_data["status"],
            request=request,
        )
    except UserFacingError as error:
        messages.error(request, str(error))
        return redirect("interop:operator-messages-detail", message_uuid=message.uuid)
    if result.pk != message.pk:
        messages.success(request, _("A copy with a new message id is queued for sending."))
    else:
        messages.success(request, _("The message is queued to be sent again."))
    return redirect("interop:operator-messages-detail", message_uuid=result.uuid)


@login_required
@require_POST
def message_cancel(request: HttpRequest, message_uuid: uuid.UUID) -> HttpResponse:
    person = _operator(request)
    message = get_object_or_404(OutgoingMessage, uuid=message_uuid)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; look at the message again."))
        return redirect("interop:operator-messages-detail", message_uuid=message.uuid)
    try:
        outbox.cancel(
            by=person,
            message=message,
            expected_status=form.cleaned_data["status"],
            request=request,
        )
    except UserFacingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The message is cancelled: it will not be sent."))
    return redirect("interop:operator-messages-detail", message_uuid=message.uuid)


def pretty_xml(payload: bytes) -> str:
    """The stored document indented for reading, long base64 contents summarised (the template
    escapes it)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
    )
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError:
        return payload.decode("utf-8", errors="replace")
    for element in root.iter(etree.Element):
        text = element.text or ""
        if len(text) > LONG_TEXT:
            element.text = _("[%(count)s characters not shown]") % {"count": len(text)}
    return str(etree.tostring(root, pretty_print=True, encoding="unicode"))
