"""Helpers for the FHIR read and search tests: the URL map with /fhir/, tokens, re-parsing.

`URLS` is this module's dotted name: tests use `pytest.mark.urls(URLS)` so that /fhir/ is routed
whether or not the site's telederm/urls.py mounts it yet (the site's routes come along, so the
photo and PDF routes the resources point at resolve too).
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, include, path
from fhir.resources.R4B import get_fhir_model_class

import telederm.urls
from telederm.accounts.models import User
from telederm.api.tokens import issue_token

URLS = __name__

urlpatterns: list[URLPattern | URLResolver] = [
    path("fhir/", include("telederm.interop.fhir.urls")),
    *telederm.urls.urlpatterns,
]


def token_for(user: User, *scopes: str) -> str:
    return issue_token(user=user, scopes=scopes or ("user/*.read",))[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def parsed(response: Any) -> Any:
    """The body re-parsed with fhir.resources.R4B as the type it says it is (fails if invalid)."""
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    model = get_fhir_model_class(body["resourceType"])
    return model.model_validate(body)
