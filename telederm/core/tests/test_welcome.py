"""The front page for a visitor who is not signed in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_the_front_page_offers_the_symptom_checker_without_signing_in(client: Client) -> None:
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Not sure if you need a doctor?" in response.text
    assert f'href="{reverse("symptoms:start")}">Check your symptoms</a>' in response.text
    assert reverse("account_login") in response.text
