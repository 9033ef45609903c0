"""Writes through the FHIR API: a referral transaction Bundle becomes a case; its referrer withdraws
it with If-Match. The functions are called as fhir.views calls them (request, token)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from stdnum.no import fodselsnummer

from conftest import answer, jpeg_bytes
from telederm.accounts.models import User
from telederm.api.models import ApiToken
from telederm.api.tokens import issue_token
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.interop import referrals
from telederm.interop.fhir import write
from telederm.interop.models import IncomingMessage
from telederm.interop.tests.test_fhir_write_support import (
    DNR,
    PATIENT_NUMBER,
    SR_URL,
    changed,
    referral_bundle,
    resource_of,
)
from telederm.patients.models import Patient
from telederm.photos.models import Photo

pytestmark = pytest.mark.django_db

factory = RequestFactory()


def a_token(user: User, scopes: tuple[str, ...] = ("user/*.read", "user/*.write")) -> ApiToken:
    return issue_token(user=user, scopes=scopes)[0]


def post(token: ApiToken, bundle: Any, content_type: str = "application/fhir+json") -> HttpResponse:
    body = bundle if isinstance(bundle, (bytes, str)) else json.dumps(bundle)
    request = factory.post("/fhir/", data=body, content_type=content_type)
    request.user = token.user
    return write.transaction(request, token)


def put(
    token: ApiToken,
    resource_id: str,
    body: dict[str, Any],
    *,
    if_match: str | None = None,
    resource_type: str = "ServiceRequest",
) -> HttpResponse:
    headers = {"If-Match": if_match} if if_match else {}
    request = factory.put(
        f"/fhir/{resource_type}/{resource_id}",
        data=json.dumps(body),
        content_type="application/fhir+json",
        headers=headers,
    )
    request.user = token.user
    return write.update(request, token, resource_type, resource_id)


def outcome(response: HttpResponse) -> OperationOutcome:
    assert response["Content-Type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate_json(response.content)


def diagnostics(response: HttpResponse) -> str:
    return " | ".join(issue.diagnostics or "" for issue in outcome(response).issue)


def nothing_written() -> bool:
    return not (
        Case.objects.exists()
        or Patient.objects.exists()
        or Photo.objects.exists()
        or IncomingMessage.objects.exists()
    )


# -- the transaction -----------------------------------------------------------------------------


def test_a_referral_bundle_becomes_a_sent_case_with_its_photos(gp: User) -> None:
    token = a_token(gp)
    response = post(token, referral_bundle(photos=2))

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    reply = Bundle.model_validate_json(response.content)
    assert reply.type == "transaction-response"
    case = Case.objects.get()
    photos = list(case.photos.order_by("pk"))
    locations = [entry.response.location.split("/_history/") for entry in reply.entry]
    assert [where for where, _version in locations] == [
        f"ServiceRequest/{case.uuid}",
        f"Patient/{case.patient.uuid}",
        f"QuestionnaireResponse/{case.uuid}",
        f"Media/{photos[0].uuid}",
        f"Media/{photos[1].uuid}",
    ]
    assert locations[0][1] == str(case.version)
    assert [entry.response.etag for entry in reply.entry] == [
        f'W/"{version}"' for _where, version in locations
    ]
    assert {entry.response.status for entry in reply.entry} == {"201 Created"}
    assert reply.entry[0].response.etag == f'W/"{case.version}"'
    assert reply.entry[0].fullUrl == SR_URL

    assert case.status == CaseStatus.SUBMITTED
    assert case.created_by == gp
    assert case.patient.identifier == PATIENT_NUMBER
    assert case.patient.full_name == "Line Danser"
    assert case.priority == "soon"  # FHIR urgent = our "soon"
    assert case.pathway == Case.Pathway.PK_MELANOMA
    assert case.complaint == "Pigmentert lesjon på ryggen, vokser."
    assert "Debut for 3 måneder siden." in case.other_information
    assert "Where on the body?: back" in case.other_information
    assert "Treatments tried: Ingen." in case.other_information
    assert case.assessment_deadline is not None
    assert len(photos) == 2
    assert (
        AccessEvent.objects.filter(action="fhir.referral.create", case_uuid=case.uuid).count() == 1
    )


def test_the_same_bundle_twice_makes_one_case_and_answers_with_the_first(gp: User) -> None:
    token = a_token(gp)
    first = Bundle.model_validate_json(post(token, referral_bundle()).content)
    again = post(token, referral_bundle())

    assert again.status_code == 200
    second = Bundle.model_validate_json(again.content)
    assert Case.objects.count() == 1
    assert [e.response.location for e in second.entry] == [e.response.location for e in first.entry]
    assert {e.response.status for e in second.entry} == {"200 OK"}
    assert AccessEvent.objects.filter(action="fhir.referral.view").count() == 1


@pytest.mark.parametrize(
    ("first", "second", "cases"),
    [
        (
            {"identifier": "b1", "sr_identifier": "s1"},
            {"identifier": "b2", "sr_identifier": "s1"},
            1,
        ),
        (
            {"identifier": "b1", "sr_identifier": "s1"},
            {"identifier": "b1", "sr_identifier": "s2"},
            1,
        ),
        (
            {"identifier": "b1", "sr_identifier": "s1"},
            {"identifier": "b2", "sr_identifier": "s2"},
            2,
        ),
        (
            {"identifier": None, "sr_identifier": None},
            {"identifier": None, "sr_identifier": None},
            2,
        ),
    ],
)
def test_a_repeat_is_known_by_bundle_or_service_request_identifier(
    gp: User, first: dict[str, Any], second: dict[str, Any], cases: int
) -> None:
    token = a_token(gp)
    assert post(token, referral_bundle(**first)).status_code == 200
    assert post(token, referral_bundle(**second)).status_code == 200
    assert Case.objects.count() == cases


def test_if_none_exist_on_the_service_request_is_an_idempotency_key(gp: User) -> None:
    token = a_token(gp)
    bundle = referral_bundle(identifier=None, sr_identifier=None)
    bundle["entry"][0]["request"]["ifNoneExist"] = "identifier=urn:x|henvisning-77"
    assert post(token, bundle).status_code == 200
    assert post(token, bundle).status_code == 200
    assert Case.objects.count() == 1


def test_another_referrer_with_the_same_identifier_gets_a_case_of_their_own(
    gp: User, other_gp: User
) -> None:
    assert post(a_token(gp), referral_bundle()).status_code == 200
    assert post(a_token(other_gp), referral_bundle()).status_code == 200
    assert Case.objects.count() == 2


def test_structural_errors_are_400_with_an_issue_and_a_location_each(gp: User) -> None:
    bundle = referral_bundle()
    resource_of(bundle, "ServiceRequest")["colour"] = "blue"
    resource_of(bundle, "Patient")["birthDate"] = "17. mai"
    response = post(a_token(gp), bundle)

    assert response.status_code == 400
    issues = outcome(response).issue
    assert len(issues) == 2
    assert [issue.expression for issue in issues] == [
        ["Bundle.entry[0].resource.colour"],
        ["Bundle.entry[1].resource.birthDate"],
    ]
    assert nothing_written()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"resourceType": "Patient"}', b'{"resourceType": "Bundle"}'],
)
def test_a_body_that_is_not_a_bundle_is_400(gp: User, body: bytes) -> None:
    response = post(a_token(gp), body)
    assert response.status_code == 400
    assert outcome(response).issue
    assert nothing_written()


def test_an_unknown_resource_type_in_an_entry_is_400(gp: User) -> None:
    bundle = referral_bundle()
    bundle["entry"].append({"resource": {"resourceType": "Spaceship"}})
    response = post(a_token(gp), bundle)
    assert response.status_code == 400
    assert "Spaceship" in diagnostics(response)


def _two_service_requests(bundle: dict[str, Any]) -> None:
    bundle["entry"].append(changed(bundle["entry"][0]))
    bundle["entry"][-1]["fullUrl"] = "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-000000000099"


def _subject_elsewhere(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "ServiceRequest")["subject"] = {"reference": "Patient/123"}


def _no_patient(bundle: dict[str, Any]) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]


def _bad_number(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Patient")["identifier"][0]["value"] = "12345678901"


def _dnr_system_for_fnr(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Patient")["identifier"][0]["system"] = DNR


def _no_consent(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "QuestionnaireResponse")["item"][-1]["answer"] = [{"valueBoolean": False}]


def _unknown_body_site(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "QuestionnaireResponse")["item"][0]["answer"] = [
        {"valueCoding": {"code": "elbow"}}
    ]


def _dangling_supporting_info(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "ServiceRequest")["supportingInfo"].append(
        {"reference": "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-0000000000ff"}
    )


def _proposal(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "ServiceRequest")["intent"] = "proposal"


def _no_reason(bundle: dict[str, Any]) -> None:
    del resource_of(bundle, "ServiceRequest")["reasonCode"]


def _pdf(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Media")["content"]["contentType"] = "application/pdf"


def _png_that_is_a_jpeg(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Media")["content"]["contentType"] = "image/png"


def _text_as_photo(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Media")["content"]["data"] = base64.b64encode(b"hello").decode()


def _photo_by_url(bundle: dict[str, Any]) -> None:
    content = resource_of(bundle, "Media")["content"]
    del content["data"]
    content["url"] = "https://example.org/photo.jpg"


def _null_content(bundle: dict[str, Any]) -> None:
    resource_of(bundle, "Media")["content"] = None


@pytest.mark.parametrize(
    ("breaks", "status", "location", "words"),
    [
        (_two_service_requests, 422, "Bundle.entry", "exactly one ServiceRequest"),
        (_no_patient, 422, "Bundle.entry", "exactly one Patient"),
        (_subject_elsewhere, 422, "Bundle.entry[0].resource.subject", "Patient entry"),
        (_bad_number, 422, "Bundle.entry[1].resource.identifier[0].value", "check digits"),
        (_dnr_system_for_fnr, 422, "Bundle.entry[1].resource.identifier[0].value", "D-nummer"),
        (_no_consent, 422, "Bundle.entry[2].resource", "agreement"),
        (_unknown_body_site, 422, "Bundle.entry[2].resource.item[0].answer[0]", "body_site"),
        (_dangling_supporting_info, 422, "Bundle.entry[0].resource.supportingInfo[2]", "entry"),
        (_proposal, 422, "Bundle.entry[0].resource.intent", "order"),
        (_no_reason, 422, "Bundle.entry[0].resource.reasonCode", "what the referral is for"),
        (_pdf, 400, "Bundle.entry[3].resource.content.contentType", "image/jpeg"),
        (_png_that_is_a_jpeg, 422, "Bundle.entry[3].resource.content.data", "image/png"),
        (_text_as_photo, 422, "Bundle.entry[3].resource.content.data", "not a image/jpeg"),
        (_photo_by_url, 400, "Bundle.entry[3].resource.content.url", "inline"),
        (_null_content, 422, "Bundle.entry[3].resource.content", "content"),
    ],
)
def test_a_bundle_that_is_not_a_usable_referral_is_refused_saying_where(
    gp: User, breaks: Any, status: int, location: str, words: str
) -> None:
    bundle = referral_bundle()
    breaks(bundle)
    response = post(a_token(gp), bundle)

    assert response.status_code == status, response.content
    issues = outcome(response).issue
    assert [location] in [issue.expression for issue in issues], issues
    assert words.lower() in diagnostics(response).lower()
    assert nothing_written()


def test_an_unknown_question_is_refused_by_its_link_id(gp: User) -> None:
    bundle = referral_bundle(answers=[{"linkId": "smoker", "answer": [{"valueBoolean": True}]}])
    response = post(a_token(gp), bundle)
    assert response.status_code == 400
    assert "Unknown question 'smoker'" in diagnostics(response)
    assert "body_site" in diagnostics(response)  # It says which linkIds there are.


def test_a_photo_above_the_limit_is_refused(gp: User, settings: Any) -> None:
    settings.TELEDERM_PHOTO_MAX_BYTES = 1000
    response = post(a_token(gp), referral_bundle())
    assert response.status_code == 422
    assert "at most 1000 bytes" in diagnostics(response)
    assert nothing_written()


def test_a_real_dnummer_and_a_synthetic_number_when_synthetic_ones_are_refused(
    gp: User, settings: Any
) -> None:
    settings.TELEDERM_ACCEPT_SYNTHETIC_IDS = False
    response = post(a_token(gp), referral_bundle())
    assert response.status_code == 422
    assert "synthetic" in diagnostics(response)


def test_a_failure_after_the_patient_was_registered_leaves_nothing_behind(
    gp: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_send(*args: Any, **kwargs: Any) -> Case:
        raise referrals.ReferralRefused("the clinic's calendar is closed")

    monkeypatch.setattr(referrals, "_send", broken_send)
    response = post(a_token(gp), referral_bundle())
    assert response.status_code == 422
    assert "calendar is closed" in diagnostics(response)
    assert nothing_written()


def test_a_photo_that_cannot_be_opened_refuses_the_whole_referral(gp: User) -> None:
    bundle = referral_bundle()
    # A JPEG's first bytes and then nothing: it passes the type check but cannot be opened.
    broken = jpeg_bytes()[:40]
    resource_of(bundle, "Media")["content"]["data"] = base64.b64encode(broken).decode()
    response = post(a_token(gp), bundle)
    assert response.status_code == 422
    assert "damaged" in diagnostics(response)
    assert nothing_written()


def test_a_photo_the_pipeline_leaves_out_refuses_the_whole_referral(
    gp: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def left_out(actor: User, case: Case, attachments: Any) -> tuple[list[Photo], list[Any]]:
        return [], [referrals.LeftOut("rygg-0.jpg", "image/jpeg", "too_many")]

    monkeypatch.setattr(referrals, "_add_photos", left_out)
    response = post(a_token(gp), referral_bundle())
    assert response.status_code == 422
    assert "rygg-0.jpg" in diagnostics(response)
    assert nothing_written()


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [
        (("user/ServiceRequest.c",), "user/Patient.c"),
        (("user/ServiceRequest.c", "user/Patient.c"), "user/Media.c"),
        (("user/*.read",), "user/ServiceRequest.c"),
    ],
)
def test_each_resource_created_needs_its_create_scope(
    gp: User, scopes: tuple[str, ...], missing: str
) -> None:
    response = post(a_token(gp, scopes), referral_bundle())
    assert response.status_code == 403
    assert missing in diagnostics(response)
    assert nothing_written()


def test_fine_grained_create_scopes_suffice(gp: User) -> None:
    scopes = (
        "user/ServiceRequest.c",
        "user/Patient.c",
        "user/QuestionnaireResponse.c",
        "user/Media.c",
    )
    assert post(a_token(gp, scopes), referral_bundle()).status_code == 200


@pytest.mark.parametrize("persona", ["patient_user", "dermatologist", "duty_nurse"])
def test_only_a_referring_professional_may_send_a_referral(
    request: pytest.FixtureRequest, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    scopes = ("patient/*.read", "user/*.write") if persona == "patient_user" else ("user/*.write",)
    response = post(a_token(user, scopes), referral_bundle())
    assert response.status_code == 403
    assert Case.objects.filter(created_by=user).count() == 0


def test_a_body_that_is_not_json_is_415(gp: User) -> None:
    response = post(a_token(gp), "x=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert outcome(response).issue[0].code == "not-supported"


def test_a_d_nummer_is_taken_with_its_own_system(gp: User) -> None:
    d_number = synthetic_d_number()
    bundle = referral_bundle(number=d_number)
    resource_of(bundle, "Patient")["identifier"][0]["system"] = DNR
    response = post(a_token(gp), bundle)
    assert response.status_code == 200, response.content
    assert Patient.objects.get().identifier_kind == "dnr"


def synthetic_d_number() -> str:
    """A synthetic D-nummer: day + 40, month + 80, with valid check digits."""
    for individual in range(100, 200):
        base = f"{1 + 40:02d}{1 + 80:02d}90{individual:03d}"
        first = fodselsnummer.calc_check_digit1(base)
        second = fodselsnummer.calc_check_digit2(base + first)
        if "10" not in (first, second):
            return base + first + second
    raise AssertionError("no valid D-nummer")


# -- update: withdrawing ------------------------------------------------------------------------


@pytest.fixture
def referred(gp: User) -> Case:
    assert post(a_token(gp), referral_bundle()).status_code == 200
    return Case.objects.get()


def revoked(case: Case, **changes: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": str(case.uuid),
        "status": "revoked",
        "intent": "order",
        "subject": {"reference": f"Patient/{case.patient.uuid}"},
        **changes,
    }


def test_the_referrer_withdraws_a_referral_with_its_version(gp: User, referred: Case) -> None:
    response = put(
        a_token(gp), str(referred.uuid), revoked(referred), if_match=f'W/"{referred.version}"'
    )

    assert response.status_code == 200, response.content
    referred.refresh_from_db()
    assert referred.status == CaseStatus.WITHDRAWN
    assert response["ETag"] == f'W/"{referred.version}"'
    assert json.loads(response.content)["status"] == "revoked"
    assert AccessEvent.objects.filter(
        action="fhir.servicerequest.update", case_uuid=referred.uuid
    ).exists()
    assert AccessEvent.objects.filter(action="case.withdraw", case_uuid=referred.uuid).exists()


def test_what_a_read_gave_back_with_status_revoked_withdraws_it(gp: User, referred: Case) -> None:
    token = a_token(gp)
    read = factory.get(f"/fhir/ServiceRequest/{referred.uuid}")
    read.user = gp
    current = write._as_read(read, token, "ServiceRequest", str(referred.uuid))
    assert current is not None
    body = json.loads(current.model_dump_json())
    body["status"] = "revoked"
    etag = f'W/"{current.meta.versionId}"'

    response = put(token, str(referred.uuid), body, if_match=etag)
    assert response.status_code == 200, response.content
    referred.refresh_from_db()
    assert referred.status == CaseStatus.WITHDRAWN

    # The same PUT again, with the new version: nothing more to do, the same answer.
    again = put(token, str(referred.uuid), body, if_match=response["ETag"])
    assert again.status_code == 200
    assert again["ETag"] == response["ETag"]
    assert AccessEvent.objects.filter(action="case.withdraw").count() == 1


def test_without_if_match_it_is_428(gp: User, referred: Case) -> None:
    response = put(a_token(gp), str(referred.uuid), revoked(referred))
    assert response.status_code == 428
    assert "If-Match" in diagnostics(response)
    referred.refresh_from_db()
    assert referred.status == CaseStatus.SUBMITTED


def test_a_stale_version_is_412(gp: User, referred: Case) -> None:
    response = put(
        a_token(gp), str(referred.uuid), revoked(referred), if_match=f'W/"{referred.version - 1}"'
    )
    assert response.status_code == 412
    referred.refresh_from_db()
    assert referred.status == CaseStatus.SUBMITTED


def test_a_malformed_if_match_is_400(gp: User, referred: Case) -> None:
    response = put(a_token(gp), str(referred.uuid), revoked(referred), if_match="yesterday")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"status": "active"}, 422, "only the status can change"),
        ({"priority": "stat"}, 422, "priority cannot change"),
        ({"subject": {"reference": "Patient/someone-else"}}, 422, "subject cannot change"),
        ({"reasonCode": [{"text": "Something else"}]}, 422, "reasonCode cannot change"),
        ({"requester": {"reference": "Practitioner/x"}}, 422, "requester cannot change"),
        ({"id": "another-id"}, 400, "not the id in the URL"),
        ({"colour": "blue"}, 400, "ServiceRequest.colour"),
    ],
)
def test_other_changes_are_refused_saying_what_can_change(
    gp: User, referred: Case, changes: dict[str, Any], status: int, words: str
) -> None:
    response = put(
        a_token(gp),
        str(referred.uuid),
        revoked(referred, **changes),
        if_match=f'W/"{referred.version}"',
    )
    assert response.status_code == status
    assert words.lower() in diagnostics(response).lower()
    referred.refresh_from_db()
    assert referred.status == CaseStatus.SUBMITTED


def test_a_referral_being_reviewed_can_no_longer_be_withdrawn(
    gp: User, referred: Case, dermatologist: User
) -> None:
    answer(referred, dermatologist, take=True)
    referred.refresh_from_db()
    response = put(
        a_token(gp), str(referred.uuid), revoked(referred), if_match=f'W/"{referred.version}"'
    )
    assert response.status_code == 422
    assert "can no longer be withdrawn" in diagnostics(response)


def test_someone_else_cannot_see_or_withdraw_it(other_gp: User, referred: Case) -> None:
    response = put(
        a_token(other_gp), str(referred.uuid), revoked(referred), if_match=f'W/"{referred.version}"'
    )
    assert response.status_code == 404


def test_withdrawing_needs_the_update_scope(gp: User, referred: Case) -> None:
    token = a_token(gp, ("user/*.read", "user/ServiceRequest.c"))
    response = put(token, str(referred.uuid), revoked(referred), if_match=f'W/"{referred.version}"')
    assert response.status_code == 403


@pytest.mark.parametrize("resource_type", ["Patient", "Media", "Task", "Condition"])
def test_other_types_cannot_be_updated(gp: User, referred: Case, resource_type: str) -> None:
    response = put(
        a_token(gp), str(referred.uuid), {}, if_match='W/"1"', resource_type=resource_type
    )
    assert response.status_code == 405
    assert outcome(response).issue[0].code == "not-supported"


@pytest.mark.parametrize("resource_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_id_is_404(gp: User, resource_id: str) -> None:
    response = put(a_token(gp), resource_id, {"resourceType": "ServiceRequest"}, if_match='W/"1"')
    assert response.status_code == 404
