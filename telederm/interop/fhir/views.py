"""The FHIR R4 API under /fhir/: metadata, read, search; writes go to `fhir.write` (ADR 0027).

Statuses, consistent with /api/v1/: no or bad token 401 (`WWW-Authenticate: Bearer`); a scope
missing for the type and interaction 403; a resource that does not exist *or* that the token may
not read 404 (the two look the same, so a token cannot learn what exists); an unknown type 404;
an unknown search parameter 400 (unless `Prefer: handling=lenient`); a method the route does not
take 405; a format other than JSON 406; a body other than FHIR JSON 415. Every error is an
OperationOutcome.

Every read of patient data is written to the access log: `fhir.<type>.view` for a read by id,
`fhir.<type>.list.view` for each row a search shows (one statement per search, `record_listing`).
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from telederm.api import policies
from telederm.api.models import ApiToken
from telederm.api.policies import ScopeCheck
from telederm.audit.services import record, record_listing
from telederm.interop.fhir import capability, errors
from telederm.interop.fhir.auth import (
    body_refusal,
    fhir_token_required,
    format_refusal,
    no_store,
)
from telederm.interop.fhir.errors import FhirError
from telederm.interop.fhir.mapping import build
from telederm.interop.fhir.search import (
    CHEAP_TOTAL_LIMIT,
    DEFAULT_COUNT,
    MAX_COUNT,
    PATIENT,
    REGISTRY,
    Context,
    ResourceType,
    Seen,
    ordering,
    source_for_search,
    sources_for_read,
)

logger = logging.getLogger(__name__)

# Search result parameters (not filters): taken by every type, explained in the
# CapabilityStatement's documentation of each resource.
RESULT_PARAMS = frozenset({"_count", "_sort", "_include", "_total", "_offset", "_format"})
TOTAL_MODES = frozenset({"none", "estimate", "accurate"})
# Offset paging reads and drops every row before the page: deep pages are refused, not slow.
MAX_OFFSET = 100_000


def fhir_json(resource: Resource, *, status: int = 200) -> HttpResponse:
    return HttpResponse(resource.model_dump_json(), status=status, content_type=errors.FHIR_JSON)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:root"))


def _method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    response = errors.outcome(
        405, "not-supported", f"{request.method} is not served here; use {allowed}"
    )
    response["Allow"] = allowed
    return response


def _unknown_type(resource_type: str) -> HttpResponse:
    return errors.outcome(
        404,
        "not-supported",
        f"{resource_type} is not a resource type this server serves; see /fhir/metadata",
    )


# --- metadata ------------------------------------------------------------------------------------


@csrf_exempt
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement: public (no patient data), as FHIR servers answer it."""
    if request.method not in ("GET", "HEAD"):
        return no_store(_method_not_allowed(request, "GET"))
    refusal = format_refusal(request)
    if refusal is not None:
        return no_store(refusal)
    return no_store(fhir_json(capability.statement(base_url(request))))


# --- the routes -----------------------------------------------------------------------------------


@fhir_token_required
def root(request: HttpRequest, token: ApiToken) -> HttpResponse:
    """POST a transaction Bundle (an incoming referral): handled by fhir.write."""
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    # fhir.write checks the token's scopes and role before it looks at the body (415 after 403).
    return _delegate("transaction", request, token)


@fhir_token_required
def type_route(request: HttpRequest, token: ApiToken, resource_type: str) -> HttpResponse:
    """GET <Type>?…: search."""
    if resource_type not in REGISTRY:
        return _unknown_type(resource_type)
    if request.method != "GET":
        return _method_not_allowed(request, "GET")
    return _search(request, token, resource_type, request.GET)


@fhir_token_required
def search_post(request: HttpRequest, token: ApiToken, resource_type: str) -> HttpResponse:
    """POST <Type>/_search with a form body: the same search, without the values in the URL."""
    if resource_type not in REGISTRY:
        return _unknown_type(resource_type)
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    refusal = body_refusal(request, form=True)
    if refusal is not None:
        return refusal
    params = request.GET.copy()
    for key, values in request.POST.lists():
        for value in values:
            params.appendlist(key, value)
    return _search(request, token, resource_type, params)


@fhir_token_required
def instance_route(
    request: HttpRequest, token: ApiToken, resource_type: str, resource_id: str
) -> HttpResponse:
    """GET <Type>/<id>: read; PUT: update (fhir.write)."""
    if resource_type not in REGISTRY:
        return _unknown_type(resource_type)
    updatable = resource_type in capability.updatable_types()
    if request.method == "PUT" and updatable:
        refusal = body_refusal(request)
        if refusal is not None:
            return refusal
        return _delegate("update", request, token, resource_type, resource_id)
    if request.method != "GET":
        return _method_not_allowed(request, "GET, PUT" if updatable else "GET")
    return _read(request, token, resource_type, resource_id)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /fhir/: an OperationOutcome, never the site's HTML 404."""
    return no_store(
        errors.outcome(404, "not-found", f"/fhir/{rest} is not an interaction this server serves")
    )


def _delegate(name: str, request: HttpRequest, *args: Any) -> HttpResponse:
    """Call fhir.write.<name>, written by another part of the issue; 501 until it exists."""
    try:
        module = importlib.import_module("telederm.interop.fhir.write")
    except ModuleNotFoundError as exc:
        if exc.name != "telederm.interop.fhir.write":
            raise
        module = None
    handler = getattr(module, name, None) if module is not None else None
    if handler is None:
        return errors.outcome(501, "not-supported", f"the {name} interaction is not served yet")
    return cast(Callable[..., HttpResponse], handler)(request, *args)


# --- read ---------------------------------------------------------------------------------------


def _context(request: HttpRequest, token: ApiToken, resource_type: str, interaction: str) -> Any:
    check = policies.check_scope(token, resource_type, interaction)
    if not check.allowed:
        return errors.insufficient_scope(check.required)
    return Context(request=request, token=token, check=check, base_url=base_url(request))


def _read(
    request: HttpRequest, token: ApiToken, resource_type: str, resource_id: str
) -> HttpResponse:
    ctx = _context(request, token, resource_type, "r")
    if isinstance(ctx, HttpResponse):
        return ctx
    for source in sources_for_read(resource_type):
        row = source.visible(ctx).filter(source.by_id(resource_id)).first()
        if row is not None:
            break
    else:
        return errors.outcome(
            404,
            "not-found",
            f"no {resource_type} with id {resource_id} that this token may read",
        )
    resource = source.render(row, ctx)
    seen = source.seen(row, ctx) if source.seen is not None else None
    if seen is not None:
        record(
            actor=token.user,
            action=f"fhir.{source.log_name}.view",
            patient=seen.patient,
            case=seen.case,
            obj=seen.obj,
            request=request,
            reason=f"api token {token.prefix}",
            basis=seen.basis,
        )
    response = fhir_json(resource)
    assert resource.meta is not None and resource.meta.versionId is not None
    response["ETag"] = f'W/"{resource.meta.versionId}"'
    if resource.meta.lastUpdated is not None:
        response["Last-Modified"] = resource.meta.lastUpdated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


# --- search ---------------------------------------------------------------------------------------


def _lenient(request: HttpRequest) -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.strip() == "handling=lenient" for part in prefer.split(";") + prefer.split(","))


def _whole_number(params: QueryDict, name: str, default: int) -> int:
    values = params.getlist(name)
    if not values:
        return default
    text = values[-1]
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise FhirError(400, "invalid", f"{name} must be a whole number from 0")
    return int(text)


def _offset(params: QueryDict) -> int:
    values = params.getlist("_offset")
    if not values:
        return 0
    try:
        text = base64.urlsafe_b64decode(values[-1] + "==").decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FhirError(400, "invalid", "_offset is not one this server gave out") from exc
    if not text.startswith("o") or not text[1:].isdigit() or len(text) > 10:
        raise FhirError(400, "invalid", "_offset is not one this server gave out")
    offset = int(text[1:])
    if offset > MAX_OFFSET:
        raise FhirError(
            400, "too-costly", f"pages past {MAX_OFFSET} rows are not served: narrow the search"
        )
    return offset


def _offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode("ascii").rstrip("=")


def _search(
    request: HttpRequest, token: ApiToken, resource_type: str, params: QueryDict
) -> HttpResponse:
    ctx = _context(request, token, resource_type, "s")
    if isinstance(ctx, HttpResponse):
        return ctx
    try:
        return _search_bundle(ctx, resource_type, params)
    except FhirError as error:
        return errors.from_error(error)


def _search_bundle(ctx: Context, resource_type: str, params: QueryDict) -> HttpResponse:
    if any("\x00" in text for key, values in params.lists() for text in (key, *values)):
        # PostgreSQL takes no NUL in text; no FHIR value holds one.
        raise FhirError(400, "invalid", "a search parameter holds a NUL character")
    kind = source_for_search(resource_type, params.keys())
    known = kind.param_map
    ignored = sorted(name for name in params if name not in known and name not in RESULT_PARAMS)
    if ignored and not _lenient(ctx.request):
        raise FhirError(
            400,
            "not-supported",
            f"{resource_type} cannot be searched by {', '.join(ignored)}: see /fhir/metadata "
            "(or send Prefer: handling=lenient to have unknown parameters ignored)",
        )
    rows = kind.visible(ctx)
    used: list[tuple[str, str]] = []
    for name, values in params.lists():
        if name in known:
            for value in values:
                rows = known[name].apply(rows, value)
                used.append((name, value))
    count = min(_whole_number(params, "_count", DEFAULT_COUNT), MAX_COUNT)
    offset = _offset(params)
    sort = params.getlist("_sort")[-1] if params.getlist("_sort") else kind.default_sort
    rows = rows.order_by(*ordering(kind, sort))
    includes = params.getlist("_include")
    for include in includes:
        if include not in kind.includes:
            raise FhirError(
                400,
                "not-supported",
                f"_include={include} is not supported for {resource_type}; use one of "
                f"{', '.join(sorted(kind.includes)) or 'none'}",
            )
    patient_check = policies.check_scope(ctx.token, PATIENT.name, "r")
    if includes and not patient_check.allowed:
        refusal = errors.insufficient_scope(patient_check.required)
        refusal.content = errors.operation_outcome(
            "forbidden",
            f"_include adds Patient resources: it needs one of the scopes "
            f"{patient_check.required} (or wider)",
        ).model_dump_json()
        return refusal
    total_mode = params.getlist("_total")[-1] if params.getlist("_total") else "estimate"
    if total_mode not in TOTAL_MODES:
        raise FhirError(400, "invalid", "_total must be none, estimate or accurate")

    page = list(rows[offset : offset + count + 1]) if count else []
    has_next = len(page) > count
    page = page[:count]
    total = _total(rows, total_mode, offset=offset, page=len(page), has_next=has_next, count=count)

    base = ctx.base_url
    entries: list[Entry] = []
    seen: list[Seen] = []
    for row in page:
        resource = kind.render(row, ctx)
        entries.append((f"{base}{resource_type}/{resource.id}", resource, "match"))
        if kind.seen is not None:
            shown = kind.seen(row, ctx)
            if shown is not None:
                seen.append(shown)
    if includes and page:
        entries.extend(_included_patients(ctx, patient_check, kind, includes, page))
    if ignored:
        note = errors.operation_outcome(
            "not-supported",
            f"ignored the parameters {', '.join(ignored)} (Prefer: handling=lenient)",
            severity="warning",
        )
        entries.append((None, note, "outcome"))
    links = _links(
        base + resource_type,
        used,
        count=count,
        sort=sort,
        includes=includes,
        total_mode=params.getlist("_total")[-1] if params.getlist("_total") else None,
        offset=offset,
        has_next=has_next,
    )
    envelope = build(Bundle, type="searchset", total=total, link=links)
    _log_listing(ctx, kind, seen)
    return HttpResponse(bundle_json(envelope, entries), content_type=errors.FHIR_JSON)


Entry = tuple[str | None, Resource, str]


def _included_patients(
    ctx: Context, check: ScopeCheck, kind: ResourceType, includes: list[str], page: list[Any]
) -> list[Entry]:
    """The patients `_include` adds (the caller has checked that `check`, the token's Patient
    read, is allowed): only those that scope reads, named as its rule says, and each in the access
    log as a `fhir.patient.list.view` row besides the search's own rows."""
    patient_ctx = Context(request=ctx.request, token=ctx.token, check=check, base_url=ctx.base_url)
    wanted: dict[Any, None] = {}
    for include in includes:
        for row in page:
            wanted.setdefault(kind.includes[include](row).pk, None)
    readable = {p.pk: p for p in PATIENT.visible(patient_ctx).filter(pk__in=list(wanted))}
    entries: list[Entry] = []
    seen: list[Seen] = []
    for pk in wanted:
        patient = readable.get(pk)
        if patient is None:
            continue
        resource = PATIENT.render(patient, patient_ctx)
        entries.append((f"{ctx.base_url}Patient/{resource.id}", resource, "include"))
        if PATIENT.seen is not None:
            shown = PATIENT.seen(patient, patient_ctx)
            if shown is not None:
                seen.append(shown)
    _log_listing(patient_ctx, PATIENT, seen)
    return entries


def bundle_json(envelope: Bundle, entries: list[Entry]) -> str:
    """The Bundle's JSON with each entry's resource serialised once, by its own model.

    fhir.resources serialises a Bundle by walking every resource in it again, which doubled the
    time of a search; the envelope (type, total, links) is a Bundle model of its own, and each
    entry is `{fullUrl, resource, search.mode}` around the resource's JSON. Tests re-parse the
    result with fhir.resources.
    """
    head = envelope.model_dump_json()
    if not entries:
        return head
    items = []
    for full_url, resource, mode in entries:
        url = f'"fullUrl":{json.dumps(full_url)},' if full_url else ""
        items.append(
            f'{{{url}"resource":{resource.model_dump_json()},"search":{{"mode":"{mode}"}}}}'
        )
    assert head.endswith("}")
    return head[:-1] + ',"entry":[' + ",".join(items) + "]}"


def _total(
    rows: Any, mode: str, *, offset: int, page: int, has_next: bool, count: int
) -> int | None:
    """How many match: exact when it is known or cheap, None (left out) when it is not."""
    if mode == "none":
        return None
    if not has_next and (page or offset == 0) and count:
        return offset + page
    if mode == "accurate":
        return int(rows.count())
    bounded = int(rows.order_by()[: CHEAP_TOTAL_LIMIT + 1].count())
    return bounded if bounded <= CHEAP_TOTAL_LIMIT else None


def _links(
    url: str,
    used: list[tuple[str, str]],
    *,
    count: int,
    sort: str,
    includes: list[str],
    total_mode: str | None,
    offset: int,
    has_next: bool,
) -> list[dict[str, str]]:
    def link(relation: str, at: int) -> dict[str, str]:
        query = [*used, ("_count", str(count)), ("_sort", sort)]
        query += [("_include", include) for include in includes]
        if total_mode:
            query.append(("_total", total_mode))
        if at:
            query.append(("_offset", _offset_token(at)))
        return {"relation": relation, "url": f"{url}?{urlencode(query)}"}

    links = [link("self", offset)]
    if offset and count:
        links.append(link("previous", max(offset - count, 0)))
    if has_next:
        links.append(link("next", offset + count))
    return links


def _log_listing(ctx: Context, kind: ResourceType, seen: list[Seen]) -> None:
    """One access-log entry per row shown, in one statement per basis."""
    if not seen:
        return
    by_basis: dict[str, list[Any]] = {}
    for shown in seen:
        by_basis.setdefault(shown.basis, []).append(_Listed(shown))
    with transaction.atomic():
        for basis, rows in by_basis.items():
            record_listing(
                actor=ctx.token.user,
                action=f"fhir.{kind.log_name}.list.view",
                cases=rows,
                request=ctx.request,
                basis=basis,
                reason=f"api token {ctx.token.prefix}",
            )


class _Listed:
    """A row as record_listing takes it: `.patient`, and `.uuid` = the case's (None if none)."""

    def __init__(self, seen: Seen) -> None:
        self.patient = seen.patient
        self.uuid = seen.case.uuid if seen.case is not None else None

    def __bool__(self) -> bool:
        return True
