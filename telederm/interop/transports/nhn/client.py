"""Norsk Helsenett's message service ("Meldingstjener", EDI 2.0) over its REST API, v2.

The API is described by msh-api-v2.json beside this file (vendored from NHN). We use:

- POST /Messages: send a business document (our MsgHead, base64); NHN returns its id.
- POST /Messages/{id}/apprec/{herId}: answer a message we received with an AppRec; NHN writes
  the AppRec document from the status and errors we give.
- GET /Messages?ReceiverHerIds=...: our unread messages; GET /Messages/{id}/business-document
  fetches one; PUT /Messages/{id}/read/{herId} marks it read once the inbox stored it.
- GET /Messages/{id}/apprec: the receipts for a message (used by `reconcile` for our AppRecs).

Errors: 4xx other than 401/408/429 is permanent (the document or the address is wrong; sending
it again cannot help), 5xx, timeouts and connection errors are not. A send whose request left
but whose answer never came raises `DeliveryInDoubt`: NHN has no idempotency key, so the outbox
must not send it again by itself (ADR 0024, ADR 0025).
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote

import requests
from lxml import etree

from telederm.interop.transports.base import (
    DELIVERED,
    NOT_DELIVERED,
    UNKNOWN,
    Fetched,
    Outgoing,
    Reconciled,
    TransportError,
)
from telederm.interop.transports.nhn.helseid import DEFAULT_SCOPE, HelseIdClient, SigningKey

logger = logging.getLogger(__name__)

API_VERSION = "2"
# POST /Messages takes at most 35 MB; base64 makes the document a third bigger.
MAX_REQUEST_BYTES = 35 * 1024 * 1024
# NHN returns at most 100 messages per GET /Messages.
MAX_FETCH = 100
# AppRec 1.1 Status (kodeverk 8258) → the API's AppRecStatus.
APPREC_STATUS = {"1": "Ok", "2": "Rejected", "3": "OkErrorInMessagePart"}
APPREC_NS = "http://www.kith.no/xmlstds/apprec/2012-02-15"


class DeliveryInDoubt(TransportError):
    """The request went out but its answer did not come back: NHN may or may not hold the
    message. Not permanent, but sending again could deliver a second copy, so the outbox keeps
    the message in doubt until the receiver's AppRec settles it (ADR 0025)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False, in_doubt=True)


class NhnTransport:
    """The `Transport` (transports/base.py) for NHN's message service."""

    name = "nhn"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        her_id: int | None = None,
        helseid: HelseIdClient | None = None,
        source_system: str | None = None,
        session: Any = None,
        timeout: float | tuple[float, float] = (5, 30),
    ) -> None:
        """Anything not given comes from the settings (`NhnTransport()` is the configured one)."""
        if base_url is None or her_id is None or helseid is None or source_system is None:
            configured = _from_settings()
            base_url = configured["base_url"] if base_url is None else base_url
            her_id = configured["her_id"] if her_id is None else her_id
            helseid = configured["helseid"] if helseid is None else helseid
            source_system = configured["source_system"] if source_system is None else source_system
        self.base_url = base_url.rstrip("/")
        self.her_id = her_id
        self.helseid = helseid
        self.source_system = source_system
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> NhnTransport:
        """Built from TELEDERM_NHN_*, TELEDERM_HELSEID_* and TELEDERM_HER_ID."""
        return cls()

    def close(self) -> None:
        """Close the HTTP connections (to NHN and to HelseID)."""
        self.session.close()
        self.helseid.session.close()

    # The Transport protocol ---------------------------------------------------------------

    def prepare(self, message: Outgoing) -> None:
        """Check what NHN would refuse anyway, and get a token: both safe to do twice."""
        if len(message.payload) * 4 // 3 + 1024 > MAX_REQUEST_BYTES:
            raise TransportError("The message is larger than NHN's 35 MB limit", permanent=True)
        if not message.payload.lstrip().startswith(b"<?xml"):
            # NHN requires the UTF-8 declaration on the first line of the business document.
            raise TransportError("The document has no XML declaration", permanent=True)
        self.helseid.access_token()

    def send(self, message: Outgoing) -> str:
        """POST the document (or the AppRec for a received message); return NHN's id."""
        if message.is_apprec and message.in_reply_to_ref:
            status, errors = _apprec_summary(message.payload)
            path = f"/Messages/{quote(message.in_reply_to_ref)}/apprec/{self.her_id}"
            body: dict[str, Any] = {"appRecStatus": status, "appRecErrorList": errors or None}
        else:
            path = "/Messages"
            body = {
                "businessDocument": base64.b64encode(message.payload).decode("ascii"),
                "contentType": "application/xml",
                "contentTransferEncoding": "base64",
                "receiverHerIdsSubset": [message.receiver_her_id],
            }
        response = self._call("POST", path, json=body, sends=True)
        ref = response.json()
        if not isinstance(ref, str) or not ref:
            raise DeliveryInDoubt("NHN accepted the message but returned no id")
        logger.info("nhn: sent %s as %s", message.msg_id, ref)
        return ref

    def reconcile(self, message: Outgoing) -> Reconciled:
        """What NHN can tell us about a send whose answer was lost.

        For a business document: nothing. POST /Messages takes no key of ours, the id NHN gave
        it never reached us, and GET /Messages lists only messages *to* HER-ids we act for, so
        UNKNOWN: the outbox keeps the message in doubt until the receiver's AppRec (which names
        our MsgId) settles it, or an operator does (ADR 0025).

        For an AppRec answering a message we received: GET /Messages/{id}/apprec shows whether
        NHN registered a receipt from us for that message.
        """
        if not (message.is_apprec and message.in_reply_to_ref):
            return UNKNOWN
        try:
            response = self._call("GET", f"/Messages/{quote(message.in_reply_to_ref)}/apprec")
        except TransportError:
            return UNKNOWN
        infos = response.json()
        if not isinstance(infos, list):
            return UNKNOWN
        for info in infos:
            if info.get("receiverHerId") == self.her_id:
                return DELIVERED if info.get("appRecStatus") else NOT_DELIVERED
        return UNKNOWN

    def fetch(self, limit: int = 50) -> list[Fetched]:
        """Our unread messages, oldest first, each with its business document."""
        params: dict[str, Any] = {
            "ReceiverHerIds": [self.her_id],
            "MessagesToFetch": max(1, min(limit, MAX_FETCH)),
            "IncludeMetadata": "true",
            "OrderBy": "Ascending",
        }
        listed = self._call("GET", "/Messages", params=params).json()
        fetched = []
        for item in listed:
            ref = str(item["id"])
            document = self._call("GET", f"/Messages/{quote(ref)}/business-document").json()
            if document.get("contentTransferEncoding", "base64").lower() != "base64":
                raise TransportError(
                    f"NHN sent message {ref} as {document.get('contentTransferEncoding')}"
                )
            fetched.append(Fetched(ref=ref, payload=base64.b64decode(document["businessDocument"])))
        return fetched

    def acknowledge(self, ref: str) -> None:
        """Mark the message read for our HER-id: NHN stops listing it."""
        self._call("PUT", f"/Messages/{quote(ref)}/read/{self.her_id}")

    # HTTP ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, sends: bool = False, **kwargs: Any) -> Any:
        """One API call with HelseID auth; retries once for a DPoP nonce or a refused token
        (both are rejected before the server does anything, so the retry cannot duplicate)."""
        url = self.base_url + path
        for attempt in range(3):
            headers = {
                "api-version": API_VERSION,
                "nhn-source-system": self.source_system,
                "Accept": "application/json",
                **self.helseid.resource_headers(method, url),
            }
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as exc:
                raise _network_error(exc, method, path, sends=sends) from exc
            new_nonce = self.helseid.remember_nonce(url, response)
            if response.status_code == 401 and attempt < 2:
                challenge = response.headers.get("WWW-Authenticate", "")
                if "use_dpop_nonce" in challenge and new_nonce:
                    continue
                if "invalid_token" in challenge and attempt == 0:
                    self.helseid.forget_token()
                    continue
            if response.status_code < 400:
                return response
            raise _http_error(response, method, path)
        raise AssertionError("unreachable")


def _from_settings() -> dict[str, Any]:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    missing = [
        name
        for name in (
            "TELEDERM_NHN_URL",
            "TELEDERM_HELSEID_TOKEN_URL",
            "TELEDERM_HELSEID_CLIENT_ID",
            "TELEDERM_HELSEID_KEY_FILE",
        )
        if not getattr(settings, name, "")
    ]
    if missing:
        raise ImproperlyConfigured(
            "The NHN transport needs "
            + ", ".join(missing)
            + " (docs/runbooks/nhn-message-service.md)"
        )
    try:
        client_key = SigningKey.from_file(settings.TELEDERM_HELSEID_KEY_FILE)
    except (OSError, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"TELEDERM_HELSEID_KEY_FILE must be a readable private JWK (RSA or EC P-256): {exc}"
        ) from exc
    helseid = HelseIdClient(
        token_url=settings.TELEDERM_HELSEID_TOKEN_URL,
        client_id=settings.TELEDERM_HELSEID_CLIENT_ID,
        client_key=client_key,
        scope=getattr(settings, "TELEDERM_HELSEID_SCOPE", "") or DEFAULT_SCOPE,
    )
    return {
        "base_url": settings.TELEDERM_NHN_URL,
        "her_id": int(settings.TELEDERM_HER_ID),
        "helseid": helseid,
        "source_system": settings.TELEDERM_NHN_SOURCE_SYSTEM or "Telederm",
    }


def _network_error(
    exc: requests.RequestException, method: str, path: str, *, sends: bool
) -> TransportError:
    name = exc.__class__.__name__
    # A refused or timed-out connection never carried the request: safe to try again later.
    never_left = isinstance(exc, requests.ConnectTimeout) or _connection_refused(exc)
    if sends and not never_left:
        return DeliveryInDoubt(f"{method} {path}: the answer was lost ({name})")
    return TransportError(f"{method} {path}: NHN could not be reached ({name})")


def _connection_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "NewConnectionError" in repr(seen):
            return True
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
    return False


def _http_error(response: Any, method: str, path: str) -> TransportError:
    status = response.status_code
    detail = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = str(body.get("error") or "")
        if body.get("validationErrors"):
            detail += ": " + "; ".join(str(e) for e in body["validationErrors"])
    permanent = 400 <= status < 500 and status not in (401, 408, 429)
    return TransportError(
        f"{method} {path}: NHN answered {status} {detail}".strip(), permanent=permanent
    )


def _apprec_summary(payload: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Status and errors of our AppRec document, as PostAppRecRequest wants them."""
    try:
        root = etree.fromstring(payload, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise TransportError(f"The AppRec is not XML: {exc}", permanent=True) from exc
    ns = {"a": APPREC_NS}
    status_el = root.find("a:Status", ns)
    status = APPREC_STATUS.get(status_el.get("V", "") if status_el is not None else "")
    if status is None:
        raise TransportError("The AppRec has no known status", permanent=True)
    errors = [
        {
            "errorCode": error.get("V", ""),
            "details": error.get("DN", ""),
            "description": error.get("OT"),
            "oid": error.get("S"),
        }
        for error in root.findall("a:Error", ns)
    ]
    return status, errors
