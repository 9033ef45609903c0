"""Security headers, cookies, CSRF, request limits, URLs and logs, seen as a client sees them.

The signed-in checks use the patient persona: patients sign in without a second factor, so these
tests stay independent of the staff MFA rules.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from telederm.accounts.models import User
from telederm.core.logging import (
    EMAIL_REDACTED,
    PERSON_NUMBER_REDACTED,
    RedactPersonalData,
    redact,
)
from telederm.core.security import PrivateCacheMiddleware, csp_sources
from tests.routes import all_routes, walk

pytestmark = pytest.mark.django_db

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
PERMISSIONS = {
    "camera": "(self)",
    "microphone": "(self)",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
}


def expected_csp() -> dict[str, list[str]]:
    """EXPECTED_CSP, with the identity providers this installation may send forms to."""
    extra = django_settings.TELEDERM_CSP_FORM_ACTION_EXTRA
    return {**EXPECTED_CSP, "form-action": ["'self'", *extra]}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        assert name not in directives, f"{name} appears twice"
        directives[name] = values
    return directives


def assert_security_headers(response: HttpResponse) -> None:
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp == expected_csp()
    everything = " ".join(" ".join(values) for values in csp.values())
    assert "unsafe-inline" not in everything and "unsafe-eval" not in everything
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    permissions = dict(
        item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
    )
    for feature, allowlist in PERMISSIONS.items():
        assert permissions[feature] == allowlist, feature


def assert_not_cached(response: HttpResponse) -> None:
    cache_control = {item.strip() for item in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control


def login_url() -> str:
    return reverse(django_settings.LOGIN_URL)


# Headers ------------------------------------------------------------------------------------


def test_the_public_front_page_sends_every_security_header(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response, "HSTS only with TELEDERM_HTTPS"


def test_the_sign_in_page_sends_every_security_header(client: Client) -> None:
    response = client.get(login_url())
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_signed_in_page_sends_the_headers_and_is_never_cached(
    client: Client, patient_user: User
) -> None:
    client.force_login(patient_user)
    response = client.get(reverse("cases:list"))
    assert response.status_code == 200
    assert_security_headers(response)
    assert_not_cached(response)


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_missing_page_sends_the_headers(
    client: Client, patient_user: User, signed_in: bool
) -> None:
    if signed_in:
        client.force_login(patient_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_security_headers(response)
    if signed_in:
        assert_not_cached(response)


def test_an_api_style_request_with_credentials_is_never_cached(client: Client) -> None:
    response = client.get("/", headers={"Authorization": "Bearer not-a-real-token"})
    assert_not_cached(response)


def test_a_view_that_chose_its_own_cache_control_keeps_it(patient_user: User) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("ok")
        response["Cache-Control"] = "max-age=60"
        return response

    request = RequestFactory().get("/")
    request.user = patient_user
    assert PrivateCacheMiddleware(view)(request)["Cache-Control"] == "max-age=60"


def test_the_photo_view_keeps_its_private_no_store(
    client: Client, patient_user: User, make_case: Any
) -> None:
    case = make_case(photos=1)
    photo = case.photos.get()
    client.force_login(patient_user)
    response = client.get(reverse("photos:image", args=[case.uuid, photo.uuid, "thumb"]))
    response.close()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "Content-Security-Policy" in response


# HTTPS: HSTS, redirects and cookies (TELEDERM_HTTPS sets these at import; here set directly) ---


@pytest.fixture
def https_settings(settings: Any) -> Any:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def test_https_responses_carry_hsts(client: Client, https_settings: Any) -> None:
    response = client.get("/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_security_headers(response)


def test_plain_http_is_redirected_to_https(client: Client, https_settings: Any) -> None:
    response = client.get("/cases/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def assert_cookie(cookie: Any, *, secure: bool) -> None:
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is secure


@pytest.mark.parametrize("secure", [False, True])
def test_the_csrf_cookie_is_httponly_lax_and_secure_over_https(
    client: Client, settings: Any, https_settings: Any, secure: bool
) -> None:
    if not secure:
        settings.SECURE_SSL_REDIRECT = False
        settings.CSRF_COOKIE_SECURE = False
    response = client.get(login_url(), secure=True)
    assert_cookie(response.cookies[django_settings.CSRF_COOKIE_NAME], secure=secure)


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_httponly_lax_and_secure_over_https(
    client: Client, settings: Any, https_settings: Any, patient_user: User, secure: bool
) -> None:
    if not secure:
        settings.SECURE_SSL_REDIRECT = False
        settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_SAVE_EVERY_REQUEST = True  # so that this response sets the cookie
    client.force_login(patient_user)
    response = client.get(reverse("cases:list"), secure=True)
    assert response.status_code == 200
    assert_cookie(response.cookies[django_settings.SESSION_COOKIE_NAME], secure=secure)


def test_deploy_checks_with_https_on_warn_only_about_the_secret_key(https_settings: Any) -> None:
    https_settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    warnings = {
        message.id
        for message in run_checks(include_deployment_checks=True)
        if message.id and message.id.startswith("security.") and not message.is_silenced()
    }
    assert warnings <= {"security.W009"}, warnings  # the development SECRET_KEY


# CSRF -----------------------------------------------------------------------------------------


ROUTES = all_routes(admin="admin/login/")
SAMPLE_UUID = "8b7c3d1e-2f4a-4b5c-9d6e-7f8091a2b3c4"


def concrete(route: str) -> str:
    """A path for a route pattern, with sample values for its parameters."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "sample", route)  # regex routes (allauth)
    path = re.sub(r"\^|\$", "", path)
    path = re.sub(r"<uuid:\w+>", SAMPLE_UUID, path)
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<(?:str:|slug:|path:)?\w+>", "sample", path)
    return "/" + path


def csrf_exempt(path: str) -> bool:
    try:
        match = resolve(path)
    except Exception:  # noqa: BLE001  (a regex route the sample did not satisfy: not exempt)
        return False
    return bool(getattr(match.func, "csrf_exempt", False))


@pytest.mark.parametrize("route", ROUTES)
def test_a_post_without_a_csrf_token_is_refused_everywhere(route: str, patient_user: User) -> None:
    path = concrete(route)
    if csrf_exempt(path):
        # Only the token-authenticated APIs may skip CSRF: they read no session cookie.
        assert route.startswith(("api/", "fhir/")), f"{route} is csrf_exempt outside the API"
        if route.startswith("fhir/"):
            # A signed-in browser's cookie counts for nothing there: without a token, 401.
            client = Client(enforce_csrf_checks=True)
            client.force_login(patient_user)
            response = client.post(path, {"anything": "x"})
            assert response.status_code in {401, 404, 405}, (route, response.status_code)
        return
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_user)
    response = client.post(path, {"anything": "x"})
    assert response.status_code == 403, route


def test_the_sign_in_form_refuses_a_post_without_a_token() -> None:
    response = Client(enforce_csrf_checks=True).post(
        login_url(), {"login": "kari@pasient.example", "password": "x"}
    )
    assert response.status_code == 403


def test_a_post_with_the_token_is_accepted(patient_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_user)
    form = client.get(reverse("cases:new"))
    token = form.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("cases:new"), {"csrfmiddlewaretoken": token})
    assert response.status_code in {200, 400}, "the form answers, with its own errors"


# Request size -----------------------------------------------------------------------------------


def test_an_oversized_form_body_is_refused(client: Client) -> None:
    body = "field=" + "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(login_url(), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(
    client: Client, settings: Any, patient_user: User, make_case: Any
) -> None:
    settings.TELEDERM_MAX_REQUEST_BYTES = 64 * 1024
    case = make_case(photos=0)
    client.force_login(patient_user)
    big = io.BytesIO(b"\xff" * (65 * 1024))
    big.name = "big.jpg"
    response = client.post(reverse("photos:manage", args=[case.uuid]), {"photo": big})
    assert response.status_code == 413
    assert_security_headers(response)
    assert case.photos.count() == 0


def test_the_request_limit_leaves_room_for_the_largest_photo() -> None:
    assert django_settings.TELEDERM_MAX_REQUEST_BYTES > django_settings.TELEDERM_PHOTO_MAX_BYTES


# No person numbers in URLs --------------------------------------------------------------------


def url_names(patterns: list[URLPattern | URLResolver], namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name


def test_no_route_or_url_name_carries_a_person_number() -> None:
    patterns = get_resolver().url_patterns
    routes = list(walk(patterns, admin="admin/"))
    names = list(url_names(patterns))
    assert "cases/<uuid:case_uuid>/" in routes and "cases:detail" in names
    for text in [*routes, *names]:
        assert not re.search(r"\d{11}", text), text
        assert not re.search(r"fnr|fodsel|fødsel|personnummer|identifier|ssn", text, re.I), text


# Logs -----------------------------------------------------------------------------------------

FNR = "17057012345"  # shaped like a person number; belongs to nobody


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The real console handler from settings.LOGGING, writing into a buffer for the test."""
    configured = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and any(isinstance(f, RedactPersonalData) for f in handler.filters)
    ]
    assert configured, "settings.LOGGING's console handler with the redaction filter"
    handler = configured[0]
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)  # type: ignore[arg-type]


def test_a_log_record_loses_person_numbers_and_email_addresses(log_output: io.StringIO) -> None:
    logging.getLogger("telederm.cases").warning(
        "Case for %s (%s) by kari.ås@pasient.example, typed as %s",
        FNR,
        {"fnr": "01018012345"},
        "170570 12345",
    )
    text = log_output.getvalue()
    assert "Case for" in text
    for secret in (FNR, "01018012345", "170570 12345", "kari.ås@pasient.example"):
        assert secret not in text
    assert text.count(PERSON_NUMBER_REDACTED) == 3 and EMAIL_REDACTED in text


def test_a_traceback_in_the_log_loses_them_too(log_output: io.StringIO) -> None:
    try:
        raise ValueError(f"duplicate identifier {FNR} for ola@pasient.example")
    except ValueError:
        logging.getLogger("telederm").exception("Registration failed")
    text = log_output.getvalue()
    assert "Registration failed" in text and "Traceback" in text and "ValueError" in text
    assert FNR not in text and "ola@pasient.example" not in text


def test_djangos_request_log_goes_through_the_filter(
    client: Client, log_output: io.StringIO
) -> None:
    client.get(f"/lookup/{FNR}/?email=kari@pasient.example")
    text = log_output.getvalue()
    assert "Not Found" in text
    assert FNR not in text and "kari@pasient.example" not in text


def test_ordinary_numbers_and_ids_are_kept() -> None:
    kept = (
        "case 8b7c3d1e-2f4a-4b5c-9d6e-7f8091a2b3c4 HER 8100001 org 999100015 HPR 9100021 "
        "at 2026-11-22 04:55:35, 25 MB"
    )
    assert redact(kept) == kept


def test_every_log_handler_in_settings_redacts() -> None:
    for name, handler in django_settings.LOGGING["handlers"].items():
        assert "redact" in handler.get("filters", []), name


# Content-Security-Policy settings ---------------------------------------------------------------


def test_form_action_takes_identity_provider_origins_from_the_environment() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "telederm.settings",
        "TELEDERM_CSP_FORM_ACTION_EXTRA": "https://helseid-sts.nhn.no, https://login.idporten.no/",
    }
    code = (
        "from django.conf import settings; "
        "print(' '.join(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [
        "'self'",
        "https://helseid-sts.nhn.no",
        "https://login.idporten.no",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "https://idp.example/authorize",  # a path
        "https://idp.example; script-src *",  # another directive smuggled in
        "'unsafe-inline'",
        "*",
        "http://idp.example",  # plain http outside localhost
        "https://*.example",
    ],
)
def test_a_bad_form_action_origin_is_refused(value: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        csp_sources([value])


def test_the_policy_in_settings_is_the_one_tested() -> None:
    assert django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"] == expected_csp()
