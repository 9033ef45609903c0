"""The FHIR mapping, pure: plain objects in, R4B resources out, each re-parsed from its JSON."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace as Obj
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from telederm.interop.fhir import mapping

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def reparsed(resource: Any) -> Any:
    """The resource's own JSON parsed back with fhir.resources.R4B: it must be valid FHIR."""
    body = resource.model_dump_json()
    model = get_fhir_model_class(resource.get_resource_type())
    return model.model_validate_json(body)


def organisation(**extra: Any) -> Obj:
    values = {
        "uuid": uuid.uuid4(),
        "name": "Nordkapp legesenter",
        "kind": "gp_office",
        "her_id": 8100002,
        "organisation_number": "974760673",
        "municipality": "Nordkapp",
    }
    return Obj(**{**values, **extra})


def person(role: str = "dermatologist", **extra: Any) -> Obj:
    values = {
        "pk": 7,
        "uuid": uuid.uuid4(),
        "full_name": "Erik Strand",
        "hpr_number": "9100021",
        "is_active": True,
        "role": role,
        "title": "",
        "organisation": None,
        "date_joined": NOW,
    }
    return Obj(**{**values, **extra})


def patient(kind: str = "fnr", **extra: Any) -> Obj:
    values = {
        "uuid": uuid.uuid4(),
        "identifier_kind": kind,
        "identifier": "17057012345",
        "full_name": "Kari Nordmann",
        "birth_date": dt.date(1970, 5, 17),
        "preferred_language": "se",
        "created_at": NOW,
        "user_id": 3,
    }
    return Obj(**{**values, **extra})


def case(status: str = "submitted", **extra: Any) -> Obj:
    the_patient = extra.pop("patient", None) or patient()
    values = {
        "uuid": uuid.uuid4(),
        "patient": the_patient,
        "created_by": person("submitter", pk=11, full_name="Ingrid Lie"),
        "assigned_to": None,
        "claimed_by": None,
        "status": status,
        "priority": "routine",
        "pathway": "",
        "version": 4,
        "complaint": "A mole on my back has grown darker.",
        "body_site": "back",
        "body_site_detail": "left shoulder blade",
        "onset": "months",
        "change": "changing",
        "itch": "none",
        "pain": "mild",
        "treatments_tried": "",
        "other_information": "",
        "patient_consents": True,
        "created_at": NOW - dt.timedelta(hours=2),
        "updated_at": NOW,
        "submitted_at": NOW - dt.timedelta(hours=1),
        "due_at": NOW + dt.timedelta(days=3),
        "answered_at": None,
    }
    return Obj(**{**values, **extra})


def review(**extra: Any) -> Obj:
    values = {"uuid": uuid.uuid4(), "signed_at": NOW, "updated_at": NOW, "author": person()}
    return Obj(**{**values, **extra})


# --- identifiers and people ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "system"),
    [
        ("fnr", "urn:oid:2.16.578.1.12.4.1.4.1"),
        ("dnr", "urn:oid:2.16.578.1.12.4.1.4.2"),
        ("fhn", "urn:oid:2.16.578.1.12.4.1.4.3"),
    ],
)
def test_a_patient_is_identified_by_the_no_basis_system_of_their_number(
    kind: str, system: str
) -> None:
    resource = reparsed(mapping.patient(patient(kind)))
    assert resource.identifier[0].system == system
    assert resource.identifier[0].value == "17057012345"


def test_a_patient_has_name_birth_date_language_and_gp_office_and_never_a_database_key() -> None:
    office = organisation()
    the_patient = patient()
    resource = reparsed(mapping.patient(the_patient, gp_office=office))
    assert resource.id == str(the_patient.uuid)
    assert resource.name[0].family == "Nordmann"
    assert resource.name[0].given == ["Kari"]
    assert resource.birthDate == dt.date(1970, 5, 17)
    assert resource.communication[0].language.coding[0].code == "se"
    assert resource.generalPractitioner[0].reference == f"Organization/{office.uuid}"
    assert resource.meta.versionId
    assert resource.meta.lastUpdated == NOW


def test_a_patient_without_names_for_a_system_scope_shows_no_name() -> None:
    resource = reparsed(mapping.patient(patient(), names=False))
    assert resource.name is None


def test_the_content_version_changes_with_the_content() -> None:
    first = mapping.patient(patient(full_name="Kari Nordmann", uuid=uuid.UUID(int=1)))
    again = mapping.patient(patient(full_name="Kari Nordmann", uuid=uuid.UUID(int=1)))
    renamed = mapping.patient(patient(full_name="Kari Hansen", uuid=uuid.UUID(int=1)))
    assert first.meta.versionId == again.meta.versionId
    assert first.meta.versionId != renamed.meta.versionId


def test_a_practitioner_carries_the_hpr_number_and_the_role_its_code() -> None:
    office = organisation()
    doctor = person(organisation=office)
    practitioner = reparsed(mapping.practitioner(doctor))
    assert practitioner.identifier[0].system == "urn:oid:2.16.578.1.12.4.1.4.4"
    assert practitioner.identifier[0].value == "9100021"
    role = reparsed(mapping.practitioner_role(doctor))
    assert role.practitioner.reference == f"Practitioner/{doctor.uuid}"
    assert role.organization.reference == f"Organization/{office.uuid}"
    codes = {(c.system, c.code) for c in role.code[0].coding}
    assert (mapping.ROLE, "dermatologist") in codes
    assert ("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor") in codes


def test_an_organisation_is_found_by_her_id_and_organisation_number() -> None:
    resource = reparsed(mapping.organization(organisation()))
    assert {(i.system, i.value) for i in resource.identifier} == {
        ("urn:oid:2.16.578.1.12.4.1.2", "8100002"),
        ("urn:oid:2.16.578.1.12.4.1.4.101", "974760673"),
    }


# --- the case ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "request_status", "task_status"),
    [
        ("draft", "draft", "draft"),
        ("submitted", "active", "requested"),
        ("triaged", "active", "accepted"),
        ("in_review", "active", "in-progress"),
        ("info_requested", "on-hold", "on-hold"),
        ("escalated", "active", "in-progress"),
        ("video_scheduled", "active", "in-progress"),
        ("answered", "completed", "completed"),
        ("referred", "completed", "completed"),
        ("closed", "completed", "completed"),
        ("withdrawn", "revoked", "cancelled"),
    ],
)
def test_every_case_state_maps_to_a_request_and_a_task_status(
    status: str, request_status: str, task_status: str
) -> None:
    the_case = case(status)
    assert reparsed(mapping.service_request(the_case)).status == request_status
    task = reparsed(mapping.task(the_case))
    assert task.status == task_status
    assert task.businessStatus.coding[0].code == status


def test_every_case_state_is_mapped() -> None:
    from telederm.cases.states import CaseStatus

    assert set(mapping.SERVICE_REQUEST_STATUS) == {state.value for state in CaseStatus}
    assert set(mapping.TASK_STATUS) == {state.value for state in CaseStatus}


@pytest.mark.parametrize(
    ("priority", "status", "expected"),
    [
        ("routine", "submitted", "routine"),
        ("soon", "submitted", "urgent"),
        ("urgent", "submitted", "asap"),
        ("routine", "escalated", "stat"),
    ],
)
def test_priorities_map_to_fhir_request_priority(priority: str, status: str, expected: str) -> None:
    assert reparsed(mapping.service_request(case(status, priority=priority))).priority == expected


def test_a_service_request_names_patient_requester_performer_reason_and_supporting_info() -> None:
    doctor = person()
    photo = uuid.uuid4()
    the_case = case(assigned_to=doctor, pathway="pk_melanoma")
    resource = reparsed(mapping.service_request(the_case, photo_uuids=[photo]))
    assert resource.intent == "order"
    assert resource.subject.reference == f"Patient/{the_case.patient.uuid}"
    assert resource.requester.reference == f"Practitioner/{the_case.created_by.uuid}"
    assert resource.performer[0].reference == f"Practitioner/{doctor.uuid}"
    assert resource.reasonCode[0].text == the_case.complaint
    assert [ref.reference for ref in resource.supportingInfo] == [
        f"QuestionnaireResponse/{the_case.uuid}",
        f"Media/{photo}",
    ]
    assert resource.extension[0].url == mapping.PATHWAY_EXTENSION
    assert resource.extension[0].valueCoding.code == "pk_melanoma"
    assert resource.meta.versionId == "4"


def test_a_case_the_patient_sent_themself_is_requested_by_the_patient() -> None:
    the_patient = patient(user_id=11)
    the_case = case(patient=the_patient)
    resource = reparsed(mapping.service_request(the_case))
    assert resource.requester.reference == f"Patient/{the_patient.uuid}"


def test_a_task_has_owner_focus_due_time_and_execution_period() -> None:
    nurse = person("duty_nurse")
    the_case = case("triaged", claimed_by=nurse)
    resource = reparsed(mapping.task(the_case))
    assert resource.owner.reference == f"Practitioner/{nurse.uuid}"
    assert resource.focus.reference == f"ServiceRequest/{the_case.uuid}"
    assert resource.for_fhir.reference == f"Patient/{the_case.patient.uuid}"
    assert resource.restriction.period.end == the_case.due_at
    assert resource.executionPeriod.start == the_case.submitted_at


def test_the_questionnaire_response_has_one_item_per_field_with_its_text() -> None:
    fields = ("complaint", "body_site", "treatments_tried", "patient_consents")
    texts = {"complaint": "What is the problem?"}
    resource = reparsed(mapping.questionnaire_response(case(), fields=fields, texts=texts))
    items = {item.linkId: item for item in resource.item}
    assert list(items) == list(fields)
    assert items["complaint"].text == "What is the problem?"
    assert items["complaint"].answer[0].valueString.startswith("A mole")
    assert items["body_site"].answer[0].valueCoding.code == "back"
    assert items["treatments_tried"].answer is None
    assert items["patient_consents"].answer[0].valueBoolean is True
    assert resource.status == "completed"


def test_a_photo_points_at_its_authorised_route_with_size_and_sha256() -> None:
    photo = Obj(
        uuid=uuid.uuid4(),
        kind="close_up",
        status="ready",
        created_at=NOW,
        processed_at=NOW,
        byte_size=12345,
        sha256="00ff" * 16,
        width=1600,
        height=1200,
    )
    url = "https://telederm.example/cases/x/photos/y/full.jpg"
    resource = reparsed(mapping.media(photo, case(), url=url, body_site="back"))
    assert resource.content.url == url
    assert resource.content.contentType == "image/jpeg"
    assert resource.content.size == 12345
    assert resource.content.extension[0].url == mapping.SHA256_EXTENSION
    assert resource.content.hash is None  # FHIR's hash is SHA-1: we have SHA-256 only
    assert (resource.width, resource.height) == (1600, 1200)
    assert resource.bodySite.text == "back"


# --- the answer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "systems"),
    [
        ("icd10", "D22.5", {"urn:oid:2.16.578.1.12.4.1.1.7110", "http://hl7.org/fhir/sid/icd-10"}),
        ("icpc2", "S82", {"urn:oid:2.16.578.1.12.4.1.1.7170"}),
    ],
)
def test_a_diagnosis_is_a_condition_coded_in_icd10_or_icpc2(
    system: str, code: str, systems: set[str]
) -> None:
    the_review = review()
    diagnosis = Obj(system=system, code=code, title="Naevus", is_primary=True)
    resource = reparsed(mapping.condition(diagnosis, the_review, case()))
    assert {coding.system for coding in resource.code.coding} == systems
    assert {coding.code for coding in resource.code.coding} == {code}
    assert resource.id == f"{the_review.uuid}-{system}-{code}"
    assert resource.recorder.reference == f"Practitioner/{the_review.author.uuid}"


def test_a_prescription_is_a_medication_request_with_its_dosage() -> None:
    prescription = Obj(
        uuid=uuid.uuid4(),
        drug="Hydrokortison",
        strength="1 %",
        dosage="Twice daily",
        duration="2 weeks",
        instructions="Thin layer",
    )
    resource = reparsed(mapping.medication_request(prescription, review(), case()))
    assert resource.medicationCodeableConcept.text == "Hydrokortison 1 %"
    assert resource.dosageInstruction[0].text == "Twice daily, 2 weeks"
    assert resource.dosageInstruction[0].patientInstruction == "Thin layer"


def test_a_message_from_the_clinic_is_a_communication_to_the_patient() -> None:
    the_case = case()
    author = person()
    message = Obj(
        uuid=uuid.uuid4(),
        kind="self_care",
        author=author,
        from_clinic=True,
        body="Use a moisturiser.",
        sent_at=NOW,
        read_at=None,
    )
    resource = reparsed(mapping.communication(message, the_case))
    assert resource.sender.reference == f"Practitioner/{author.uuid}"
    assert resource.recipient[0].reference == f"Patient/{the_case.patient.uuid}"
    assert resource.payload[0].contentString == "Use a moisturiser."
    assert resource.category[0].coding[0].code == "self_care"


def test_the_answer_summary_is_a_pdf_document_reference() -> None:
    url = "https://telederm.example/cases/x/answer.pdf"
    resource = reparsed(mapping.document_reference(case(), url=url, at=NOW, author=person()))
    attachment = resource.content[0].attachment
    assert (attachment.url, attachment.contentType) == (url, "application/pdf")
    assert resource.date == NOW


def test_an_access_log_entry_is_an_audit_event() -> None:
    reader = person()
    event = Obj(
        hash="ab" * 32,
        sequence=12,
        kind="read",
        action="case.view",
        at=NOW,
        actor_role="dermatologist",
        actor_organisation="Telederm hudklinikk",
        client_address="192.0.2.1",
        patient_uuid=uuid.uuid4(),
        case_uuid=uuid.uuid4(),
        basis="assigned",
        reason="",
    )
    resource = reparsed(
        mapping.audit_event(
            event, actor=reader, basis_text="assigned to the case", show_network=True
        )
    )
    assert resource.id == event.hash
    assert resource.action == "R"
    assert resource.agent[0].who.reference == f"Practitioner/{reader.uuid}"
    assert resource.agent[0].network.address == "192.0.2.1"  # for the privacy officer
    for_patient = mapping.audit_event(event, actor=reader, basis_text="assigned to the case")
    assert for_patient.agent[0].network is None
    assert "192.0.2.1" not in for_patient.model_dump_json()
    assert resource.entity[0].what.reference == f"Patient/{event.patient_uuid}"
    assert resource.subtype[0].code == "case.view"
    assert resource.meta.versionId == "12"
