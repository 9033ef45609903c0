"""The running stand-in (`StandIn`) and its HTTP server (`serve`)."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from telederm.interop.transports.nhn.helseid import (
    DEFAULT_SCOPE,
    SigningKey,
)
from telederm.interop.transports.nhn.standin.api import ROUTES, MessageApi, openapi_validators
from telederm.interop.transports.nhn.standin.documents import default_validate, read_document
from telederm.interop.transports.nhn.standin.errors import ApiError, OAuthError
from telederm.interop.transports.nhn.standin.oauth import HelseIdStandIn
from telederm.interop.transports.nhn.standin.records import Client, StoredMessage


class StandIn(HelseIdStandIn, MessageApi):
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
        self.token_url = ""  # nosec B105: an address, set when serving
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
        self._validators = openapi_validators()
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
        info = read_document(document)
        return self._store(document, info, sender_her_id, [receiver_her_id or self.her_id])

    def documents_for(self, her_id: int) -> list[bytes]:
        return [m.document for m in self.messages_for(her_id)]

    def message(self, message_id: str) -> StoredMessage:
        return self.messages[message_id]


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
        validate=validate or default_validate,
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
