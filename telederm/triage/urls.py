"""The duty nurse's triage queue and actions, at /clinic/triage/."""

from django.urls import URLPattern, URLResolver, path

from telederm.triage import views

app_name = "triage"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/<uuid:alarm_uuid>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("cases/<uuid:case_uuid>/", views.case, name="case"),
    path("cases/<uuid:case_uuid>/claim/", views.claim, name="claim"),
    path("cases/<uuid:case_uuid>/release/", views.release, name="release"),
    path("cases/<uuid:case_uuid>/priority/", views.priority, name="priority"),
    path("cases/<uuid:case_uuid>/note/", views.note, name="note"),
    path("cases/<uuid:case_uuid>/request/", views.request_information, name="request"),
    path("cases/<uuid:case_uuid>/self-care/", views.self_care, name="self_care"),
    path("cases/<uuid:case_uuid>/forward/", views.forward, name="forward"),
    path("cases/<uuid:case_uuid>/assign/", views.assign, name="assign"),
    path("cases/<uuid:case_uuid>/escalate/", views.escalate, name="escalate"),
    path("cases/<uuid:case_uuid>/resolve/", views.resolve, name="resolve"),
]
