"""The patient's "Who has seen my information" and the privacy officer's review."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from conftest import _user, sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases import access
from telederm.cases.models import BreakGlassAccess, Case
from telederm.cases.services import open_case
from telederm.core import clock
from telederm.review.services import take_for_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(make_case: Callable[..., Case], dermatologist: User, duty_nurse: User) -> Case:
    case = make_case(submit=True)
    case = take_for_review(by=dermatologist, case=case, expected_version=case.version)
    open_case(by=dermatologist, case_uuid=case.uuid)
    access.break_glass(by=duty_nurse, case=case, reason="Patient phoned about bleeding")
    return case


def test_the_patient_sees_who_read_their_case_in_plain_language(
    client: Client, patient_user: User, seen: Case
) -> None:
    page = sign_in(client, patient_user).get(reverse("privacy:my_access_log")).content.decode()
    body = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "Erik Strand, Dermatologist, Telederm hudklinikk" in body
    assert "Opened your case" in body
    assert "Mona Berg, Duty nurse, Telederm hudklinikk" in body
    assert "Opened your case outside their usual access" in body
    assert "“Patient phoned about bleeding”" in body
    assert "You" in body and "Sent your case to the clinic" in body
    assert AccessEvent.objects.filter(
        action="access_log.own.view", patient_uuid=patient_user.patient.uuid
    ).exists()


def test_the_page_speaks_norwegian(client: Client, patient_user: User, seen: Case) -> None:
    sign_in(client, patient_user)
    client.cookies["django_language"] = "nb"
    body = client.get(reverse("privacy:my_access_log"), HTTP_ACCEPT_LANGUAGE="nb").content
    text = body.decode()
    assert "Hvem har sett opplysningene mine" in text
    assert "Hudlege" in text


def test_another_patient_sees_none_of_it(
    client: Client, other_patient_user: User, seen: Case
) -> None:
    body = sign_in(client, other_patient_user).get(reverse("privacy:my_access_log")).content
    assert b"Erik Strand" not in body


def test_the_privacy_officer_finds_unusual_accesses_by_patient(
    client: Client, seen: Case, patient_user: User
) -> None:
    officer = _user("personvern@telederm.example", User.Role.PRIVACY_OFFICER)
    sign_in(client, officer)
    page = client.get(reverse("privacy:review"))
    assert page.status_code == 200
    assert "Patient phoned about bleeding" in page.content.decode()  # waiting for review
    today = clock.now().date()
    result = client.post(
        reverse("privacy:review"),
        {
            "start": (today - dt.timedelta(days=1)).isoformat(),
            "end": today.isoformat(),
            "patient_identifier": seen.patient.identifier,
            "unusual_only": "on",
        },
    )
    text = result.content.decode()
    assert result.status_code == 200
    assert "Break-glass access" in text
    assert "Mona Berg" in text
    logged = AccessEvent.objects.filter(action="access_log.review.view").last()
    assert logged is not None
    assert logged.patient_uuid == seen.patient.uuid and logged.actor == officer
    assert seen.patient.identifier not in logged.reason


def test_a_wrong_identifier_gets_a_clear_message(client: Client, seen: Case) -> None:
    officer = _user("personvern@telederm.example", User.Role.PRIVACY_OFFICER)
    today = clock.now().date().isoformat()
    response = sign_in(client, officer).post(
        reverse("privacy:review"),
        {"start": today, "end": today, "patient_identifier": "12345678901"},
    )
    assert response.status_code == 400
    assert "error" in response.content.decode()


def test_the_privacy_officer_marks_a_break_glass_access_reviewed(
    client: Client, seen: Case
) -> None:
    officer = _user("personvern@telederm.example", User.Role.PRIVACY_OFFICER)
    opened = BreakGlassAccess.objects.get()
    sign_in(client, officer).post(
        reverse("privacy:review_break_glass", args=[opened.uuid]),
        {"note": "Justified: the patient called the duty phone."},
    )
    opened.refresh_from_db()
    assert opened.reviewed_by == officer and opened.review_note.startswith("Justified")
    assert AccessEvent.objects.filter(action="case.break_glass.review").count() == 1
