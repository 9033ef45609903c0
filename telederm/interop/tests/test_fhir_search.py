"""FHIR search over HTTP: parameters per type, paging, sorting, _include, totals, the log.

Every body is re-parsed with fhir.resources.R4B (`parsed`). The CapabilityStatement is checked
against the router: every parameter it advertises is taken, and others are refused.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.core.clock import frozen_at
from telederm.interop.fhir import mapping, search
from telederm.interop.tests.test_fhir_read_support import (
    URLS,
    World,
    answered_referral,
    bearer,
    parsed,
    token_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def search_ok(client: Client, url: str, token: str, **headers: Any) -> Any:
    response = client.get(url, **bearer(token), **headers)
    assert response.status_code == 200, response.content
    bundle = parsed(response)
    assert bundle.type == "searchset"
    assert response["Cache-Control"] == "no-store"
    return bundle


def refused(client: Client, url: str, token: str, status: int = 400) -> Any:
    response = client.get(url, **bearer(token))
    assert response.status_code == status, response.content
    outcome = parsed(response)
    assert outcome.get_resource_type() == "OperationOutcome"
    return outcome.issue[0]


def ids(bundle: Any, mode: str = "match") -> list[str]:
    return [entry.resource.id for entry in bundle.entry or [] if entry.search.mode == mode]


def link(bundle: Any, relation: str) -> str | None:
    for item in bundle.link or []:
        if item.relation == relation:
            return str(item.url).removeprefix("http://testserver")
    return None


@pytest.fixture
def world(make_case: Callable[..., Case], gp: User, dermatologist: User) -> World:
    return answered_referral(make_case, gp, dermatologist)


@pytest.fixture
def three_cases(make_case: Callable[..., Case], gp: User, patient_user: User) -> list[Case]:
    """Three cases the GP sent a day apart, from T0."""
    cases = []
    for day in range(3):
        with frozen_at(T0 + dt.timedelta(days=day)):
            cases.append(make_case(by=gp, patient=patient_user.patient, submit=True))
    for day, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(updated_at=T0 + dt.timedelta(days=day))
    return cases


@pytest.fixture
def privacy_officer(db: None) -> User:
    return User.objects.create_user(
        "personvern@telederm.example",
        "Correct-horse-battery-9",
        full_name="Siri Vern",
        role=User.Role.PRIVACY_OFFICER,
    )


# --- paging, totals, sorting, includes --------------------------------------------------------


def test_a_gp_pages_through_their_referrals_with_the_patient_included(
    client: Client, gp: User, patient_user: User, three_cases: list[Case]
) -> None:
    token = token_for(gp)
    first = search_ok(
        client, "/fhir/ServiceRequest?_count=2&_include=ServiceRequest:patient", token
    )
    assert first.total == 3
    assert len(ids(first)) == 2
    assert ids(first, "include") == [str(patient_user.patient.uuid)]
    assert link(first, "previous") is None
    next_url = link(first, "next")
    assert next_url is not None
    second = search_ok(client, next_url, token)
    assert link(second, "next") is None
    assert link(second, "previous") is not None
    assert set(ids(first) + ids(second)) == {str(case.uuid) for case in three_cases}
    assert first.entry[0].fullUrl == f"http://testserver/fhir/ServiceRequest/{ids(first)[0]}"


def test_each_row_a_search_shows_is_logged_once_and_includes_are_not_rows(
    client: Client, gp: User, three_cases: list[Case]
) -> None:
    search_ok(client, "/fhir/ServiceRequest?_include=ServiceRequest:subject", token_for(gp))
    rows = AccessEvent.objects.filter(action="fhir.servicerequest.list.view")
    assert sorted(str(row.case_uuid) for row in rows) == sorted(str(c.uuid) for c in three_cases)
    assert {row.basis for row in rows} == {"sender"}
    included = AccessEvent.objects.get(action="fhir.patient.list.view")  # the one patient included
    assert included.patient_uuid == three_cases[0].patient.uuid
    assert included.reason.startswith("api token ")
    assert AccessEvent.objects.filter(kind="read").count() == 4


def test_include_of_the_patient_needs_a_scope_that_reads_patient(
    client: Client, gp: User, three_cases: list[Case]
) -> None:
    token = token_for(gp, "user/ServiceRequest.read")
    search_ok(client, "/fhir/ServiceRequest", token)  # the search itself is allowed
    before = AccessEvent.objects.count()
    issue = refused(client, "/fhir/ServiceRequest?_include=ServiceRequest:patient", token, 403)
    assert "Patient.r" in issue.diagnostics
    assert AccessEvent.objects.count() == before
    response = client.get("/fhir/ServiceRequest?_include=ServiceRequest:subject", **bearer(token))
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_searching_people_and_organisations_is_not_logged_as_patient_data(
    client: Client, gp: User, dermatologist: User
) -> None:
    bundle = search_ok(client, "/fhir/Practitioner", token_for(gp))
    assert {str(gp.uuid), str(dermatologist.uuid)} <= set(ids(bundle))
    search_ok(client, "/fhir/Organization", token_for(gp))
    assert not AccessEvent.objects.exists()


def test_patients_never_appear_as_practitioners(
    client: Client, gp: User, patient_user: User
) -> None:
    bundle = search_ok(client, "/fhir/Practitioner?_count=100", token_for(gp))
    assert str(patient_user.uuid) not in ids(bundle)


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("authored", [0, 1, 2]),
        ("-authored", [2, 1, 0]),
        ("_lastUpdated", [0, 1, 2]),
        ("-_lastUpdated", [2, 1, 0]),
    ],
)
def test_sorting_by_the_natural_date_and_last_updated(
    client: Client, gp: User, three_cases: list[Case], sort: str, order: list[int]
) -> None:
    bundle = search_ok(client, f"/fhir/ServiceRequest?_sort={sort}", token_for(gp))
    assert ids(bundle) == [str(three_cases[index].uuid) for index in order]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("_lastUpdated=2026-03-03", [1]),
        ("_lastUpdated=eq2026-03-03", [1]),
        ("_lastUpdated=gt2026-03-03", [2]),
        ("_lastUpdated=ge2026-03-03", [1, 2]),
        ("_lastUpdated=lt2026-03-03", [0]),
        ("_lastUpdated=le2026-03-03", [0, 1]),
        ("_lastUpdated=ge2026-03-02&_lastUpdated=lt2026-03-04", [0, 1]),
        ("_lastUpdated=2026-03", [0, 1, 2]),
        ("_lastUpdated=2025", []),
        ("_lastUpdated=gt2026-03-03T09:00:00Z", [2]),
        ("_lastUpdated=ge2026-03-03T10:00:00%2B01:00", [1, 2]),
        ("authored=2026-03-04", [2]),
    ],
)
def test_date_prefixes_and_precision(
    client: Client, gp: User, three_cases: list[Case], query: str, expected: list[int]
) -> None:
    bundle = search_ok(client, f"/fhir/ServiceRequest?{query}&_sort=authored", token_for(gp))
    assert ids(bundle) == [str(three_cases[index].uuid) for index in expected]


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01", "2026-03-02T10:00", "ne2026-03-02", "sa2026-03-02"]
)
def test_bad_dates_and_unsupported_prefixes_are_400(client: Client, gp: User, value: str) -> None:
    refused(client, f"/fhir/ServiceRequest?_lastUpdated={value}", token_for(gp))


def test_a_total_too_dear_to_count_is_left_out_unless_asked_for(
    client: Client, gp: User, three_cases: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    from telederm.interop.fhir import views

    monkeypatch.setattr(views, "CHEAP_TOTAL_LIMIT", 1)
    token = token_for(gp)
    assert search_ok(client, "/fhir/ServiceRequest?_count=1", token).total is None
    assert search_ok(client, "/fhir/ServiceRequest?_count=1&_total=accurate", token).total == 3
    assert search_ok(client, "/fhir/ServiceRequest?_count=5", token).total == 3
    assert search_ok(client, "/fhir/ServiceRequest?_total=none", token).total is None


def test_count_is_capped_and_zero_gives_only_the_total(
    client: Client, gp: User, three_cases: list[Case]
) -> None:
    token = token_for(gp)
    only_total = search_ok(client, "/fhir/ServiceRequest?_count=0", token)
    assert only_total.total == 3
    assert only_total.entry is None
    capped = search_ok(client, "/fhir/ServiceRequest?_count=5000", token)
    assert f"_count={search.MAX_COUNT}" in (link(capped, "self") or "")
    assert AccessEvent.objects.filter(action="fhir.servicerequest.list.view").count() == 3


@pytest.mark.parametrize(
    "query",
    [
        "name=Kari",
        "_count=many",
        "_sort=priority",
        "_include=ServiceRequest:requester",
        "_offset=not-ours",
        "_total=maybe",
        "status:not=active",
        "_summary=count",
    ],
)
def test_unknown_parameters_and_bad_result_parameters_are_400(
    client: Client, gp: User, query: str
) -> None:
    issue = refused(client, f"/fhir/ServiceRequest?{query}", token_for(gp))
    assert issue.severity == "error"


def test_lenient_handling_ignores_unknown_parameters_and_says_so(
    client: Client, gp: User, three_cases: list[Case]
) -> None:
    bundle = search_ok(
        client, "/fhir/ServiceRequest?name=Kari", token_for(gp), HTTP_PREFER="handling=lenient"
    )
    assert len(ids(bundle)) == 3
    outcome = [entry for entry in bundle.entry if entry.search.mode == "outcome"]
    assert "name" in outcome[0].resource.issue[0].diagnostics


def test_post_search_takes_the_parameters_from_a_form(
    client: Client, gp: User, patient_user: User, three_cases: list[Case]
) -> None:
    response = client.post(
        "/fhir/Patient/_search",
        urlencode({"identifier": f"{mapping.FNR}|{patient_user.patient.identifier}"}),
        content_type="application/x-www-form-urlencoded",
        **bearer(token_for(gp)),
    )
    assert response.status_code == 200, response.content
    assert ids(parsed(response)) == [str(patient_user.patient.uuid)]
    json_body = client.post(
        "/fhir/Patient/_search", "{}", content_type="application/xml", **bearer(token_for(gp))
    )
    assert json_body.status_code == 415


def test_a_search_costs_the_same_number_of_queries_for_one_row_as_for_many(
    client: Client, make_case: Callable[..., Case], gp: User, patient_user: User
) -> None:
    token = token_for(gp)
    make_case(by=gp, patient=patient_user.patient, submit=True)
    url = "/fhir/ServiceRequest?_include=ServiceRequest:patient&_total=none"
    client.get(url, **bearer(token))
    with CaptureQueriesContext(connection) as one:
        search_ok(client, url, token)
    for _ in range(4):
        make_case(by=gp, patient=patient_user.patient, submit=True)
    with CaptureQueriesContext(connection) as five:
        bundle = search_ok(client, url, token)
    assert len(ids(bundle)) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


# --- parameters per type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (f"{mapping.FNR}|{{number}}", True),
        ("{number}", True),
        ("|{number}", False),
        (f"{mapping.DNR}|{{number}}", False),
        (f"{mapping.FNR}|01010112345", False),
    ],
)
def test_patients_are_found_by_identifier_in_every_form(
    client: Client, gp: User, patient_user: User, three_cases: list[Case], value: str, found: bool
) -> None:
    number = patient_user.patient.identifier
    query = value.format(number=number).replace("|", "%7C")
    bundle = search_ok(client, f"/fhir/Patient?identifier={query}", token_for(gp))
    assert ids(bundle) == ([str(patient_user.patient.uuid)] if found else [])


def test_a_gp_finds_no_patient_they_have_sent_nothing_for(
    client: Client, gp: User, other_patient_user: User
) -> None:
    number = other_patient_user.patient.identifier
    bundle = search_ok(client, f"/fhir/Patient?identifier={number}", token_for(gp))
    assert ids(bundle) == []


def test_organisations_by_her_id(client: Client, gp: User) -> None:
    her = gp.organisation.her_id
    bundle = search_ok(
        client, f"/fhir/Organization?identifier={mapping.HER_ID}%7C{her}", token_for(gp)
    )
    assert ids(bundle) == [str(gp.organisation.uuid)]


def test_the_resources_of_one_case_are_found_by_patient_case_and_code(
    client: Client, world: World
) -> None:
    token = token_for(world.case.created_by)
    patient = f"Patient/{world.patient.uuid}"
    case = f"ServiceRequest/{world.case.uuid}"
    referral = search_ok(client, f"/fhir/ServiceRequest?based-on={case}", token)
    assert ids(referral) == [str(world.review.referral.uuid)]
    assert ids(search_ok(client, f"/fhir/Task?focus={case}&status=completed", token)) == [
        str(world.case.uuid)
    ]
    assert ids(search_ok(client, "/fhir/Task?business-status=referred", token)) == [
        str(world.case.uuid)
    ]
    assert ids(search_ok(client, "/fhir/Task?status=requested", token)) == []
    assert ids(search_ok(client, f"/fhir/Media?based-on={case}", token)) == [str(world.photo.uuid)]
    assert len(ids(search_ok(client, f"/fhir/Condition?patient={patient}", token))) == 2
    for system in (mapping.ICD10_NO, mapping.ICD10_HL7):
        coded = search_ok(client, f"/fhir/Condition?code={system}%7CD22.5", token)
        assert len(ids(coded)) == 1
    assert ids(search_ok(client, f"/fhir/Condition?code={mapping.ICPC2_NO}%7CD22.5", token)) == []
    assert len(ids(search_ok(client, f"/fhir/MedicationRequest?subject={patient}", token))) == 1
    # The message on the case, and the signed answer's advice to the patient.
    communications = search_ok(client, f"/fhir/Communication?based-on={case}", token)
    answer = world.case.messages.get(kind="answer")
    assert sorted(ids(communications)) == sorted([str(answer.uuid), str(world.message.uuid)])
    (advice,) = (
        entry.resource
        for entry in communications.entry
        if entry.resource.category[0].coding[0].code == "answer"
    )
    assert advice.payload[0].contentString.startswith(world.review.advice)
    assert ids(search_ok(client, f"/fhir/DocumentReference?patient={patient}", token)) == [
        str(world.case.uuid)
    ]
    assert ids(search_ok(client, f"/fhir/QuestionnaireResponse?based-on={case}", token)) == [
        str(world.case.uuid)
    ]
    assert ids(search_ok(client, f"/fhir/Media?patient=Patient/{uuid.uuid4()}", token)) == []


# --- the access log as AuditEvent ---------------------------------------------------------------


def test_the_access_log_is_the_privacy_officers_and_each_patients_own(
    client: Client,
    world: World,
    privacy_officer: User,
    patient_user: User,
    other_patient_user: User,
    make_case: Callable[..., Case],
) -> None:
    theirs = make_case(by=other_patient_user, patient=other_patient_user.patient, submit=True)
    assert theirs.patient != world.patient
    everything = search_ok(client, "/fhir/AuditEvent?_count=100", token_for(privacy_officer))
    patients = {
        entity.what.reference
        for entry in everything.entry
        for entity in entry.resource.entity or []
        if entity.what.reference.startswith("Patient/")
    }
    assert {f"Patient/{world.patient.uuid}", f"Patient/{theirs.patient.uuid}"} <= patients
    own = search_ok(
        client, "/fhir/AuditEvent?_count=100", token_for(patient_user, "patient/*.read")
    )
    assert own.entry
    assert all(
        entry.resource.entity[0].what.reference == f"Patient/{world.patient.uuid}"
        for entry in own.entry
    )
    # Clinicians' client addresses are for the privacy officer's review only.
    assert all(agent.network is None for entry in own.entry for agent in entry.resource.agent)
    again = search_ok(client, "/fhir/AuditEvent?_count=100", token_for(privacy_officer))
    assert any(agent.network for entry in again.entry for agent in entry.resource.agent)
    gp = search_ok(client, "/fhir/AuditEvent", token_for(world.case.created_by))
    assert gp.total == 0
    one = own.entry[0].resource
    read = client.get(f"/fhir/AuditEvent/{one.id}", **bearer(token_for(patient_user)))
    assert parsed(read).id == one.id
    assert (
        client.get(
            f"/fhir/AuditEvent/{one.id}", **bearer(token_for(other_patient_user))
        ).status_code
        == 404
    )
    subtype = search_ok(client, "/fhir/AuditEvent?subtype=case.submit", token_for(privacy_officer))
    assert {entry.resource.subtype[0].code for entry in subtype.entry} == {"case.submit"}


# --- scopes and policies in searches ---------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "scopes", "sees"),
    [
        ("gp", ("user/*.read",), True),
        ("gp", ("user/ServiceRequest.s",), True),
        ("patient_user", ("patient/*.read",), True),
        ("patient_user", ("user/*.read",), True),
        ("dermatologist", ("user/*.read",), True),
        ("other_dermatologist", ("user/*.read",), False),
        ("outsider", ("user/*.read",), False),
        ("other_patient_user", ("patient/*.read",), False),
    ],
)
def test_who_finds_the_answered_case(
    client: Client,
    world: World,
    persona: str,
    scopes: tuple[str, ...],
    sees: bool,
    request: pytest.FixtureRequest,
) -> None:
    person = request.getfixturevalue(persona)
    bundle = search_ok(client, "/fhir/ServiceRequest", token_for(person, *scopes))
    assert (str(world.case.uuid) in ids(bundle)) is sees


def test_a_read_only_scope_cannot_search_and_a_search_scope_cannot_read(
    client: Client, gp: User, three_cases: list[Case]
) -> None:
    refused(client, "/fhir/ServiceRequest", token_for(gp, "user/ServiceRequest.r"), 403)
    response = client.get(
        f"/fhir/ServiceRequest/{three_cases[0].uuid}",
        **bearer(token_for(gp, "user/ServiceRequest.s")),
    )
    assert response.status_code == 403


# --- the CapabilityStatement tells the truth ---------------------------------------------------


def sample(param: dict[str, Any]) -> str:
    """A well-formed value for a search parameter of this type."""
    return {
        "token": "x",
        "reference": str(uuid.uuid4()),
        "date": "ge2026-01-01",
    }[param["type"]]


def test_every_advertised_parameter_include_and_type_is_served(
    client: Client, world: World, privacy_officer: User
) -> None:
    statement = client.get("/fhir/metadata").json()
    resources = statement["rest"][0]["resource"]
    assert sorted(r["type"] for r in resources) == sorted(search.REGISTRY)
    token = token_for(world.case.created_by)
    for resource in resources:
        kind = resource["type"]
        assert {i["code"] for i in resource["interaction"]} >= {"read", "search-type"}
        for param in resource["searchParam"]:
            url = f"/fhir/{kind}?{param['name']}={sample(param)}"
            search_ok(client, url, token)
        for include in resource.get("searchInclude", []):
            search_ok(client, f"/fhir/{kind}?_include={include}", token)


def test_every_advertised_sort_key_is_served(client: Client, world: World) -> None:
    token = token_for(world.case.created_by)
    for name in search.REGISTRY:
        for key in search.advertised_sorts(name):
            search_ok(client, f"/fhir/{name}?_sort=-{key}", token)


def test_parameters_not_advertised_are_refused(client: Client, world: World) -> None:
    statement = client.get("/fhir/metadata").json()
    token = token_for(world.case.created_by)
    everything = {
        param["name"] for r in statement["rest"][0]["resource"] for param in r["searchParam"]
    } | {"name", "family", "_text", "_content", "_has", "_revinclude", "_elements"}
    for resource in statement["rest"][0]["resource"]:
        advertised = {param["name"] for param in resource["searchParam"]}
        for name in sorted(everything - advertised):
            issue = refused(client, f"/fhir/{resource['type']}?{name}=x", token)
            assert name in issue.diagnostics


@pytest.mark.parametrize(
    "query",
    [
        "_lastUpdated=9999-12-31",
        "_lastUpdated=0000",
        "_lastUpdated=2026-02-30",
        "_lastUpdated=2026-03-02T10:00:00%2B99:99",
        "_lastUpdated=le9999-12-31T23:59:59.999999Z",
        "identifier=%00",
        "_offset=bzk5OTk5OTk5OTk5OTk5",
        "_count=9999999999",
    ],
)
def test_hostile_values_are_refused_not_server_errors(client: Client, gp: User, query: str) -> None:
    response = client.get(f"/fhir/Patient?{query}", **bearer(token_for(gp)))
    assert response.status_code in (200, 400), response.content
    parsed(response)


@pytest.mark.parametrize("kind", sorted(search.REGISTRY))
def test_no_type_queries_once_per_row(
    client: Client,
    make_case: Callable[..., Case],
    gp: User,
    dermatologist: User,
    privacy_officer: User,
    kind: str,
) -> None:
    answered_referral(make_case, gp, dermatologist)
    token = token_for(privacy_officer if kind == "AuditEvent" else gp)
    includes = search.advertised_includes(kind)
    url = f"/fhir/{kind}?_total=none" + (f"&_include={includes[0]}" if includes else "")
    with CaptureQueriesContext(connection) as one:
        first = search_ok(client, url, token)
    answered_referral(make_case, gp, dermatologist)
    with CaptureQueriesContext(connection) as two:
        second = search_ok(client, url, token)
    # The second case adds rows of every type but the people and organisations.
    same_rows = kind in ("Organization", "Patient", "Practitioner", "PractitionerRole")
    assert len(ids(second)) > len(ids(first)) or same_rows
    assert len(two.captured_queries) <= len(one.captured_queries), [
        query["sql"][:120] for query in two.captured_queries
    ]


def test_paging_through_the_access_log_is_stable_although_reading_it_is_logged(
    client: Client, world: World, privacy_officer: User
) -> None:
    token = token_for(privacy_officer)
    seen: list[str] = []
    url: str | None = "/fhir/AuditEvent?_count=3"
    while url is not None and len(seen) < 60:
        page = search_ok(client, url, token)
        seen += ids(page)
        url = link(page, "next")
    assert len(seen) == len(set(seen))


# --- fuzzing: any value is a result or a 400, never a server error ------------------------------

VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"(eq|ne|gt|lt|ge|le|sa)?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?)?)?"),
    st.from_regex(r"[a-z:/.]*\|[A-Za-z0-9.\-]*"),
)

PARAM_NAMES = [
    *sorted({param for kind in search.REGISTRY for param in search.advertised_params(kind)}),
    *("_count", "_sort", "_include", "_total", "_offset"),
]


@given(value=VALUES)
def test_any_date_value_parses_or_is_refused_as_fhir_error(value: str) -> None:
    try:
        prefix, start, end = search.parse_date_range(value)
    except search.FhirError as error:
        assert error.status == 400
    else:
        assert prefix in search.DATE_PREFIXES
        assert start < end


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(search.REGISTRY)),
    name=st.sampled_from(PARAM_NAMES),
    value=VALUES,
)
def test_any_search_value_is_a_bundle_or_a_400(
    client: Client, gp: User, kind: str, name: str, value: str
) -> None:
    response = client.get(
        f"/fhir/{kind}", {name: value}, **bearer(token_for(gp)), HTTP_PREFER="handling=lenient"
    )
    assert response.status_code in (200, 400), response.content
    parsed(response)
