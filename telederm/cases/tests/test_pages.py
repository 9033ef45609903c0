"""What a patient finds on the case pages: the way to the symptom checker, and headings that say
what the page is."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.cases.models import Case

pytestmark = pytest.mark.django_db

CHECKER = reverse("symptoms:start")


def test_my_cases_offers_the_symptom_checker(client: Client, patient_user: User) -> None:
    sign_in(client, patient_user)
    response = client.get(reverse("cases:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Not sure if you need a doctor?" in response.text
    assert f'<a href="{CHECKER}">Check your symptoms</a>' in response.text


def test_the_new_case_page_offers_the_symptom_checker_first(
    client: Client, patient_user: User
) -> None:
    sign_in(client, patient_user)
    response = client.get(reverse("cases:new"), HTTP_ACCEPT_LANGUAGE="en")
    assert f'<a href="{CHECKER}">Not sure? Check your symptoms first</a>' in response.text


def test_changing_a_draft_does_not_send_the_patient_back_to_the_checker(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    sign_in(client, case.created_by)
    response = client.get(reverse("cases:edit", args=[case.uuid]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Check your symptoms first" not in response.text


def test_a_gp_is_not_offered_the_patients_checker_links(client: Client, gp: User) -> None:
    sign_in(client, gp)
    for url in (reverse("cases:list"), reverse("cases:new")):
        assert CHECKER not in client.get(url, HTTP_ACCEPT_LANGUAGE="en").text


def test_the_case_page_heading_says_it_is_the_patients_case(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True, body_site="back")
    sign_in(client, case.created_by)
    response = client.get(reverse("cases:detail", args=[case.uuid]), HTTP_ACCEPT_LANGUAGE="en")
    # "Back" alone would read like a navigation link.
    assert "<h1>Your case: Back</h1>" in response.text


def test_the_referring_gp_reads_a_referral_heading_with_the_patients_name(
    client: Client, make_case: Callable[..., Case], gp: User, patient_user: User
) -> None:
    case = make_case(by=gp, submit=True, body_site="hand")
    sign_in(client, gp)
    response = client.get(reverse("cases:detail", args=[case.uuid]), HTTP_ACCEPT_LANGUAGE="en")
    assert f"<h1>Referral: Hand or fingers · {patient_user.full_name}</h1>" in response.text


def test_my_cases_names_each_case_by_more_than_a_body_site(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True, body_site="back")
    sign_in(client, case.created_by)
    response = client.get(reverse("cases:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert f'{reverse("cases:detail", args=[case.uuid])}">Case: Back</a>' in response.text
