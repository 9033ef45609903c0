"""Issuing and checking tokens: stored hashed, scopes fit the role, failures all look the same."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re

import pytest
from django.db import connection

from telederm.accounts.models import User
from telederm.api import tokens
from telederm.api.models import ApiToken
from telederm.api.scopes import ScopeError
from telederm.core.clock import frozen_at

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_token_is_shown_once_and_only_its_hash_is_kept(patient_user: User) -> None:
    token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"], label="app")
    marker, prefix, secret = plain.split("_", 2)
    assert (marker, prefix) == ("tdm", token.prefix)
    assert len(prefix) == 12
    assert len(secret) >= 43  # 32 random bytes, base64url
    assert token.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert plain not in repr(rows)


def test_two_tokens_never_share_a_secret_or_a_prefix(patient_user: User) -> None:
    issued = [tokens.issue_token(user=patient_user, scopes=["user/*.read"])[1] for _ in range(20)]
    assert len({plain.split("_")[1] for plain in issued}) == 20
    assert len(set(issued)) == 20


@pytest.mark.parametrize(
    ("persona", "scope", "allowed"),
    [
        ("patient_user", "patient/*.read", True),
        ("patient_user", "user/*.read", True),
        ("patient_user", "system/*.read", False),
        ("gp", "patient/*.read", False),
        ("gp", "user/ServiceRequest.rs", True),
        ("dermatologist", "patient/ServiceRequest.read", False),
        ("dermatologist", "system/*.read", False),
        ("operator", "system/*.write", True),
        ("operator", "user/*.read", True),
        ("operator", "patient/*.read", False),
    ],
)
def test_patient_scopes_are_for_patients_and_system_scopes_for_operators(
    request: pytest.FixtureRequest, persona: str, scope: str, allowed: bool
) -> None:
    user = request.getfixturevalue(persona)
    if allowed:
        token, _ = tokens.issue_token(user=user, scopes=[scope])
        assert token.scopes == [scope]
    else:
        with pytest.raises(tokens.TokenError, match=re.escape(f"scope {scope!r}")):
            tokens.issue_token(user=user, scopes=[scope])
        assert not ApiToken.objects.exists()


def test_bad_requests_for_tokens_are_refused_with_a_reason(patient_user: User) -> None:
    with pytest.raises(ScopeError, match=re.escape("'user/*.reed'")):
        tokens.issue_token(user=patient_user, scopes=["user/*.reed"])
    with pytest.raises(tokens.TokenError, match="at least one scope"):
        tokens.issue_token(user=patient_user, scopes=[])
    with pytest.raises(tokens.TokenError, match="at least one day"):
        tokens.issue_token(user=patient_user, scopes=["user/*.read"], expires_days=0)
    with pytest.raises(tokens.TokenError, match="longer than 100"):
        tokens.issue_token(user=patient_user, scopes=["user/*.read"], label="x" * 101)
    patient_user.is_active = False
    patient_user.save()
    with pytest.raises(tokens.TokenError, match="deactivated"):
        tokens.issue_token(user=patient_user, scopes=["user/*.read"])
    assert not ApiToken.objects.exists()


def test_issuing_and_revoking_are_logged_without_the_secret(
    patient_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="telederm.api.tokens"):
        token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
        assert tokens.revoke_token(token)
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"API token {token.prefix} issued" in message for message in messages)
    assert any(f"API token {token.prefix} of user" in message for message in messages)
    assert plain.split("_", 2)[2] not in caplog.text


def test_authenticate_takes_a_valid_bearer_token(patient_user: User) -> None:
    token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    assert tokens.authenticate(f"Bearer {plain}") == token
    assert tokens.authenticate(f"bearer   {plain}  ") == token


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token {plain}",
        "{plain}",
        "Bearer tdm_{prefix}",
        "Bearer tdm_{prefix}_short",
        "Bearer tdm_{prefix}_{other_secret}",
        "Bearer tdm_000000000000_{secret}",
        "Bearer xyz_{prefix}_{secret}",
        "Bearer {plain} extra",
        "Bearer {plain}\x00",
    ],
)
def test_authenticate_refuses_anything_else(patient_user: User, header: str | None) -> None:
    token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    other_secret = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])[1].split(
        "_", 2
    )[2]
    secret = plain.split("_", 2)[2]
    if header is not None:
        header = header.format(
            plain=plain, prefix=token.prefix, secret=secret, other_secret=other_secret
        )
    assert tokens.authenticate(header) is None


def test_expired_revoked_and_deactivated_tokens_fail(patient_user: User) -> None:
    with frozen_at(T0):
        expiring, expiring_plain = tokens.issue_token(
            user=patient_user, scopes=["patient/*.read"], expires_days=1
        )
    assert expiring.expires_at == T0 + dt.timedelta(days=1)
    with frozen_at(T0 + dt.timedelta(hours=23, minutes=59)):
        assert tokens.authenticate(f"Bearer {expiring_plain}") == expiring
    with frozen_at(T0 + dt.timedelta(days=1)):
        assert tokens.authenticate(f"Bearer {expiring_plain}") is None

    revoked, revoked_plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    assert tokens.authenticate(f"Bearer {revoked_plain}") == revoked
    assert tokens.revoke_token(revoked)
    assert not tokens.revoke_token(revoked)
    assert tokens.authenticate(f"Bearer {revoked_plain}") is None

    _, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    patient_user.is_active = False
    patient_user.save()
    assert tokens.authenticate(f"Bearer {plain}") is None


def test_a_token_is_marked_used_at_most_once_a_minute(patient_user: User) -> None:
    with frozen_at(T0):
        token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
        assert token.last_used_at is None
        tokens.authenticate(f"Bearer {plain}")
    token.refresh_from_db()
    assert token.last_used_at == T0
    with frozen_at(T0 + dt.timedelta(seconds=59)):
        tokens.authenticate(f"Bearer {plain}")
    token.refresh_from_db()
    assert token.last_used_at == T0
    with frozen_at(T0 + dt.timedelta(minutes=2)):
        tokens.authenticate(f"Bearer {plain}")
    token.refresh_from_db()
    assert token.last_used_at == T0 + dt.timedelta(minutes=2)


def test_find_token_by_prefix_or_whole_token(patient_user: User) -> None:
    token, plain = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    assert tokens.find_token(token.prefix) == token
    assert tokens.find_token(f"tdm_{token.prefix}") == token
    assert tokens.find_token(plain) == token
    assert tokens.find_token("000000000000") is None
    assert tokens.find_token("not a prefix") is None


def test_a_stored_scope_that_no_longer_parses_grants_nothing(
    patient_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    token, _ = tokens.issue_token(user=patient_user, scopes=["patient/*.read"])
    token.scopes = ["patient/*.read", "nonsense"]
    with caplog.at_level(logging.WARNING, logger="telederm.api.tokens"):
        assert [str(scope) for scope in tokens.scopes_of(token)] == ["patient/*.read"]
    assert "unreadable scope" in caplog.text
