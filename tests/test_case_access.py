"""Grants to outside professionals and break-glass openings: time-boxed, logged, in the history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases import access
from telederm.cases.models import BreakGlassAccess, Case, CaseEvent, CaseGrant
from telederm.cases.policies import Basis, access_basis, can_view_case, cases_visible_to
from telederm.core import clock
from telederm.core.errors import UserFacingError
from telederm.review.services import take_for_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def taken(make_case: Callable[..., Case], dermatologist: User) -> Case:
    case = make_case(submit=True)
    return take_for_review(by=dermatologist, case=case, expected_version=case.version)


def give(case: Case, by: User, days: int = 7, **extra: str) -> CaseGrant:
    values = {
        "hpr_number": "9100055",
        "email": "Kirurg@Sykehus.example",
        "full_name": "Siri Kirurg",
        "purpose": "Second opinion before excision",
    }
    values.update(extra)
    return access.grant_access(by=by, case=case, days=days, **values)


def test_a_grant_creates_an_outside_account_that_sees_the_one_case_until_it_expires(
    taken: Case,
    dermatologist: User,
    make_case: Callable[..., Case],
) -> None:
    other_case = make_case(submit=True)
    grant = give(taken, dermatologist, days=2)
    grantee = grant.grantee
    assert grantee.email == "kirurg@sykehus.example"
    assert grantee.role == User.Role.EXTERNAL and grantee.hpr_number == "9100055"
    assert not grantee.has_usable_password()
    assert access_basis(grantee, taken) == Basis.GRANT
    assert list(cases_visible_to(grantee)) == [taken]
    assert not can_view_case(grantee, other_case)
    assert taken.events.filter(action=CaseEvent.Action.ACCESS_GRANTED).count() == 1
    event = AccessEvent.objects.get(action="case.grant")
    assert event.reason == "Second opinion before excision" and event.case_uuid == taken.uuid

    with clock.frozen_at(grant.expires_at + dt.timedelta(seconds=1)):
        assert not can_view_case(grantee, taken)
        assert not cases_visible_to(grantee).exists()


def test_the_grantee_is_told_by_email_without_clinical_content(
    taken: Case, dermatologist: User
) -> None:
    from django_tasks_db.models import DBTaskResult

    give(taken, dermatologist)
    task = DBTaskResult.objects.get(task_path="telederm.cases.tasks.tell_grantee")
    from telederm.cases.tasks import tell_grantee

    tell_grantee.call(**task.args_kwargs["kwargs"])
    (message,) = mail.outbox
    assert message.to == ["kirurg@sykehus.example"]
    assert "tilgang til en sak" in message.subject  # the grantee's language: bokmål by default
    assert taken.patient.full_name not in message.body
    assert taken.complaint not in message.body


def test_a_revoked_grant_ends_access_at_once(taken: Case, dermatologist: User) -> None:
    grant = give(taken, dermatologist)
    access.revoke_grant(by=dermatologist, grant=grant)
    assert not can_view_case(grant.grantee, taken)
    assert taken.events.filter(action=CaseEvent.Action.ACCESS_REVOKED).count() == 1
    assert AccessEvent.objects.filter(action="case.grant.revoke").count() == 1
    access.revoke_grant(by=dermatologist, grant=grant)  # twice is harmless, logged once
    assert AccessEvent.objects.filter(action="case.grant.revoke").count() == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"hpr_number": "12ab"}, "HPR number"),
        ({"email": "kari@pasient.example"}, "patient account"),
    ],
)
def test_bad_grants_are_refused_with_a_reason_and_leave_nothing(
    taken: Case, dermatologist: User, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(UserFacingError, match=message):
        give(taken, dermatologist, **extra)
    assert not CaseGrant.objects.exists()
    assert not User.objects.filter(role=User.Role.EXTERNAL).exists()


def test_an_hpr_number_that_does_not_match_the_account_is_refused(
    taken: Case, dermatologist: User, gp: User
) -> None:
    with pytest.raises(UserFacingError, match="another HPR number"):
        give(taken, dermatologist, email=gp.email, hpr_number="1234567")
    assert give(taken, dermatologist, email=gp.email, hpr_number=gp.hpr_number).grantee == gp


def test_too_long_grants_are_refused(taken: Case, dermatologist: User, settings: object) -> None:
    with pytest.raises(UserFacingError, match="1 to 30 days"):
        give(taken, dermatologist, days=31)


def test_only_clinicians_caring_for_the_case_grant_access(
    taken: Case, gp: User, other_dermatologist: User, coordinator: User
) -> None:
    for person in (gp, other_dermatologist, coordinator):
        with pytest.raises(PermissionDenied):
            give(taken, person)


def test_break_glass_needs_a_reason_and_lasts_a_short_time(
    taken: Case, duty_nurse: User, settings: object
) -> None:
    assert access_basis(duty_nurse, taken) is None
    with pytest.raises(UserFacingError, match="Say why"):
        access.break_glass(by=duty_nurse, case=taken, reason="  need  ")
    assert not BreakGlassAccess.objects.exists()
    opened = access.break_glass(by=duty_nurse, case=taken, reason="Patient called: bleeding mole")
    assert access_basis(duty_nurse, taken) == Basis.BREAK_GLASS
    logged = AccessEvent.objects.get(action="case.break_glass")
    assert logged.basis == "break_glass" and logged.reason == "Patient called: bleeding mole"
    with clock.frozen_at(opened.expires_at + dt.timedelta(seconds=1)):
        assert access_basis(duty_nurse, taken) is None
    assert opened.expires_at - opened.starts_at == dt.timedelta(minutes=60)


def test_break_glass_is_refused_to_those_who_have_access_or_are_not_clinicians(
    taken: Case, dermatologist: User, coordinator: User, gp: User
) -> None:
    for person in (dermatologist, coordinator, gp):
        with pytest.raises(PermissionDenied):
            access.break_glass(by=person, case=taken, reason="Just curious about this one")


def test_a_clinician_outside_the_case_is_offered_to_break_the_glass(
    client: Client, taken: Case, other_dermatologist: User
) -> None:
    sign_in(client, other_dermatologist)
    url = reverse("review:case", args=[taken.uuid])
    offer = client.get(url)
    assert offer.status_code == 403
    body = offer.content.decode()
    assert "outside your access" in body and taken.patient.full_name not in body
    refused = client.post(reverse("review:break_glass", args=[taken.uuid]), {"reason": ""})
    assert refused.status_code == 400
    opened = client.post(
        reverse("review:break_glass", args=[taken.uuid]),
        {"reason": "Covering for a colleague on sick leave"},
    )
    assert opened.status_code == 302 and opened["Location"] == url
    page = client.get(url)
    assert page.status_code == 200 and taken.patient.full_name in page.content.decode()
    view = AccessEvent.objects.filter(action="case.view", actor=other_dermatologist).get()
    assert view.basis == "break_glass"
    assert view.reason == "Covering for a colleague on sick leave"


def test_the_clinic_page_grants_and_revokes(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    url = reverse("review:grant", args=[taken.uuid])
    bad = client.post(url, {"full_name": "Siri", "email": "x@y.example", "hpr_number": "1"})
    assert bad.status_code == 400
    good = client.post(
        url,
        {
            "full_name": "Siri Kirurg",
            "email": "kirurg@sykehus.example",
            "hpr_number": "9100055",
            "purpose": "Second opinion",
            "days": "3",
        },
    )
    assert good.status_code == 302
    grant = CaseGrant.objects.get()
    page = client.get(reverse("review:case", args=[taken.uuid])).content.decode()
    assert "Siri Kirurg" in page and "End access for Siri Kirurg" in page
    client.post(reverse("review:revoke_grant", args=[taken.uuid, grant.uuid]))
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == dermatologist
