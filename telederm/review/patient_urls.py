"""What the patient gets: the answer summary (HTML and PDF) and the self-care guides."""

from django.urls import URLPattern, URLResolver

app_name = "answers"

urlpatterns: list[URLPattern | URLResolver] = []
