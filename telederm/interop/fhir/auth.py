"""Who is calling the FHIR API, and what the call may return: bearer tokens and SMART scopes.

A request to /fhir/ is authenticated by its bearer token alone (`api.tokens.authenticate`, ADR
0011): a browser session counts for nothing, so there is no CSRF to check. The token's scopes
narrow what its owner may see, never widen it (`api.policies`): a `patient/` scope reads only the
holder's own record, a `user/` scope what the person may see through the web pages (the GP their
referrals, the dermatologist their cases and the pool, the duty nurse the triage queue), never a
break-glass opening. What each resource type adds to that (the access log is the privacy
officer's or the patient's own) lives in `search.py`, next to the query it narrows.

Every answer is `Cache-Control: no-store` and `Vary: Authorization`: it depends on the token and
may carry patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from telederm.api import tokens
from telederm.api.models import ApiToken
from telederm.interop.fhir import errors

# What we answer in, and the Accept values that take it. XML is not served.
JSON_TYPES = frozenset(
    {"application/fhir+json", "application/json", "application/json+fhir", "application/*", "*/*"}
)
FORMAT_VALUES = frozenset({"json", "application/json", "application/fhir+json"})
# What request bodies we read (POST/PUT), besides a form for POST <Type>/_search.
BODY_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
FORM_TYPE = "application/x-www-form-urlencoded"

FhirHandler = Callable[Concatenate[HttpRequest, ApiToken, ...], HttpResponse]


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ["Authorization"])
    return response


def media_types(header: str) -> list[str]:
    """The media types of an Accept or Content-Type header, lower case, parameters dropped."""
    return [part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()]


def format_refusal(request: HttpRequest) -> HttpResponse | None:
    """406 when neither `_format` nor Accept lets us answer in JSON; None when we may."""
    wanted = request.GET.get("_format")
    if wanted is not None:
        if wanted.strip().lower() not in FORMAT_VALUES:
            return errors.outcome(
                406, "not-supported", f"_format={wanted} is not served: only JSON (_format=json)"
            )
        return None
    accept = request.headers.get("Accept", "").strip()
    if not accept or any(kind in JSON_TYPES for kind in media_types(accept)):
        return None
    return errors.outcome(
        406, "not-supported", "only application/fhir+json is served; XML and HTML are not"
    )


def body_refusal(request: HttpRequest, *, form: bool = False) -> HttpResponse | None:
    """415 when a POST or PUT body is not FHIR JSON (or, where allowed, a form)."""
    kinds = media_types(request.headers.get("Content-Type", ""))
    kind = kinds[0] if kinds else ""
    if kind in BODY_TYPES or (form and kind == FORM_TYPE):
        return None
    accepted = "application/fhir+json" + (f" or {FORM_TYPE}" if form else "")
    return errors.outcome(
        415, "not-supported", f"the body must be {accepted}, not {kind or 'nothing'}"
    )


def fhir_token_required(view: FhirHandler) -> Callable[..., HttpResponse]:
    """Authenticate by bearer token only, refuse non-JSON answers, then `view(request, token, …)`.

    No token, or one that is malformed, unknown, expired, revoked or whose owner is deactivated:
    401 OperationOutcome with `WWW-Authenticate: Bearer`, one answer for all. Inside the handler
    `request.user` is the token's owner. CSRF-exempt: only the token is read, never a cookie.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse
        header = request.headers.get("Authorization", "").strip()
        token = tokens.authenticate(header) if header else None
        if not header:
            response = errors.unauthorised(
                "the FHIR API needs an API token: send Authorization: Bearer <token>"
            )
        elif token is None:
            response = errors.unauthorised(
                "the token is malformed, unknown, expired or revoked, or its owner's account "
                "is deactivated"
            )
        else:
            refusal = format_refusal(request)
            if refusal is not None:
                response = refusal
            else:
                request.user = token.user
                response = view(request, token, *args, **kwargs)
        return no_store(response)

    return wrapper
