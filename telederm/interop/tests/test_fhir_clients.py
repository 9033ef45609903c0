"""Real FHIR clients against a running server: fhirpy and fhirclient (SMART on FHIR's Python client)
search, page, read and include; fhirpy posts a referral Bundle and reads the whole case back."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class
from fhirclient import client as smart_client
from fhirclient.models.fhirsearch import FHIRSearch
from fhirclient.models.patient import Patient as SmartPatient
from fhirclient.models.servicerequest import ServiceRequest as SmartServiceRequest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from conftest import sign_in, synthetic_number
from telederm.accounts.models import User
from telederm.cases.messaging import send_message
from telederm.cases.models import Case
from telederm.interop.tests.test_fhir_write_support import referral_bundle, token_for
from telederm.patients.models import Patient
from telederm.review import services as review_services

pytestmark = pytest.mark.django_db(transaction=True)


def parses(resource: dict[str, Any]) -> Any:
    """Every resource a client got back is valid R4B."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def fhirpy_client(live_server: Any, plain: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {plain}")


def run_worker() -> None:
    call_command("worker", batch=True, interval=0.01)


def test_fhirpy_posts_a_referral_and_reads_the_whole_case_back(
    live_server: Any, gp: User, dermatologist: User
) -> None:
    plain = token_for(gp)
    fhir = fhirpy_client(live_server, plain)

    reply = fhir.execute("", method="post", data=referral_bundle(photos=2))
    assert reply["type"] == "transaction-response"
    parses(reply)
    assert [e["response"]["status"] for e in reply["entry"]] == ["201 Created"] * 5
    case_id = reply["entry"][0]["response"]["location"].split("/")[1]
    case = Case.objects.get(uuid=case_id)
    assert case.created_by == gp
    for entry in reply["entry"][:3]:  # The ETag given is the one a read gives.
        where = entry["response"]["location"].split("/_history/")[0]
        read = requests.get(
            f"{live_server.url}/fhir/{where}",
            headers={"Authorization": f"Bearer {plain}"},
            timeout=10,
        )
        assert read.headers["ETag"] == entry["response"]["etag"], where
    run_worker()  # The photos are checked and made into renditions, as for the web form.

    service_request = fhir.reference("ServiceRequest", case_id).to_resource()
    parses(service_request.serialize())
    assert service_request["status"] == "active"
    assert service_request["priority"] == "urgent"
    assert service_request["reasonCode"][0]["text"] == "Pigmentert lesjon på ryggen, vokser."
    assert service_request["extension"][0]["valueCoding"]["code"] == "pk_melanoma"

    task = fhir.resources("Task").search(focus=f"ServiceRequest/{case_id}").first()
    parses(task.serialize())
    assert task["focus"]["reference"] == f"ServiceRequest/{case_id}"

    answers = fhir.reference("QuestionnaireResponse", case_id).to_resource()
    parses(answers.serialize())
    assert {item["linkId"] for item in answers["item"]} >= {"complaint", "other_information"}

    media = fhir.resources("Media").search(**{"based-on": f"ServiceRequest/{case_id}"}).fetch_all()
    assert len(media) == 2
    for photo in media:
        parses(photo.serialize())

    found = (
        fhir.resources("ServiceRequest")
        .search(_id=case_id)
        .include("ServiceRequest", "patient")
        .fetch_raw()
    )
    included = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "include"]
    assert [p["resourceType"] for p in included] == ["Patient"]
    assert included[0]["identifier"][0]["value"] == case.patient.identifier
    patient = fhir.reference("Patient", included[0]["id"]).to_resource()
    parses(patient.serialize())

    # A dermatologist answers with a coded diagnosis (conftest's `answer` gives a diagnosis in
    # plain words only, which is no Condition): the diagnosis, the advice and the summary follow.
    answer_with_codes(case, dermatologist)
    for resource_type in ("Condition", "Communication", "DocumentReference"):
        found_after = fhir.resources(resource_type).search(patient=patient["id"]).fetch_all()
        assert found_after, f"no {resource_type} after the answer"
        for resource in found_after:
            parses(resource.serialize())
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{case_id}").first()
    assert task["businessStatus"]["coding"][0]["code"] == "answered"


def answer_with_codes(case: Case, dermatologist: User) -> None:
    case = review_services.take_for_review(
        by=dermatologist, case=case, expected_version=case.version
    )
    # The advice of a signed answer is no Communication in fhir.search (only messages are): the
    # dermatologist writes to the referrer first, as one does.
    send_message(by=dermatologist, case=case, body="Is it itching at night?")
    case.refresh_from_db()
    review_services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        assessment="Benign naevus.",
        advice="Nothing to do; photograph it again in a year.",
        diagnosis="Naevus",
        outcome="advice",
        diagnoses=[review_services.DiagnosisChoice(system="icd10", code="D22.5", is_primary=True)],
    )


def test_the_photo_a_media_points_to_is_fetched_with_the_token_or_a_session(
    live_server: Any, gp: User, other_gp: User
) -> None:
    plain = token_for(gp)
    fhir = fhirpy_client(live_server, plain)
    reply = fhir.execute("", method="post", data=referral_bundle(photos=1))
    case_id = reply["entry"][0]["response"]["location"].split("/")[1]
    run_worker()
    photo = fhir.resources("Media").search(**{"based-on": f"ServiceRequest/{case_id}"}).first()
    url = photo["content"]["url"]
    assert url.startswith(live_server.url)

    browser = sign_in(Client(), gp)
    cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    signed_in = requests.get(
        url,
        headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}"},
        timeout=10,
        allow_redirects=False,
    )
    assert signed_in.status_code == 200
    assert signed_in.headers["Content-Type"] == "image/jpeg"
    assert signed_in.content.startswith(b"\xff\xd8\xff")

    with_token = requests.get(
        url, headers={"Authorization": f"Bearer {plain}"}, timeout=10, allow_redirects=False
    )
    assert with_token.status_code == 200
    assert with_token.content == signed_in.content

    other = requests.get(
        url,
        headers={"Authorization": f"Bearer {token_for(other_gp)}"},
        timeout=10,
        allow_redirects=False,
    )
    assert other.status_code != 200  # Another GP's token: not their patient's photo.
    assert not other.content.startswith(b"\xff\xd8\xff")

    anonymous = requests.get(url, timeout=10, allow_redirects=False)
    assert anonymous.status_code != 200
    assert not anonymous.content.startswith(b"\xff\xd8\xff")


@pytest.fixture
def three_referrals(gp: User, make_case: Callable[..., Case]) -> list[Case]:
    cases = []
    for index, born in enumerate([(1950, 3, 4), (1961, 7, 8), (1979, 12, 1)]):
        patient = Patient.objects.create(
            identifier=synthetic_number(*born),
            identifier_kind="fnr",
            full_name=f"Pasient Nummer{index}",
        )
        cases.append(make_case(by=gp, patient=patient, submit=True))
    return cases


def test_fhirclient_searches_pages_reads_and_includes(
    live_server: Any, gp: User, three_referrals: list[Case]
) -> None:
    plain = token_for(gp, ("user/*.read",))
    smart = smart_client.FHIRClient(
        settings={"app_id": "telederm-tests", "api_base": f"{live_server.url}/fhir/"}
    )
    smart.server.session.headers["Authorization"] = f"Bearer {plain}"
    server = smart.server

    search = SmartServiceRequest.where(struct={"_count": "2", "_sort": "-_lastUpdated"})
    pages = list(search.perform_iter(server))
    assert len(pages) == 2
    assert any(link.relation == "next" for link in pages[0].link)
    ids = [entry.resource.id for page in pages for entry in page.entry]
    assert sorted(ids) == sorted(str(case.uuid) for case in three_referrals)
    for page in pages:
        parses(page.as_json())

    first = three_referrals[0]
    patient = SmartPatient.read(str(first.patient.uuid), server)
    assert patient.identifier[0].value == first.patient.identifier
    parses(patient.as_json())

    by_identifier = SmartPatient.where(
        struct={"identifier": f"urn:oid:2.16.578.1.12.4.1.4.1|{first.patient.identifier}"}
    ).perform_resources_iter(server)
    assert [p.id for p in by_identifier] == [str(first.patient.uuid)]

    with_patients = FHIRSearch(SmartServiceRequest).include("subject")
    modes = {
        (entry.resource.resource_type, entry.search.mode)
        for bundle in with_patients.perform_iter(server)
        for entry in bundle.entry
    }
    assert modes == {("ServiceRequest", "match"), ("Patient", "include")}


def test_fhirpy_pages_through_a_search_with_fetch_all(
    live_server: Any, gp: User, three_referrals: list[Case]
) -> None:
    fhir = fhirpy_client(live_server, token_for(gp, ("user/*.read",)))
    everything = fhir.resources("ServiceRequest").search(status="active").limit(1).fetch_all()
    assert sorted(r["id"] for r in everything) == sorted(str(c.uuid) for c in three_referrals)
    # fhirpy's .count() sends _totalMethod, which the server refuses as unknown; read the total.
    assert fhir.resources("ServiceRequest").search(status="active").fetch_raw()["total"] == 3


def test_a_client_without_a_token_is_told_so(live_server: Any) -> None:
    response = requests.get(f"{live_server.url}/fhir/ServiceRequest", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    parses(response.json())


def test_a_referral_larger_than_djangos_body_limit_goes_through(
    live_server: Any, gp: User, settings: Any
) -> None:
    """A phone photo or two make a bundle of megabytes: more than DATA_UPLOAD_MAX_MEMORY_SIZE,
    which guards form posts; the request size limit (TELEDERM_MAX_REQUEST_BYTES) is what holds."""
    bundle = referral_bundle(photos=1)
    content = bundle["entry"][3]["resource"]["content"]
    photo = base64.b64decode(content["data"])
    # Bytes after a JPEG's end marker are ignored by every decoder: a 3 MB file that is a photo.
    content["data"] = base64.b64encode(photo + bytes(3 * 1024 * 1024)).decode()
    body = json.dumps(bundle)
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = requests.post(
        f"{live_server.url}/fhir/",
        data=body,
        headers={
            "Authorization": f"Bearer {token_for(gp)}",
            "Content-Type": "application/fhir+json",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    assert Case.objects.get().photos.count() == 1


def test_fhirpy_withdraws_a_referral_with_if_match(live_server: Any, gp: User) -> None:
    plain = token_for(gp)
    fhir = fhirpy_client(live_server, plain)
    reply = fhir.execute("", method="post", data=referral_bundle(photos=1))
    case_id = reply["entry"][0]["response"]["location"].split("/")[1]
    etag = reply["entry"][0]["response"]["etag"]

    service_request = fhir.reference("ServiceRequest", case_id).to_resource()
    service_request["status"] = "revoked"
    with pytest.raises(OperationOutcome, match="If-Match"):
        service_request.save()  # fhirpy sends no If-Match of its own: 428.

    matching = SyncFHIRClient(
        f"{live_server.url}/fhir",
        authorization=f"Bearer {plain}",
        extra_headers={"If-Match": etag},
    )
    revoked = matching.resource("ServiceRequest", **service_request.serialize())
    revoked.save()
    assert Case.objects.get(uuid=case_id).status == "withdrawn"
    assert matching.reference("ServiceRequest", case_id).to_resource()["status"] == "revoked"
