"""A stand-in for Norsk Helsenett's message service and HelseID, on loopback, for tests and demos.

NHN is out of reach from development machines, so the client is tested against this: a real HTTP
server (stdlib, in a thread) that speaks what msh-api-v2.json describes, with its JSON shapes and
status codes, behind a HelseID-like token endpoint that checks what HelseID checks:

- POST /connect/token: client credentials with a `private_key_jwt` client assertion (signature
  with the registered public key, audience, expiry, replay) and a DPoP proof (signature with the
  embedded key, htm/htu, freshness, replay, nonce when asked); issues a DPoP-bound token.
- The API: `Authorization: DPoP <token>` plus a fresh proof whose `ath` hashes the token and whose
  key is the one the token is bound to (`cnf.jkt`); `api-version` and `nhn-source-system` headers.
- Request bodies are validated against the OpenAPI request schemas; business documents against
  the KITH schemas (`telederm.interop.kith.schemas.validate`). A bad one gets 400 with the
  ErrorMessage shape, as NHN answers.

    with standin.serve() as nhn:
        transport = nhn.transport()            # an NhnTransport for our HER-id
        transport.send(Outgoing(...))
        nhn.documents_for(gp_her_id)           # what the GP's system would fetch
        nhn.deliver(xml, sender_her_id=..., receiver_her_id=nhn.her_id)  # a GP writes to us

Fault knobs for tests: `fail_next(n, status=503)`, `drop_after_store(n)` (store the message, then
close the connection without an answer: the lost response of ADR 0025), `delay` (slow answers),
`require_token_nonce` / `require_api_nonce` (DPoP nonces), `token_lifetime`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import jsonschema_rs
import jwt
from lxml import etree

from telederm.interop.transports.nhn.helseid import (
    CLIENT_ASSERTION_TYPE,
    DEFAULT_SCOPE,
    SigningKey,
    access_token_hash,
    jwk_thumbprint,
)

OPENAPI_PATH = Path(__file__).with_name("msh-api-v2.json")
APPREC_NS = "http://www.kith.no/xmlstds/apprec/2012-02-15"
OSLO = ZoneInfo("Europe/Oslo")
# How far a proof's or assertion's `iat` may be from our clock (HelseID allows little skew).
CLOCK_SKEW_SECONDS = 60
PROOF_ALGORITHMS = ["ES256", "ES384", "RS256", "PS256"]
INT32_MAX = 2**31 - 1
APPREC_STATUS_CODES = {
    "Ok": ("1", "OK"),
    "Rejected": ("2", "Avvist"),
    "OkErrorInMessagePart": ("3", "OK, feil i delmelding"),
}
UUID_RE = r"(?P<id>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/Messages$"), "list_messages"),
    ("POST", re.compile(r"^/Messages$"), "post_message"),
    ("GET", re.compile(rf"^/Messages/{UUID_RE}$"), "get_message"),
    ("GET", re.compile(rf"^/Messages/{UUID_RE}/business-document$"), "get_document"),
    ("GET", re.compile(rf"^/Messages/{UUID_RE}/status$"), "get_status"),
    ("GET", re.compile(rf"^/Messages/{UUID_RE}/apprec$"), "get_apprec"),
    ("POST", re.compile(rf"^/Messages/{UUID_RE}/apprec/(?P<her>[^/]+)$"), "post_apprec"),
    ("PUT", re.compile(rf"^/Messages/{UUID_RE}/read/(?P<her>[^/]+)$"), "mark_read"),
]


class ApiError(Exception):
    """An answer in NHN's ErrorMessage shape."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        code: int = 0,
        validation_errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.validation_errors = validation_errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "errorCode": self.code,
            "validationErrors": self.validation_errors,
            "stackTrace": None,
            "requestId": str(uuid.uuid4()),
        }


class OAuthError(Exception):
    def __init__(self, error: str, description: str = "", headers: dict[str, str] | None = None):
        super().__init__(error)
        self.error = error
        self.description = description
        self.headers = headers or {}


@dataclass
class Client:
    """A client registered in the stand-in's HelseID, acting for some HER-ids at NHN."""

    client_id: str
    public_jwk: dict[str, Any]
    her_ids: frozenset[int]


@dataclass
class Receipt:
    """One receiver's view of a message: read or not, and the AppRec it sent back."""

    read: bool = False
    apprec_status: str | None = None
    apprec_errors: list[dict[str, Any]] | None = None


@dataclass
class StoredMessage:
    id: str
    sender_her_id: int
    document: bytes = field(repr=False)
    msg_id: str
    msg_type: str
    gen_date: str
    is_apprec: bool
    receipts: dict[int, Receipt]
    content_type: str = "application/xml"
    stored_at: float = field(default_factory=time.time)

    def as_json(self, receiver: int, *, metadata: bool = True) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "receiverHerId": receiver}
        if metadata:
            item |= {
                "contentType": self.content_type,
                "senderHerId": self.sender_her_id,
                "businessDocumentId": self.msg_id,
                "businessDocumentGenDate": self.gen_date,
                "isAppRec": self.is_apprec,
            }
        return item


def _default_validate(document: bytes) -> None:
    """The KITH schemas when the kith package offers them, else well-formedness."""
    try:
        from telederm.interop.kith import errors, schemas
    except ImportError:
        _parse(document)
        return
    try:
        schemas.validate(document)
    except errors.InvalidMessage as exc:
        problems = [
            f"{getattr(p, 'code', '')} {getattr(p, 'text', '')} {getattr(p, 'details', '')}".strip()
            for p in getattr(exc, "problems", [])
        ]
        raise ApiError(
            400,
            "The business document is not valid",
            code=1000,
            validation_errors=problems or [str(exc)],
        ) from exc


def _parse(document: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ApiError(
            400,
            "The business document is not well-formed XML",
            code=1000,
            validation_errors=[str(exc)],
        ) from exc


def _openapi_validators() -> dict[str, Any]:
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    components = _json_schema(spec["components"])
    validators = {}
    for name in ("PostMessageRequest", "PostAppRecRequest"):
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        validators[name] = jsonschema_rs.Draft4Validator(schema, validate_formats=False)
    return validators


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes "or null"."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _json_schema(v) for k, v in node.items() if k not in {"nullable", "example"}}
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if _local(c) == name]


def _child(element: Any, name: str) -> Any:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: Any, name: str) -> str:
    found = _child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _her_of(element: Any) -> int | None:
    """The HER-id among a MsgHead element's Ident children (or an AppRec Inst/Dept/HCPerson)."""
    for ident in _children(element, "Ident"):
        type_id = _child(ident, "TypeId")
        if type_id is not None and type_id.get("V") == "HER" and _text(ident, "Id").isdigit():
            return int(_text(ident, "Id"))
    type_id = _child(element, "TypeId")
    if type_id is not None and type_id.get("V") == "HER" and _text(element, "Id").isdigit():
        return int(_text(element, "Id"))
    return None


@dataclass(frozen=True)
class _PartyInfo:
    her_ids: list[int]
    """All HER-ids named, outermost first; the last is the most specific."""
    names: list[tuple[str, int | None]]


def _party(element: Any) -> _PartyInfo:
    """HER-ids and names of a MsgHead Sender/Receiver or an AppRec Sender/Receiver."""
    her_ids: list[int] = []
    names: list[tuple[str, int | None]] = []
    if element is None:
        return _PartyInfo([], [])
    node = _child(element, "Organisation")
    if node is not None:  # MsgHead
        while node is not None:
            her = _her_of(node)
            names.append((_text(node, "OrganisationName"), her))
            if her is not None:
                her_ids.append(her)
            for person in _children(node, "HealthcareProfessional"):
                person_her = _her_of(person)
                if person_her is not None:
                    her_ids.append(person_her)
            node = _child(node, "Organisation")
        return _PartyInfo(her_ids, names)
    inst = _child(_child(element, "HCP") if _child(element, "HCP") is not None else element, "Inst")
    if inst is not None:  # AppRec
        for part in [inst, *_children(inst, "Dept"), *_children(inst, "HCPerson")]:
            her = _her_of(part)
            if part is not inst and _local(part) == "HCPerson":
                if her is not None:
                    her_ids.append(her)
                continue
            names.append((_text(part, "Name"), her))
            if her is not None:
                her_ids.append(her)
    return _PartyInfo(her_ids, names)


@dataclass(frozen=True)
class _DocumentInfo:
    msg_id: str
    msg_type: str
    gen_date: str
    is_apprec: bool
    sender: _PartyInfo
    receiver: _PartyInfo


def _read_document(document: bytes) -> _DocumentInfo:
    root = _parse(document)
    if _local(root) == "AppRec":
        head = root
        msg_type = _child(root, "MsgType")
        msg_id = _text(root, "Id")
    elif _local(root) == "MsgHead" and _child(root, "MsgInfo") is not None:
        head = _child(root, "MsgInfo")
        msg_type = _child(head, "Type")
        msg_id = _text(head, "MsgId")
    else:
        raise ApiError(400, "The business document is neither a MsgHead nor an AppRec", code=1000)
    return _DocumentInfo(
        msg_id=msg_id,
        msg_type=msg_type.get("V", "") if msg_type is not None else "",
        gen_date=_gen_date(_text(head, "GenDate")),
        is_apprec=_local(root) == "AppRec",
        sender=_party(_child(head, "Sender")),
        receiver=_party(_child(head, "Receiver")),
    )


def _gen_date(text: str) -> str:
    """KITH writes local time without an offset; the API says date-time, so we add Oslo's."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = dt.datetime.now(OSLO)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=OSLO)
    return moment.isoformat()


class StandIn:
    """The running stand-in: its address, registered clients, messages and fault knobs."""

    def __init__(
        self,
        *,
        her_id: int,
        client_id: str,
        client_key: SigningKey,
        scope: str,
        validate: Callable[[bytes], None],
        token_lifetime: int,
    ) -> None:
        self.her_id = her_id
        self.client_id = client_id
        self.client_key = client_key
        self.scope = scope
        self.validate = validate
        self.token_lifetime = token_lifetime
        self.url = ""
        self.token_url = ""
        self.issuer = ""
        self.clients: dict[str, Client] = {}
        self.messages: dict[str, StoredMessage] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.seen_jti: set[str] = set()
        self.token_requests = 0
        self.calls: list[tuple[str, str, int]] = []
        self.delay = 0.0
        self.require_token_nonce = False
        self.require_api_nonce = False
        self.nonce = secrets.token_urlsafe(16)
        self.clock: Callable[[], float] = time.time
        self._failures: list[int] = []
        self._drops = 0
        self._transports: list[Any] = []
        self._lock = threading.RLock()
        self._validators = _openapi_validators()
        self.register_client(client_id, client_key.public_jwk, her_ids=[her_id])

    # Set-up and inspection ----------------------------------------------------------------

    def register_client(
        self, client_id: str, public_jwk: dict[str, Any] | None = None, *, her_ids: list[int]
    ) -> SigningKey | None:
        """Register a client (the public half of its key) acting for `her_ids`; without a key,
        one is made and its private half returned (e.g. a GP's system in a test)."""
        key = None
        if public_jwk is None:
            key = SigningKey.generate("RSA")
            public_jwk = key.public_jwk
        self.clients[client_id] = Client(client_id, dict(public_jwk), frozenset(her_ids))
        return key

    def transport(
        self,
        *,
        her_id: int | None = None,
        client_id: str | None = None,
        key: SigningKey | None = None,
        **kwargs: Any,
    ) -> Any:
        """An NhnTransport wired to this stand-in (our client unless told otherwise)."""
        from telederm.interop.transports.nhn.client import NhnTransport
        from telederm.interop.transports.nhn.helseid import HelseIdClient

        helseid = HelseIdClient(
            token_url=self.token_url,
            client_id=client_id or self.client_id,
            client_key=key or self.client_key,
            scope=self.scope,
        )
        transport = NhnTransport(
            base_url=self.url,
            her_id=her_id or self.her_id,
            helseid=helseid,
            source_system="Telederm test",
            **kwargs,
        )
        self._transports.append(transport)
        return transport

    def write_key_file(self, path: str | Path) -> Path:
        """Write our client's private JWK, as an operator would for TELEDERM_HELSEID_KEY_FILE."""
        path = Path(path)
        path.write_text(json.dumps(self.client_key.private_jwk()), encoding="utf-8")
        path.chmod(0o600)
        return path

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next `count` API calls answer `status` without doing anything."""
        with self._lock:
            self._failures.extend([status] * count)

    def drop_after_store(self, count: int = 1) -> None:
        """The next `count` sends store the message, then hang up without an answer."""
        with self._lock:
            self._drops += count

    def deliver(
        self, document: bytes, *, sender_her_id: int, receiver_her_id: int | None = None
    ) -> str:
        """Put a message in a receiver's mailbox (default: ours) as if another system sent it."""
        info = _read_document(document)
        return self._store(document, info, sender_her_id, [receiver_her_id or self.her_id])

    def messages_for(self, her_id: int, *, unread_only: bool = False) -> list[StoredMessage]:
        with self._lock:
            return [
                m
                for m in sorted(self.messages.values(), key=lambda m: m.stored_at)
                if her_id in m.receipts and not (unread_only and m.receipts[her_id].read)
            ]

    def documents_for(self, her_id: int) -> list[bytes]:
        return [m.document for m in self.messages_for(her_id)]

    def message(self, message_id: str) -> StoredMessage:
        return self.messages[message_id]

    # Internals ----------------------------------------------------------------------------

    def _store(
        self, document: bytes, info: _DocumentInfo, sender: int, receivers: list[int]
    ) -> str:
        message_id = str(uuid.uuid4())
        with self._lock:
            self.messages[message_id] = StoredMessage(
                id=message_id,
                sender_her_id=sender,
                document=document,
                msg_id=info.msg_id,
                msg_type=info.msg_type,
                gen_date=info.gen_date,
                is_apprec=info.is_apprec,
                receipts={her: Receipt() for her in receivers},
            )
        return message_id

    def _fresh_jti(self, jti: Any) -> None:
        with self._lock:
            if not isinstance(jti, str) or not jti or jti in self.seen_jti:
                raise ValueError("jti missing or replayed")
            self.seen_jti.add(jti)

    def _verify_proof(
        self, proof: str | None, method: str, url: str, *, token: str | None, nonce_required: bool
    ) -> str:
        """Check a DPoP proof; return its key's thumbprint. ValueError says what is wrong."""
        if not proof:
            raise ValueError("DPoP proof missing")
        header = jwt.get_unverified_header(proof)
        jwk = header.get("jwk")
        if header.get("typ") != "dpop+jwt" or header.get("alg") not in PROOF_ALGORITHMS:
            raise ValueError("not a DPoP proof (typ/alg)")
        if not isinstance(jwk, dict) or "d" in jwk:
            raise ValueError("the proof must carry a public jwk")
        key = jwt.PyJWK(jwk, algorithm=header["alg"]).key
        claims = jwt.decode(
            proof,
            key,
            algorithms=[header["alg"]],
            options={
                "require": ["iat", "jti", "htm", "htu"],
                "verify_aud": False,
                "verify_iat": False,
                "verify_exp": False,
                "verify_nbf": False,
            },
        )
        if claims["htm"] != method or claims["htu"] != url:
            raise ValueError("htm/htu do not match the request")
        if abs(self.clock() - float(claims["iat"])) > CLOCK_SKEW_SECONDS:
            raise ValueError("the proof is not fresh")
        if token is not None and claims.get("ath") != access_token_hash(token):
            raise ValueError("ath does not match the access token")
        if nonce_required and claims.get("nonce") != self.nonce:
            raise _NonceNeeded
        self._fresh_jti(claims["jti"])
        return jwk_thumbprint(jwk)

    # The token endpoint -------------------------------------------------------------------

    def token(self, form: dict[str, str], dpop: str | None) -> dict[str, Any]:
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError("invalid_client", "private_key_jwt is required")
        assertion = form.get("client_assertion", "")
        try:
            client_id = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_client", "the client assertion is not a JWT") from exc
        client = self.clients.get(client_id)
        if client is None or form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_client", "unknown client")
        try:
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(client.public_jwk).key,
                algorithms=["RS256", "PS256", "ES256"],
                audience=[self.token_url, self.issuer],
                issuer=client_id,
                # Times are checked below against the stand-in's clock, which tests can move.
                options={
                    "require": ["exp", "iat", "jti", "iss", "sub", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            now = self.clock()
            if claims["sub"] != client_id or claims["exp"] - claims["iat"] > 120:
                raise ValueError("sub or lifetime wrong")
            if not claims["iat"] - CLOCK_SKEW_SECONDS <= now <= claims["exp"] + CLOCK_SKEW_SECONDS:
                raise ValueError("the assertion is expired or not yet valid")
            self._fresh_jti(claims["jti"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise OAuthError("invalid_client", f"client assertion refused: {exc}") from exc
        try:
            jkt = self._verify_proof(
                dpop, "POST", self.token_url, token=None, nonce_required=self.require_token_nonce
            )
        except _NonceNeeded as exc:
            raise OAuthError("use_dpop_nonce", "", {"DPoP-Nonce": self.nonce}) from exc
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise OAuthError("invalid_dpop_proof", str(exc)) from exc
        requested = set(form.get("scope", "").split())
        if not requested or not requested <= {self.scope}:
            raise OAuthError("invalid_scope")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = {
                "client_id": client_id,
                "jkt": jkt,
                "exp": self.clock() + self.token_lifetime,
            }
        return {
            "access_token": token,
            "token_type": "DPoP",
            "expires_in": self.token_lifetime,
            "scope": self.scope,
        }

    # The API ------------------------------------------------------------------------------

    def authenticate(self, method: str, url: str, headers: Any) -> Client:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        grant = self.tokens.get(token) if scheme == "DPoP" else None
        if grant is None or grant["exp"] <= self.clock():
            raise ApiError(
                401,
                "Invalid or expired access token",
                headers={"WWW-Authenticate": 'DPoP error="invalid_token"'},
            )
        try:
            jkt = self._verify_proof(
                headers.get("DPoP"), method, url, token=token, nonce_required=self.require_api_nonce
            )
        except _NonceNeeded as exc:
            raise ApiError(
                401,
                "DPoP nonce required",
                headers={
                    "WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                    "DPoP-Nonce": self.nonce,
                },
            ) from exc
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise ApiError(
                401,
                f"Invalid DPoP proof: {exc}",
                headers={"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'},
            ) from exc
        if jkt != grant["jkt"]:
            raise ApiError(
                401,
                "The proof's key is not the token's",
                headers={"WWW-Authenticate": 'DPoP error="invalid_token"'},
            )
        return self.clients[grant["client_id"]]

    def _find(self, client: Client, message_id: str) -> StoredMessage:
        try:
            uuid.UUID(message_id)
        except ValueError as exc:
            raise ApiError(400, f"The value '{message_id}' is not a valid Guid", code=1000) from exc
        message = self.messages.get(message_id)
        if message is None:
            raise ApiError(404, "Could not find database document")
        if not (client.her_ids & ({message.sender_her_id} | set(message.receipts))):
            raise ApiError(403, f"Not authorized for message {message_id}")
        return message

    def _validate_body(self, schema: str, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["The body is not JSON"],
            ) from exc
        problems = [e.message for e in self._validators[schema].iter_errors(data)]
        if problems:
            raise ApiError(
                400, "Model validation error occurred", code=1000, validation_errors=problems
            )
        assert isinstance(data, dict)
        return data

    def list_messages(
        self, client: Client, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        receivers = _ints(query.get("ReceiverHerIds", []), "ReceiverHerIds")
        if not receivers:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["ReceiverHerIds is required"],
            )
        if len(set(receivers)) != len(receivers):
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["ReceiverHerIds must be unique"],
            )
        sender = _ints(query.get("SenderHerId", [])[:1], "SenderHerId")
        count = _ints(query.get("MessagesToFetch", ["10"])[:1], "MessagesToFetch")[0]
        if not 1 <= count <= 100:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["MessagesToFetch must be between 1 and 100"],
            )
        metadata = _bool(query.get("IncludeMetadata", ["false"])[0])
        order = query.get("OrderBy", ["Ascending"])[0]
        if order not in {"Ascending", "Descending", "1", "2"}:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["OrderBy is Ascending or Descending"],
            )
        document_id = query.get("BusinessDocumentId", [None])[0]
        if document_id is not None and len(document_id) > 100:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["BusinessDocumentId is too long"],
            )
        refused = [her for her in receivers if her not in client.her_ids]
        if refused:
            raise ApiError(403, "Not authorized for HerId(s): " + ", ".join(map(str, refused)))
        found = []
        for her in receivers:
            for message in self.messages_for(her, unread_only=True):
                if sender and message.sender_her_id != sender[0]:
                    continue
                if document_id is not None and message.msg_id != document_id:
                    continue
                found.append((message, her))
        found.sort(
            key=lambda pair: (pair[0].gen_date, pair[0].stored_at),
            reverse=order in {"Descending", "2"},
        )
        return 200, [m.as_json(her, metadata=metadata) for m, her in found[:count]]

    def post_message(
        self, client: Client, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        data = self._validate_body("PostMessageRequest", body)
        if data["contentTransferEncoding"].lower() != "base64":
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["ContentTransferEncoding must be base64"],
            )
        if "xml" not in data["contentType"].lower():
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["ContentType must be XML"],
            )
        try:
            document = base64.b64decode(data["businessDocument"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["BusinessDocument is not base64"],
            ) from exc
        first_line = document.lstrip().split(b"\n", 1)[0].lower().replace(b"'", b'"')
        if not first_line.startswith(b"<?xml") or b'encoding="utf-8"' not in first_line:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=[
                    "The business document must declare UTF-8 encoding on its first line"
                ],
            )
        info = _read_document(document)
        self.validate(document)
        senders = set(info.sender.her_ids) & client.her_ids
        if not senders:
            raise ApiError(
                403, "Not authorized for HerId(s): " + ", ".join(map(str, info.sender.her_ids))
            )
        named = info.receiver.her_ids
        subset = data.get("receiverHerIdsSubset")
        if subset:
            unknown = [her for her in subset if her not in named]
            if unknown:
                raise ApiError(
                    400,
                    "Model validation error occurred",
                    code=1000,
                    validation_errors=[
                        f"Receiver {her} is not in the business document" for her in unknown
                    ],
                )
            receivers = list(dict.fromkeys(subset))
        elif named:
            receivers = [named[-1]]
        else:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["The business document names no receiver HER-id"],
            )
        sender = (
            info.sender.her_ids[-1]
            if info.sender.her_ids[-1] in client.her_ids
            else sorted(senders)[0]
        )
        return 201, self._store(document, info, sender, receivers)

    def get_message(self, client: Client, message_id: str) -> tuple[int, Any]:
        message = self._find(client, message_id)
        receiver = next(
            (h for h in message.receipts if h in client.her_ids), next(iter(message.receipts))
        )
        return 200, message.as_json(receiver)

    def get_document(self, client: Client, message_id: str) -> tuple[int, Any]:
        message = self._find(client, message_id)
        return 200, {
            "businessDocument": base64.b64encode(message.document).decode("ascii"),
            "contentType": message.content_type,
            "contentTransferEncoding": "base64",
        }

    def get_status(self, client: Client, message_id: str) -> tuple[int, Any]:
        message = self._find(client, message_id)
        return 200, [
            {
                "receiverHerId": her,
                "transportDeliveryState": "Acknowledged" if receipt.read else "Unconfirmed",
                "appRecStatus": receipt.apprec_status,
            }
            for her, receipt in message.receipts.items()
        ]

    def get_apprec(self, client: Client, message_id: str) -> tuple[int, Any]:
        message = self._find(client, message_id)
        return 200, [
            {
                "receiverHerId": her,
                "appRecStatus": receipt.apprec_status,
                "appRecErrorList": receipt.apprec_errors,
            }
            for her, receipt in message.receipts.items()
        ]

    def post_apprec(
        self, client: Client, message_id: str, her: str, body: bytes
    ) -> tuple[int, Any]:
        her_id = _her_path(her)
        message = self._find(client, message_id)
        data = self._validate_body("PostAppRecRequest", body)
        if her_id not in client.her_ids:
            raise ApiError(403, f"Not authorized for HerId(s): {her_id}")
        receipt = message.receipts.get(her_id)
        if receipt is None:
            raise ApiError(404, f"HerId {her_id} is not a receiver of message {message_id}")
        if message.is_apprec:
            raise ApiError(400, "An application receipt is not answered with one", code=1000)
        if receipt.apprec_status is not None:
            raise ApiError(
                400, "An application receipt has already been sent for this message", code=1000
            )
        errors = data.get("appRecErrorList") or []
        if data["appRecStatus"] != "Ok" and not errors:
            raise ApiError(
                400,
                "Model validation error occurred",
                code=1000,
                validation_errors=["A rejection needs at least one error"],
            )
        document = build_apprec(
            message, her_id, data["appRecStatus"], errors, at=dt.datetime.now(OSLO)
        )
        with self._lock:
            receipt.apprec_status = data["appRecStatus"]
            receipt.apprec_errors = errors or None
        return 201, self._store(document, _read_document(document), her_id, [message.sender_her_id])

    def mark_read(self, client: Client, message_id: str, her: str) -> tuple[int, Any]:
        her_id = _her_path(her)
        message = self._find(client, message_id)
        if her_id not in client.her_ids:
            raise ApiError(403, f"Not authorized for HerId(s): {her_id}")
        receipt = message.receipts.get(her_id)
        if receipt is None:
            raise ApiError(404, f"HerId {her_id} is not a receiver of message {message_id}")
        with self._lock:
            receipt.read = True
        return 204, None

    def take_fault(self) -> int | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def take_drop(self) -> bool:
        with self._lock:
            if self._drops:
                self._drops -= 1
                return True
            return False


class _NonceNeeded(Exception):
    pass


def _ints(values: list[str], name: str) -> list[int]:
    result = []
    for value in values:
        for part in value.split(","):
            try:
                number = int(part)
            except ValueError as exc:
                raise ApiError(
                    400,
                    "Model validation error occurred",
                    code=1000,
                    validation_errors=[f"The value '{part}' is not valid for {name}"],
                ) from exc
            if not -(2**31) <= number <= INT32_MAX:
                raise ApiError(
                    400,
                    "Model validation error occurred",
                    code=1000,
                    validation_errors=[f"The value '{part}' is not valid for {name}"],
                )
            result.append(number)
    return result


def _bool(value: str) -> bool:
    if value.lower() not in {"true", "false"}:
        raise ApiError(
            400,
            "Model validation error occurred",
            code=1000,
            validation_errors=[f"The value '{value}' is not a boolean"],
        )
    return value.lower() == "true"


def _her_path(value: str) -> int:
    number = _ints([value], "herId")[0] if value.lstrip("-").isdigit() else 0
    if not 1 <= number <= INT32_MAX:
        raise ApiError(
            400,
            "Model validation error occurred",
            code=1000,
            validation_errors=[f"The value '{value}' is not a valid HER-id"],
        )
    return number


def build_apprec(
    message: StoredMessage,
    sender_her_id: int,
    status: str,
    errors: list[dict[str, Any]],
    *,
    at: dt.datetime,
) -> bytes:
    """The AppRec 1.1 NHN writes for POST /Messages/{id}/apprec/{herId}: from the receiver
    (`sender_her_id`) back to the message's sender, about the message's MsgId."""
    info = _read_document(message.document)
    ns = f"{{{APPREC_NS}}}"

    def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        element = etree.SubElement(parent, ns + tag, {k: v for k, v in attrs.items() if v})
        if text is not None:
            element.text = text
        return element

    def party(
        parent: Any, tag: str, names: list[tuple[str, int | None]], fallback_her: int
    ) -> None:
        inst = sub(sub(sub(parent, tag), "HCP"), "Inst")
        organisation = names[0] if names else ("", fallback_her)
        sub(inst, "Name", organisation[0] or str(organisation[1] or fallback_her))
        sub(inst, "Id", str(organisation[1] or fallback_her))
        sub(inst, "TypeId", V="HER", DN="HER-id")
        for name, her in names[1:]:
            dept = sub(inst, "Dept")
            sub(dept, "Name", name or str(her))
            if her is not None:
                sub(dept, "Id", str(her))
                sub(dept, "TypeId", V="HER", DN="HER-id")

    root = etree.Element(ns + "AppRec", nsmap={None: APPREC_NS})
    sub(root, "MsgType", V="APPREC", DN="Applikasjonskvittering")
    sub(root, "MIGversion", "v1.1 2012-02-15")
    sub(root, "GenDate", at.replace(microsecond=0, tzinfo=None).isoformat())
    sub(root, "Id", str(uuid.uuid4()))
    party(root, "Sender", info.receiver.names, sender_her_id)
    party(root, "Receiver", info.sender.names, message.sender_her_id)
    code, text = APPREC_STATUS_CODES[status]
    sub(root, "Status", V=code, DN=text)
    for error in errors:
        sub(
            root,
            "Error",
            V=error.get("errorCode") or "X99",
            DN=error.get("details") or "",
            S="2.16.578.1.12.4.1.1.8221",
            OT=error.get("description") or "",
        )
    original = sub(root, "OriginalMsgId")
    sub(original, "MsgType", V=message.msg_type)
    sub(
        original,
        "IssueDate",
        dt.datetime.fromisoformat(message.gen_date).replace(tzinfo=None).isoformat(),
    )
    sub(original, "Id", message.msg_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "NHN-stand-in/2"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `standin.calls` instead."""

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if standin.delay:
                time.sleep(standin.delay)
            if parts.path == "/connect/token":
                self._token(method, body)
                return
            status, payload, headers = self._api(
                method, parts.path, parse_qs(parts.query, keep_blank_values=True), body
            )
            standin.calls.append((method, parts.path, status))
            if status == -1:  # the lost response: stored, then hang up
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._send(status, payload, headers)

        def _api(
            self, method: str, path: str, query: dict[str, list[str]], body: bytes
        ) -> tuple[int, Any, dict[str, str]]:
            try:
                client = standin.authenticate(method, standin.url + path, self.headers)
                fault = standin.take_fault()
                if fault is not None:
                    raise ApiError(fault, "Service unavailable (stand-in fault injection)")
                for header in ("api-version", "nhn-source-system"):
                    if not (self.headers.get(header) or "").strip():
                        raise ApiError(
                            400,
                            "Model validation error occurred",
                            code=1000,
                            validation_errors=[f"The {header} header is required"],
                        )
                if self.headers.get("api-version", "").strip() not in {"2", "2.0"}:
                    raise ApiError(
                        400,
                        "Unsupported api-version",
                        code=1000,
                        validation_errors=["api-version must be 2"],
                    )
                for route_method, pattern, name in ROUTES:
                    match = pattern.match(path)
                    if match is None:
                        continue
                    if route_method != method:
                        continue
                    handler = getattr(standin, name)
                    if name in {"list_messages", "post_message"}:
                        status, payload = handler(client, query, body)
                    elif name == "post_apprec":
                        status, payload = handler(client, match["id"], match["her"], body)
                    elif name == "mark_read":
                        status, payload = handler(client, match["id"], match["her"])
                    else:
                        status, payload = handler(client, match["id"])
                    if name == "post_message" and standin.take_drop():
                        return -1, None, {}
                    headers = (
                        {"Location": f"{standin.url}/Messages/{payload}"} if status == 201 else {}
                    )
                    return status, payload, headers
                raise ApiError(404, "No such resource")
            except ApiError as exc:
                return exc.status, exc.body(), exc.headers

        def _token(self, method: str, body: bytes) -> None:
            if method != "POST":
                self._send(405, {"error": "invalid_request"}, {})
                return
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            try:
                self._send(
                    200,
                    standin.token(form, self.headers.get("DPoP")),
                    {"Cache-Control": "no-store"},
                )
            except OAuthError as exc:
                self._send(
                    400, {"error": exc.error, "error_description": exc.description}, exc.headers
                )

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = b"" if status == 204 else json.dumps(payload).encode("utf-8")
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextlib.contextmanager
def serve(
    *,
    her_id: int = 8142519,
    client_id: str = "telederm-test-client",
    client_key: SigningKey | None = None,
    scope: str = DEFAULT_SCOPE,
    validate: Callable[[bytes], None] | None = None,
    token_lifetime: int = 300,
) -> Iterator[StandIn]:
    """Run the stand-in on 127.0.0.1 (a free port) until the block ends.

    Our client (`client_id`, acting for `her_id`) is registered with `client_key`'s public half,
    or with a key made here (`standin.client_key`). `validate` checks business documents
    (default: the KITH schemas, or well-formedness until they exist)."""
    standin = StandIn(
        her_id=her_id,
        client_id=client_id,
        client_key=client_key or SigningKey.generate("RSA"),
        scope=scope,
        validate=validate or _default_validate,
        token_lifetime=token_lifetime,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    standin.url = f"http://{host!s}:{port}"
    standin.token_url = f"{standin.url}/connect/token"
    standin.issuer = standin.url
    thread = threading.Thread(target=server.serve_forever, name="nhn-standin", daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        for transport in standin._transports:
            transport.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def digest(document: bytes) -> str:
    """SHA-256 of a document, for tests that compare what was sent with what arrived."""
    return hashlib.sha256(document).hexdigest()
