"""Signing in with ID-porten and HelseID in Chromium, against a real OpenID provider on loopback.

Each provider is panva's oidc-provider (frontend/testing/oidc-provider.mjs) run by Node with
ID-porten's or HelseID's scopes and claims; allauth talks to it exactly as to the real one
(discovery, authorization code with PKCE, token, userinfo). Nothing of Telederm is mocked.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import Page, expect

from conftest import synthetic_number
from telederm.accounts.models import User
from telederm.accounts.oidc_config import (
    HELSEID_HPR_NUMBER_CLAIM,
    HELSEID_PID_CLAIM,
    HELSEID_SECURITY_LEVEL_CLAIM,
    provider_origins,
    providers_from_env,
)
from telederm.audit.models import AccessEvent
from telederm.patients.models import Patient
from tests.browser.conftest import check_accessibility
from tests.oidc import (
    ProviderDidNotStart,
    callback_url,
    helseid_config,
    idporten_config,
    running_provider,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KARI_PID = synthetic_number(1970, 5, 17)  # the `patient_user` persona's number
NILS_PID = synthetic_number(1991, 8, 30)  # registered by a GP, no account yet
INGRID_HPR = "9100021"  # the `gp` persona's HPR number
PER_HPR = "9100077"  # a GP Telederm has not met

IDPORTEN_PEOPLE = {
    "kari": {
        "label": "Kari Nordmann",
        "claims": {"pid": KARI_PID, "name": "Kari Nordmann", "locale": "en"},
    },
    "nils": {
        "label": "Nils Nilsen",
        "claims": {
            "pid": NILS_PID,
            "given_name": "Nils",
            "family_name": "Nilsen",
            "locale": "en",
        },
    },
}
HELSEID_PEOPLE = {
    "ingrid": {
        "label": "Ingrid Lie (GP)",
        "claims": {
            "name": "Ingrid Lie",
            HELSEID_PID_CLAIM: synthetic_number(1975, 3, 4),
            HELSEID_HPR_NUMBER_CLAIM: INGRID_HPR,
        },
    },
    "per": {
        "label": "Per Hansen (GP)",
        "claims": {
            "given_name": "Per",
            "family_name": "Hansen",
            HELSEID_PID_CLAIM: synthetic_number(1968, 11, 2),
            HELSEID_HPR_NUMBER_CLAIM: PER_HPR,
        },
    },
}


@pytest.fixture(scope="module")
def issuers(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two providers, like the real two: one ID-porten, one HelseID, each on its own port."""
    base = str(live_server)
    folder = tmp_path_factory.mktemp("oidc")
    idporten = idporten_config(
        client_id="telederm-idporten",
        secret="idporten-test-secret",
        redirect_uri=callback_url(base, "idporten"),
        people=IDPORTEN_PEOPLE,
    )
    helseid = helseid_config(
        client_id="telederm-helseid",
        secret="helseid-test-secret",
        redirect_uri=callback_url(base, "helseid"),
        people=HELSEID_PEOPLE,
    )
    with (
        running_provider(idporten, folder / "idporten") as idporten_issuer,
        running_provider(helseid, folder / "helseid") as helseid_issuer,
    ):
        yield {"idporten": idporten_issuer, "helseid": helseid_issuer}


@pytest.fixture
def oidc(settings: Any, issuers: dict[str, str]) -> dict[str, str]:
    """Telederm configured for both providers, as an operator would by the environment."""
    environ = {
        "TELEDERM_IDPORTEN_URL": issuers["idporten"],
        "TELEDERM_IDPORTEN_CLIENT_ID": "telederm-idporten",
        "TELEDERM_IDPORTEN_CLIENT_SECRET": "idporten-test-secret",
        "TELEDERM_HELSEID_URL": issuers["helseid"],
        "TELEDERM_HELSEID_CLIENT_ID": "telederm-helseid",
        "TELEDERM_HELSEID_CLIENT_SECRET": "helseid-test-secret",
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers_from_env(environ)
    # The provider buttons POST to Telederm, which answers with a redirect to the provider:
    # Chromium checks that redirect against the CSP form-action directive.
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    if policy and "form-action" in policy.get("DIRECTIVES", {}):
        policy = copy.deepcopy(policy)
        form_action = list(policy["DIRECTIVES"]["form-action"])
        form_action += [o for o in provider_origins(environ) if o not in form_action]
        policy["DIRECTIVES"]["form-action"] = form_action
        settings.CONTENT_SECURITY_POLICY = policy
    return issuers


def start_sign_in(
    page: Page, base: str, provider_name: str, *, check: str = "", at_provider: bool = True
) -> None:
    page.goto(base + "/account/login/")
    button = page.get_by_role("button", name=f"Sign in with {provider_name}")
    expect(button).to_be_visible()
    if check:
        check_accessibility(page, check)
    button.click()
    if at_provider:
        expect(page.get_by_role("heading", name="Sign in (test)")).to_be_visible()


def choose_at_provider(page: Page, person: str, level: str, *, check: str = "") -> None:
    """On the provider's own login page: who, at which level, then sign in."""
    page.get_by_role("group", name="Test person").get_by_label(person).check()
    page.get_by_role("group", name="Security level").get_by_label(level).check()
    if check:
        check_accessibility(page, check)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_citizen_with_a_patient_record_signs_in_with_idporten_at_high(
    live_server: Any, oidc: dict[str, str], phone: Page, patient_user: User
) -> None:
    base = str(live_server)
    start_sign_in(phone, base, "ID-porten", check="oidc-sign-in-providers")
    assert phone.url.startswith(oidc["idporten"] + "/interaction/"), "the browser is at ID-porten"
    choose_at_provider(phone, "Kari Nordmann", "High (BankID", check="oidc-idporten-provider-login")

    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    assert phone.url == base + "/cases/"
    account = SocialAccount.objects.get(provider="idporten")
    assert account.user_id == patient_user.pk, "signed in as the account linked to the record"
    # The level is in the ID token only, as at the real ID-porten; allauth prefers userinfo,
    # which is why the adapter reads both.
    assert account.extra_data["id_token"]["acr"] == "idporten-loa-high"
    assert "acr" not in account.extra_data["userinfo"]
    assert account.extra_data["userinfo"]["pid"] == KARI_PID
    assert User.objects.count() == 1, "no second account for the same person"
    link = AccessEvent.objects.get(action="patient.account.link")
    assert link.actor_id == patient_user.pk
    assert link.patient_uuid == patient_user.patient.uuid

    # Signed out of Telederm but still signed in at ID-porten (single sign-on): the next sign-in
    # comes straight back, at the same level, to the same account, and links nothing new.
    phone.get_by_role("button", name="Sign out").click()
    start_sign_in(phone, base, "ID-porten", at_provider=False)
    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    assert SocialAccount.objects.filter(provider="idporten").count() == 1
    assert AccessEvent.objects.filter(action="patient.account.link").count() == 1


def test_referred_patient_gets_an_account_linked_to_their_record(
    live_server: Any, oidc: dict[str, str], phone: Page, gp: User
) -> None:
    referred = Patient.objects.create(
        identifier=NILS_PID,
        identifier_kind="fnr",
        full_name="Nils Nilsen",
        gp_office=gp.organisation,
    )
    start_sign_in(phone, str(live_server), "ID-porten")
    choose_at_provider(phone, "Nils Nilsen", "High (BankID")

    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    referred.refresh_from_db()
    assert referred.user is not None
    assert referred.user.role == User.Role.PATIENT
    assert referred.user.full_name == "Nils Nilsen", "the name from the claims"
    assert referred.user.email.endswith("@no-email.telederm.invalid"), "no e-mail was given"
    assert not referred.user.has_usable_password()
    assert Patient.objects.count() == 1
    assert AccessEvent.objects.filter(
        action="patient.account.link", patient_uuid=referred.uuid, actor=referred.user
    ).exists()


def test_idporten_below_high_is_refused_and_creates_nothing(
    live_server: Any, oidc: dict[str, str], phone: Page
) -> None:
    start_sign_in(phone, str(live_server), "ID-porten")
    choose_at_provider(phone, "Nils Nilsen", "Substantial (MinID)")

    expect(phone.get_by_role("heading", name="You were not signed in")).to_be_visible()
    expect(phone.get_by_role("alert")).to_contain_text("lower security level")
    check_accessibility(phone, "oidc-idporten-refused")
    assert not User.objects.exists()
    assert not Patient.objects.exists()
    assert not SocialAccount.objects.exists()
    assert not AccessEvent.objects.exists()
    phone.goto(str(live_server) + "/cases/")
    assert "/account/login/" in phone.url, "still signed out"


def test_gp_signs_in_with_helseid_at_level_4_without_a_second_factor(
    live_server: Any, oidc: dict[str, str], desktop: Page, gp: User
) -> None:
    base = str(live_server)
    start_sign_in(desktop, base, "HelseID")
    assert desktop.url.startswith(oidc["helseid"] + "/interaction/"), "the browser is at HelseID"
    choose_at_provider(desktop, "Ingrid Lie (GP)", "Level 4", check="oidc-helseid-provider-login")

    expect(desktop.get_by_role("heading", name="Your referrals")).to_be_visible()
    account = SocialAccount.objects.get(provider="helseid")
    assert account.user_id == gp.pk
    # HelseID's own claims reached Telederm in the ID token and from the userinfo endpoint.
    for source in ("id_token", "userinfo"):
        assert account.extra_data[source][HELSEID_SECURITY_LEVEL_CLAIM] == "4"
        assert account.extra_data[source][HELSEID_HPR_NUMBER_CLAIM] == INGRID_HPR
    assert User.objects.filter(role=User.Role.SUBMITTER).count() == 1, "the existing GP"
    # Staff must sign in strongly: HelseID at level 4 counts, so no detour to two-factor setup.
    desktop.goto(base + "/cases/")
    assert desktop.url == base + "/cases/"
    expect(desktop.get_by_role("heading", name="Your referrals")).to_be_visible()


def test_new_gp_gets_a_referring_professional_account_from_helseid(
    live_server: Any, oidc: dict[str, str], desktop: Page
) -> None:
    base = str(live_server)
    start_sign_in(desktop, base, "HelseID")
    choose_at_provider(desktop, "Per Hansen (GP)", "Level 4")

    expect(desktop.get_by_role("heading", name="Your referrals")).to_be_visible()
    user = User.objects.get()
    assert user.role == User.Role.SUBMITTER
    assert user.hpr_number == PER_HPR
    assert user.full_name == "Per Hansen"
    assert not Patient.objects.exists(), "a HelseID sign-in never makes a patient"


def test_helseid_at_level_3_is_refused(
    live_server: Any, oidc: dict[str, str], desktop: Page, gp: User
) -> None:
    start_sign_in(desktop, str(live_server), "HelseID")
    choose_at_provider(desktop, "Per Hansen (GP)", "Level 3")

    expect(desktop.get_by_role("heading", name="You were not signed in")).to_be_visible()
    expect(desktop.get_by_role("alert")).to_contain_text("security level 4")
    check_accessibility(desktop, "oidc-helseid-refused")
    assert list(User.objects.all()) == [gp], "no account was made"
    assert not SocialAccount.objects.exists()


def test_the_provider_insists_on_pkce(oidc: dict[str, str], live_server: Any) -> None:
    """The test provider is as strict as the real ones: no code challenge, no sign-in."""
    response = requests.get(
        oidc["helseid"] + "/auth",
        params={
            "client_id": "telederm-helseid",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": callback_url(str(live_server), "helseid"),
            "state": "x",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code in {302, 303}
    location = response.headers["Location"]
    assert location.startswith(callback_url(str(live_server), "helseid"))
    assert "error=invalid_request" in location
    assert "PKCE" in unquote_plus(location)


def test_a_provider_that_cannot_start_says_why(tmp_path: Path) -> None:
    with (
        pytest.raises(ProviderDidNotStart, match="exited with status 1") as failure,
        running_provider({"clients": "not a list"}, tmp_path, timeout=10),
    ):
        pass
    assert "TypeError" in str(failure.value), "the provider's stderr is in the message"
