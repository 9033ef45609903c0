"""The FHIR R4 API, mounted at /fhir/ (views.py says what each route answers)."""

from django.urls import URLPattern, path, re_path

from telederm.interop.fhir import views

app_name = "fhir"

# FHIR ids: up to 64 of A-Z a-z 0-9 - . (R4 id datatype); resource types start upper case.
_TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
_ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

urlpatterns: list[URLPattern] = [
    path("", views.root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    re_path(rf"^{_TYPE}/_search$", views.search_post, name="search"),
    re_path(rf"^{_TYPE}/?$", views.type_route, name="type"),
    re_path(rf"^{_TYPE}/{_ID}$", views.instance_route, name="instance"),
    re_path(r"^(?P<rest>.*)$", views.not_found, name="not-found"),
]
