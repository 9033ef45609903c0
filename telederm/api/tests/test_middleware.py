"""Bearer tokens at /uploads/: who may upload with one, and what a token request leaves alone."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.test import Client

from conftest import sign_in
from telederm.accounts.models import User
from telederm.api.tokens import find_token, revoke_token
from telederm.cases.models import Case
from telederm.core import clock
from telederm.photos.models import Upload

pytestmark = pytest.mark.django_db

TokenFor = Callable[..., str]
INVALID = 'Bearer realm="telederm", error="invalid_token"'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def start(client: Client, case: Case, **headers: str) -> Any:
    return client.generic(
        "POST",
        "/uploads/",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA=f"case {b64(str(case.uuid))},kind {b64('overview')}",
        **headers,
    )


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def draft(make_case: Callable[..., Case]) -> Case:
    return make_case(photos=0)


@pytest.mark.parametrize(
    "scope",
    ["patient/Media.c", "patient/Media.write", "patient/*.write", "patient/*.*", "user/Media.cu"],
)
def test_a_token_that_may_create_media_uploads_without_csrf(
    scope: str, draft: Case, patient_user: User, token_for: TokenFor
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = start(client, draft, **bearer(token_for(patient_user, scope)))
    assert response.status_code == 201, response.content
    assert response["Tus-Resumable"] == "1.0.0"
    assert Upload.objects.get().owner == patient_user
    head = client.head(
        response["Location"], HTTP_TUS_RESUMABLE="1.0.0", **bearer(token_for(patient_user, scope))
    )
    assert head.status_code == 200 and head["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    "scope",
    ["patient/*.read", "patient/Media.rs", "patient/Media.ud", "patient/ServiceRequest.write"],
)
def test_a_token_without_a_media_create_scope_gets_403(
    scope: str, draft: Case, patient_user: User, token_for: TokenFor
) -> None:
    response = start(Client(), draft, **bearer(token_for(patient_user, scope)))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="telederm", error="insufficient_scope", scope="patient/Media.c user/Media.c"'
    )
    assert "patient/Media.c" in response.content.decode()
    assert response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    "case_of_token", ["garbage", "unknown", "revoked", "expired", "deactivated", "empty"]
)
def test_a_token_not_in_force_gets_401_invalid_token(
    case_of_token: str, draft: Case, patient_user: User, token_for: TokenFor
) -> None:
    token = token_for(patient_user, "patient/Media.c", expires_days=1)
    if case_of_token == "garbage":
        token = "not-a-token"
    elif case_of_token == "unknown":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    elif case_of_token == "revoked":
        found = find_token(token)
        assert found is not None
        revoke_token(found)
    elif case_of_token == "deactivated":
        User.objects.filter(pk=patient_user.pk).update(is_active=False)
    headers = {"HTTP_AUTHORIZATION": "Bearer "} if case_of_token == "empty" else bearer(token)
    later = clock.now() + dt.timedelta(days=2)
    with clock.frozen_at(later if case_of_token == "expired" else clock.now()):
        response = start(Client(), draft, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID
    assert response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()


def test_a_staff_token_needs_no_second_factor_but_a_staff_session_does(
    gp: User, make_case: Callable[..., Case], token_for: TokenFor
) -> None:
    their_draft = make_case(by=gp, photos=0)
    by_token = start(Client(), their_draft, **bearer(token_for(gp, "user/Media.write")))
    assert by_token.status_code == 201
    weak_session = sign_in(Client(), gp, second_factor=False)
    refused = start(weak_session, their_draft)
    assert refused.status_code == 403, "not a redirect to the two-factor page"
    assert Upload.objects.count() == 1


def test_the_token_wins_over_a_session_sent_along_and_leaves_that_session_alone(
    draft: Case, patient_user: User, dermatologist: User, token_for: TokenFor
) -> None:
    browser = sign_in(Client(), dermatologist)
    browser.get("/")  # allauth records the dermatologist's session
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    UserSession.objects.get_or_create(session_key=session_key, defaults={"user": dermatologist})
    response = start(browser, draft, **bearer(token_for(patient_user, "patient/Media.c")))
    assert response.status_code == 201
    assert Upload.objects.get().owner == patient_user
    assert UserSession.objects.get(session_key=session_key).user == dermatologist
    cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
    assert cookie is None or cookie.value == session_key, "the browser stays signed in"
    assert browser.get("/clinic/").status_code == 200


def test_someone_elses_token_cannot_reach_an_upload(
    draft: Case, patient_user: User, other_patient_user: User, token_for: TokenFor
) -> None:
    location = start(Client(), draft, **bearer(token_for(patient_user, "patient/Media.c")))[
        "Location"
    ]
    theirs = bearer(token_for(other_patient_user, "patient/Media.c"))
    head = Client().head(location, HTTP_TUS_RESUMABLE="1.0.0", **theirs)
    assert head.status_code == 404
    own_session = sign_in(Client(), patient_user)
    assert own_session.head(location, HTTP_TUS_RESUMABLE="1.0.0").status_code == 200


def test_bearer_tokens_count_only_under_uploads(
    draft: Case, patient_user: User, token_for: TokenFor
) -> None:
    token = token_for(patient_user, "patient/*.*")
    response = Client().get(f"/cases/{draft.uuid}/", **bearer(token))
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    assert "Tus-Resumable" not in response


def test_other_authorization_schemes_are_not_tokens(draft: Case, patient_user: User) -> None:
    basic = base64.b64encode(f"{patient_user.email}:x".encode()).decode()
    response = start(Client(), draft, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="telederm"'
