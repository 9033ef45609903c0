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

from telederm.interop.transports.nhn.standin.api import OPENAPI_PATH
from telederm.interop.transports.nhn.standin.documents import build_apprec
from telederm.interop.transports.nhn.standin.errors import ApiError, OAuthError
from telederm.interop.transports.nhn.standin.records import Client, Receipt, StoredMessage
from telederm.interop.transports.nhn.standin.server import StandIn, serve

__all__ = [
    "OPENAPI_PATH",
    "ApiError",
    "Client",
    "OAuthError",
    "Receipt",
    "StandIn",
    "StoredMessage",
    "build_apprec",
    "serve",
]
