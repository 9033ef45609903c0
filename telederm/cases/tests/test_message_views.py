"""The thread on the case page, the thread's own page, and posting a message (no JavaScript)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases import messaging
from telederm.cases.access import grant_access
from telederm.cases.models import Case, Message
from telederm.cases.states import CaseStatus
from telederm.cases.tests.test_messaging import ask_for_info

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


def _send_url(case: Case) -> str:
    return reverse("cases:send_message", args=[case.uuid])


def test_case_page_shows_the_thread_with_its_unread_marker(
    client: Client, make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    messaging.send_message(by=duty_nurse, case=case, body="Does it bleed?")
    sign_in(client, patient_user)
    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert 'id="messages"' in page
    assert "Does it bleed?" in page
    assert "1 new" in page
    assert 'for="message-body"' in page
    assert AccessEvent.objects.filter(action="case.messages.view").count() == 1
    again = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert "1 new" not in again


def test_an_info_request_shows_what_the_clinic_needs(
    client: Client, make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = ask_for_info(make_case(submit=True), duty_nurse)
    sign_in(client, patient_user)
    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert "The clinic needs more from you" in page
    assert 'href="#message-body"' in page
    assert "Request for more information" in page
    assert f"/check/?case={case.uuid}" in page


def test_posting_a_reply_sends_the_case_back_and_returns_to_the_thread(
    client: Client, make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case = ask_for_info(make_case(submit=True), duty_nurse)
    sign_in(client, patient_user)
    detail = reverse("cases:detail", args=[case.uuid])
    response = client.post(_send_url(case), {"body": "It started in May.", "next": detail})
    assert response.status_code == 302
    assert response["Location"] == f"{detail}#messages"
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert Message.objects.filter(case=case, from_clinic=False).count() == 1


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_an_outside_next_is_ignored(
    client: Client, make_case: MakeCase, patient_user: User, next_url: str
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)
    response = client.post(_send_url(case), {"body": "Hello", "next": next_url})
    assert response["Location"] == reverse("cases:detail", args=[case.uuid]) + "#messages"


def test_a_clinician_returns_to_the_workspace(
    client: Client, make_case: MakeCase, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, duty_nurse)
    back = reverse("review:case", args=[case.uuid])
    response = client.post(_send_url(case), {"body": "We look at it today.", "next": back})
    assert response["Location"] == f"{back}#messages"
    assert Message.objects.get().from_clinic is True


def test_an_empty_message_shows_the_error_on_the_thread_page(
    client: Client, make_case: MakeCase, patient_user: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)
    response = client.post(_send_url(case), {"body": "   "})
    assert response.status_code == 400
    assert 'class="error" id="message-body-error"' in response.content.decode()
    assert not Message.objects.exists()


def test_someone_elses_case_is_not_found(
    client: Client, make_case: MakeCase, other_patient_user: User, outsider: User
) -> None:
    case = make_case(submit=True)
    for person in (other_patient_user, outsider):
        sign_in(client, person)
        assert client.post(_send_url(case), {"body": "Hi"}).status_code == 404
        assert client.get(reverse("cases:messages", args=[case.uuid])).status_code == 404
    assert not Message.objects.exists()


def test_a_grantee_sees_the_thread_without_a_reply_form(
    client: Client, make_case: MakeCase, duty_nurse: User
) -> None:
    case = make_case(submit=True)
    grant = grant_access(
        by=duty_nurse,
        case=case,
        hpr_number="1234567",
        email="kirurg@example.no",
        full_name="Kari Kirurg",
        purpose="Second opinion",
        days=2,
    )
    sign_in(client, grant.grantee)
    page = client.get(reverse("cases:messages", args=[case.uuid]))
    assert page.status_code == 200
    assert 'id="message-body"' not in page.content.decode()
    assert client.post(_send_url(case), {"body": "Hi"}).status_code == 403


def test_sending_needs_a_post_and_a_signed_in_person(
    client: Client, make_case: MakeCase, patient_user: User
) -> None:
    case = make_case(submit=True)
    anonymous = client.post(_send_url(case), {"body": "Hi"})
    assert anonymous.status_code == 302 and "/account/login/" in anonymous["Location"]
    sign_in(client, patient_user)
    assert client.get(_send_url(case)).status_code == 405


def test_a_draft_review_is_not_shown_to_the_patient(
    client: Client, make_case: MakeCase, patient_user: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)
    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert "The dermatologist's answer" not in page
    assert "Read the answer summary" not in page


def test_a_draft_has_no_thread(client: Client, make_case: MakeCase, patient_user: User) -> None:
    case = make_case()
    sign_in(client, patient_user)
    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert 'id="messages"' not in page
    assert not AccessEvent.objects.filter(action="case.messages.view").exists()
