"""A real OpenID Connect provider for the tests: frontend/testing/oidc-provider.mjs under Node.

`running_provider(config, folder)` writes the configuration, starts the provider on 127.0.0.1 (a
free port), waits for its ready line and yields the issuer URL; it stops the process afterwards.
`idporten_config` and `helseid_config` describe providers shaped like the real ones: the same
scopes and claims, test people, and the levels a tester picks on the login page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from telederm.accounts.oidc_config import (
    HELSEID_HPR_NUMBER_CLAIM,
    HELSEID_PID_CLAIM,
    HELSEID_SECURITY_LEVEL_CLAIM,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "frontend" / "testing" / "oidc-provider.mjs"
READY = "listening "


class ProviderDidNotStart(RuntimeError):
    pass


def callback_url(base_url: str, provider_id: str) -> str:
    """allauth's openid_connect callback for one app, under Telederm's /account/ prefix."""
    return f"{base_url.rstrip('/')}/account/oidc/{provider_id}/login/callback/"


def _client(client_id: str, secret: str, redirect_uri: str) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_post",
    }


def idporten_config(
    *, client_id: str, secret: str, redirect_uri: str, people: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """ID-porten: `pid` with `openid`, names with `profile`; the level is the ID token's acr."""
    return {
        "title": "ID-porten (test)",
        "clients": [_client(client_id, secret, redirect_uri)],
        "scopes": {
            "openid": ["sub", "pid", "locale"],
            "profile": ["name", "given_name", "family_name"],
        },
        "accounts": {key: dict(person) for key, person in people.items()},
        "assurance": {
            "claim": "acr",
            "label": "Security level",
            "values": [
                {"value": "idporten-loa-high", "label": "High (BankID, Buypass ID, Commfides)"},
                {"value": "idporten-loa-substantial", "label": "Substantial (MinID)"},
            ],
        },
    }


def helseid_config(
    *, client_id: str, secret: str, redirect_uri: str, people: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """HelseID: its custom scopes and claims; the level is the security_level claim."""
    return {
        "title": "HelseID (test)",
        "clients": [_client(client_id, secret, redirect_uri)],
        "scopes": {
            "openid": ["sub"],
            "profile": ["name", "given_name", "middle_name", "family_name"],
            "helseid://scopes/identity/pid": [HELSEID_PID_CLAIM],
            "helseid://scopes/identity/security_level": [HELSEID_SECURITY_LEVEL_CLAIM],
            "helseid://scopes/hpr/hpr_number": [HELSEID_HPR_NUMBER_CLAIM],
        },
        "accounts": {key: dict(person) for key, person in people.items()},
        "assurance": {
            "claim": HELSEID_SECURITY_LEVEL_CLAIM,
            "label": "Security level",
            "values": [
                {"value": "4", "label": "Level 4 (BankID, Buypass ID)"},
                {"value": "3", "label": "Level 3 (MinID)"},
            ],
        },
    }


@contextmanager
def running_provider(
    config: Mapping[str, Any], folder: Path, *, timeout: float = 20.0
) -> Iterator[str]:
    """Start the provider with this configuration; yield its issuer URL; stop it."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the OpenID Connect provider (make frontend)"
    assert (ROOT / "frontend" / "node_modules" / "oidc-provider").exists(), (
        "oidc-provider is missing: run `make frontend` (npm ci in frontend/)"
    )
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "oidc-provider.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    stdout_path = folder / "oidc-provider.out"
    stderr_path = folder / "oidc-provider.err"
    # Files, not pipes: the provider's notices can never fill a pipe nobody reads.
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [node, str(SCRIPT), str(config_path), "0"],
            cwd=ROOT / "frontend",
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        yield _wait_until_ready(process, stdout_path, stderr_path, timeout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_ready(
    process: subprocess.Popen[bytes], stdout_path: Path, stderr_path: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stdout_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(READY):
                issuer = line.removeprefix(READY).strip()
                if issuer.startswith("http://127.0.0.1:"):
                    return issuer
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    status = process.poll()
    what = (
        f"exited with status {status} before it was ready"
        if status is not None
        else f"was not ready within {timeout:.0f} s"
    )
    raise ProviderDidNotStart(f"the OpenID Connect provider {what}; its stderr:\n{stderr}")
