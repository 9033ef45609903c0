"""`telederm token create|revoke|list`, as an operator runs it."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from telederm.accounts.models import User
from telederm.api.models import ApiToken
from telederm.api.tests.conftest import bearer

pytestmark = pytest.mark.django_db


def token(*args: str) -> str:
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue()


def created(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("tdm_")]
    assert len(lines) == 1, output
    return lines[0]


def test_create_prints_the_token_once_and_keeps_only_its_hash(patient_user: User) -> None:
    output = token(
        "create",
        "--user",
        "Kari@Pasient.example",
        "--scope",
        "patient/*.read",
        "--scope",
        "user/Media.rs",
        "--expires",
        "30",
        "--label",
        "Kari's app",
    )
    plain = created(output)
    secret = plain.split("_", 2)[2]
    assert output.count(plain) == 1
    assert output.count(secret) == 1
    assert "Store this token now" in output
    row = ApiToken.objects.get()
    assert row.user == patient_user
    assert row.scopes == ["patient/*.read", "user/Media.rs"]
    assert row.label == "Kari's app"
    assert row.expires_at is not None
    assert (row.expires_at - row.created_at).days == 30
    assert row.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    stored = ApiToken.objects.values().get()
    assert all(secret not in str(value) for value in stored.values())
    assert Client().get("/api/v1/me", headers=bearer(plain)).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody@example.org", "--scope", "user/*.read"], "no user with the e-mail"),
        (["--user", "kari@pasient.example", "--scope", "user/*.reed"], "'user/*.reed'"),
        (["--user", "kari@pasient.example", "--scope", "openid"], "not a resource scope"),
        (["--user", "lege@nordkapp.example", "--scope", "patient/*.read"], "patient role"),
        (["--user", "kari@pasient.example", "--scope", "system/*.read"], "operator role"),
        (
            ["--user", "kari@pasient.example", "--scope", "user/*.read", "--expires", "0"],
            "at least 1 day",
        ),
        (
            ["--user", "kari@pasient.example", "--scope", "user/*.read", "--expires", "x"],
            "not a whole number",
        ),
        (["--user", "kari@pasient.example"], "--scope"),
    ],
)
def test_create_refuses_with_a_clear_message(
    patient_user: User, gp: User, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as raised:
        token("create", *args)
    assert message in str(raised.value)
    assert not ApiToken.objects.exists()


def test_revoke_by_prefix_or_whole_token(patient_user: User) -> None:
    first = created(token("create", "--user", patient_user.email, "--scope", "patient/*.read"))
    second = created(token("create", "--user", patient_user.email, "--scope", "patient/*.read"))
    client = Client()
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200

    prefix = first.split("_")[1]
    assert f"API token {prefix} of kari@pasient.example revoked" in token("revoke", prefix)
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    assert "already revoked" in token("revoke", f"tdm_{prefix}")

    output = token("revoke", second)
    assert "revoked" in output
    assert second.split("_", 2)[2] not in output
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_revoking_an_unknown_token_says_so_without_echoing_it(patient_user: User) -> None:
    with pytest.raises(CommandError, match="no API token with that prefix") as raised:
        token("revoke", "tdm_000000000000_" + "A" * 43)
    assert "A" * 43 not in str(raised.value)


def test_list_shows_tokens_but_never_a_secret(patient_user: User, gp: User) -> None:
    assert "No API tokens." in token("list")
    kari = created(token("create", "--user", patient_user.email, "--scope", "patient/*.read"))
    ingrid = created(
        token("create", "--user", gp.email, "--scope", "user/ServiceRequest.rs", "--label", "EPJ")
    )
    token("revoke", kari.split("_")[1])

    everything = token("list")
    lines = everything.splitlines()
    assert lines[0].split() == [
        "PREFIX",
        "USER",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "REVOKED",
        "LABEL",
    ]
    assert len(lines) == 3
    for plain in (kari, ingrid):
        assert plain.split("_")[1] in everything
        assert plain.split("_", 2)[2] not in everything
    kari_line = next(line for line in lines if kari.split("_")[1] in line)
    assert "kari@pasient.example" in kari_line
    assert "patient/*.read" in kari_line
    assert "never" in kari_line  # no expiry, never used
    assert kari_line.rstrip().endswith(("CET", "CEST"))  # revoked: a time, not "no"

    only_gp = token("list", "--user", gp.email)
    assert ingrid.split("_")[1] in only_gp
    assert kari.split("_")[1] not in only_gp
    assert "EPJ" in only_gp
    with pytest.raises(CommandError, match="no user with the e-mail"):
        token("list", "--user", "nobody@example.org")
