"""The duty nurse's triage queue and actions, at /clinic/triage/."""

from django.urls import URLPattern, URLResolver

app_name = "triage"

urlpatterns: list[URLPattern | URLResolver] = []
