"""Clinic pages of the interop app, under /clinic/interop/ (namespace "interop")."""

from django.urls import path

from telederm.interop import address_views, discharge_views

app_name = "interop"

urlpatterns = [
    path("addresses/", address_views.referral_receivers, name="addresses"),
    path("cases/<uuid:case_uuid>/discharge/", discharge_views.discharge, name="discharge"),
]
