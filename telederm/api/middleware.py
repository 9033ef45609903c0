"""Bearer tokens for the photo routes: a program uploads photos (tus) and reads them (the image
route a FHIR Media resource points to) as a browser does.

`/uploads/` (telederm/photos/tus.py) serves browsers, signed in by a session and checked for
CSRF, and programs holding an API token (ADR 0011, ADR 0013). For a request under `/uploads/`
with `Authorization: Bearer …` this middleware, right after Django's AuthenticationMiddleware:

- authenticates the token (`tokens.authenticate`): a malformed, unknown, expired or revoked token,
  or one whose owner is deactivated, gets 401 `invalid_token`, one answer for all;
- requires a scope that lets the token create Media (`user/Media.c`, `user/Media.write`,
  `patient/*.write`, `user/*.*`…): otherwise 403 `insufficient_scope`, naming the scope needed;
- makes the token's owner `request.user`, marks the request (`request.telederm_token`) and
  exempts it from CSRF: a cross-site page cannot make a browser send the token;
- ignores any session cookie sent along, as /api/v1/ does: the token is the only credential, and
  a browser's session must not be touched (or taken over) by a program's request.

A GET of a photo's image (`/cases/<case>/photos/<photo>/<size>.jpg`, where a FHIR Media's
`content.url` points) with a bearer token is authenticated the same way, needing a scope that lets
the token read Media (`user/Media.r`, `user/*.read`…); the view then checks the case policy and
writes the access log as for a browser, except that a token (the request is marked
`request.telederm_token`, which photos reads with getattr: photos may not import api) sees a photo
only through its own case: never on a break-glass basis, never through another case of the lesion.

It also sets `Tus-Resumable` on every answer under `/uploads/`, including refusals made further
in (CSRF, request size, second factor), since tus clients expect it on every response.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from telederm.api import policies, tokens
from telederm.api.models import ApiToken
from telederm.api.views import REALM
from telederm.photos.tus import TUS_VERSION

UPLOAD_PREFIX = "/uploads/"
# The image route of a photo (telederm/photos/urls.py "image").
PHOTO_IMAGE = re.compile(r"^/cases/[0-9a-f-]{36}/photos/[0-9a-f-]{36}/[a-z]+\.jpg$")
# A photo is a FHIR Media resource; starting an upload creates one.
MEDIA_RESOURCE = "Media"


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method in {"GET", "HEAD"} and PHOTO_IMAGE.match(request.path_info):
            return self._authenticate(request, "read") or self.get_response(request)
        if not request.path_info.startswith(UPLOAD_PREFIX):
            return self.get_response(request)
        response = self._authenticate(request, "create") or self.get_response(request)
        response.headers.setdefault("Tus-Resumable", TUS_VERSION)
        return response

    @staticmethod
    def _authenticate(request: HttpRequest, interaction: str) -> HttpResponse | None:
        """None to go on (a bearer request now authenticated, or no bearer at all), or a refusal."""
        header = request.headers.get("Authorization", "")
        if header.strip().partition(" ")[0].lower() != "bearer":
            return None
        token = tokens.authenticate(header)
        if token is None:
            return _refusal(
                401,
                _("The token is malformed, unknown, expired or revoked."),
                'error="invalid_token"',
            )
        check = policies.check_scope(token, MEDIA_RESOURCE, interaction)
        if not check.allowed:
            refusal = (
                _("This token may not upload photos: it needs one of the scopes %(scopes)s.")
                if interaction == "create"
                else _("This token may not read photos: it needs one of the scopes %(scopes)s.")
            )
            return _refusal(
                403,
                refusal % {"scopes": check.required},
                f'error="insufficient_scope", scope="{check.required}"',
            )
        _sign_in_with(request, token)
        return None


def is_token_request(request: HttpRequest) -> bool:
    """Whether this request was authenticated by a bearer token (and not by a session)."""
    return getattr(request, "telederm_token", None) is not None


def _sign_in_with(request: HttpRequest, token: ApiToken) -> None:
    request.user = token.user
    request.telederm_token = token  # type: ignore[attr-defined]
    # No cookie is read, so no cross-site page can ride on it: CSRF does not apply.
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    # An empty session that is never saved, and the browser's cookie out of sight, so that
    # nothing further in (allauth's session tracking, the idle timer) reads or writes the
    # session of whoever else's browser sent it.
    request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()


def _refusal(status: int, message: str, error: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = f'Bearer realm="{REALM}", {error}'
    response["Cache-Control"] = "no-store"
    return response
