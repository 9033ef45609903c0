"""The API over HTTP: bearer tokens only, scopes AND case policies, one log entry per case."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern

from conftest import jpeg_bytes
from telederm.accounts.models import User
from telederm.api import policies, views
from telederm.api.models import ApiToken
from telederm.api.tests.conftest import bearer
from telederm.api.urls import urlpatterns
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.cases.services import submit_case
from telederm.core.clock import frozen_at
from telederm.photos.models import Photo
from telederm.photos.services import add_photo

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
CASES = "/api/v1/cases/"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
INVALID = 'Bearer realm="telederm", error="invalid_token"'
TokenFor = Callable[..., str]


def case_url(case: Case | uuid.UUID) -> str:
    return f"{CASES}{case.uuid if isinstance(case, Case) else case}/"


def other_patients_case(make_case: Callable[..., Case], other: User) -> Case:
    return make_case(by=other, patient=other.patient, submit=True)


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID
    assert response.json()["error"] == "invalid_token"
    assert response.json()["error_description"]


# --- authentication -------------------------------------------------------------------------


def test_me_says_whose_token_it_is_and_logs_no_patient_data(
    client: Client, patient_user: User, token_for: TokenFor
) -> None:
    plain = token_for(patient_user, "patient/*.read", "user/Media.rs", expires_days=7)
    response = client.get(ME, headers=bearer(plain))
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Kari Nordmann"
    assert body["role"] == "patient"
    assert body["scopes"] == ["patient/*.read", "user/Media.rs"]
    assert body["token"]["prefix"] == plain.split("_")[1]
    assert body["token"]["expires_at"] is not None
    assert plain.split("_", 2)[2] not in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert "Authorization" in response["Vary"]
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic a2FyaUBwYXNpZW50LmV4YW1wbGU6cGFzc3dvcmQ=",
        "Bearer not-a-token",
        "Bearer {wrong_secret}",
        "Token {plain}",
    ],
)
def test_missing_malformed_or_wrong_tokens_get_401(
    client: Client, patient_user: User, token_for: TokenFor, header: str | None
) -> None:
    plain = token_for(patient_user, "patient/*.read")
    wrong_secret = plain[:-4] + ("AAAA" if not plain.endswith("AAAA") else "BBBB")
    headers = (
        {}
        if header is None
        else {"Authorization": header.format(plain=plain, wrong_secret=wrong_secret)}
    )
    for path in (ME, CASES, case_url(uuid.uuid4())):
        assert_invalid_token(client.get(path, headers=headers))
    assert client.get(ME, headers=bearer(plain)).status_code == 200


def test_missing_token_is_explained(client: Client) -> None:
    response = client.get(ME)
    assert_invalid_token(response)
    assert "Authorization: Bearer" in response.json()["error_description"]


def test_a_token_in_the_query_string_is_not_accepted(
    client: Client, patient_user: User, token_for: TokenFor
) -> None:
    plain = token_for(patient_user, "patient/*.read")
    assert_invalid_token(client.get(f"{ME}?access_token={plain}"))


def test_expired_tokens_get_401(client: Client, patient_user: User, token_for: TokenFor) -> None:
    with frozen_at(T0):
        plain = token_for(patient_user, "patient/*.read", expires_days=1)
    with frozen_at(T0 + dt.timedelta(hours=23)):
        assert client.get(ME, headers=bearer(plain)).status_code == 200
    with frozen_at(T0 + dt.timedelta(days=1, seconds=1)):
        assert_invalid_token(client.get(ME, headers=bearer(plain)))


def test_revoked_tokens_and_deactivated_owners_get_401(
    client: Client, patient_user: User, token_for: TokenFor
) -> None:
    revoked = token_for(patient_user, "patient/*.read")
    kept = token_for(patient_user, "patient/*.read")
    ApiToken.objects.filter(prefix=revoked.split("_")[1]).update(revoked_at=T0)
    assert_invalid_token(client.get(ME, headers=bearer(revoked)))
    assert client.get(ME, headers=bearer(kept)).status_code == 200
    patient_user.is_active = False
    patient_user.save()
    assert_invalid_token(client.get(ME, headers=bearer(kept)))


def test_a_browser_session_is_not_enough(
    client: Client, patient_user: User, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True)
    client.force_login(patient_user)
    # A signed-in browser: the session cookie is sent with every request below.
    assert client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.session[SESSION_KEY] == str(patient_user.pk)
    for path in (ME, CASES, case_url(case)):
        assert_invalid_token(client.get(path))
    assert not AccessEvent.objects.filter(action__startswith="api.").exists()


def test_the_token_not_the_session_decides_who_is_asking(
    client: Client, patient_user: User, gp: User, token_for: TokenFor
) -> None:
    client.force_login(gp)
    response = client.get(ME, headers=bearer(token_for(patient_user, "patient/*.read")))
    assert response.json()["name"] == "Kari Nordmann"


def test_inside_a_handler_request_user_is_the_tokens_owner(
    rf: RequestFactory, patient_user: User, gp: User, token_for: TokenFor
) -> None:
    @views.token_required
    def probe(request: HttpRequest, token: ApiToken) -> HttpResponse:
        return JsonResponse({"user": request.user.get_username(), "token": token.prefix})

    plain = token_for(patient_user, "patient/*.read")
    request = rf.get("/api/v1/probe", headers=bearer(plain))
    request.user = gp  # as a session cookie would have made it
    assert json.loads(probe(request).content) == {
        "user": "kari@pasient.example",
        "token": plain.split("_")[1],
    }


def test_only_get_is_served_and_no_csrf_token_is_needed(
    patient_user: User, token_for: TokenFor
) -> None:
    client = Client(enforce_csrf_checks=True)
    plain = token_for(patient_user, "patient/*.read")
    response = client.post(CASES, headers=bearer(plain))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"] == "method_not_allowed"
    assert_invalid_token(client.post(CASES))


def walk(patterns: list[Any]) -> list[str]:
    routes = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        routes.append(
            "/api/v1/" + str(pattern.pattern).replace("<uuid:case_uuid>", str(uuid.uuid4()))
        )
    return routes


@pytest.mark.parametrize("path", walk(urlpatterns))
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_every_api_route_turns_away_requests_without_a_token(
    client: Client, path: str, method: str
) -> None:
    assert_invalid_token(getattr(client, method)(path))


# --- scopes and policies --------------------------------------------------------------------


def test_a_patient_token_reads_its_own_cases_and_no_one_elses(
    client: Client,
    patient_user: User,
    other_patient_user: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
) -> None:
    own = make_case(submit=True)
    draft = make_case()
    theirs = other_patients_case(make_case, other_patient_user)
    plain = token_for(patient_user, "patient/*.read")

    listed = client.get(CASES, headers=bearer(plain)).json()
    assert {item["uuid"] for item in listed["results"]} == {str(own.uuid), str(draft.uuid)}
    assert listed["count"] == 2
    assert client.get(case_url(own), headers=bearer(plain)).status_code == 200
    forbidden = client.get(case_url(theirs), headers=bearer(plain))
    missing = client.get(case_url(uuid.uuid4()), headers=bearer(plain))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert not AccessEvent.objects.filter(case_uuid=theirs.uuid, action__startswith="api.")


def test_a_token_without_a_case_scope_gets_403_insufficient_scope(
    client: Client, patient_user: User, make_case: Callable[..., Case], token_for: TokenFor
) -> None:
    case = make_case(submit=True)
    plain = token_for(patient_user, "user/Observation.read", "patient/Media.rs")
    listed = client.get(CASES, headers=bearer(plain))
    assert listed.status_code == 403
    assert listed.json()["error"] == "insufficient_scope"
    assert listed.json()["scope"] == "patient/ServiceRequest.s user/ServiceRequest.s"
    assert listed["WWW-Authenticate"] == (
        'Bearer realm="telederm", error="insufficient_scope", '
        'scope="patient/ServiceRequest.s user/ServiceRequest.s"'
    )
    one = client.get(case_url(case), headers=bearer(plain))
    assert one.status_code == 403
    assert one.json()["scope"] == "patient/ServiceRequest.r user/ServiceRequest.r"
    assert not AccessEvent.objects.filter(action__startswith="api.").exists()


def test_a_read_by_id_scope_reads_a_case_but_cannot_list(
    client: Client, patient_user: User, make_case: Callable[..., Case], token_for: TokenFor
) -> None:
    case = make_case(submit=True)
    plain = token_for(patient_user, "patient/ServiceRequest.r")
    assert client.get(case_url(case), headers=bearer(plain)).status_code == 200
    assert client.get(CASES, headers=bearer(plain)).status_code == 403


def test_a_user_scope_reads_what_the_person_may_see_and_no_more(
    client: Client,
    patient_user: User,
    gp: User,
    dermatologist: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
) -> None:
    self_sent = make_case(submit=True)
    referral = make_case(by=gp, submit=True)
    gp_draft = make_case(by=gp)
    patient_draft = make_case()

    def listed(user: User, scope: str) -> set[str]:
        response = client.get(CASES, headers=bearer(token_for(user, scope)))
        assert response.status_code == 200
        return {item["uuid"] for item in response.json()["results"]}

    assert listed(gp, "user/*.read") == {str(referral.uuid), str(gp_draft.uuid)}
    assert listed(dermatologist, "user/ServiceRequest.rs") == {
        str(self_sent.uuid),
        str(referral.uuid),
    }
    assert listed(patient_user, "user/*.read") == {
        str(self_sent.uuid),
        str(referral.uuid),
        str(patient_draft.uuid),
    }
    gp_token = token_for(gp, "user/*.read")
    assert client.get(case_url(self_sent), headers=bearer(gp_token)).status_code == 404
    assert client.get(case_url(referral), headers=bearer(gp_token)).status_code == 200
    entry = AccessEvent.objects.get(action="api.case.view", actor=gp)
    assert (entry.case_uuid, entry.basis) == (referral.uuid, "sender")


def test_coordinators_and_operators_read_no_cases(
    client: Client,
    coordinator: User,
    operator: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
) -> None:
    case = make_case(submit=True)
    for plain in (token_for(coordinator, "user/*.read"), token_for(operator, "system/*.read")):
        response = client.get(CASES, headers=bearer(plain))
        assert response.status_code == 200
        assert response.json() == {"count": 0, "page": 1, "next": None, "results": []}
        assert client.get(case_url(case), headers=bearer(plain)).status_code == 404


def test_a_patient_scope_never_reaches_past_the_patient_in_context(
    client: Client,
    patient_user: User,
    other_patient_user: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were the case policy to let a patient see someone else's case (a grant, say), a patient/
    token still reads only the holder's own record; a user/ token reads what the policy allows."""
    own = make_case(submit=True)
    theirs = other_patients_case(make_case, other_patient_user)
    monkeypatch.setattr(policies, "cases_visible_to", lambda user, **_: Case.objects.all())
    monkeypatch.setattr(policies, "access_basis", lambda user, case: "grant")

    patient_scoped = token_for(patient_user, "patient/*.read")
    user_scoped = token_for(patient_user, "user/*.read")
    both = token_for(patient_user, "patient/*.read", "user/ServiceRequest.rs")

    def listed(plain: str) -> set[str]:
        return {item["uuid"] for item in client.get(CASES, headers=bearer(plain)).json()["results"]}

    assert listed(patient_scoped) == {str(own.uuid)}
    assert client.get(case_url(theirs), headers=bearer(patient_scoped)).status_code == 404
    assert listed(user_scoped) == listed(both) == {str(own.uuid), str(theirs.uuid)}
    assert client.get(case_url(theirs), headers=bearer(user_scoped)).status_code == 200


def test_the_patients_name_is_shown_in_patient_and_user_contexts_only(
    client: Client, patient_user: User, operator: User, make_case: Callable[..., Case]
) -> None:
    from telederm.api.tokens import issue_token

    case = make_case(submit=True)
    for scope in ("patient/*.read", "user/*.read"):
        plain = issue_token(user=patient_user, scopes=[scope])[1]
        assert client.get(case_url(case), headers=bearer(plain)).json()["patient"] == {
            "name": "Kari Nordmann"
        }
    system_token, _ = issue_token(user=operator, scopes=["system/*.read"])
    check = policies.check_scope(system_token, policies.CASE_RESOURCE, "r")
    assert check.allowed
    assert not check.shows_patient_name
    assert views._case_summary(case, check)["patient"] is None


# --- what a case looks like -----------------------------------------------------------------


def test_a_case_has_its_answers_times_and_photo_ids_but_no_photo_bytes(
    client: Client, patient_user: User, make_case: Callable[..., Case], token_for: TokenFor
) -> None:
    case = make_case(photos=1)
    # A clearly different second photo: the fixture's colours differ too little to survive JPEG.
    add_photo(
        by=patient_user,
        case=case,
        upload=io.BytesIO(jpeg_bytes(colour=(40, 90, 200))),
        process_now=True,
    )
    case.refresh_from_db()
    case = submit_case(by=patient_user, case=case, expected_version=case.version)
    body = client.get(case_url(case), headers=bearer(token_for(patient_user, "user/*.read"))).json()
    assert body["uuid"] == str(case.uuid)
    assert body["status"] == "submitted"
    assert body["priority"] == case.priority
    assert case.submitted_at is not None and case.due_at is not None
    assert dt.datetime.fromisoformat(body["submitted_at"]) == case.submitted_at
    assert dt.datetime.fromisoformat(body["due_at"]) == case.due_at
    assert dt.datetime.fromisoformat(body["created_at"]) == case.created_at
    assert body["answered_at"] is None
    assert body["questionnaire"]["complaint"] == "A mole on my back has grown darker."
    assert body["questionnaire"]["body_site"] == "back"
    assert body["photos"] == [str(photo.uuid) for photo in Photo.objects.filter(case=case)]
    assert len(body["photos"]) == 2
    assert "identifier" not in str(body)
    assert case.patient.identifier not in str(body)


# --- the access log -------------------------------------------------------------------------


def test_every_case_returned_is_logged_exactly_once(
    client: Client,
    patient_user: User,
    other_patient_user: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
) -> None:
    cases = [make_case(submit=True), make_case(submit=True), make_case()]
    theirs = other_patients_case(make_case, other_patient_user)
    plain = token_for(patient_user, "patient/*.read")
    prefix = plain.split("_")[1]
    before = AccessEvent.objects.count()

    listed = client.get(CASES, headers=bearer(plain)).json()["results"]
    entries = AccessEvent.objects.filter(action="api.case.list.view")
    assert AccessEvent.objects.count() == before + 3
    assert sorted(str(entry.case_uuid) for entry in entries) == sorted(
        item["uuid"] for item in listed
    )
    assert sorted(entry.case_uuid for entry in entries) == sorted(case.uuid for case in cases)
    for entry in entries:
        assert entry.actor == patient_user
        assert entry.kind == AccessEvent.Kind.READ
        assert entry.patient_uuid == patient_user.patient.uuid
        assert entry.reason == f"api token {prefix}"
        assert entry.basis == "own"
        assert entry.client_address == "127.0.0.1"

    client.get(case_url(cases[0]), headers=bearer(plain))
    one = AccessEvent.objects.get(action="api.case.view")
    assert (one.case_uuid, one.patient_uuid, one.actor) == (
        cases[0].uuid,
        patient_user.patient.uuid,
        patient_user,
    )
    assert one.reason == f"api token {prefix}"
    assert one.basis == "own"

    count = AccessEvent.objects.count()
    client.get(case_url(theirs), headers=bearer(plain))
    client.get(case_url(cases[0]))
    client.get(CASES, headers=bearer(token_for(patient_user, "user/Observation.read")))
    assert AccessEvent.objects.count() == count


def test_the_list_comes_in_pages_and_logs_only_the_page_shown(
    client: Client,
    patient_user: User,
    make_case: Callable[..., Case],
    token_for: TokenFor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    cases = [make_case(submit=True) for _ in range(3)]
    plain = token_for(patient_user, "patient/*.read")

    first = client.get(CASES, headers=bearer(plain)).json()
    assert (first["count"], first["page"], first["next"]) == (3, 1, "?page=2")
    assert [item["uuid"] for item in first["results"]] == [str(c.uuid) for c in cases[:0:-1]]
    assert AccessEvent.objects.filter(action="api.case.list.view").count() == 2
    second = client.get(CASES + first["next"], headers=bearer(plain)).json()
    assert (second["page"], second["next"]) == (2, None)
    assert [item["uuid"] for item in second["results"]] == [str(cases[0].uuid)]
    assert AccessEvent.objects.filter(action="api.case.list.view").count() == 3
    assert client.get(CASES + "?page=9", headers=bearer(plain)).json()["results"] == []
    for bad in ("0", "-1", "x", "1.5", "²"):
        response = client.get(CASES, {"page": bad}, headers=bearer(plain))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    assert AccessEvent.objects.filter(action="api.case.list.view").count() == 3


# --- over a real socket ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_program_reads_a_case_over_http(
    live_server: Any, patient_user: User, make_case: Callable[..., Case], token_for: TokenFor
) -> None:
    case = make_case(submit=True)
    plain = token_for(patient_user, "patient/*.read")
    url = f"{live_server.url}/api/v1/cases/{case.uuid}/"

    refused = requests.get(url, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == INVALID

    response = requests.get(url, headers=bearer(plain), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["uuid"] == str(case.uuid)
    assert response.json()["patient"] == {"name": "Kari Nordmann"}
    entry = AccessEvent.objects.get(action="api.case.view")
    assert entry.case_uuid == case.uuid
    assert entry.client_address == "127.0.0.1"


def test_break_glass_never_reaches_through_a_token(
    client: Client, make_case: Callable[..., Case], duty_nurse: User, token_for: TokenFor
) -> None:
    """Emergency access is for the clinician at the screen, not for a program holding a token."""
    from telederm.cases import access
    from telederm.review.services import take_for_review

    case = make_case(submit=True)
    taken_by = User.objects.create_user(
        "hud3@telederm.example", None, full_name="Hud Tre", role=User.Role.DERMATOLOGIST
    )
    case = take_for_review(by=taken_by, case=case, expected_version=case.version)
    access.break_glass(by=duty_nurse, case=case, reason="Patient phoned about bleeding")
    plain = token_for(duty_nurse, "user/*.read")
    assert client.get(case_url(case), headers=bearer(plain)).status_code == 404
    assert client.get(CASES, headers=bearer(plain)).json()["results"] == []
