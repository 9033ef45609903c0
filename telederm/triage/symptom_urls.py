"""The symptom checker for patients and senders, at /check/."""

from django.urls import URLPattern, URLResolver

app_name = "symptoms"

urlpatterns: list[URLPattern | URLResolver] = []
