"""HelseID client credentials with private_key_jwt and DPoP, against the stand-in's token
endpoint and API: caching and renewal, nonces, and what a wrong proof or key gets."""

from __future__ import annotations

import json

import jwt
import pytest
import requests

from telederm.interop.transports.base import TransportError
from telederm.interop.transports.nhn import standin as nhn_standin
from telederm.interop.transports.nhn.helseid import (
    HelseIdClient,
    HelseIdError,
    SigningKey,
    access_token_hash,
    jwk_thumbprint,
)

HEADERS = {"api-version": "2", "nhn-source-system": "Telederm test"}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def nhn():
    with nhn_standin.serve() as running:
        yield running


def helseid_for(nhn, **kwargs) -> HelseIdClient:
    kwargs.setdefault("client_key", nhn.client_key)
    return HelseIdClient(token_url=nhn.token_url, client_id=nhn.client_id, **kwargs)


def call(nhn, helseid: HelseIdClient, path: str = "/Messages", **headers) -> requests.Response:
    url = f"{nhn.url}{path}"
    sent = {**HEADERS, **helseid.resource_headers("GET", url), **headers}
    with requests.Session() as session:
        return session.get(url, params={"ReceiverHerIds": nhn.her_id}, headers=sent, timeout=5)


def test_the_token_is_dpop_bound_and_cached_until_shortly_before_it_expires(nhn):
    clock = Clock(nhn.clock())
    nhn.clock = clock
    helseid = helseid_for(nhn, clock=clock)

    first = helseid.access_token()
    assert helseid.access_token() == first
    assert nhn.tokens[first]["jkt"] == jwk_thumbprint(helseid.dpop_key.public_jwk)
    clock.now += 200  # the stand-in's tokens live 300 s; renewal starts 60 s before
    assert helseid.access_token() == first
    assert nhn.token_requests == 1

    clock.now += 50
    renewed = helseid.access_token()
    assert renewed != first
    assert nhn.token_requests == 2
    helseid.session.close()


def test_the_transport_fetches_a_token_once_for_many_calls(nhn):
    transport = nhn.transport()
    for _ in range(3):
        transport.fetch()
    assert nhn.token_requests == 1
    assert [status for *_, status in nhn.calls] == [200, 200, 200]


def test_an_expired_token_refused_by_the_api_is_renewed_once(nhn):
    transport = nhn.transport()
    transport.fetch()
    nhn.tokens.clear()  # e.g. HelseID rotated its keys: the API no longer knows the token

    assert transport.fetch() == []
    assert nhn.token_requests == 2
    assert [status for *_, status in nhn.calls] == [200, 401, 200]


def test_the_token_endpoint_asks_for_a_dpop_nonce_and_gets_it(nhn):
    nhn.require_token_nonce = True
    helseid = helseid_for(nhn)

    token = helseid.access_token()

    assert token in nhn.tokens
    assert nhn.token_requests == 2
    assert helseid.nonce_for(nhn.token_url) == nhn.nonce
    helseid.session.close()


def test_the_api_asks_for_a_dpop_nonce_and_the_client_retries_with_it(nhn):
    nhn.require_api_nonce = True
    transport = nhn.transport()

    assert transport.fetch() == []
    assert [status for *_, status in nhn.calls] == [401, 200]


def test_a_proof_for_another_address_gets_401(nhn):
    helseid = helseid_for(nhn)
    token = helseid.access_token()
    wrong = helseid.dpop_key.dpop_proof("GET", f"{nhn.url}/Messages/other", access_token=token)

    response = call(nhn, helseid, DPoP=wrong)

    assert response.status_code == 401
    assert 'error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]
    assert set(response.json()) >= {"error", "requestId"}
    helseid.session.close()


def test_a_replayed_proof_gets_401(nhn):
    helseid = helseid_for(nhn)
    url = f"{nhn.url}/Messages"
    headers = {**HEADERS, **helseid.resource_headers("GET", url)}
    with requests.Session() as session:
        first = session.get(url, params={"ReceiverHerIds": nhn.her_id}, headers=headers, timeout=5)
        again = session.get(url, params={"ReceiverHerIds": nhn.her_id}, headers=headers, timeout=5)
    assert (first.status_code, again.status_code) == (200, 401)
    helseid.session.close()


def test_a_stolen_token_is_useless_without_its_dpop_key(nhn):
    helseid = helseid_for(nhn)
    token = helseid.access_token()
    thief = SigningKey.generate()
    proof = thief.dpop_proof("GET", f"{nhn.url}/Messages", access_token=token)

    response = call(nhn, helseid, DPoP=proof)

    assert response.status_code == 401
    helseid.session.close()


def test_a_bearer_token_without_a_proof_gets_401(nhn):
    helseid = helseid_for(nhn)
    token = helseid.access_token()
    response = call(nhn, helseid, Authorization=f"Bearer {token}")
    assert response.status_code == 401
    helseid.session.close()


def test_a_proof_without_the_token_hash_gets_401(nhn):
    helseid = helseid_for(nhn)
    helseid.access_token()
    proof = helseid.dpop_key.dpop_proof("GET", f"{nhn.url}/Messages")  # no ath
    assert call(nhn, helseid, DPoP=proof).status_code == 401
    helseid.session.close()


def test_the_api_client_turns_401_into_a_retryable_error(nhn):
    transport = nhn.transport()
    transport.fetch()
    # Our clock runs 100 s fast: the token is still valid, but every proof looks stale.
    real = nhn.clock
    nhn.clock = lambda: real() - 100

    with pytest.raises(TransportError) as raised:
        transport.fetch()
    assert raised.value.permanent is False
    assert "401" in str(raised.value)


def test_a_client_assertion_signed_with_another_key_is_refused(nhn):
    helseid = helseid_for(nhn, client_key=SigningKey.generate("RSA"))
    with pytest.raises(HelseIdError, match="invalid_client") as raised:
        helseid.access_token()
    assert raised.value.permanent is False
    helseid.session.close()


def test_a_client_assertion_for_another_audience_is_refused(nhn):
    helseid = helseid_for(nhn, audience="https://helseid-sts.example")
    with pytest.raises(HelseIdError, match="invalid_client"):
        helseid.access_token()
    helseid.session.close()


def test_a_replayed_client_assertion_is_refused(nhn):
    helseid = helseid_for(nhn)
    assertion = helseid.client_assertion()
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": "nhn:msh/api",
    }
    answers = []
    with requests.Session() as session:
        for _ in range(2):
            proof = helseid.dpop_key.dpop_proof("POST", nhn.token_url)
            answers.append(
                session.post(nhn.token_url, data=form, headers={"DPoP": proof}, timeout=5)
            )
    assert [a.status_code for a in answers] == [200, 400]
    assert answers[1].json()["error"] == "invalid_client"
    helseid.session.close()


def test_a_token_request_without_a_dpop_proof_is_refused(nhn):
    helseid = helseid_for(nhn)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": helseid.client_assertion(),
        "scope": "nhn:msh/api",
    }
    with requests.Session() as session:
        answer = session.post(nhn.token_url, data=form, timeout=5)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_dpop_proof")
    helseid.session.close()


def test_an_unreachable_helseid_is_not_permanent(nhn):
    helseid = HelseIdClient(
        token_url="http://127.0.0.1:9/connect/token",
        client_id="x",
        client_key=nhn.client_key,
        timeout=0.5,
    )
    with pytest.raises(HelseIdError) as raised:
        helseid.access_token()
    assert raised.value.permanent is False
    helseid.session.close()


def test_a_proof_says_what_rfc_9449_asks(nhn):
    key = SigningKey.generate()
    proof = key.dpop_proof(
        "post", "https://api.example/Messages?x=1#f", access_token="tok", nonce="n1"
    )
    header = jwt.get_unverified_header(proof)
    claims = jwt.decode(proof, jwt.PyJWK(header["jwk"]).key, algorithms=["ES256"])
    assert header["typ"] == "dpop+jwt"
    assert "d" not in header["jwk"]
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://api.example/Messages"
    assert claims["ath"] == access_token_hash("tok")
    assert claims["nonce"] == "n1"


def test_a_key_file_round_trips_and_a_public_key_is_refused(tmp_path, nhn):
    path = nhn.write_key_file(tmp_path / "client.jwk")
    assert SigningKey.from_file(path).public_jwk == nhn.client_key.public_jwk
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    public = tmp_path / "public.jwk"
    public.write_text(json.dumps(nhn.client_key.public_jwk))
    with pytest.raises(ValueError, match="private key"):
        SigningKey.from_file(public)


def test_rfc_7638_thumbprint_example():
    # The example key of RFC 7638 section 3.1 and its published thumbprint.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
            "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
            "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
            "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKn"
            "qDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
