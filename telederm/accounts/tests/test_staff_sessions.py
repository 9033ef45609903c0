"""Staff sessions: a second factor before patient data, and sign-out after idle minutes."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.test import Client, RequestFactory

from conftest import PASSWORD, sign_in
from telederm.accounts.middleware import LAST_SEEN_KEY
from telederm.accounts.models import User
from telederm.accounts.security import is_strongly_authenticated, needs_second_factor

pytestmark = pytest.mark.django_db


def test_every_role_but_patient_needs_a_second_factor(
    patient_user: User, gp: User, coordinator: User
) -> None:
    assert not needs_second_factor(patient_user)
    assert needs_second_factor(gp) and needs_second_factor(coordinator)
    for role in User.Role:
        assert User(role=role).needs_second_factor == (role != User.Role.PATIENT)


def test_a_password_alone_does_not_open_patient_data_for_staff(
    client: Client, dermatologist: User
) -> None:
    response = client.post(
        "/account/login/", {"login": dermatologist.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/account/2fa/"
    assert client.get("/clinic/")["Location"] == "/account/2fa/"
    assert client.get("/account/2fa/").status_code == 200  # setting it up stays open


def test_a_patient_needs_no_second_factor(client: Client, patient_user: User) -> None:
    client.post("/account/login/", {"login": patient_user.email, "password": PASSWORD})
    assert client.get("/cases/").status_code == 200


def test_a_wrong_password_signs_nobody_in(client: Client, dermatologist: User) -> None:
    response = client.post("/account/login/", {"login": dermatologist.email, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_for_a_while(
    client: Client, dermatologist: User
) -> None:
    for n in range(5):
        client.post("/account/login/", {"login": dermatologist.email, "password": f"wrong-{n}"})
    response = client.post("/account/login/", {"login": dermatologist.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_setting_up_totp_counts_as_the_sessions_second_factor(dermatologist: User) -> None:
    request = RequestFactory().get("/")
    client = sign_in(Client(), dermatologist, second_factor=False)
    request.session = client.session
    request.user = dermatologist
    assert not is_strongly_authenticated(request)
    recovery = Authenticator(user=dermatologist, type=Authenticator.Type.RECOVERY_CODES)
    authenticator_added.send(
        sender=Authenticator, request=request, user=dermatologist, authenticator=recovery
    )
    assert not is_strongly_authenticated(request)
    totp = Authenticator(user=dermatologist, type=Authenticator.Type.TOTP)
    authenticator_added.send(
        sender=Authenticator, request=request, user=dermatologist, authenticator=totp
    )
    assert is_strongly_authenticated(request)


def test_staff_are_signed_out_after_the_idle_minutes(
    client: Client, dermatologist: User, settings: object
) -> None:
    sign_in(client, dermatologist)
    assert client.get("/clinic/").status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 31 * 60
    session.save()
    response = client.get("/clinic/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=/clinic/")
    assert "_auth_user_id" not in client.session
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_activity_keeps_a_staff_session_alive(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 29 * 60
    session.save()
    assert client.get("/clinic/").status_code == 200
    assert client.session[LAST_SEEN_KEY] > time.time() - 60


def test_patients_are_not_timed_out_by_the_staff_rule(client: Client, patient_user: User) -> None:
    sign_in(client, patient_user)
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 120 * 60
    session.save()
    assert client.get("/cases/").status_code == 200


def test_open_sign_up_is_closed(client: Client) -> None:
    response = client.post(
        "/account/signup/",
        {"email": "new@pasient.example", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert not User.objects.filter(email="new@pasient.example").exists()
    assert response.status_code == 200


def test_signing_out_tells_the_browser_to_drop_what_the_site_stored(
    client: Client, patient_user: User
) -> None:
    """A photo the upload script kept to resume later must not stay on a shared device."""
    sign_in(client, patient_user)
    page = client.get("/cases/")
    assert page.status_code == 200 and "Clear-Site-Data" not in page
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "_auth_user_id" not in client.session
    assert "Clear-Site-Data" not in client.get("/")  # signed out already: nothing more to clear
