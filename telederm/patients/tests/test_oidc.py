"""Who an ID-porten or HelseID sign-in is: the claim rules (pure) and the accounts they lead to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount, SocialLogin
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from conftest import synthetic_number
from telederm.accounts.models import User
from telederm.accounts.oidc_config import (
    HELSEID_HPR_NUMBER_CLAIM,
    HELSEID_PID_CLAIM,
    HELSEID_SECURITY_LEVEL_CLAIM,
    providers_from_env,
)
from telederm.accounts.security import is_strongly_authenticated
from telederm.audit.models import AccessEvent
from telederm.patients.identifiers import IdentifierKind
from telederm.patients.models import Patient
from telederm.patients.oidc import (
    Refusal,
    SocialAccountAdapter,
    citizen_from_claims,
    claims_of,
    full_name_from_claims,
    is_placeholder_email,
    placeholder_email,
    professional_from_claims,
)

KARI = synthetic_number(1970, 5, 17)  # the patient_user persona
NILS = synthetic_number(1991, 8, 30)


def idporten(pid: str = NILS, acr: str = "idporten-loa-high", **more: Any) -> dict[str, Any]:
    return {"sub": "idp-sub-1", "pid": pid, "acr": acr, **more}


def helseid(level: object = "4", hpr: object = "9100077", **more: Any) -> dict[str, Any]:
    return {
        "sub": "helseid-sub-1",
        "name": "Per Hansen",
        HELSEID_PID_CLAIM: synthetic_number(1968, 11, 2),
        HELSEID_SECURITY_LEVEL_CLAIM: level,
        HELSEID_HPR_NUMBER_CLAIM: hpr,
        **more,
    }


# --- the claim rules (no database) -----------------------------------------------------------


def test_claims_of_lays_the_id_token_over_userinfo() -> None:
    extra = {
        "userinfo": {"sub": "a", "pid": NILS, "name": "From userinfo", "acr": "forged"},
        "id_token": {"sub": "a", "acr": "idporten-loa-high", "iss": "https://idp"},
    }
    claims = claims_of(extra)
    assert claims["acr"] == "idporten-loa-high", "the signed, checked ID token wins"
    assert claims["name"] == "From userinfo"
    assert claims["pid"] == NILS


def test_claims_of_reads_either_half_and_the_old_shape() -> None:
    assert claims_of({"id_token": {"sub": "a", "pid": NILS}})["pid"] == NILS
    assert claims_of({"userinfo": {"sub": "a", "pid": NILS}})["pid"] == NILS
    assert claims_of({"sub": "a", "pid": NILS})["pid"] == NILS


def test_claims_of_refuses_answers_about_two_people() -> None:
    with pytest.raises(Refusal, match="did not match"):
        claims_of({"userinfo": {"sub": "a"}, "id_token": {"sub": "b"}})


def test_citizen_at_high_with_a_valid_number() -> None:
    citizen = citizen_from_claims(
        idporten(given_name="Nils", family_name="Nilsen", locale="en"), accept_synthetic=True
    )
    assert citizen.identifier.value == NILS
    assert citizen.identifier.kind is IdentifierKind.FODSELSNUMMER
    assert citizen.identifier.birth_date == dt.date(1991, 8, 30)
    assert citizen.full_name == "Nils Nilsen"
    assert citizen.email == ""
    assert citizen.language == "en"


@pytest.mark.parametrize(
    "acr", ["idporten-loa-substantial", "idporten-loa-low", "Level4", "", None, "IDPORTEN-LOA-HIGH"]
)
def test_citizen_below_high_is_refused(acr: object) -> None:
    with pytest.raises(Refusal, match="lower security level"):
        citizen_from_claims(idporten(acr=acr), accept_synthetic=True)  # type: ignore[arg-type]


def test_citizen_without_acr_is_refused() -> None:
    claims = idporten()
    del claims["acr"]
    with pytest.raises(Refusal, match="lower security level"):
        citizen_from_claims(claims, accept_synthetic=True)


@pytest.mark.parametrize("pid", ["", "   ", None, 12345678901])
def test_citizen_without_a_number_is_refused(pid: object) -> None:
    with pytest.raises(Refusal, match="did not send your national identity number"):
        citizen_from_claims(idporten(pid=pid), accept_synthetic=True)  # type: ignore[arg-type]


def test_citizen_with_a_mistyped_number_is_refused() -> None:
    wrong = NILS[:-1] + str((int(NILS[-1]) + 1) % 10)
    with pytest.raises(Refusal, match="check digits"):
        citizen_from_claims(idporten(pid=wrong), accept_synthetic=True)


def test_synthetic_numbers_only_where_the_operator_allows_them() -> None:
    with pytest.raises(Refusal, match="synthetic test number"):
        citizen_from_claims(idporten(), accept_synthetic=False)


def test_only_a_verified_well_formed_email_is_taken() -> None:
    def email(**claims: Any) -> str:
        return citizen_from_claims(idporten(**claims), accept_synthetic=True).email

    assert email(email="Nils@Example.NO", email_verified=True) == "nils@example.no"
    assert email(email="nils@example.no") == ""
    assert email(email="nils@example.no", email_verified="true") == ""
    assert email(email="not an address", email_verified=True) == ""


def test_professional_at_level_4_with_an_hpr_number() -> None:
    professional = professional_from_claims(helseid())
    assert professional.hpr_number == "9100077"
    assert professional.full_name == "Per Hansen"
    assert professional_from_claims(helseid(level=4, hpr=9100077)).hpr_number == "9100077"


@pytest.mark.parametrize(
    "level", ["3", 3, "2", None, "", "four", True, "4.5", [4], "\u0664", "4\n4"]
)
def test_professional_below_level_4_is_refused(level: object) -> None:
    with pytest.raises(Refusal, match="security level 4"):
        professional_from_claims(helseid(level=level))


@pytest.mark.parametrize(
    "hpr", [None, "", "abc", "1234567890", True, ["9100077"], "91 00077", "\u0669100077"]
)
def test_professional_without_a_usable_hpr_number_is_refused(hpr: object) -> None:
    with pytest.raises(Refusal, match="no HPR number"):
        professional_from_claims(helseid(hpr=hpr))


def test_full_name_from_the_claims_there_are() -> None:
    assert full_name_from_claims({"name": "  Kari   Nordmann "}) == "Kari Nordmann"
    assert full_name_from_claims({"given_name": "Ola", "middle_name": "", "family_name": "Ås"}) == (
        "Ola Ås"
    )
    assert full_name_from_claims({"name": 42}) == ""
    assert full_name_from_claims({}) == ""


def test_placeholder_addresses_are_unique_valid_and_undeliverable() -> None:
    first, second = placeholder_email(), placeholder_email()
    assert first != second
    validate_email(first)
    assert first.endswith(".invalid"), "RFC 2606: the .invalid domain never resolves"
    assert is_placeholder_email(first)
    assert not is_placeholder_email("kari@pasient.example")


# --- the adapter, on the database -----------------------------------------------------------


@pytest.fixture
def providers(settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = providers_from_env(
        {
            "TELEDERM_IDPORTEN_URL": "https://idporten.test",
            "TELEDERM_IDPORTEN_CLIENT_ID": "telederm",
            "TELEDERM_IDPORTEN_CLIENT_SECRET": "secret",
            "TELEDERM_HELSEID_URL": "https://helseid.test",
            "TELEDERM_HELSEID_CLIENT_ID": "telederm",
            "TELEDERM_HELSEID_CLIENT_SECRET": "secret",
        }
    )


def make_request(rf: RequestFactory) -> HttpRequest:
    request = rf.get("/account/oidc/callback/", REMOTE_ADDR="192.0.2.10")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    MessageMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = AnonymousUser()
    return request


def social_login(provider: str, claims: dict[str, Any], *, process: str = "login") -> SocialLogin:
    """What allauth builds from the provider's answer: userinfo plus the checked ID token."""
    userinfo = {k: v for k, v in claims.items() if k != "acr"}
    account = SocialAccount(
        provider=provider,
        uid=claims["sub"],
        extra_data={"userinfo": userinfo, "id_token": claims},
    )
    login = SocialLogin(account=account)
    login.state = {"process": process}
    return login


SignIn = Callable[..., HttpResponse]


@pytest.fixture
def sign_in(rf: RequestFactory, providers: None, db: None) -> SignIn:
    """Run allauth's own completion of a social login (lookup, our adapter, login)."""

    def run(provider: str, claims: dict[str, Any], **kwargs: Any) -> HttpResponse:
        request = make_request(rf)
        login = social_login(provider, claims, **kwargs)
        with context.request_context(request):
            response = complete_social_login(request, login)
        response.wsgi_request = request  # type: ignore[attr-defined]
        return response

    return run


def nothing_written() -> bool:
    return not (
        User.objects.exists()
        or Patient.objects.exists()
        or SocialAccount.objects.exists()
        or AccessEvent.objects.exists()
    )


def test_citizen_with_an_account_signs_in_to_it(sign_in: SignIn, patient_user: User) -> None:
    response = sign_in("idporten", idporten(pid=KARI))

    assert response.status_code == 302
    assert response.wsgi_request.user == patient_user  # type: ignore[attr-defined]
    assert SocialAccount.objects.get().user == patient_user
    event = AccessEvent.objects.get()
    assert event.action == "patient.account.link"
    assert event.actor == patient_user
    assert event.patient_uuid == patient_user.patient.uuid
    assert event.basis == "own"
    assert event.client_address == "192.0.2.10"

    # The next sign-in finds the linked account and writes nothing more.
    again = sign_in("idporten", idporten(pid=KARI))
    assert again.wsgi_request.user == patient_user  # type: ignore[attr-defined]
    assert SocialAccount.objects.count() == 1
    assert AccessEvent.objects.count() == 1


def test_referred_patient_gets_an_account(sign_in: SignIn, gp: User) -> None:
    referred = Patient.objects.create(identifier=NILS, identifier_kind="fnr", full_name="Nils N.")

    sign_in("idporten", idporten(locale="en"))

    referred.refresh_from_db()
    user = referred.user
    assert user is not None
    assert user.role == User.Role.PATIENT
    assert user.full_name == "Nils N.", "no name in the claims: the record's name"
    assert user.preferred_language == "en"
    assert is_placeholder_email(user.email)
    assert not user.has_usable_password()
    assert SocialAccount.objects.get().user == user
    assert AccessEvent.objects.get().patient_uuid == referred.uuid


def test_a_person_new_to_telederm_is_registered_with_an_account(sign_in: SignIn) -> None:
    claims = idporten(name="Nils Nilsen", email="nils@example.no", email_verified=True)
    response = sign_in("idporten", claims)

    patient = Patient.objects.get()
    assert patient.identifier == NILS
    assert patient.identifier_kind == "fnr"
    assert patient.birth_date == dt.date(1991, 8, 30)
    assert patient.full_name == "Nils Nilsen"
    assert patient.user is not None
    assert patient.user.email == "nils@example.no"
    assert response.wsgi_request.user == patient.user  # type: ignore[attr-defined]
    event = AccessEvent.objects.get()
    assert (event.action, event.actor, event.patient_uuid) == (
        "patient.account.link",
        patient.user,
        patient.uuid,
    )


def test_an_address_someone_else_has_is_not_taken(sign_in: SignIn, gp: User) -> None:
    sign_in("idporten", idporten(email=gp.email, email_verified=True))

    patient = Patient.objects.get()
    assert patient.user is not None
    assert patient.user != gp, "never joined to an account by its e-mail address"
    assert is_placeholder_email(patient.user.email)


def test_citizen_below_high_is_refused_with_a_page_and_nothing_written(sign_in: SignIn) -> None:
    response = sign_in("idporten", idporten(acr="idporten-loa-substantial"))

    assert response.status_code == 403
    content = response.content.decode()
    assert "You were not signed in" in content
    assert "lower security level" in content
    assert response.wsgi_request.user.is_anonymous  # type: ignore[attr-defined]
    assert nothing_written()


def test_a_staff_account_is_not_opened_by_idporten(sign_in: SignIn, dermatologist: User) -> None:
    Patient.objects.create(
        identifier=NILS, identifier_kind="fnr", full_name="Erik Strand", user=dermatologist
    )
    response = sign_in("idporten", idporten())

    assert response.status_code == 403
    assert "staff account" in response.content.decode()
    assert not SocialAccount.objects.exists()
    assert not AccessEvent.objects.exists()


def test_an_identity_linked_elsewhere_is_refused_and_rolled_back(
    sign_in: SignIn, patient_user: User, other_patient_user: User
) -> None:
    # The ID-porten identity was linked to Ola's account, but its number is a new person's.
    SocialAccount.objects.create(
        provider="idporten", uid="idp-sub-1", user=other_patient_user, extra_data={}
    )
    users_before = set(User.objects.values_list("pk", flat=True))

    response = sign_in("idporten", idporten())

    assert response.status_code == 403
    assert "linked to a different Telederm account" in response.content.decode()
    assert set(User.objects.values_list("pk", flat=True)) == users_before
    assert not Patient.objects.filter(identifier=NILS).exists(), "the transaction rolled back"
    assert not AccessEvent.objects.exists()


def test_connecting_to_a_signed_in_account_is_refused(sign_in: SignIn) -> None:
    response = sign_in("idporten", idporten(), process="connect")

    assert response.status_code == 403
    assert "Sign out first" in response.content.decode()
    assert nothing_written()


def test_gp_with_an_hpr_number_signs_in_to_that_account(sign_in: SignIn, gp: User) -> None:
    response = sign_in("helseid", helseid(hpr=gp.hpr_number))

    request = response.wsgi_request  # type: ignore[attr-defined]
    assert request.user == gp
    assert SocialAccount.objects.get().user == gp
    gp.refresh_from_db()
    assert gp.role == User.Role.SUBMITTER
    assert not AccessEvent.objects.exists(), "no patient data was touched"


def test_any_role_with_the_hpr_number_signs_in(sign_in: SignIn, dermatologist: User) -> None:
    dermatologist.hpr_number = "9100555"
    dermatologist.save()

    response = sign_in("helseid", helseid(hpr="9100555"))

    assert response.wsgi_request.user == dermatologist  # type: ignore[attr-defined]


def test_helseid_sign_in_is_recorded_as_strong_authentication(sign_in: SignIn, gp: User) -> None:
    response = sign_in("helseid", helseid(hpr=gp.hpr_number))

    request = response.wsgi_request  # type: ignore[attr-defined]
    records = request.session["account_authentication_methods"]
    assert records[-1]["method"] == "socialaccount"
    assert records[-1]["provider"] == "helseid", "allauth records the app's provider_id"
    assert is_strongly_authenticated(request)


def test_idporten_sign_in_is_not_strong_authentication_for_staff(
    sign_in: SignIn, patient_user: User
) -> None:
    response = sign_in("idporten", idporten(pid=KARI))

    request = response.wsgi_request  # type: ignore[attr-defined]
    assert request.session["account_authentication_methods"][-1]["provider"] == "idporten"
    assert not is_strongly_authenticated(request)


def test_new_gp_gets_a_referring_professional_account(sign_in: SignIn) -> None:
    response = sign_in("helseid", helseid())

    user = User.objects.get()
    assert response.wsgi_request.user == user  # type: ignore[attr-defined]
    assert user.role == User.Role.SUBMITTER
    assert user.hpr_number == "9100077"
    assert user.full_name == "Per Hansen"
    assert is_placeholder_email(user.email)
    assert not user.has_usable_password()
    assert not Patient.objects.exists()
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("level", ["3", None])
def test_helseid_below_level_4_is_refused_with_nothing_written(
    sign_in: SignIn, level: object
) -> None:
    response = sign_in("helseid", helseid(level=level))

    assert response.status_code == 403
    assert "security level 4" in response.content.decode()
    assert nothing_written()


def test_helseid_never_opens_a_patient_account(sign_in: SignIn, patient_user: User) -> None:
    patient_user.hpr_number = "9100077"
    patient_user.save()

    response = sign_in("helseid", helseid())

    assert response.status_code == 403
    assert "patient account" in response.content.decode()
    assert not SocialAccount.objects.exists()


def test_two_accounts_with_one_hpr_number_are_refused(
    sign_in: SignIn, gp: User, other_gp: User
) -> None:
    other_gp.hpr_number = gp.hpr_number
    other_gp.save()

    response = sign_in("helseid", helseid(hpr=gp.hpr_number))

    assert response.status_code == 403
    assert "More than one Telederm account" in response.content.decode()
    assert not SocialAccount.objects.exists()


def test_signup_is_open_only_for_the_two_identity_providers(rf: RequestFactory) -> None:
    adapter = SocialAccountAdapter()
    request = rf.get("/")
    for provider, expected in [("helseid", True), ("idporten", True), ("google", False)]:
        login = SocialLogin(account=SocialAccount(provider=provider, uid="x"))
        assert adapter.is_open_for_signup(request, login) is expected, provider


def test_other_providers_pass_through_untouched(rf: RequestFactory, db: None) -> None:
    login = SocialLogin(account=SocialAccount(provider="google", uid="x", extra_data={}))
    login.state = {"process": "login"}
    SocialAccountAdapter().pre_social_login(rf.get("/"), login)
    assert login.user is None
    assert nothing_written()


def test_refusal_is_an_immediate_response(rf: RequestFactory, providers: None, db: None) -> None:
    request = make_request(rf)
    login = social_login("helseid", helseid(level="2"))
    with pytest.raises(ImmediateHttpResponse) as raised:
        SocialAccountAdapter().pre_social_login(request, login)
    assert raised.value.response.status_code == 403


# --- the pages --------------------------------------------------------------------------------


def test_sign_in_page_has_a_post_button_per_provider(
    client: Client, providers: None, db: None
) -> None:
    response = client.get("/account/login/")

    html = response.content.decode()
    assert response.status_code == 200
    for provider_id, name in [("idporten", "ID-porten"), ("helseid", "HelseID")]:
        assert f'<form method="post" action="/account/oidc/{provider_id}/login/?process=login"' in (
            html
        )
        assert f"Sign in with {name}</button>" in html
    template_names = {t.origin.name for t in response.templates if t.origin}
    assert any(
        name.endswith("telederm/patients/templates/socialaccount/snippets/provider_list.html")
        for name in template_names
    ), "Telederm's provider list wins over allauth's"


def test_no_provider_section_when_none_is_configured(client: Client, db: None) -> None:
    html = client.get("/account/login/").content.decode()
    assert "With an electronic ID" not in html
    assert "/account/oidc/" not in html


def test_opening_a_provider_address_directly_asks_to_continue(
    client: Client, providers: None, db: None
) -> None:
    response = client.get("/account/oidc/helseid/login/?next=/cases/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sign in with HelseID</h1>" in html
    assert "Continue to HelseID</button>" in html
    assert '<form method="post"' in html


def test_a_failed_provider_sign_in_is_logged(
    rf: RequestFactory, providers: None, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    provider = get_adapter().get_provider(None, "helseid")
    SocialAccountAdapter().on_authentication_error(
        make_request(rf), provider, error="unknown", exception=OAuth2Error("invalid_client")
    )
    assert "helseid sign-in failed: unknown (OAuth2Error: invalid_client)" in caplog.text
