"""The photo image route (a FHIR Media points to it) takes a token with a Media read scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


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
    response.close()
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
