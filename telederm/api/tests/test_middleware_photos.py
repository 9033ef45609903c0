"""The photo image route (a FHIR Media points to it) takes a token with a Media read scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import sign_in
from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def finish(response: Any) -> None:
    """Read a streamed image to the end: the test client then closes its file, as a server would
    (close() would also close the test's database connection, on PostgreSQL)."""
    b"".join(response.streaming_content)


def image_url(case: Any) -> str:
    photo = case.photos.get()
    return f"/cases/{case.uuid}/photos/{photo.uuid}/thumb.jpg"


def test_a_token_that_may_read_media_gets_the_image_and_the_read_is_logged(
    make_case: Any, patient_user: User
) -> None:
    case = make_case(by=patient_user)
    _, token = issue_token(user=patient_user, scopes=["patient/Media.read"])
    before = AccessEvent.objects.filter(action="photo.view").count()
    response = Client().get(image_url(case), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")
    assert AccessEvent.objects.filter(action="photo.view").count() == before + 1


def test_a_token_without_a_media_read_scope_is_refused(make_case: Any, patient_user: User) -> None:
    case = make_case(by=patient_user)
    _, token = issue_token(user=patient_user, scopes=["patient/ServiceRequest.read"])
    response = Client().get(image_url(case), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert "insufficient_scope" in response["WWW-Authenticate"]


def test_a_bad_token_is_refused_and_a_token_of_someone_else_finds_nothing(
    make_case: Any, patient_user: User, other_patient_user: User
) -> None:
    case = make_case(by=patient_user)
    assert Client().get(image_url(case), HTTP_AUTHORIZATION="Bearer tdm_x_y").status_code == 401
    _, token = issue_token(user=other_patient_user, scopes=["patient/Media.read"])
    response = Client().get(image_url(case), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404


def test_break_glass_never_reaches_a_photo_through_a_token(
    make_case: Any, duty_nurse: User
) -> None:
    """Emergency access is for the clinician at the screen: the same nurse's token finds nothing."""
    from telederm.cases import access
    from telederm.review.services import take_for_review

    case = make_case(submit=True)
    taken_by = User.objects.create_user(
        "hud3@telederm.example", None, full_name="Hud Tre", role=User.Role.DERMATOLOGIST
    )
    case = take_for_review(by=taken_by, case=case, expected_version=case.version)
    access.break_glass(by=duty_nurse, case=case, reason="Patient phoned about bleeding")
    browser = sign_in(Client(), duty_nurse)
    seen = browser.get(image_url(case))
    assert seen.status_code == 200  # at the screen, with the glass broken
    finish(seen)
    _, token = issue_token(user=duty_nurse, scopes=["user/Media.read"])
    response = Client().get(image_url(case), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404
    assert AccessEvent.objects.filter(action="photo.view", basis="break_glass").count() == 1


def test_a_token_sees_a_photo_only_through_its_own_case_not_another_of_the_lesion(
    make_case: Any, patient_user: User, gp: User
) -> None:
    """The patient's earlier case (sent by themselves) shares a lesion with the GP's later one:
    the GP at the screen may compare, the GP's token gets only the photos of the GP's case."""
    from telederm.cases.services import submit_case
    from telederm.photos.models import Photo
    from telederm.photos.tests.test_services import lesion_in, photo_of

    first = make_case(by=patient_user, photos=0)
    lesion = lesion_in(first)
    photo_of(first, lesion, Photo.Kind.OVERVIEW)
    old = photo_of(first, lesion, Photo.Kind.CLOSE_UP, shade=5)
    first.refresh_from_db()
    submit_case(by=patient_user, case=first, expected_version=first.version)
    second = make_case(by=gp, patient=patient_user.patient, photos=1)
    new = second.photos.get()
    Photo.objects.filter(pk=new.pk).update(lesion=lesion)  # the GP photographed the same lesion
    url = f"/cases/{first.uuid}/photos/{old.uuid}/thumb.jpg"
    browser = sign_in(Client(), gp)
    seen = browser.get(url)
    assert seen.status_code == 200  # the GP at the screen, through the lesion
    finish(seen)
    _, token = issue_token(user=gp, scopes=["user/Media.read"])
    own = Client().get(
        f"/cases/{second.uuid}/photos/{new.uuid}/thumb.jpg", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert own.status_code == 200
    finish(own)
    response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404
