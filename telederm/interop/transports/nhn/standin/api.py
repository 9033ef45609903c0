"""The message service side of the stand-in: what msh-api-v2.json describes, operation by
operation, with its status codes and ErrorMessage shape."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs

from telederm.interop.transports.nhn.standin.documents import (
    OSLO,
    DocumentInfo,
    build_apprec,
    read_document,
)
from telederm.interop.transports.nhn.standin.errors import ApiError
from telederm.interop.transports.nhn.standin.records import Client, Receipt, StoredMessage

OPENAPI_PATH = Path(__file__).parent.parent / "msh-api-v2.json"
INT32_MAX = 2**31 - 1
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


def openapi_validators() -> dict[str, Any]:
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    components = json_schema(spec["components"])
    validators = {}
    for name in ("PostMessageRequest", "PostAppRecRequest"):
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        validators[name] = jsonschema_rs.Draft4Validator(schema, validate_formats=False)
    return validators


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes "or null"."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: json_schema(v) for k, v in node.items() if k not in {"nullable", "example"}}
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


class MessageApi:
    """The API operations and the mailbox (a mixin of `StandIn`)."""

    messages: dict[str, StoredMessage]
    validate: Callable[[bytes], None]
    _validators: dict[str, Any]
    _failures: list[int]
    _drops: int
    _lock: threading.RLock

    def messages_for(self, her_id: int, *, unread_only: bool = False) -> list[StoredMessage]:
        with self._lock:
            return [
                m
                for m in sorted(self.messages.values(), key=lambda m: m.stored_at)
                if her_id in m.receipts and not (unread_only and m.receipts[her_id].read)
            ]

    def _store(self, document: bytes, info: DocumentInfo, sender: int, receivers: list[int]) -> str:
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
        receivers = ints(query.get("ReceiverHerIds", []), "ReceiverHerIds")
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
        sender = ints(query.get("SenderHerId", [])[:1], "SenderHerId")
        count = ints(query.get("MessagesToFetch", ["10"])[:1], "MessagesToFetch")[0]
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
        info = read_document(document)
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
        her_id = her_path(her)
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
        return 201, self._store(document, read_document(document), her_id, [message.sender_her_id])

    def mark_read(self, client: Client, message_id: str, her: str) -> tuple[int, Any]:
        her_id = her_path(her)
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


def ints(values: list[str], name: str) -> list[int]:
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


def her_path(value: str) -> int:
    number = ints([value], "herId")[0] if value.lstrip("-").isdigit() else 0
    if not 1 <= number <= INT32_MAX:
        raise ApiError(
            400,
            "Model validation error occurred",
            code=1000,
            validation_errors=[f"The value '{value}' is not a valid HER-id"],
        )
    return number
