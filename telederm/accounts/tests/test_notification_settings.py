"""A person's notification settings: the mobile number SMS notifications go to."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import sign_in
from telederm.accounts.models import User

pytestmark = pytest.mark.django_db

URL = "/account/notifications/"


def test_a_patient_saves_a_norwegian_number_in_international_form(
    client: Client, patient_user: User
) -> None:
    sign_in(client, patient_user)
    page = client.get(URL).content.decode()
    assert 'autocomplete="tel"' in page and "only say that there is news" in page
    response = client.post(URL, {"mobile_number": "912 34 567"})
    assert response.status_code == 302
    patient_user.refresh_from_db()
    assert patient_user.mobile_number == "+4791234567"


def test_an_empty_number_turns_sms_off(client: Client, duty_nurse: User) -> None:
    duty_nurse.mobile_number = "+4791234567"
    duty_nurse.save()
    sign_in(client, duty_nurse)
    client.post(URL, {"mobile_number": ""})
    duty_nurse.refresh_from_db()
    assert duty_nurse.mobile_number == ""


def test_a_number_that_cannot_take_sms_is_refused(client: Client, patient_user: User) -> None:
    sign_in(client, patient_user)
    response = client.post(URL, {"mobile_number": "22 12 34 56"})
    assert response.status_code == 200
    assert "does not look like a mobile number" in response.content.decode()
    patient_user.refresh_from_db()
    assert patient_user.mobile_number == ""


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/account/login/" in response["Location"]
