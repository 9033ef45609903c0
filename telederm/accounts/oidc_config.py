"""OpenID Connect providers read from the environment: HelseID for health personnel, ID-porten for
citizens. Pure: settings.py imports it, so it must not import models.

Each provider is on when its three variables are set (ADR 0010, docs/runbooks/oidc.md):

    TELEDERM_HELSEID_URL, TELEDERM_HELSEID_CLIENT_ID, TELEDERM_HELSEID_CLIENT_SECRET
    TELEDERM_IDPORTEN_URL, TELEDERM_IDPORTEN_CLIENT_ID, TELEDERM_IDPORTEN_CLIENT_SECRET

The URL is the provider's issuer; allauth reads `/.well-known/openid-configuration` under it.
Setting only some of a provider's variables is a mistake, not a way to turn it off: it stops the
start with ImproperlyConfigured rather than silently leaving sign-in without the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

HELSEID = "helseid"
IDPORTEN = "idporten"

# HelseID: the person's national identity number, the security level of the sign-in and the
# number in the Health Personnel Register (HelseID's "Claims and Scopes" reference).
HELSEID_SCOPES = (
    "openid",
    "profile",
    "helseid://scopes/identity/pid",
    "helseid://scopes/identity/security_level",
    "helseid://scopes/hpr/hpr_number",
)
HELSEID_PID_CLAIM = "helseid://claims/identity/pid"
HELSEID_SECURITY_LEVEL_CLAIM = "helseid://claims/identity/security_level"
HELSEID_HPR_NUMBER_CLAIM = "helseid://claims/hpr/hpr_number"
HELSEID_REQUIRED_SECURITY_LEVEL = 4

# ID-porten: the `pid` claim comes with `openid`; `profile` adds the name where the eID gives it.
IDPORTEN_SCOPES = ("openid", "profile")
IDPORTEN_LOA_HIGH = "idporten-loa-high"

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Profile:
    provider_id: str
    name: str
    env_prefix: str
    scope: tuple[str, ...]
    auth_params: Mapping[str, str]


# (allauth lists them by name on the sign-in page, whatever the order here.)
PROFILES = (
    Profile(
        IDPORTEN,
        "ID-porten",
        "TELEDERM_IDPORTEN",
        IDPORTEN_SCOPES,
        {"acr_values": IDPORTEN_LOA_HIGH},
    ),
    Profile(HELSEID, "HelseID", "TELEDERM_HELSEID", HELSEID_SCOPES, {}),
)


def _configured(environ: Mapping[str, str]) -> list[tuple[Profile, str, str, str]]:
    """(profile, issuer URL, client id, client secret) for each provider that is switched on."""
    configured = []
    for profile in PROFILES:
        names = [f"{profile.env_prefix}_{part}" for part in ("URL", "CLIENT_ID", "CLIENT_SECRET")]
        values = [environ.get(name, "").strip() for name in names]
        if not any(values):
            continue
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        if missing:
            raise ImproperlyConfigured(
                f"{profile.name} sign-in is half configured: set {', '.join(missing)} too "
                f"(or unset all of {', '.join(names)} to switch it off)."
            )
        url, client_id, secret = values
        _check_url(f"{profile.env_prefix}_URL", url)
        configured.append((profile, url.rstrip("/"), client_id, secret))
    return configured


def _check_url(variable: str, url: str) -> None:
    """HTTPS only, except on this computer (the tests' provider runs on 127.0.0.1)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ImproperlyConfigured(f"{variable} must be an https:// URL, not {url!r}.")


def providers_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `SOCIALACCOUNT_PROVIDERS` setting for the providers configured in `environ`."""
    apps = [
        {
            "provider_id": profile.provider_id,
            "name": profile.name,
            "client_id": client_id,
            "secret": secret,
            "settings": {
                "server_url": url,
                "oauth_pkce_enabled": True,
                "scope": list(profile.scope),
                "auth_params": dict(profile.auth_params),
                # The claims Telederm checks are read from the ID token and the userinfo answer.
                "fetch_userinfo": True,
            },
        }
        for profile, url, client_id, secret in _configured(environ)
    ]
    return {"openid_connect": {"APPS": apps}}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def provider_origins(environ: Mapping[str, str]) -> list[str]:
    """scheme://host[:port] of each configured provider, for the CSP `form-action` directive.

    Signing in with a provider is a POST to Telederm answered by a redirect to the provider's
    authorization endpoint, and Chromium checks that redirect against `form-action`. The
    endpoint is usually on the issuer's host; where it is not (ID-porten's is on
    login.idporten.no), `TELEDERM_<PROVIDER>_AUTHORIZATION_URL` names it.
    """
    origins: list[str] = []
    for profile, url, _client_id, _secret in _configured(environ):
        candidates = [url]
        variable = f"{profile.env_prefix}_AUTHORIZATION_URL"
        if authorization_url := environ.get(variable, "").strip():
            _check_url(variable, authorization_url)
            candidates.append(authorization_url)
        for candidate in candidates:
            if (origin := _origin(candidate)) not in origins:
                origins.append(origin)
    return origins
