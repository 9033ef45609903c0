"""The symptom checker for patients and senders, at /check/."""

from django.urls import URLPattern, URLResolver, path

from telederm.triage import symptom_views

app_name = "symptoms"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", symptom_views.start, name="start"),
    path("<uuid:check_uuid>/", symptom_views.result, name="result"),
    path("<uuid:check_uuid>/case/", symptom_views.new_case, name="new_case"),
]
