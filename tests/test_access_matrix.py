"""Every route × every persona, against a declared expectation; and the access log each read writes.

The routes come from the URL configuration itself, so a new page cannot slip through: a route
that is in neither PATIENT_DATA nor NO_PATIENT_DATA fails `test_every_route_is_declared`.

The world: Kari's GP referred her (the target case), the dermatologist took it (in review), an
outside surgeon holds an active grant and another an expired one. Each persona then opens each
route once, in a fresh database, and the outcome is compared with the table below.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import _user, answer, jpeg_bytes, sign_in
from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.audit.models import AccessEvent
from telederm.cases import access
from telederm.cases.models import BreakGlassAccess, Case, CaseGrant
from telederm.cases.policies import cases_visible_to
from telederm.cases.services import submit_case
from telederm.core import clock
from telederm.interop.models import OutgoingMessage
from telederm.photos import services as photo_services
from telederm.photos.models import Lesion, Photo
from telederm.photos.tests.test_services import a_site
from telederm.review.services import take_for_review
from telederm.triage.alarms import raise_alarm
from telederm.triage.intake import record_check
from telederm.triage.models import Alarm, SymptomCheck
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

PERSONAS = (
    "patient",
    "other_patient",
    "gp",
    "other_gp",
    "duty_nurse",
    "dermatologist",
    "other_dermatologist",
    "grantee",
    "expired_grantee",
    "coordinator",
    "privacy_officer",
    "operator",
    "anonymous",
)
SIGNED_IN = frozenset(PERSONAS) - {"anonymous"}
CARE = frozenset({"patient", "gp", "dermatologist", "grantee"})  # may open the target case


@dataclass(frozen=True)
class Rule:
    """Who passes a route's policy (everyone else signed in is refused with 403 or 404)."""

    allowed: frozenset[str]
    method: str = "get"
    logs: tuple[str, ...] = ()  # access-log actions an allowed GET writes about the target case
    api: bool = False  # authenticated by a bearer token, not a session


def rule(allowed: set[str] | frozenset[str], **kwargs: Any) -> Rule:
    return Rule(allowed=frozenset(allowed), **kwargs)


FHIR_TYPE = "(?P<resource_type>[A-Z][A-Za-z]{1,63})"
FHIR_READ = f"fhir/^{FHIR_TYPE}/(?P<resource_id>[A-Za-z0-9\\-.]{{1,64}})$"
FHIR_SEARCH = f"fhir/^{FHIR_TYPE}/?$"
FHIR_SEARCH_POST = f"fhir/^{FHIR_TYPE}/_search$"
FHIR_ELSEWHERE = "fhir/^(?P<rest>.*)$"
ANSWER_READERS = {"patient", "gp", "dermatologist"}  # the grant is on the first case only
TRIAGE_LISTING = "triage.queue.list.view"
LIST_READERS = {"patient", "other_patient", "gp", "other_gp", "grantee", "expired_grantee"}
CLINIC = {"duty_nurse", "dermatologist", "other_dermatologist"}

PATIENT_DATA: dict[str, Rule] = {
    "cases/": rule(LIST_READERS, logs=("case.list.view",)),
    "cases/new/": rule({"patient", "other_patient", "gp", "other_gp"}),
    "cases/<uuid:case_uuid>/": rule(CARE, logs=("case.view", "case.messages.view")),
    "cases/<uuid:case_uuid>/edit/": rule(CARE, logs=("case.view",)),
    "cases/<uuid:case_uuid>/summary/": rule(CARE, logs=("case.view",)),
    "cases/<uuid:case_uuid>/submit/": rule(CARE, method="post"),
    "cases/<uuid:case_uuid>/withdraw/": rule(CARE, method="post"),
    "cases/<uuid:case_uuid>/photos/": rule(CARE, logs=("case.view",)),
    "cases/<uuid:case_uuid>/photos/<uuid:photo_uuid>/<str:size>.jpg": rule(
        CARE, logs=("photo.view",)
    ),
    "cases/<uuid:case_uuid>/photos/<uuid:photo_uuid>/remove/": rule(CARE, method="post"),
    "cases/<uuid:case_uuid>/lesions/": rule(CARE, method="post"),
    "cases/<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/photos/": rule(CARE, method="post"),
    "cases/<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/status/": rule(CARE, logs=("case.view",)),
    "cases/<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/compare/": rule(CARE, logs=("case.view",)),
    "cases/<uuid:case_uuid>/messages/": rule(CARE, logs=("case.view", "case.messages.view")),
    "cases/<uuid:case_uuid>/messages/send/": rule(
        {"patient", "gp", "dermatologist"}, method="post"
    ),
    # Photos come only from the patient's side.
    "cases/<uuid:case_uuid>/messages/photos/": rule({"patient", "gp"}, method="post"),
    # The answer summary: on a second case of Kari's, answered (see `target`).
    "cases/<uuid:case_uuid>/answer/": rule(ANSWER_READERS, logs=("case.view",)),
    "cases/<uuid:case_uuid>/answer.pdf": rule(
        ANSWER_READERS, logs=("case.view", "case.summary.download")
    ),
    # Kari's symptom check, run from the target case: only she sees it.
    "check/<uuid:check_uuid>/": rule({"patient"}, logs=("symptom_check.view",)),
    "check/<uuid:check_uuid>/case/": rule({"patient"}),
    # Duty nurses are sent on to their triage queue (they write no entry here).
    "clinic/": rule(CLINIC, logs=("queue.list.view",)),
    "clinic/cases/<uuid:case_uuid>/": rule(
        {"dermatologist"}, logs=("case.view", "case.messages.view")
    ),
    "clinic/cases/<uuid:case_uuid>/take/": rule({"dermatologist"}, method="post"),
    "clinic/cases/<uuid:case_uuid>/answer/": rule({"dermatologist"}, method="post"),
    # Clinicians *without* access may break the glass (an empty reason is refused with 400).
    "clinic/cases/<uuid:case_uuid>/break-glass/": rule(
        {"duty_nurse", "other_dermatologist"}, method="post"
    ),
    "clinic/cases/<uuid:case_uuid>/grants/": rule({"dermatologist"}, method="post"),
    "clinic/cases/<uuid:case_uuid>/grants/<uuid:grant_uuid>/revoke/": rule(
        {"dermatologist"}, method="post"
    ),
    # Triage: on a third case of Kari's, sent and waiting for triage (see `target`).
    "clinic/triage/": rule({"duty_nurse"}, logs=(TRIAGE_LISTING,)),
    "clinic/triage/cases/<uuid:case_uuid>/": rule({"duty_nurse"}, logs=("case.view",)),
    **{
        f"clinic/triage/cases/<uuid:case_uuid>/{step}/": rule({"duty_nurse"}, method="post")
        for step in ("claim", "release", "priority", "note", "request", "self-care", "resolve")
    },
    **{
        f"clinic/triage/cases/<uuid:case_uuid>/{step}/": rule(
            {"duty_nurse", "dermatologist", "other_dermatologist"}, method="post"
        )
        for step in ("forward", "assign", "escalate")
    },
    "clinic/triage/alarms/<uuid:alarm_uuid>/acknowledge/": rule(
        {"duty_nurse", "coordinator"}, method="post"
    ),
    "privacy/my-access-log/": rule({"patient", "other_patient"}),
    "privacy/review/": rule({"privacy_officer"}),
    "privacy/review/break-glass/<uuid:access_uuid>/": rule({"privacy_officer"}, method="post"),
    "api/v1/me": rule(SIGNED_IN, api=True),
    "api/v1/cases/": rule(SIGNED_IN, api=True),
    "api/v1/cases/<uuid:case_uuid>/": rule(CARE, api=True, logs=("api.case.view",)),
    # FHIR (tokens with user/*.read or patient/*.read; test_fhir_*.py go through every type).
    FHIR_READ: rule(CARE, api=True, logs=("fhir.servicerequest.view",)),
    # A search answers everyone with a token; the Bundle holds only what each may see.
    FHIR_SEARCH: rule(SIGNED_IN, api=True),
    FHIR_SEARCH_POST: rule(SIGNED_IN, api=True, method="post"),
    # A referral transaction needs a create scope: a read-only token may not (test_fhir_write.py).
    "fhir/": rule(set(), api=True, method="post"),
    # The operator's messages: the detail shows the XML (patient data) and is logged.
    "operator/messages/<uuid:message_uuid>/": rule({"operator"}, logs=("message.view",)),
    "operator/messages/<uuid:message_uuid>/resend/": rule({"operator"}, method="post"),
    "operator/messages/<uuid:message_uuid>/cancel/": rule({"operator"}, method="post"),
    # Close an answered case with a discharge summary to the GP: its assigned dermatologist.
    "clinic/interop/cases/<uuid:case_uuid>/discharge/": rule(
        {"dermatologist"}, logs=("case.view",)
    ),
}

# Routes that show no patient data, and why. Every persona may reach them (or is sent to sign
# in); the walk checks that none of them answers with an error or shows the world's patient.
NO_PATIENT_DATA: dict[str, str] = {
    "": "the front page (sends a signed-in person to their workspace)",
    "healthz": "process health for load balancers",
    "readyz": "readiness for load balancers",
    "i18n/setlang/": "language choice (POST only)",
    "check/": "the symptom checker: questions and a result, nothing stored unless signed in "
    "(test_symptom_views.py)",
    "guides/": "the public self-care guide library",
    "guides/<slug:slug>/": "one public self-care guide",
    "clinic/codes/": "ICD-10 and ICPC-2 code search for clinicians (test_codes_views.py)",
    "clinic/triage/alarms/": "open alarms for duty nurses and coordinators: kind and time, no "
    "patient names (test_views.py in triage)",
    "admin/": "operators' admin; no patient-data model is registered (tested below)",
    "uploads/": "tus creation: takes bytes for a draft the person may change (test_tus.py and "
    "test_tus_creation_matrix below); GET is 405",
    "fhir/metadata": "the FHIR CapabilityStatement: what the API supports, public",
    FHIR_ELSEWHERE: "an OperationOutcome saying the FHIR path does not exist",
    "operator/messages/": "the operator's message list: kinds, receivers, states and case "
    "references, no patient names (test_operator.py)",
    "clinic/interop/addresses/": "the address register's referral receivers, for clinicians",
    "uploads/<uuid:upload_uuid>": "a tus upload: only its owner may see its offset or add to it "
    "(test_tus.py); GET is 405",
}
ACCOUNT = re.compile(r"^account/")  # allauth: sign-in, two-factor, sessions, password

SITE, SIDE = a_site()
# A changing mole (7-point score 4): a teledermatology case, urgent, on the cancer pathway.
MOLE_CHECK = json.loads(
    (
        Path(__file__).parent.parent / "telederm/triage/tests/vignettes/pk-melanoma-classic.json"
    ).read_text()
)["answers"]
IDENTIFIER_RE = re.compile(rb"\b\d{11}\b")


ROUTES = all_routes()


@dataclass
class World:
    case: Case
    photo: Photo
    lesion: Lesion
    grant: CaseGrant
    break_glass: BreakGlassAccess
    answered_case: Case
    triage_case: Case
    check: SymptomCheck
    alarm: Alarm
    message: OutgoingMessage
    people: dict[str, User | None] = field(default_factory=dict)


def _photographed_case(
    by: User, patient: User, make_case: Any, *, like: Case | None = None
) -> tuple[Case, Lesion]:
    """A case of the patient's by this sender with one spot photographed as the protocol asks.

    With `like`, the photos are that case's finished renditions again (rows pointing at the same
    files) rather than processed anew: the matrix builds its world hundreds of times, and photo
    processing is tested elsewhere.
    """
    case = make_case(by=by, patient=patient.patient, photos=0)
    lesion = photo_services.add_lesion(by=by, case=case, body_site=SITE, laterality=SIDE)
    if like is None:
        for kind, shade in ((Photo.Kind.OVERVIEW, 0), (Photo.Kind.CLOSE_UP, 40)):
            photo_services.add_photo(
                by=by,
                case=case,
                upload=io.BytesIO(jpeg_bytes(size=(1200, 1000), colour=(190, 140, 100 + shade))),
                kind=kind,
                lesion=lesion,
                process_now=True,
            )
    else:
        for ready in like.photos.ready():
            Photo.objects.create(
                case=case,
                lesion=lesion,
                uploaded_by=by,
                kind=ready.kind,
                status=Photo.Status.READY,
                full_name=ready.full_name,
                screen_name=ready.screen_name,
                thumb_name=ready.thumb_name,
                width=ready.width,
                height=ready.height,
                byte_size=ready.byte_size,
                sha256=ready.sha256,
                processed_at=ready.processed_at,
            )
    case.refresh_from_db()
    return submit_case(by=by, case=case, expected_version=case.version), lesion


def target(route: str, world: World) -> Case:
    """The case a route is tried on: the summary needs an answered case, triage a waiting one."""
    if route.startswith("cases/<uuid:case_uuid>/answer"):
        return world.answered_case
    if route.startswith("clinic/triage/"):
        return world.triage_case
    if route.startswith("clinic/interop/cases/"):
        return world.answered_case
    return world.case


@pytest.fixture
def world(
    make_case: Any,
    patient_user: User,
    other_patient_user: User,
    gp: User,
    other_gp: User,
    duty_nurse: User,
    dermatologist: User,
    other_dermatologist: User,
    coordinator: User,
) -> World:
    case, lesion = _photographed_case(gp, patient_user, make_case)
    case = take_for_review(by=dermatologist, case=case, expected_version=case.version)
    answered_case, _ = _photographed_case(gp, patient_user, make_case, like=case)
    answer(answered_case, dermatologist, take=True)
    triage_case, _ = _photographed_case(gp, patient_user, make_case, like=case)
    alarm = raise_alarm(case=triage_case, kind=Alarm.Kind.UNOWNED, reference=clock.now())
    assert alarm is not None
    check = record_check(by=patient_user, data=MOLE_CHECK, case_uuid=case.uuid).check
    grantee = _user("kirurg@sykehus.example", User.Role.EXTERNAL, hpr_number="9100055")
    expired = _user("kirurg2@sykehus.example", User.Role.EXTERNAL, hpr_number="9100056")
    grant = access.grant_access(
        by=dermatologist,
        case=case,
        hpr_number=grantee.hpr_number,
        email=grantee.email,
        full_name="",
        purpose="Second opinion before excision",
        days=7,
    )
    old = access.grant_access(
        by=dermatologist,
        case=case,
        hpr_number=expired.hpr_number,
        email=expired.email,
        full_name="",
        purpose="Earlier opinion",
        days=1,
    )
    CaseGrant.objects.filter(pk=old.pk).update(
        starts_at=clock.now() - dt.timedelta(days=3), expires_at=clock.now() - dt.timedelta(days=2)
    )
    night = _user("natt@telederm.example", User.Role.DUTY_NURSE, dermatologist.organisation)
    glass = access.break_glass(by=night, case=case, reason="Patient called about bleeding")
    officer = _user("personvern@telederm.example", User.Role.PRIVACY_OFFICER)
    operator = _user("drift@telederm.example", User.Role.OPERATOR)
    message = OutgoingMessage.objects.create(
        msg_id=uuid.uuid4(),
        kind=OutgoingMessage.Kind.DIALOGMELDING,
        msg_type="DIALOG_HELSEFAGLIG",
        case=case,
        receiver_her_id=8100002,
        receiver_name="Nordkapp legesenter",
        payload=b"<MsgHead/>",
        status=OutgoingMessage.Status.FAILED,
        last_error="connection refused",
    )
    people: dict[str, User | None] = {
        "patient": patient_user,
        "other_patient": other_patient_user,
        "gp": gp,
        "other_gp": other_gp,
        "duty_nurse": duty_nurse,
        "dermatologist": dermatologist,
        "other_dermatologist": other_dermatologist,
        "grantee": grantee,
        "expired_grantee": expired,
        "coordinator": coordinator,
        "privacy_officer": officer,
        "operator": operator,
        "anonymous": None,
    }
    case.refresh_from_db()
    return World(
        case=case,
        photo=case.photos.ready().first(),
        lesion=lesion,
        grant=grant,
        break_glass=glass,
        answered_case=answered_case,
        triage_case=triage_case,
        check=check,
        alarm=alarm,
        message=message,
        people=people,
    )


def concrete(route: str, world: World) -> str:
    path = (
        route.replace("<uuid:case_uuid>", str(target(route, world).uuid))
        .replace("<uuid:check_uuid>", str(world.check.uuid))
        .replace("<uuid:alarm_uuid>", str(world.alarm.uuid))
        .replace("<slug:slug>", "acne")
        .replace("<uuid:photo_uuid>", str(world.photo.uuid))
        .replace("<uuid:lesion_uuid>", str(world.lesion.uuid))
        .replace("<uuid:upload_uuid>", str(uuid.uuid4()))
        .replace("<str:size>", "screen")
        .replace("<uuid:grant_uuid>", str(world.grant.uuid))
        .replace("<uuid:access_uuid>", str(world.break_glass.uuid))
        .replace("<int:pk>", "1")
        .replace("<uuid:message_uuid>", str(world.message.uuid))
        .replace(FHIR_READ[len("fhir/") :], f"ServiceRequest/{target(route, world).uuid}")
        .replace(FHIR_SEARCH[len("fhir/") :], "ServiceRequest")
        .replace(FHIR_SEARCH_POST[len("fhir/") :], "ServiceRequest/_search")
        .replace(FHIR_ELSEWHERE[len("fhir/") :], "nothing/here")
        .replace("^(?P<provider_id>[^/]+)", "helseid")
        .replace("^confirm-email/(?P<key>[-:\\w]+)/$", "confirm-email/not-a-key/")
        .replace(
            "^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$", "password/reset/key/1-x/"
        )
    )
    return "/" + path


def client_for(persona: str, world: World, rule_: Rule) -> tuple[Client, dict[str, str]]:
    client = Client()
    person = world.people[persona]
    if person is None:
        return client, {}
    if rule_.api:
        scope = "patient/*.read" if person.is_patient else "user/*.read"
        _, token = issue_token(user=person, scopes=[scope])
        return client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return sign_in(client, person), {}


def finish(response: Any) -> None:
    """Read a streamed photo to the end: the test client then closes its file, as a server would
    (calling close() directly would also close the test's database connection)."""
    if response.streaming:
        b"".join(response.streaming_content)


def test_every_route_is_declared() -> None:
    undeclared = [
        route
        for route in ROUTES
        if route not in PATIENT_DATA and route not in NO_PATIENT_DATA and not ACCOUNT.match(route)
    ]
    assert not undeclared, f"declare who may open these routes: {undeclared}"
    stale = (set(PATIENT_DATA) | set(NO_PATIENT_DATA)) - set(ROUTES)
    assert not stale, f"declared routes that no longer exist: {sorted(stale)}"
    assert len(PATIENT_DATA) >= 20


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", sorted(PATIENT_DATA))
def test_access_matrix(route: str, persona: str, world: World) -> None:
    rule_ = PATIENT_DATA[route]
    client, headers = client_for(persona, world, rule_)
    before = set(AccessEvent.objects.values_list("pk", flat=True))
    response = getattr(client, rule_.method)(concrete(route, world), **headers)
    finish(response)
    status = response.status_code
    if persona == "anonymous":
        if rule_.api:
            assert status == 401, (route, status)
        else:
            assert status == 302, (route, status)
            assert response["Location"].startswith("/account/login/"), response["Location"]
        assert not AccessEvent.objects.exclude(pk__in=before).exists()
        return
    if persona in rule_.allowed:
        assert status not in {401, 403, 404}, (route, persona, status)
        assert status < 500
        if status == 302:
            location = response["Location"]
            assert not location.startswith(("/account/login/", "/account/2fa/")), location
    else:
        assert status in {403, 404}, (route, persona, status)
        new = AccessEvent.objects.exclude(pk__in=before)
        assert not new.filter(case_uuid=target(route, world).uuid).exists(), (route, persona)
        assert world.case.patient.full_name.encode() not in response.content
        assert world.case.complaint.encode() not in response.content


@pytest.mark.parametrize(
    "route", sorted(r for r, rule_ in PATIENT_DATA.items() if rule_.logs and rule_.method == "get")
)
def test_each_read_writes_the_expected_access_log_entries(route: str, world: World) -> None:
    """Audit coverage: every allowed persona's read writes exactly the declared entries."""
    rule_ = PATIENT_DATA[route]
    checked = 0
    for persona in sorted(rule_.allowed):
        person = world.people[persona]
        assert person is not None
        client, headers = client_for(persona, world, rule_)
        before = set(AccessEvent.objects.values_list("pk", flat=True))
        response = client.get(concrete(route, world), **headers)
        finish(response)
        assert response.status_code in {200, 302}, (route, persona, response.status_code)
        new = list(AccessEvent.objects.exclude(pk__in=before).order_by("pk"))
        if rule_.logs[0].endswith("list.view"):
            visible = set(
                cases_visible_to(person).values_list("uuid", flat=True)
                if route == "cases/"
                else _queue_uuids(person, route)
            )
            assert {e.case_uuid for e in new} == visible, (route, persona)
            assert len(new) == len(visible)
        else:
            assert [e.action for e in new] == list(rule_.logs), (route, persona)
            event = new[0]
            assert event.case_uuid == target(route, world).uuid
            assert event.patient_uuid == world.case.patient.uuid
            assert event.basis, "every read says why the person had access"
        for event in new:
            assert event.actor_id == person.pk
            assert event.kind == "read"
            assert event.actor_role == person.role
        checked += len(new)
    assert checked >= 1


def _queue_uuids(person: User, route: str) -> list[uuid.UUID]:
    from telederm.review.policies import review_queue_for

    if route == "clinic/triage/":
        # The nurse's first page: emergencies, then the cases waiting to be triaged.
        waiting = Case.objects.filter(status__in=[Case.Status.ESCALATED, Case.Status.SUBMITTED])
        return list(waiting.values_list("uuid", flat=True))
    if person.role == User.Role.DUTY_NURSE:
        return []  # sent on from the dermatologists' queue to the triage queue, unlisted
    return list(review_queue_for(person).values_list("uuid", flat=True)[:200])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "route", sorted(set(NO_PATIENT_DATA) | {r for r in ROUTES if ACCOUNT.match(r)})
)
def test_routes_without_patient_data_show_none(route: str, persona: str, world: World) -> None:
    client, _ = client_for(persona, world, Rule(allowed=frozenset()))
    response = client.get(concrete(route, world))
    assert response.status_code < 500, (route, persona, response.status_code)
    body = response.content
    if persona != "patient":  # Kari may see her own name ("signed in as")
        assert world.case.patient.full_name.encode() not in body, (route, persona)
    assert world.case.complaint.encode() not in body, (route, persona)
    assert not IDENTIFIER_RE.search(body), (route, persona)


@pytest.mark.parametrize("route", sorted(r for r, rule_ in PATIENT_DATA.items() if not rule_.api))
def test_staff_without_a_second_factor_are_sent_to_set_one_up(route: str, world: World) -> None:
    person = world.people["dermatologist"]
    assert person is not None
    client = sign_in(Client(), person, second_factor=False)
    before = AccessEvent.objects.count()
    response = getattr(client, PATIENT_DATA[route].method)(concrete(route, world))
    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/"
    assert AccessEvent.objects.count() == before


def test_the_admin_registers_no_patient_data() -> None:
    from django.contrib import admin

    registered = {model._meta.label for model in admin.site._registry}
    patient_data = {
        "patients.Patient",
        "cases.Case",
        "cases.CaseEvent",
        "cases.CaseGrant",
        "cases.BreakGlassAccess",
        "photos.Photo",
        "photos.Lesion",
        "photos.Upload",
        "review.Review",
        "audit.AccessEvent",
    }
    assert not registered & patient_data


def test_an_answered_case_leaves_the_pool(world: World, make_case: Any) -> None:
    """After the answer only the assigned dermatologist keeps the case; colleagues need a reason."""
    dermatologist = world.people["dermatologist"]
    other = world.people["other_dermatologist"]
    assert dermatologist is not None and other is not None
    answer(world.case, dermatologist)
    assert world.case in cases_visible_to(dermatologist)
    assert world.case not in cases_visible_to(other)


@pytest.mark.parametrize("persona", PERSONAS)
def test_tus_creation_matrix(persona: str, world: World, make_case: Any) -> None:
    """Only the sender of a draft may start uploading a photo to it; nobody gets a row otherwise."""
    import base64

    from telederm.photos.models import Upload

    patient = world.people["patient"]
    assert patient is not None
    draft = make_case(by=patient, patient=patient.patient, photos=0)
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"case": str(draft.uuid), "kind": "overview"}.items()
    )
    client, _ = client_for(persona, world, Rule(allowed=frozenset()))
    client.handler.enforce_csrf_checks = False
    response = client.post(
        "/uploads/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1000", "Upload-Metadata": metadata},
    )
    if persona == "patient":
        assert response.status_code == 201
        assert Upload.objects.filter(owner=patient).count() == 1
    else:
        assert response.status_code in {401, 403, 404}, (persona, response.status_code)
        assert not Upload.objects.exists()
