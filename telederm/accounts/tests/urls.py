"""The site's URLs with the notification settings mounted, until telederm/urls.py has them."""

from django.urls import URLPattern, URLResolver, include, path

from telederm.urls import urlpatterns as site

urlpatterns: list[URLPattern | URLResolver] = [
    path("account/", include("telederm.accounts.urls")),
    *site,
]
