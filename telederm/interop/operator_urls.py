"""The operator's message pages, under /operator/messages/ (wired in telederm/urls.py)."""

from __future__ import annotations

from django.urls import path

from telederm.interop import operator_views

app_name = "interop"

urlpatterns = [
    path("", operator_views.message_list, name="operator-messages"),
    path(
        "<uuid:message_uuid>/",
        operator_views.message_detail,
        name="operator-messages-detail",
    ),
    path(
        "<uuid:message_uuid>/resend/",
        operator_views.message_resend,
        name="operator-messages-resend",
    ),
    path(
        "<uuid:message_uuid>/cancel/",
        operator_views.message_cancel,
        name="operator-messages-cancel",
    ),
]
