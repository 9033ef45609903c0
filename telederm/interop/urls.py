"""The interop app's pages, one `interop` namespace: the clinic's (discharge summary, address
register) under /clinic/interop/ and the operator's messages under /operator/messages/.
The FHIR API has its own URLconf (fhir/urls.py), mounted at /fhir/."""

from django.urls import include, path

from telederm.interop import operator_urls, urls_clinic

app_name = "interop"

urlpatterns = [
    path("clinic/interop/", include(urls_clinic.urlpatterns)),
    path("operator/messages/", include(operator_urls.urlpatterns)),
]
