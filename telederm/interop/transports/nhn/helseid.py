"""HelseID for machine-to-machine calls: client credentials with a signed client assertion
(`private_key_jwt`, RFC 7523) and DPoP-bound access tokens (RFC 9449), as NHN's message service
requires (ADR 0025, docs/runbooks/nhn-message-service.md).

- The client proves who it is with a short-lived JWT signed by its private key (a JWK file whose
  public half is registered with the client in HelseID's self-service portal). No shared secret
  exists to leak.
- Every request carries a DPoP proof signed with a second key pair that lives only in this
  process: the token HelseID issues is bound to that key's thumbprint (`cnf.jkt`), so a token
  copied out of a log is useless without the key.
- The token is cached until shortly before it expires; a server that asks for a DPoP nonce
  (`use_dpop_nonce`) gets one retry with it.

No Django here: the caller passes the settings in (see `client.NhnTransport.from_settings`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from telederm.interop.transports.base import TransportError

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The scope NHN's message service ("Meldingstjener") asks for; the operator can change it.
DEFAULT_SCOPE = "nhn:msh/api"
# Renew this long before the token expires, so a request never leaves with a token that dies on
# the way (HelseID issues tokens for a few minutes to an hour).
RENEW_MARGIN_SECONDS = 60
# HelseID accepts client assertions valid for at most a couple of minutes.
ASSERTION_LIFETIME_SECONDS = 60

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class HelseIdError(TransportError):
    """HelseID refused us or could not be reached.

    Never permanent: the message being sent is not at fault; the operator fixes the client
    registration or the key and the outbox tries again (its back-off caps the attempts).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(token: str) -> str:
    """The DPoP `ath` claim: base64url(SHA-256(access token)) (RFC 9449 section 4.2)."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of a public JWK: the `cnf.jkt` a DPoP-bound token carries."""
    kty = jwk["kty"]
    if kty == "RSA":
        members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
    elif kty == "EC":
        members = {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}
    else:
        raise ValueError(f"unsupported key type {kty!r}")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def htu(url: str) -> str:
    """The DPoP `htu` claim: the request URL without query and fragment (RFC 9449 4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(frozen=True)
class SigningKey:
    """A private key with its algorithm and public JWK."""

    private_key: PrivateKey
    algorithm: str
    public_jwk: dict[str, Any]
    kid: str = ""

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> SigningKey:
        """Load a private JWK (RSA → RS256 unless `alg` says PS256; EC P-256 → ES256)."""
        text = json.dumps(jwk)
        if jwk.get("kty") == "RSA":
            if "d" not in jwk:
                raise ValueError("the key file holds a public key; HelseID needs the private key")
            rsa_key = RSAAlgorithm.from_jwk(text)
            assert isinstance(rsa_key, rsa.RSAPrivateKey)
            key: PrivateKey = rsa_key
            alg = jwk.get("alg") or "RS256"
            public = _public(RSAAlgorithm.to_jwk(rsa_key.public_key()))
        elif jwk.get("kty") == "EC":
            if "d" not in jwk:
                raise ValueError("the key file holds a public key; HelseID needs the private key")
            ec_key = ECAlgorithm.from_jwk(text)
            assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
            key = ec_key
            alg = jwk.get("alg") or "ES256"
            public = _public(ECAlgorithm.to_jwk(ec_key.public_key()))
        else:
            raise ValueError(f"unsupported key type {jwk.get('kty')!r}: use RSA or EC P-256")
        return cls(private_key=key, algorithm=alg, public_jwk=public, kid=str(jwk.get("kid", "")))

    @classmethod
    def from_file(cls, path: str | Path) -> SigningKey:
        return cls.from_jwk(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def generate(cls, kind: str = "EC") -> SigningKey:
        """A fresh key: EC P-256 for DPoP proofs, or RSA 2048 (tests, the stand-in's clients)."""
        if kind == "RSA":
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = _public(RSAAlgorithm.to_jwk(rsa_key.public_key()))
            return cls(private_key=rsa_key, algorithm="RS256", public_jwk=public)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        public = _public(ECAlgorithm.to_jwk(ec_key.public_key()))
        return cls(private_key=ec_key, algorithm="ES256", public_jwk=public)

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK, for writing a key file (tests and the runbook's key generation)."""
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key))
        else:
            data = json.loads(ECAlgorithm.to_jwk(self.private_key))
        data["alg"] = self.algorithm
        if self.kid:
            data["kid"] = self.kid
        return data

    @property
    def thumbprint(self) -> str:
        return jwk_thumbprint(self.public_jwk)

    def sign(self, claims: dict[str, Any], headers: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)

    def dpop_proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        now: float | None = None,
    ) -> str:
        """One DPoP proof for one request (RFC 9449 section 4.2)."""
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(time.time() if now is None else now),
            "jti": str(uuid.uuid4()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce:
            claims["nonce"] = nonce
        return self.sign(claims, {"typ": "dpop+jwt", "jwk": self.public_jwk})


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class HelseIdClient:
    """Gets and caches a DPoP-bound access token from HelseID's token endpoint."""

    token_url: str
    client_id: str
    client_key: SigningKey
    scope: str = DEFAULT_SCOPE
    audience: str = ""
    """The client assertion's `aud`: HelseID's token endpoint unless told otherwise."""
    session: Any = None
    timeout: float | tuple[float, float] = (5, 20)
    clock: Callable[[], float] = time.time
    dpop_key: SigningKey = field(default_factory=SigningKey.generate)
    _token: _Token | None = field(default=None, init=False, repr=False)
    _nonces: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.session is None:
            self.session = requests.Session()

    # Nonces: a server may hand one out on any response; we keep the latest per origin.
    def nonce_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        return self._nonces.get(f"{parts.scheme}://{parts.netloc}")

    def remember_nonce(self, url: str, response: Any) -> bool:
        """Keep a `DPoP-Nonce` the server sent; True if it is new."""
        nonce = response.headers.get("DPoP-Nonce")
        if not nonce:
            return False
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        is_new = self._nonces.get(origin) != nonce
        self._nonces[origin] = nonce
        return is_new

    def access_token(self) -> str:
        """A valid token, from the cache unless it expires within the renewal margin."""
        with self._lock:
            now = self.clock()
            if self._token is None or self._token.expires_at - RENEW_MARGIN_SECONDS <= now:
                self._token = self._request_token()
            return self._token.value

    def forget_token(self) -> None:
        """The resource server refused the token (revoked, or expired early): get a new one."""
        with self._lock:
            self._token = None

    def client_assertion(self) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience or self.token_url,
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        headers: dict[str, Any] = {"typ": "client-authentication+jwt"}
        if self.client_key.kid:
            headers["kid"] = self.client_key.kid
        return self.client_key.sign(claims, headers)

    def _request_token(self) -> _Token:
        for _attempt in range(2):
            proof = self.dpop_key.dpop_proof(
                "POST", self.token_url, nonce=self.nonce_for(self.token_url), now=self.clock()
            )
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.client_assertion(),
                "scope": self.scope,
            }
            try:
                response = self.session.post(
                    self.token_url, data=form, headers={"DPoP": proof}, timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise HelseIdError(
                    f"HelseID could not be reached: {exc.__class__.__name__}"
                ) from exc
            new_nonce = self.remember_nonce(self.token_url, response)
            body = _json_or_empty(response)
            if response.status_code == 400 and body.get("error") == "use_dpop_nonce" and new_nonce:
                continue
            if response.status_code != 200:
                raise HelseIdError(
                    f"HelseID refused the token request ({response.status_code}): "
                    f"{body.get('error', '')} {body.get('error_description', '')}".strip()
                )
            token_type = str(body.get("token_type", ""))
            if token_type.lower() != "dpop" or "access_token" not in body:
                raise HelseIdError(f"HelseID issued a {token_type or 'strange'} token, not DPoP")
            lifetime = float(body.get("expires_in", 300))
            return _Token(value=str(body["access_token"]), expires_at=self.clock() + lifetime)
        raise HelseIdError("HelseID kept asking for a new DPoP nonce")

    def resource_headers(self, method: str, url: str) -> dict[str, str]:
        """Authorization and DPoP headers for one call to the resource server."""
        token = self.access_token()
        proof = self.dpop_key.dpop_proof(
            method, url, access_token=token, nonce=self.nonce_for(url), now=self.clock()
        )
        return {"Authorization": f"DPoP {token}", "DPoP": proof}


class DPoPAuth(requests.auth.AuthBase):
    """requests auth that signs every request with HelseID's token and a fresh DPoP proof.

    Used by the client and by schemathesis in the conformance test of the stand-in.
    """

    def __init__(self, helseid: HelseIdClient) -> None:
        self.helseid = helseid

    def __call__(self, request: Any) -> Any:
        request.headers.update(self.helseid.resource_headers(request.method, request.url))
        return request


def _public(jwk_json: str) -> dict[str, Any]:
    """Only the members that make the public key (no key_ops, no kid): what a proof carries."""
    jwk = json.loads(jwk_json)
    return {k: v for k, v in jwk.items() if k in {"kty", "n", "e", "crv", "x", "y"}}


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
