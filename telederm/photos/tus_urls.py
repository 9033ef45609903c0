"""The tus upload endpoint, mounted at /uploads/ (telederm/photos/tus.py, ADR 0013)."""

from django.urls import path

from telederm.photos import tus

app_name = "uploads"

urlpatterns = [
    path("", tus.collection, name="collection"),
    path("<uuid:upload_uuid>", tus.upload, name="upload"),
]
