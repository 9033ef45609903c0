"""The HelseID side of the stand-in: the token endpoint (private_key_jwt + DPoP) and the check
of `Authorization: DPoP` with its proof on every API call."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

import jwt

from telederm.interop.transports.nhn.helseid import (
    CLIENT_ASSERTION_TYPE,
    access_token_hash,
    jwk_thumbprint,
)
from telederm.interop.transports.nhn.standin.errors import ApiError, NonceNeeded, OAuthError
from telederm.interop.transports.nhn.standin.records import Client

# How far a proof's or assertion's `iat` may be from our clock (HelseID allows little skew).
CLOCK_SKEW_SECONDS = 60
PROOF_ALGORITHMS = ["ES256", "ES384", "RS256", "PS256"]


class HelseIdStandIn:
    """The token endpoint and the API's authentication (a mixin of `StandIn`)."""

    clients: dict[str, Client]
    tokens: dict[str, dict[str, Any]]
    seen_jti: set[str]
    token_requests: int
    clock: Callable[[], float]
    nonce: str
    require_token_nonce: bool
    require_api_nonce: bool
    token_url: str
    issuer: str
    scope: str
    token_lifetime: int
    _lock: threading.RLock

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
            raise NonceNeeded
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
        except NonceNeeded as exc:
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
            "token_type": "DPoP",  # nosec B105: the token type, not a secret
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
        except NonceNeeded as exc:
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
