"""The API, version 1, under /api/v1/. No patient data in any path: cases go by their UUID."""

from django.urls import path

from telederm.api import views

app_name = "api"

urlpatterns = [
    path("me", views.me, name="me"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/<uuid:case_uuid>/", views.case_detail, name="case-detail"),
]
