"""The JSON API, version 1: read-only, for programs holding an API token (ADR 0011).

Every handler is wrapped in `token_required`, which authenticates the bearer token (and nothing
else: a browser session is not enough), and asks `api.policies` before it reads. Every case it
returns is written to the access log, one entry per case, naming the token's prefix.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from telederm.api import policies, tokens
from telederm.api.models import ApiToken
from telederm.api.policies import CASE_RESOURCE, ScopeCheck
from telederm.audit.services import record
from telederm.cases.models import Case
from telederm.cases.services import QUESTIONNAIRE_FIELDS
from telederm.photos.models import Photo

REALM = "telederm"
PAGE_SIZE = 50

ApiHandler = Callable[Concatenate[HttpRequest, ApiToken, ...], HttpResponse]


def token_required(view: ApiHandler) -> Callable[..., HttpResponse]:
    """Authenticate the request by its bearer token alone, then call `view(request, token, ...)`.

    Missing, malformed, unknown, expired or revoked tokens, and tokens of deactivated people, get
    401 `invalid_token`. A session cookie counts for nothing here (so the view needs no CSRF
    check: a cross-site page cannot make a browser send the token); `request.user` is the token's
    owner inside the handler, whoever the session belongs to. Only GET is served for now.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse
        if not request.headers.get("Authorization", "").strip():
            response = _invalid_token(
                "this API needs an API token: send Authorization: Bearer <token>"
            )
        else:
            token = tokens.authenticate(request.headers["Authorization"])
            if token is None:
                response = _invalid_token(
                    "the token is malformed, unknown, expired or revoked, or its owner's "
                    "account is deactivated"
                )
            elif request.method != "GET":
                response = _error(405, "method_not_allowed", f"{request.method} is not served")
                response["Allow"] = "GET"
            else:
                request.user = token.user
                response = view(request, token, *args, **kwargs)
        # Answers depend on the token and may carry patient data: never cached, never shared.
        response["Cache-Control"] = "no-store"
        patch_vary_headers(response, ["Authorization"])
        return response

    return wrapper


@token_required
def me(request: HttpRequest, token: ApiToken) -> HttpResponse:
    """Whose token this is and what it may do. Not patient data: no access-log entry."""
    if not policies.can_read_own_profile(token):
        return _invalid_token("the token is no longer in force")
    user = token.user
    return JsonResponse(
        {
            "name": user.full_name,
            "role": user.role,
            "scopes": list(token.scopes),
            "token": {
                "prefix": token.prefix,
                "label": token.label,
                "created_at": _time(token.created_at),
                "expires_at": _time(token.expires_at),
            },
        }
    )


@token_required
def case_list(request: HttpRequest, token: ApiToken) -> HttpResponse:
    """The cases the token may read, newest first, PAGE_SIZE a page (`?page=2`)."""
    check = policies.check_scope(token, CASE_RESOURCE, "search")
    if not check.allowed:
        return _insufficient_scope(check)
    page = request.GET.get("page", "1")
    if not page.isascii() or not page.isdigit() or int(page) < 1:
        return _error(400, "invalid_request", "page must be a whole number from 1")
    number = int(page)
    visible = policies.cases_readable_with(token, check)
    count = visible.count()
    start = (number - 1) * PAGE_SIZE
    cases = list(
        visible.select_related("patient").order_by("-created_at", "-pk")[start : start + PAGE_SIZE]
    )
    with transaction.atomic():
        for case in cases:
            record(
                actor=token.user,
                action="api.case.list.view",
                patient=case.patient,
                case=case,
                request=request,
                reason=_reason(token),
                basis=policies.basis_for_log(token, case),
            )
    return JsonResponse(
        {
            "count": count,
            "page": number,
            "next": f"?page={number + 1}" if start + PAGE_SIZE < count else None,
            "results": [_case_summary(case, check) for case in cases],
        }
    )


@token_required
def case_detail(request: HttpRequest, token: ApiToken, case_uuid: uuid.UUID) -> HttpResponse:
    """One case with its questionnaire answers and photo UUIDs; 404 if missing or not readable."""
    check = policies.check_scope(token, CASE_RESOURCE, "r")
    if not check.allowed:
        return _insufficient_scope(check)
    case = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
    if case is None or not policies.can_read_case(token, check, case):
        return _error(404, "not_found", "no case with this id that this token may read")
    photos = Photo.objects.filter(case=case).order_by("created_at", "pk")
    body = {
        **_case_summary(case, check),
        "answered_at": _time(case.answered_at),
        "questionnaire": {field: getattr(case, field) for field in QUESTIONNAIRE_FIELDS},
        "photos": [str(photo_uuid) for photo_uuid in photos.values_list("uuid", flat=True)],
    }
    record(
        actor=token.user,
        action="api.case.view",
        patient=case.patient,
        case=case,
        request=request,
        reason=_reason(token),
        basis=policies.basis_for_log(token, case),
    )
    return JsonResponse(body)


def _case_summary(case: Case, check: ScopeCheck) -> dict[str, Any]:
    return {
        "uuid": str(case.uuid),
        "status": case.status,
        "priority": case.priority,
        "created_at": _time(case.created_at),
        "submitted_at": _time(case.submitted_at),
        "due_at": _time(case.due_at),
        "patient": {"name": case.patient.full_name} if check.shows_patient_name else None,
    }


def _reason(token: ApiToken) -> str:
    return f"api token {token.prefix}"


def _time(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else None


def _error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def _invalid_token(description: str) -> JsonResponse:
    response = _error(401, "invalid_token", description)
    response["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return response


def _insufficient_scope(check: ScopeCheck) -> JsonResponse:
    response = JsonResponse(
        {
            "error": "insufficient_scope",
            "error_description": f"this needs one of the scopes {check.required} (or wider)",
            "scope": check.required,
        },
        status=403,
    )
    response["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{check.required}"'
    )
    return response
