"""The URL map. Every route with patient data sits in an app whose views check a policy."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from telederm.accounts.forms import SignInForm
from telederm.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("cases/", include("telederm.cases.urls")),
    path("cases/", include("telederm.photos.urls")),
    path("clinic/", include("telederm.review.urls")),
    path("admin/", admin.site.urls),
]
