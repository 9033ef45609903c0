"""The stand-in speaks what NHN's OpenAPI description (msh-api-v2.json) says: schemathesis
generates requests for every operation and checks every answer's status code, content type and
body against the description; a scripted exchange checks the successful answers the same way."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from telederm.interop.transports.nhn import standin as nhn_standin
from telederm.interop.transports.nhn.helseid import DPoPAuth

SCHEMA = schemathesis.openapi.from_path(nhn_standin.OPENAPI_PATH)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = Path(__file__).parent / "examples"
DIALOG = (
    EXAMPLES / "kith" / "Dialogmelding" / "Dialogmelding-v1-1" / "Helsefaglig dialog.xml"
).read_bytes()
GP_OFFICE, HOSPITAL_DEPARTMENT = 56704, 90998


@pytest.fixture(scope="module")
def nhn():
    with nhn_standin.serve(her_id=HOSPITAL_DEPARTMENT) as running:
        # Something to find: messages to the HER-ids schemathesis may pick from the examples.
        running.register_client(
            running.client_id,
            running.client_key.public_jwk,
            her_ids=[HOSPITAL_DEPARTMENT, GP_OFFICE, 42, 1337],
        )
        running.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
        yield running


@pytest.fixture(scope="module")
def session(nhn):
    transport = nhn.transport()
    with requests.Session() as http:
        http.auth = DPoPAuth(transport.helseid)
        yield http


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_every_answer_conforms_to_the_description(nhn, session, operation):
    known = next(iter(nhn.messages))

    @given(case=operation.as_strategy(), real_id=st.booleans(), real_version=st.booleans())
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case, real_id, real_version):
        # Random ids and api-versions mostly hit 404 and 400; half the time use real ones so
        # that the successful answers are exercised too.
        if real_id and case.path_parameters and "id" in case.path_parameters:
            case.path_parameters["id"] = known
        if real_version and case.headers is not None:
            case.headers["api-version"] = "2"
            case.headers["nhn-source-system"] = "Telederm conformance test"
        response = case.call(base_url=nhn.url, session=session)
        case.validate_response(response, checks=CHECKS)

    exchange()


def test_the_successful_answers_conform_too(nhn, session):
    """Schemathesis rarely guesses a stored message's id: walk a whole exchange by hand."""
    document = base64.b64encode(DIALOG).decode("ascii")
    steps = [
        (
            "/Messages",
            "POST",
            {},
            {},
            {
                "businessDocument": document,
                "contentType": "application/xml",
                "contentTransferEncoding": "base64",
            },
            201,
        ),
    ]
    statuses = []

    def step(path, method, path_parameters=None, query=None, body=None, expected=200):
        operation = SCHEMA[path][method]
        kwargs = {"path_parameters": path_parameters or {}, "query": query or {}}
        kwargs["headers"] = {"api-version": "2", "nhn-source-system": "Telederm test"}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        response = case.call(base_url=nhn.url, session=session)
        case.validate_response(response, checks=CHECKS)
        statuses.append(response.status_code)
        assert response.status_code == expected, response.text
        return response

    # The GP office (we hold its HER-id too here) sends to the hospital department.
    sent = step(*steps[0][:2], body=steps[0][4], expected=201).json()
    listed = step(
        "/Messages",
        "GET",
        query={"ReceiverHerIds": [HOSPITAL_DEPARTMENT], "IncludeMetadata": True},
    ).json()
    assert sent in [item["id"] for item in listed]
    step("/Messages", "GET", query={"ReceiverHerIds": [HOSPITAL_DEPARTMENT]})
    step("/Messages/{id}", "GET", {"id": sent})
    step("/Messages/{id}/business-document", "GET", {"id": sent})
    step("/Messages/{id}/status", "GET", {"id": sent})
    step("/Messages/{id}/apprec", "GET", {"id": sent})
    receipt = {
        "appRecStatus": "Rejected",
        "appRecErrorList": [{"errorCode": "E21", "details": "Mottaker finnes ikke"}],
    }
    path = "/Messages/{id}/apprec/{appRecSenderHerId}"
    step(
        path,
        "POST",
        {"id": sent, "appRecSenderHerId": HOSPITAL_DEPARTMENT},
        body=receipt,
        expected=201,
    )
    step(
        path,
        "POST",
        {"id": sent, "appRecSenderHerId": HOSPITAL_DEPARTMENT},
        body=receipt,
        expected=400,
    )
    step("/Messages/{id}/apprec", "GET", {"id": sent})
    step(
        "/Messages/{id}/read/{herId}",
        "PUT",
        {"id": sent, "herId": HOSPITAL_DEPARTMENT},
        expected=204,
    )
    step("/Messages/{id}/read/{herId}", "PUT", {"id": sent, "herId": 7}, expected=403)
    step("/Messages/{id}", "GET", {"id": "00000000-0000-0000-0000-000000000000"}, expected=404)
    step("/Messages", "GET", query={"ReceiverHerIds": [7]}, expected=403)
    assert statuses == [201, 200, 200, 200, 200, 200, 200, 201, 400, 200, 204, 403, 404, 403]
