"""The URL map. Every route with patient data sits in an app whose views check a policy."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from telederm.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("account/", include("telederm.accounts.urls")),
    path("account/", include("allauth.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("check/", include("telederm.triage.symptom_urls")),
    path("cases/", include("telederm.cases.urls")),
    path("cases/", include("telederm.photos.urls")),
    path("", include("telederm.review.patient_urls")),
    path("uploads/", include("telederm.photos.tus_urls")),
    path("clinic/triage/", include("telederm.triage.urls")),
    path("clinic/", include("telederm.review.urls")),
    path("privacy/", include("telederm.privacy.urls")),
    path("api/v1/", include("telederm.api.urls")),
    path("fhir/", include("telederm.interop.fhir.urls")),
    path("", include("telederm.interop.urls")),
    path("admin/", admin.site.urls),
]
