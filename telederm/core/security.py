"""Security headers and limits that Django does not set by itself (ADR 0008).

Django's SecurityMiddleware already sends HSTS, nosniff, Referrer-Policy and
Cross-Origin-Opener-Policy, XFrameOptionsMiddleware sends X-Frame-Options and django-csp sends
Content-Security-Policy. This module adds the rest:

- `SecurityHeadersMiddleware`: Permissions-Policy and Cross-Origin-Resource-Policy.
- `PrivateCacheMiddleware`: `Cache-Control: private, no-store` on every response to a signed-in
  person, unless the view chose its own, so no health data stays in a shared or browser cache.
- `RequestSizeLimitMiddleware`: refuses a request body larger than `TELEDERM_MAX_REQUEST_BYTES`
  from its Content-Length, before anything parses it (413).
- `csp_sources()`: checks the origins that settings add to a CSP directive.

settings.py imports `csp_sources`, so nothing here may read a setting or import a model at import
time (the lazy `django.conf.settings` object is fine).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

# Browser features a page may use: cameras and microphones for this origin only (photos now,
# video consultations later), everything else off. Empty tuple = "()" = nobody. Only features
# Chromium knows are listed ("bluetooth" is not one: it logged a warning on every page).
DEFAULT_PERMISSIONS_POLICY: dict[str, tuple[str, ...]] = {
    "camera": ("self",),
    "microphone": ("self",),
    "geolocation": (),
    "payment": (),
    "usb": (),
    "serial": (),
    "hid": (),
    "midi": (),
    "display-capture": (),
    "browsing-topics": (),
}

# A CSP source for an extra origin: scheme, host and optional port, nothing else (no path, no
# quotes, no spaces or semicolons that could smuggle in another directive).
_ORIGIN = re.compile(
    r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$|^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$"
)


def csp_sources(values: Iterable[str]) -> list[str]:
    """Validate origins for a CSP directive (for example an identity provider for form-action).

    Accepts `https://host[:port]` (and plain http only for localhost, for a test provider).
    Raises ImproperlyConfigured for anything else rather than send a broken or widened policy.
    """
    sources = []
    for value in values:
        origin = value.strip().rstrip("/").lower()
        if not origin:
            continue
        if not _ORIGIN.match(origin):
            raise ImproperlyConfigured(
                f"{value!r} is not an origin for the Content-Security-Policy: use "
                "https://host or https://host:port, without a path."
            )
        sources.append(origin)
    return sources


def permissions_policy_header(policy: Mapping[str, Iterable[str]]) -> str:
    """`{"camera": ("self",), "usb": ()}` → `camera=(self), usb=()`."""
    parts = []
    for feature, allowlist in policy.items():
        items = " ".join(item if item in {"self", "*"} else f'"{item}"' for item in allowlist)
        parts.append(f"{feature}=({items})")
    return ", ".join(parts)


class SecurityHeadersMiddleware:
    """Add Permissions-Policy and Cross-Origin-Resource-Policy to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        policy = getattr(settings, "TELEDERM_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
        self.permissions_policy = permissions_policy_header(policy)
        self.resource_policy = getattr(
            settings, "TELEDERM_CROSS_ORIGIN_RESOURCE_POLICY", "same-origin"
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if self.resource_policy:
            response.headers.setdefault("Cross-Origin-Resource-Policy", self.resource_policy)
        return response


class PrivateCacheMiddleware:
    """Keep responses for signed-in people out of every cache: `Cache-Control: private, no-store`.

    "Signed in" is a session (`request.user` after the view ran: signed in by a sign-in view,
    anonymous after sign-out) or credentials in an Authorization header (API clients, whose
    token the view checks). A view that sets its own Cache-Control keeps it (photos already send
    the same value). Runs inside AuthenticationMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Cache-Control" not in response.headers and _signed_in(request):
            response.headers["Cache-Control"] = "private, no-store"
        return response


def _signed_in(request: HttpRequest) -> bool:
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body exceeds `TELEDERM_MAX_REQUEST_BYTES` with 413.

    Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not uploaded files, which it
    streams to a temporary file before any view can look at the size. This stops an oversized
    upload before parsing. A body without Content-Length (chunked) is left to the reverse proxy's
    limit (docs/runbooks/security-scans.md) and to DATA_UPLOAD_MAX_MEMORY_SIZE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        max_bytes = getattr(
            settings, "TELEDERM_MAX_REQUEST_BYTES", settings.TELEDERM_PHOTO_MAX_BYTES + 1024 * 1024
        )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes:
            return HttpResponse(
                "Request body too large.", status=413, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
