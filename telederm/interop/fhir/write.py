"""Writes through the FHIR API: an incoming referral as a transaction Bundle, and withdrawing it.

`fhir.views` routes `POST /fhir/` to `transaction` and `PUT /fhir/<type>/<id>` to `update`, after
its bearer-token check (request.user is the token's owner). Everything else about writing is here:
scopes, policies, the all-or-nothing transaction, idempotency and the access log
(docs/fhir-referrals.md).

Idempotency: a referral bundle is a network request that a client retries when it hears nothing.
Its keys are `system|value` of Bundle.identifier, of each ServiceRequest.identifier and of the
ServiceRequest entry's `ifNoneExist: identifier=system|value`; a later bundle from the same user
with any key already seen creates nothing and is answered with the first referral's locations
(entries "200 OK"). The keys are kept as `IncomingMessage` rows (transport "fhir", msg_id the
SHA-256 of user and key), the record of every referral received from outside, beside the KITH ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction as db_transaction
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest

from telederm.accounts.models import User
from telederm.api.models import ApiToken
from telederm.api.policies import check_scope
from telederm.audit.services import record
from telederm.cases import policies as case_policies
from telederm.cases import services as case_services
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.core.errors import ChangedMeanwhile, UserFacingError
from telederm.interop import referrals
from telederm.interop.fhir import referral as reading
from telederm.interop.fhir.referral import BundleRefused, IncomingReferral, Issue
from telederm.interop.kith import model as kith
from telederm.interop.models import IncomingMessage
from telederm.patients.identifiers import InvalidIdentifier

# What `update` changes (fhir.capability lists it in the CapabilityStatement).
UPDATABLE_TYPES = frozenset({"ServiceRequest"})
FHIR_JSON = "application/fhir+json; charset=utf-8"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
MSG_TYPE = "FHIR_REFERRAL"
TRANSPORT = "fhir"
_ETAG = re.compile(r'\s*(?:W/)?"(?P<version>[0-9]+)"\s*')

logger = logging.getLogger(__name__)


# -- POST /fhir/ --------------------------------------------------------------------------------


def transaction(request: HttpRequest, token: ApiToken) -> HttpResponse:
    """A referral transaction Bundle becomes a sent case, all or nothing."""
    if request.method != "POST":
        return _outcome(
            405, [Issue("not-supported", "POST a transaction Bundle to /fhir/.")], allow="POST"
        )
    user = token.user
    refused = _check_create_scopes(token, ["ServiceRequest"])
    if refused is not None:
        return refused
    if not (user.is_submitter and case_policies.can_create_case(user)):
        return _outcome(
            403,
            [Issue("forbidden", "Only a referring health professional may send a referral.")],
        )
    refused = _check_content_type(request)
    if refused is not None:
        return refused
    body = _read_body(request)
    try:
        bundle = reading.parse_bundle(body)
        refused = _check_create_scopes(token, _types_in(bundle))
        if refused is not None:
            return refused
        incoming = reading.read_referral(
            bundle,
            accept_synthetic=settings.TELEDERM_ACCEPT_SYNTHETIC_IDS,
            max_photo_bytes=settings.TELEDERM_PHOTO_MAX_BYTES,
            max_photos=settings.TELEDERM_PHOTOS_PER_CASE,
        )
        case, created = _register(user, incoming, body, request)
    except BundleRefused as refusal:
        return _outcome(refusal.status, refusal.issues)
    except PermissionDenied:
        return _outcome(403, [Issue("forbidden", "You may not send this referral.")])
    except (UserFacingError, InvalidIdentifier) as refusal:
        return _outcome(422, [Issue("business-rule", str(refusal))])
    reply = _response_bundle(request, token, case, incoming, created=created)
    return _json(200, reply.model_dump_json())


@db_transaction.atomic
def _register(
    user: User, incoming: IncomingReferral, body: bytes, request: HttpRequest
) -> tuple[Case, bool]:
    """The case of a key already seen, or a new one with its keys recorded: one transaction."""
    # One referral at a time per user: a retry that arrives while the first is still being filed
    # waits here, then finds its key (SQLite's IMMEDIATE transactions serialise writers anyway).
    User.objects.select_for_update().filter(pk=user.pk).first()
    digests = {_digest(user, key): key for key in incoming.keys}
    seen = (
        IncomingMessage.objects.filter(transport=TRANSPORT, msg_id__in=list(digests))
        .select_related("case__patient")
        .first()
    )
    if seen is not None and seen.case is not None:
        # The reply names the case's resources: a read of the referral by its own sender.
        record(
            actor=user,
            action="fhir.referral.view",
            patient=seen.case.patient,
            case=seen.case,
            request=request,
        )
        return seen.case, False
    registered = referrals.receive_referral(
        by=user,
        referrer=_person(user),
        organisation=_organisation(user),
        patient=incoming.patient,
        reason=incoming.reason,
        clinical_information=incoming.clinical_information,
        priority=incoming.priority,
        cancer_pathway=incoming.cancer_pathway,
        photos=incoming.photos,
        channel="fhir",
        request=request,
    )
    if registered.left_out:
        # Unlike a message, a FHIR client is still on the line: tell it, and keep nothing.
        raise BundleRefused(
            422,
            [
                Issue("value", f"Photo {item.filename!r} could not be used ({item.reason}).")
                for item in registered.left_out
            ],
        )
    case = registered.case
    payload = reading.strip_photo_data(body)
    for digest, key in digests.items():
        IncomingMessage.objects.create(
            msg_id=digest,
            msg_type=MSG_TYPE,
            sender_her_id=user.organisation.her_id if user.organisation else None,
            receiver_her_id=getattr(settings, "TELEDERM_HER_ID", None) or None,
            payload=payload,
            transport=TRANSPORT,
            transport_ref=key[:200],
            status=IncomingMessage.Status.ACCEPTED,
            case=case,
        )
    record(
        actor=user, action="fhir.referral.create", patient=case.patient, case=case, request=request
    )
    return case, True


def _digest(user: User, key: str) -> str:
    """The idempotency key as stored: per user, so two clinics' bundle ids never collide."""
    return hashlib.sha256(f"{user.uuid}\n{key}".encode()).hexdigest()


def _person(user: User) -> kith.Person:
    given, _space, family = user.full_name.strip().rpartition(" ")
    return kith.Person(
        family_name=family or user.full_name,
        given_name=given,
        hpr_number=user.hpr_number,
        her_id=None,
        title=user.title,
    )


def _organisation(user: User) -> kith.Organisation:
    office = user.organisation
    if office is None:
        return kith.Organisation(name="")
    return kith.Organisation(
        name=office.name, her_id=office.her_id, organisation_number=office.organisation_number
    )


def _types_in(bundle: Bundle) -> list[str]:
    return sorted(
        {entry.resource.get_resource_type() for entry in bundle.entry or [] if entry.resource}
        & set(reading.REFERRAL_TYPES)
    )


def _check_create_scopes(token: ApiToken, resource_types: Iterable[str]) -> HttpResponse | None:
    missing = [
        f"user/{kind}.c"
        for kind in resource_types
        if "user" not in check_scope(token, kind, "create").contexts
    ]
    if not missing:
        return None
    return _outcome(
        403,
        [Issue("forbidden", f"The token lacks the scope to create: {' '.join(missing)}.")],
    )


def _response_bundle(
    request: HttpRequest, token: ApiToken, case: Case, incoming: IncomingReferral, *, created: bool
) -> Bundle:
    """One entry per request entry, in order: where each resource now lives, and its version as a
    read of it answers (the ETag is the one GET gives)."""
    status = "201 Created" if created else "200 OK"
    photo_ids = iter(
        case.photos.filter(message__isnull=True).order_by("pk").values_list("uuid", flat=True)
    )
    ids = {
        "ServiceRequest": case.uuid,
        "QuestionnaireResponse": case.uuid,
        "Patient": case.patient.uuid,
    }
    entries = []
    for ref in incoming.entries:
        resource_id = ids.get(ref.resource_type) or next(photo_ids, None)
        if resource_id is None:  # Not reached: every Media became a photo, or nothing was kept.
            raise RuntimeError(f"no {ref.resource_type} for an entry")
        # A token that may create but not read gets the location without a version.
        resource = _as_read(request, token, ref.resource_type, str(resource_id))
        meta = resource.meta if resource is not None else None
        version = meta.versionId if meta is not None else None
        location = f"{ref.resource_type}/{resource_id}"
        entries.append(
            {
                "fullUrl": ref.full_url or None,
                "response": {
                    "status": status,
                    "location": f"{location}/_history/{version}" if version else location,
                    "etag": f'W/"{version}"' if version else None,
                    "lastModified": meta.lastUpdated if meta is not None else None,
                },
            }
        )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "transaction-response",
            "entry": [_without_none(entry) for entry in entries],
        }
    )


def _as_read(
    request: HttpRequest, token: ApiToken, resource_type: str, resource_id: str
) -> Any | None:
    """The resource as a GET by this token returns it (fhir.search renders it from the row as a
    read finds it), or None when the token may not read it. Not logged: the caller logs."""
    from telederm.interop.fhir import search  # The read side; it routes writes here.

    kind = search.REGISTRY[resource_type]
    context = search.Context(
        request=request,
        token=token,
        check=check_scope(token, resource_type, "r"),
        base_url=request.build_absolute_uri("/fhir/"),
    )
    row = kind.visible(context).filter(kind.by_id(resource_id)).first()
    return kind.render(row, context) if row is not None else None


# -- PUT /fhir/<type>/<id> ----------------------------------------------------------------------


def update(
    request: HttpRequest, token: ApiToken, resource_type: str, resource_id: str
) -> HttpResponse:
    """Withdraw a referral: PUT its ServiceRequest, status revoked, with If-Match: the version."""
    if request.method != "PUT":
        return _outcome(405, [Issue("not-supported", "Update is PUT.")], allow="GET, PUT")
    if resource_type not in UPDATABLE_TYPES:
        return _outcome(
            405,
            [
                Issue(
                    "not-supported",
                    f"{resource_type} cannot be changed through the API; only a ServiceRequest "
                    "can, to withdraw a referral.",
                )
            ],
            allow="GET",
        )
    refused = _check_content_type(request)
    if refused is not None:
        return refused
    if "user" not in check_scope(token, "ServiceRequest", "update").contexts:
        return _outcome(
            403, [Issue("forbidden", "The token lacks the scope user/ServiceRequest.u.")]
        )
    user = token.user
    case = _case_for(user, resource_id)
    if case is None:
        return _outcome(404, [Issue("not-found", f"ServiceRequest/{resource_id} is not known.")])
    if case.created_by_id != user.pk:
        return _outcome(403, [Issue("forbidden", "Only the referrer may change this referral.")])
    if_match = request.headers.get("If-Match")
    if not if_match:
        return _outcome(
            428,
            [
                Issue(
                    "required",
                    f'Send If-Match: W/"<version>" with the version you read (now {case.version}).',
                )
            ],
        )
    match = _ETAG.fullmatch(if_match)
    if match is None:
        return _outcome(400, [Issue("value", 'If-Match must be W/"<version>".')])
    expected = int(match.group("version"))
    try:
        wanted = ServiceRequest.model_validate_json(_read_body(request))
    except Exception as exc:  # noqa: BLE001  pydantic, or anything fhir.resources raises on junk.
        return _outcome(400, _issues_of(exc, "ServiceRequest"))
    if wanted.id is not None and wanted.id != resource_id:
        return _outcome(400, [Issue("invalid", "The body's id is not the id in the URL.")])
    if wanted.status != "revoked":
        return _outcome(
            422,
            [
                Issue(
                    "business-rule",
                    "Only the status can change, to 'revoked', which withdraws the referral. "
                    "Send a new referral for anything else.",
                    "ServiceRequest.status",
                )
            ],
        )
    changed = _other_changes(request, token, case, wanted)
    if changed:
        return _outcome(
            422,
            [
                Issue(
                    "business-rule",
                    f"{name} cannot change; only the status can (to 'revoked').",
                    f"ServiceRequest.{name}",
                )
                for name in changed
            ],
        )
    if expected != case.version:
        return _outcome(
            412,
            [Issue("conflict", "The referral changed since you read it: read it again.")],
        )
    if case.status != CaseStatus.WITHDRAWN:  # Withdrawn already: PUT is idempotent.
        try:
            case = _withdraw(user, case, expected, request)
        except ChangedMeanwhile:
            return _outcome(
                412,
                [Issue("conflict", "The referral changed since you read it: read it again.")],
            )
        except PermissionDenied:
            return _outcome(
                422,
                [
                    Issue(
                        "business-rule",
                        "The clinic has started on this referral; it can no longer be withdrawn. "
                        "Write to the clinic instead.",
                    )
                ],
            )
    resource = _as_read(request, token, "ServiceRequest", str(case.uuid))
    if resource is None:  # A token that may update but not read: the new version only.
        resource = ServiceRequest.model_validate(
            {
                "resourceType": "ServiceRequest",
                "id": str(case.uuid),
                "meta": {"versionId": str(case.version)},
                "status": "revoked",
                "intent": "order",
                "subject": {"reference": f"Patient/{case.patient.uuid}"},
            }
        )
    response = _json(200, resource.model_dump_json())
    response["ETag"] = f'W/"{case.version}"'
    response["Location"] = f"ServiceRequest/{case.uuid}/_history/{case.version}"
    return response


@db_transaction.atomic
def _withdraw(user: User, case: Case, expected: int, request: HttpRequest) -> Case:
    """Withdraw with the version the client read, and log the write through the API."""
    case = case_services.withdraw_case(
        by=user, case=case, expected_version=expected, request=request
    )
    record(
        actor=user,
        action="fhir.servicerequest.update",
        patient=case.patient,
        case=case,
        request=request,
    )
    return case


def _case_for(user: User, resource_id: str) -> Case | None:
    """The case by its uuid, if this person may see it; missing and forbidden look the same."""
    try:
        case_uuid = uuid.UUID(resource_id)
    except ValueError:
        return None
    case = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
    if case is None or not case_policies.can_view_case(user, case):
        return None
    return case


# What a PUT may send differently from what a read shows: the status (to revoked), and what the
# server sets itself.
_MAY_DIFFER = frozenset({"resourceType", "id", "meta", "text", "status"})


def _other_changes(
    request: HttpRequest, token: ApiToken, case: Case, wanted: ServiceRequest
) -> list[str]:
    """Elements the client sent with a value other than a read shows (left out is unchanged)."""
    current = _as_read(request, token, "ServiceRequest", str(case.uuid))
    if current is None:
        known: dict[str, Any] = {
            "intent": "order",
            "subject": {"reference": f"Patient/{case.patient.uuid}"},
        }
    else:
        known = json.loads(current.model_dump_json())
    sent = json.loads(wanted.model_dump_json())
    return sorted(
        name
        for name, value in sent.items()
        if name not in _MAY_DIFFER and (name not in known or _differs(value, known[name]))
    )


def _differs(sent: Any, known: Any) -> bool:
    """Whether a sent value says something else than the read one (a display text left out or
    spelled differently changes nothing: references are compared by what they point to)."""
    if isinstance(sent, dict) and isinstance(known, dict):
        keys = set(sent) - {"display"}
        return any(key not in known or _differs(sent[key], known[key]) for key in keys)
    if isinstance(sent, list) and isinstance(known, list):
        return len(sent) != len(known) or any(map(_differs, sent, known))
    return bool(sent != known)


# -- shared -------------------------------------------------------------------------------------


def _check_content_type(request: HttpRequest) -> HttpResponse | None:
    content_type = (request.content_type or "").lower()
    if content_type in _JSON_TYPES:
        return None
    return _outcome(
        415,
        [Issue("not-supported", "Send the body as application/fhir+json.")],
    )


def _read_body(request: HttpRequest) -> bytes:
    """The body, read from the stream: a referral with photos is larger than Django's limit for
    `request.body` (DATA_UPLOAD_MAX_MEMORY_SIZE); RequestSizeLimitMiddleware has capped it."""
    if getattr(request, "_body", None) is not None:
        return request.body
    limit = getattr(settings, "TELEDERM_MAX_REQUEST_BYTES", settings.TELEDERM_PHOTO_MAX_BYTES)
    data = request.read(limit + 1)
    request._body = data  # Later readers see the same bytes.
    return data


def _issues_of(exc: Exception, resource_type: str) -> list[Issue]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return [
                Issue(
                    "structure",
                    f"{resource_type}{_path(error.get('loc', ()))}: {error.get('msg', '')}",
                    f"{resource_type}{_path(error.get('loc', ()))}",
                )
                for error in errors()
            ] or [Issue("structure", f"Not a valid {resource_type}.")]
        except Exception:  # noqa: BLE001  Fall through to the plain message.
            logger.debug("could not list the validation errors of %s", resource_type)
    return [Issue("structure", f"Not a valid {resource_type}: {str(exc)[:300]}")]


def _path(loc: Sequence[Any]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _outcome(status: int, issues: Sequence[Issue], *, allow: str = "") -> HttpResponse:
    """An OperationOutcome with an issue per problem, built as R4B so it parses by construction."""
    severity = "error" if status >= 400 else "information"
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                _without_none(
                    {
                        "severity": severity,
                        "code": issue.code,
                        "diagnostics": issue.text,
                        "expression": [issue.location] if issue.location else None,
                    }
                )
                for issue in issues
            ]
            or [{"severity": severity, "code": "processing"}],
        }
    )
    response = _json(status, outcome.model_dump_json())
    if allow:
        response["Allow"] = allow
    return response


def _json(status: int, content: str) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    response["Vary"] = "Authorization"
    return response


def _without_none(value: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _without_none(item) if isinstance(item, dict) else item
        for key, item in value.items()
        if item is not None
    }
