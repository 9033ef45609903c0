"""Every URL the project has, walked as an anonymous visitor: nobody gets patient data unsigned."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Routes an anonymous visitor may open, and why.
PUBLIC = {
    "": "the front page",
    "healthz": "process health for load balancers",
    "readyz": "readiness for load balancers",
    "sign-in/": "the way in",
    "i18n/setlang/": "language choice (POST only)",
    "sign-out/": "signing out (POST only)",
}


def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                yield "admin/"
                continue
            yield from walk(pattern.url_patterns, route)
        else:
            yield route


def concrete(route: str) -> str:
    sample = str(uuid.uuid4())
    return "/" + (
        route.replace("<uuid:case_uuid>", sample)
        .replace("<uuid:photo_uuid>", sample)
        .replace("<str:size>", "full")
    )


ROUTES = sorted(set(walk(get_resolver().url_patterns)))


def test_the_walk_finds_the_patient_data_routes() -> None:
    assert "cases/<uuid:case_uuid>/" in ROUTES
    assert "clinic/cases/<uuid:case_uuid>/" in ROUTES
    assert "cases/<uuid:case_uuid>/photos/<uuid:photo_uuid>/<str:size>.jpg" in ROUTES


@pytest.mark.parametrize("route", [r for r in ROUTES if r not in PUBLIC])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, route: str, method: str) -> None:
    response = getattr(client, method)(concrete(route))
    if route == "admin/":
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    else:
        assert response.status_code == 302, route
        assert response["Location"].startswith("/sign-in/"), route


@pytest.mark.parametrize("route", sorted(PUBLIC))
def test_public_routes_show_no_patient_data(client: Client, route: str) -> None:
    response = client.get(concrete(route))
    assert response.status_code in {200, 302, 405}
    assert b"fodselsnummer" not in response.content.lower()
