"""Staff sessions: a second factor before any page with patient data, and an idle timeout."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from telederm.accounts.security import is_strongly_authenticated, needs_second_factor

LAST_SEEN_KEY = "telederm_last_seen"
SEEN_PRECISION_SECONDS = 60

# Paths a signed-in person without a second factor may still reach: signing in and out, setting
# up the second factor, choosing a language, static files, health probes, and the API (which
# authenticates each request by its own bearer token).
# /api/ and /fhir/ authenticate by bearer token alone (their views ignore the session).
OPEN_PREFIXES = ("/account/", "/i18n/", "/static/", "/healthz", "/readyz", "/api/", "/fhir/")
# Paths called by scripts (the tus uploads of the photo page, programs with a token), not opened
# as pages: they get a plain refusal rather than a redirect to a page they cannot show.
SCRIPT_PREFIXES = ("/uploads/",)


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # A request authenticated by an API token (telederm.api.middleware) has no session to
        # time out or strengthen: the token is its credential.
        token_request = getattr(request, "telederm_token", None) is not None
        if needs_second_factor(user) and not token_request:
            script = request.path.startswith(SCRIPT_PREFIXES)
            if self._idle_too_long(request):
                logout(request)
                message = _("You were signed out after a period without activity.")
                if script:
                    return _plain(401, message)
                messages.info(request, message)
                return redirect_to_login(request.get_full_path())
            if not request.path.startswith(OPEN_PREFIXES) and not is_strongly_authenticated(
                request
            ):
                message = _("Set up two-factor authentication before you work with patient data.")
                if script:
                    return _plain(403, message)
                messages.info(request, message)
                return redirect("mfa_index")
        return self.get_response(request)

    @staticmethod
    def _idle_too_long(request: HttpRequest) -> bool:
        now = time.time()
        stored = request.session.get(LAST_SEEN_KEY)
        last_seen = float(stored) if isinstance(stored, int | float) else None
        if last_seen is not None and now - last_seen > settings.TELEDERM_STAFF_IDLE_MINUTES * 60:
            return True
        # Saving the session is a database write: once a minute is precise enough for a limit
        # counted in minutes, and spares every photo and page request a write.
        if last_seen is None or now - last_seen >= SEEN_PRECISION_SECONDS:
            request.session[LAST_SEEN_KEY] = now
        return False


def _plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class SignOutClearsBrowserDataMiddleware:
    """When a request signs the person out (the sign-out button, or the idle timeout), tell the
    browser to drop what this site stored: its cache and its storage, including a photo the
    upload script kept in IndexedDB to resume later. On a shared phone or a nursing-home tablet
    nothing of one patient stays for the next person. Cookies stay: the signed-out page needs
    its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if was_signed_in and not request.user.is_authenticated:
            response["Clear-Site-Data"] = '"cache", "storage"'
        return response
