"""The OpenID Connect providers come from the environment: each on only when fully configured."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from allauth.socialaccount.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured

import telederm.accounts.oidc_config as oidc_config
from telederm.accounts.oidc_config import provider_origins, providers_from_env

HELSEID_ENV = {
    "TELEDERM_HELSEID_URL": "https://helseid-sts.test.nhn.no",
    "TELEDERM_HELSEID_CLIENT_ID": "telederm-helseid",
    "TELEDERM_HELSEID_CLIENT_SECRET": "helseid-secret",
}
IDPORTEN_ENV = {
    "TELEDERM_IDPORTEN_URL": "https://test.idporten.no/",
    "TELEDERM_IDPORTEN_CLIENT_ID": "telederm-idporten",
    "TELEDERM_IDPORTEN_CLIENT_SECRET": "idporten-secret",
}


def apps(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    config = providers_from_env(environ)
    assert list(config) == ["openid_connect"]
    return {app["provider_id"]: app for app in config["openid_connect"]["APPS"]}


def test_nothing_configured_means_no_providers() -> None:
    assert providers_from_env({}) == {"openid_connect": {"APPS": []}}
    assert provider_origins({}) == []


def test_helseid_profile() -> None:
    app = apps(HELSEID_ENV)["helseid"]
    assert app["name"] == "HelseID"
    assert app["client_id"] == "telederm-helseid"
    assert app["secret"] == "helseid-secret"
    assert app["settings"] == {
        "server_url": "https://helseid-sts.test.nhn.no",
        "oauth_pkce_enabled": True,
        "scope": [
            "openid",
            "profile",
            "helseid://scopes/identity/pid",
            "helseid://scopes/identity/security_level",
            "helseid://scopes/hpr/hpr_number",
        ],
        "auth_params": {},
        "fetch_userinfo": True,
    }


def test_idporten_profile_asks_for_the_high_level() -> None:
    app = apps(IDPORTEN_ENV)["idporten"]
    assert app["name"] == "ID-porten"
    assert app["client_id"] == "telederm-idporten"
    settings = app["settings"]
    assert settings["server_url"] == "https://test.idporten.no", "trailing slash dropped"
    assert settings["oauth_pkce_enabled"] is True
    assert settings["scope"] == ["openid", "profile"]
    assert settings["auth_params"] == {"acr_values": "idporten-loa-high"}


def test_both_profiles_at_once_and_each_alone() -> None:
    assert set(apps({**HELSEID_ENV, **IDPORTEN_ENV})) == {"helseid", "idporten"}
    assert set(apps(HELSEID_ENV)) == {"helseid"}
    assert set(apps(IDPORTEN_ENV)) == {"idporten"}


def test_the_apps_dict_is_what_allauth_reads(settings: Any, db: None) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = providers_from_env({**HELSEID_ENV, **IDPORTEN_ENV})
    provider = get_adapter().get_provider(None, "idporten")
    assert provider.id == "openid_connect"
    assert provider.sub_id == "idporten"
    assert provider.get_scope() == ["openid", "profile"]
    assert provider.get_auth_params() == {"acr_values": "idporten-loa-high"}
    assert "code_challenge" in provider.get_pkce_params()
    assert provider.server_url == "https://test.idporten.no/.well-known/openid-configuration"


@pytest.mark.parametrize("missing", sorted(HELSEID_ENV))
def test_half_a_configuration_stops_the_start(missing: str) -> None:
    environ = {name: value for name, value in HELSEID_ENV.items() if name != missing}
    with pytest.raises(ImproperlyConfigured, match=missing):
        providers_from_env(environ)


def test_blank_values_count_as_unset() -> None:
    environ = dict.fromkeys(HELSEID_ENV, "  ")
    assert providers_from_env(environ) == {"openid_connect": {"APPS": []}}


@pytest.mark.parametrize(
    "url",
    ["http://helseid-sts.nhn.no", "ftp://helseid-sts.nhn.no", "helseid-sts.nhn.no", "https://"],
)
def test_the_issuer_must_be_https(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="TELEDERM_HELSEID_URL"):
        providers_from_env({**HELSEID_ENV, "TELEDERM_HELSEID_URL": url})


def test_plain_http_is_allowed_on_loopback_for_tests() -> None:
    app = apps({**HELSEID_ENV, "TELEDERM_HELSEID_URL": "http://127.0.0.1:4010"})["helseid"]
    assert app["settings"]["server_url"] == "http://127.0.0.1:4010"


def test_origins_for_the_form_action_directive() -> None:
    environ = {
        **HELSEID_ENV,
        **IDPORTEN_ENV,
        "TELEDERM_HELSEID_URL": "https://HelseID-STS.test.nhn.no:8443/path",
        "TELEDERM_IDPORTEN_AUTHORIZATION_URL": "https://login.test.idporten.no/authorize",
    }
    assert provider_origins(environ) == [
        "https://test.idporten.no",
        "https://login.test.idporten.no",
        "https://helseid-sts.test.nhn.no:8443",
    ]


def test_origins_of_a_loopback_provider_keep_the_port() -> None:
    environ = {**IDPORTEN_ENV, "TELEDERM_IDPORTEN_URL": "http://127.0.0.1:43210"}
    assert provider_origins(environ) == ["http://127.0.0.1:43210"]


def test_origins_only_for_configured_providers() -> None:
    environ = {**IDPORTEN_ENV, "TELEDERM_HELSEID_AUTHORIZATION_URL": "https://elsewhere.example"}
    assert provider_origins(environ) == ["https://test.idporten.no"]


def test_the_authorization_url_must_be_https_too() -> None:
    environ = {**IDPORTEN_ENV, "TELEDERM_IDPORTEN_AUTHORIZATION_URL": "http://login.idporten.no"}
    with pytest.raises(ImproperlyConfigured, match="TELEDERM_IDPORTEN_AUTHORIZATION_URL"):
        provider_origins(environ)


def test_the_module_stays_pure() -> None:
    """settings.py imports it: it must not pull in models (they need a configured registry)."""
    tree = ast.parse(Path(oidc_config.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not {name for name in imported if "models" in name or name.startswith("allauth")}
