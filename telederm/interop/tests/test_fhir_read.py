"""FHIR read over HTTP: every resource type by id, ETags, refusals as OperationOutcome, the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from telederm.accounts.models import User
from telederm.api.tokens import revoke_token
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.interop.fhir import mapping
from telederm.interop.tests.test_fhir_read_support import (
    URLS,
    World,
    answered_referral,
    bearer,
    parsed,
    token_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def get(client: Client, url: str, token: str | None = None, **headers: Any) -> Any:
    if token is not None:
        headers.update(bearer(token))
    return client.get(url, **headers)


def assert_outcome(response: Any, status: int, code: str) -> Any:
    assert response.status_code == status, response.content
    outcome = parsed(response)
    assert outcome.get_resource_type() == "OperationOutcome"
    assert outcome.issue[0].code == code
    assert outcome.issue[0].diagnostics
    assert response["Cache-Control"] == "no-store"
    return outcome


@pytest.fixture
def sent_case(make_case: Callable[..., Case], gp: User, patient_user: User) -> Case:
    return make_case(by=gp, patient=patient_user.patient, submit=True)


@pytest.fixture
def world(make_case: Callable[..., Case], gp: User, dermatologist: User) -> World:
    return answered_referral(make_case, gp, dermatologist)


# --- reads of every type ----------------------------------------------------------------------


def test_a_gp_reads_the_service_request_of_a_case_they_sent(
    client: Client, gp: User, sent_case: Case
) -> None:
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token_for(gp))
    assert response.status_code == 200, response.content
    resource = parsed(response)
    assert resource.id == str(sent_case.uuid)
    assert resource.status == "active"
    assert response["ETag"] == f'W/"{sent_case.version}"'
    assert resource.meta.versionId == str(sent_case.version)
    assert response["Cache-Control"] == "no-store"
    assert "Authorization" in response["Vary"]
    assert response["Last-Modified"]
    logged = AccessEvent.objects.get(action="fhir.servicerequest.view")
    assert logged.case_uuid == sent_case.uuid
    assert logged.patient_uuid == sent_case.patient.uuid
    assert logged.basis == "sender"
    assert logged.reason.startswith("api token ")


def read_urls(world: World) -> dict[str, tuple[str, str]]:
    """Each type's read URL in the world, with the log action it leaves ("" = not logged)."""
    diagnosis = world.review.diagnoses.get(system="icd10")
    gp = world.case.created_by
    return {
        "Patient": (f"Patient/{world.patient.uuid}", "fhir.patient.view"),
        "Practitioner": (f"Practitioner/{gp.uuid}", ""),
        "PractitionerRole": (f"PractitionerRole/{gp.uuid}", ""),
        "Organization": (f"Organization/{gp.organisation.uuid}", ""),
        "ServiceRequest": (f"ServiceRequest/{world.case.uuid}", "fhir.servicerequest.view"),
        "Referral": (
            f"ServiceRequest/{world.review.referral.uuid}",
            "fhir.servicerequest.view",
        ),
        "Task": (f"Task/{world.case.uuid}", "fhir.task.view"),
        "QuestionnaireResponse": (
            f"QuestionnaireResponse/{world.case.uuid}",
            "fhir.questionnaireresponse.view",
        ),
        "Media": (f"Media/{world.photo.uuid}", "fhir.media.view"),
        "Condition": (
            "Condition/" + mapping.condition_id(world.review.uuid, "icd10", diagnosis.code),
            "fhir.condition.view",
        ),
        "MedicationRequest": (
            f"MedicationRequest/{world.review.prescriptions.get().uuid}",
            "fhir.medicationrequest.view",
        ),
        "Communication": (f"Communication/{world.message.uuid}", "fhir.communication.view"),
        "DocumentReference": (
            f"DocumentReference/{world.case.uuid}",
            "fhir.documentreference.view",
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "ServiceRequest",
        "Referral",
        "Task",
        "QuestionnaireResponse",
        "Media",
        "Condition",
        "MedicationRequest",
        "Communication",
        "DocumentReference",
    ],
)
def test_the_sender_reads_every_resource_of_an_answered_case(
    client: Client, world: World, kind: str
) -> None:
    path, action = read_urls(world)[kind]
    response = get(client, f"/fhir/{path}", token_for(world.case.created_by))
    assert response.status_code == 200, response.content
    resource = parsed(response)
    assert f"{resource.get_resource_type()}/{resource.id}" == path
    assert response["ETag"] == f'W/"{resource.meta.versionId}"'
    logged = AccessEvent.objects.filter(action=action)
    if action:
        assert logged.get().patient_uuid == world.patient.uuid
    else:
        assert not AccessEvent.objects.filter(action__startswith="fhir.").exists()


def test_the_resources_of_a_case_say_what_the_case_holds(client: Client, world: World) -> None:
    token = token_for(world.case.created_by)
    referral = parsed(get(client, f"/fhir/ServiceRequest/{world.review.referral.uuid}", token))
    assert referral.basedOn[0].reference == f"ServiceRequest/{world.case.uuid}"
    assert referral.priority == "asap"
    assert referral.extension[0].valueCoding.code == "pk_melanoma"
    task = parsed(get(client, f"/fhir/Task/{world.case.uuid}", token))
    assert task.businessStatus.coding[0].code == "referred"
    media = parsed(get(client, f"/fhir/Media/{world.photo.uuid}", token))
    assert media.content.url == (
        f"http://testserver/cases/{world.case.uuid}/photos/{world.photo.uuid}/full.jpg"
    )
    document = parsed(get(client, f"/fhir/DocumentReference/{world.case.uuid}", token))
    assert document.content[0].attachment.url == (
        f"http://testserver/cases/{world.case.uuid}/answer.pdf"
    )
    questionnaire = parsed(get(client, f"/fhir/QuestionnaireResponse/{world.case.uuid}", token))
    assert questionnaire.item[0].linkId == "complaint"
    assert questionnaire.item[0].text == "What is the problem?"


def test_the_patient_reads_their_own_record_with_a_patient_scope(
    client: Client, patient_user: User, sent_case: Case
) -> None:
    token = token_for(patient_user, "patient/*.read")
    response = get(client, f"/fhir/Patient/{patient_user.patient.uuid}", token)
    resource = parsed(response)
    assert resource.identifier[0].value == patient_user.patient.identifier
    assert AccessEvent.objects.get(action="fhir.patient.view").basis == "own"


# --- refusals ---------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(client: Client, sent_case: Case) -> None:
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}")
    assert_outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_a_revoked_token_is_401_like_an_unknown_one(
    client: Client, gp: User, sent_case: Case
) -> None:
    from telederm.api.tokens import find_token

    token = token_for(gp)
    found = find_token(token)
    assert found is not None
    revoke_token(found)
    assert_outcome(get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token), 401, "login")
    assert_outcome(get(client, "/fhir/ServiceRequest/x", "tdm_nonsense"), 401, "login")


def test_a_signed_in_browser_session_gives_nothing(
    client: Client, gp: User, sent_case: Case
) -> None:
    from conftest import sign_in

    sign_in(client, gp)
    assert_outcome(get(client, f"/fhir/ServiceRequest/{sent_case.uuid}"), 401, "login")


def test_a_token_without_a_scope_for_the_type_is_403_naming_the_scope(
    client: Client, gp: User, sent_case: Case
) -> None:
    token = token_for(gp, "user/Patient.read")
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token)
    assert_outcome(response, 403, "forbidden")
    assert 'scope="user/ServiceRequest.r"' in response["WWW-Authenticate"]


@pytest.mark.parametrize("persona", ["other_gp", "outsider", "other_patient_user", "coordinator"])
def test_a_case_the_person_may_not_see_is_404_as_if_it_did_not_exist(
    client: Client, sent_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    person = request.getfixturevalue(persona)
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token_for(person))
    missing = get(
        client, "/fhir/ServiceRequest/00000000-0000-4000-8000-000000000000", token_for(person)
    )
    assert_outcome(response, 404, "not-found")
    assert_outcome(missing, 404, "not-found")
    assert response.json()["issue"][0]["diagnostics"].replace(
        str(sent_case.uuid), "X"
    ) == missing.json()["issue"][0]["diagnostics"].replace(
        "00000000-0000-4000-8000-000000000000", "X"
    )
    assert not AccessEvent.objects.filter(action__startswith="fhir.").exists()


def test_a_patient_scope_reads_no_other_patients_case_even_for_a_clinician_role(
    client: Client, patient_user: User, other_patient_user: User, make_case: Callable[..., Case]
) -> None:
    theirs = make_case(by=other_patient_user, patient=other_patient_user.patient, submit=True)
    token = token_for(patient_user, "patient/*.read")
    assert_outcome(get(client, f"/fhir/ServiceRequest/{theirs.uuid}", token), 404, "not-found")
    assert_outcome(
        get(client, f"/fhir/Patient/{other_patient_user.patient.uuid}", token), 404, "not-found"
    )


def test_the_pool_dermatologist_reads_a_waiting_case_but_not_one_assigned_to_another(
    client: Client, sent_case: Case, dermatologist: User, other_dermatologist: User
) -> None:
    from telederm.review.services import take_for_review

    url = f"/fhir/Task/{sent_case.uuid}"
    assert get(client, url, token_for(other_dermatologist)).status_code == 200
    take_for_review(by=dermatologist, case=sent_case, expected_version=sent_case.version)
    assert get(client, url, token_for(dermatologist)).status_code == 200
    assert_outcome(get(client, url, token_for(other_dermatologist)), 404, "not-found")


def test_a_draft_review_shows_no_condition_to_anyone(
    client: Client, sent_case: Case, dermatologist: User
) -> None:
    from telederm.review.services import DiagnosisChoice, save_draft, take_for_review

    case = take_for_review(by=dermatologist, case=sent_case, expected_version=sent_case.version)
    review = save_draft(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        diagnoses=[DiagnosisChoice(system="icd10", code="D22.5")],
    )
    url = "/fhir/Condition/" + mapping.condition_id(review.uuid, "icd10", "D22.5")
    assert_outcome(get(client, url, token_for(dermatologist)), 404, "not-found")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("Observation/123", 404, "not-supported"),
        ("Observation", 404, "not-supported"),
        ("ServiceRequest/not-a-uuid", 404, "not-found"),
        ("ServiceRequest/123/_history/1", 404, "not-found"),
        ("Condition/zz", 404, "not-found"),
        ("AuditEvent/zz", 404, "not-found"),
    ],
)
def test_unknown_types_and_ids_are_404_operation_outcomes(
    client: Client, gp: User, path: str, status: int, code: str
) -> None:
    assert_outcome(get(client, f"/fhir/{path}", token_for(gp)), status, code)


def test_methods_a_route_does_not_take_are_405_with_allow(
    client: Client, gp: User, sent_case: Case
) -> None:
    headers = bearer(token_for(gp))
    deleted = client.delete(f"/fhir/ServiceRequest/{sent_case.uuid}", **headers)
    assert_outcome(deleted, 405, "not-supported")
    assert deleted["Allow"] == "GET, PUT"
    created = client.post("/fhir/ServiceRequest", {}, **headers)
    assert_outcome(created, 405, "not-supported")
    assert created["Allow"] == "GET"
    root = client.get("/fhir/", **headers)
    assert_outcome(root, 405, "not-supported")
    assert root["Allow"] == "POST"


@pytest.mark.parametrize(
    ("accept", "query", "status"),
    [
        ("application/fhir+json", "", 200),
        ("application/json", "", 200),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "", 200),
        ("application/fhir+xml", "", 406),
        ("text/html", "", 406),
        ("application/fhir+xml", "?_format=json", 200),
        ("", "?_format=xml", 406),
    ],
)
def test_only_json_is_served(
    client: Client, gp: User, sent_case: Case, accept: str, query: str, status: int
) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = get(
        client, f"/fhir/ServiceRequest/{sent_case.uuid}{query}", token_for(gp), **headers
    )
    assert response.status_code == status
    if status == 406:
        assert_outcome(response, 406, "not-supported")


def test_a_put_or_transaction_that_is_not_fhir_json_is_415(
    client: Client, gp: User, sent_case: Case
) -> None:
    headers = bearer(token_for(gp, "user/*.*"))
    put = client.put(
        f"/fhir/ServiceRequest/{sent_case.uuid}",
        "<xml/>",
        content_type="application/xml",
        **headers,
    )
    assert_outcome(put, 415, "not-supported")
    posted = client.post("/fhir/", "<Bundle/>", content_type="application/fhir+xml", **headers)
    assert_outcome(posted, 415, "not-supported")


def test_writes_are_handed_to_fhir_write_without_a_csrf_check(
    client: Client, gp: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.http import HttpResponse

    from telederm.interop.fhir import write

    calls: list[tuple[Any, ...]] = []

    def transaction(request: Any, token: Any) -> HttpResponse:
        calls.append(("transaction", token.user))
        return HttpResponse(status=299)

    def update(request: Any, token: Any, resource_type: str, resource_id: str) -> HttpResponse:
        calls.append(("update", resource_type, resource_id))
        return HttpResponse(status=298)

    monkeypatch.setattr(write, "transaction", transaction)
    monkeypatch.setattr(write, "update", update)
    strict = Client(enforce_csrf_checks=True)
    headers = bearer(token_for(gp, "user/*.*"))
    assert (
        strict.post("/fhir/", "{}", content_type="application/fhir+json", **headers).status_code
        == 299
    )
    put = strict.put(
        "/fhir/ServiceRequest/abc", "{}", content_type="application/fhir+json", **headers
    )
    assert put.status_code == 298
    assert calls == [("transaction", gp), ("update", "ServiceRequest", "abc")]
    task = strict.put("/fhir/Task/abc", "{}", content_type="application/fhir+json", **headers)
    assert task.status_code == 405
    assert task["Allow"] == "GET"
    assert put["Cache-Control"] == "no-store"


def test_metadata_is_public_json_and_refuses_xml(client: Client) -> None:
    response = client.get("/fhir/metadata")
    statement = parsed(response)
    assert statement.fhirVersion == "4.0.1"
    assert client.get("/fhir/metadata", HTTP_ACCEPT="application/fhir+xml").status_code == 406
    assert client.post("/fhir/metadata").status_code == 405


def test_the_access_log_actions_are_the_ones_listed_for_the_privacy_labels(
    client: Client, world: World
) -> None:
    from telederm.interop.fhir.search import access_actions

    token = token_for(world.case.created_by)
    for path, _action in read_urls(world).values():
        assert get(client, f"/fhir/{path}", token).status_code == 200
        kind = path.split("/")[0]
        assert client.get(f"/fhir/{kind}", **bearer(token)).status_code == 200
    written = set(
        AccessEvent.objects.filter(action__startswith="fhir.").values_list("action", flat=True)
    )
    assert written <= set(access_actions())
    assert len(written) == 18  # 9 types with patient data, read and searched


def test_a_token_request_with_a_weak_staff_session_cookie_is_answered_by_the_token(
    client: Client, gp: User, sent_case: Case
) -> None:
    from conftest import sign_in

    sign_in(client, gp, second_factor=False)
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token_for(gp))
    assert response.status_code == 200


def test_metadata_lists_update_only_where_a_put_is_served(client: Client) -> None:
    statement = client.get("/fhir/metadata").json()
    updatable = {
        resource["type"]
        for resource in statement["rest"][0]["resource"]
        if {"code": "update"} in resource["interaction"]
    }
    assert updatable == {"ServiceRequest"}
    assert statement["rest"][0]["interaction"] == [{"code": "transaction"}]
