"""Domain objects to FHIR R4 resources (fhir.resources.R4B). Pure: reads attributes, no ORM.

Each function takes the domain objects (a model instance, or anything with the same attributes:
the tests pass SimpleNamespaces) and returns an R4B model, so what we serve parses by
construction. The views decide who may see what; these functions only say how it looks.

Identifiers follow HL7 Norway no-basis (https://hl7norway.github.io/basis/, ../shared/FACTS.md
"Identifiers"): fødselsnummer `urn:oid:2.16.578.1.12.4.1.4.1`, D-nummer `…4.1.4.2`, felles
hjelpenummer `…4.1.4.3` (patients.identifiers.SYSTEMS), HPR-nummer `…4.1.4.4`, HER-id
`…4.1.2`, organisasjonsnummer `…4.1.4.101`; ICD-10 is Volven 7110 and ICPC-2 Volven 7170.
Resource ids are our public UUIDs, never database keys or national identity numbers.

What has no standard code gets one of ours under CANONICAL (docs/fhir.md lists them): the case's
exact state (Task.businessStatus), the cancer patient pathway (an extension on ServiceRequest),
the questionnaire, message kinds, and the photo's SHA-256 (FHIR's Attachment.hash is SHA-1).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.media import Media
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from telederm.patients.identifiers import SYSTEMS, IdentifierKind

# --- identifier systems and code systems -------------------------------------------------------

FNR = SYSTEMS[IdentifierKind.FODSELSNUMMER]
DNR = SYSTEMS[IdentifierKind.D_NUMMER]
FHN = SYSTEMS[IdentifierKind.FELLES_HJELPENUMMER]
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
HER_ID = "urn:oid:2.16.578.1.12.4.1.2"
ORGANISATION_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.101"
ICD10_NO = "urn:oid:2.16.578.1.12.4.1.1.7110"
ICPC2_NO = "urn:oid:2.16.578.1.12.4.1.1.7170"
ICD10_HL7 = "http://hl7.org/fhir/sid/icd-10"
URI = "urn:ietf:rfc:3986"

# Our own code systems and extensions (documented in docs/fhir.md).
CANONICAL = "https://fhir.telederm.no"
CASE_STATUS = f"{CANONICAL}/CodeSystem/case-status"
PATHWAY = f"{CANONICAL}/CodeSystem/pathway"
PATHWAY_EXTENSION = f"{CANONICAL}/StructureDefinition/cancer-pathway"
SHA256_EXTENSION = f"{CANONICAL}/StructureDefinition/attachment-sha256"
INTAKE_QUESTIONNAIRE = f"{CANONICAL}/Questionnaire/intake"
INTAKE_ANSWER = f"{CANONICAL}/CodeSystem/intake"
MESSAGE_KIND = f"{CANONICAL}/CodeSystem/message-kind"
ROLE = f"{CANONICAL}/CodeSystem/role"
ACCESS_ACTION = f"{CANONICAL}/CodeSystem/access-action"
ACCESS_BASIS = f"{CANONICAL}/CodeSystem/access-basis"
BODY_SITE = f"{CANONICAL}/CodeSystem/body-site"
ORGANISATION_KIND = f"{CANONICAL}/CodeSystem/organisation-kind"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"
AUDIT_EVENT_TYPE = "http://dicom.nema.org/resources/ontology/DCM"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"

IDENTIFIER_SYSTEMS = {"fnr": FNR, "dnr": DNR, "fhn": FHN}
DIAGNOSIS_SYSTEMS = {"icd10": ICD10_NO, "icpc2": ICPC2_NO}

# --- state mappings ------------------------------------------------------------------------------

# Our case state → ServiceRequest.status (the request for an assessment).
SERVICE_REQUEST_STATUS = {
    "draft": "draft",
    "submitted": "active",
    "triaged": "active",
    "in_review": "active",
    "escalated": "active",
    "video_scheduled": "active",
    "info_requested": "on-hold",
    "answered": "completed",
    "referred": "completed",
    "closed": "completed",
    "withdrawn": "revoked",
}

# Our case state → Task.status (the work on it); businessStatus carries the exact state.
TASK_STATUS = {
    "draft": "draft",
    "submitted": "requested",
    "triaged": "accepted",
    "in_review": "in-progress",
    "escalated": "in-progress",
    "video_scheduled": "in-progress",
    "info_requested": "on-hold",
    "answered": "completed",
    "referred": "completed",
    "closed": "completed",
    "withdrawn": "cancelled",
}

# Case.Priority → FHIR request-priority. "urgent" in Telederm means days, FHIR's `asap`; our
# "soon" is FHIR's `urgent`; an escalated case (an emergency) is `stat` whatever its priority.
PRIORITY = {"routine": "routine", "soon": "urgent", "urgent": "asap"}

MEDIA_STATUS = {"ready": "completed", "pending": "preparation", "rejected": "entered-in-error"}

# Roles of people who may appear as Practitioner (health professionals and clinic staff).
PRACTITIONER_ROLES = frozenset(
    {"submitter", "duty_nurse", "dermatologist", "coordinator", "external"}
)
# The standard practitioner-role code nearest to each of our roles.
ROLE_CODES = {
    "submitter": ("doctor", "Doctor"),
    "duty_nurse": ("nurse", "Nurse"),
    "dermatologist": ("doctor", "Doctor"),
    "coordinator": ("", ""),  # no standard code fits: ours only
    "external": ("doctor", "Doctor"),
}

# The intake questionnaire: fields whose answers are codes, and the yes/no one.
CHOICE_FIELDS = frozenset({"body_site", "onset", "change", "itch", "pain"})
BOOLEAN_FIELDS = frozenset({"patient_consents"})

PATHWAY_DISPLAY = {"pk_melanoma": "Pakkeforløp for føflekkreft (cancer patient pathway)"}

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


# --- small helpers ----------------------------------------------------------------------------


def reference(resource_type: str, uuid: object, display: str | None = None) -> dict[str, Any]:
    """A relative reference `Type/<uuid>`, with a display text when the reader may see it."""
    value: dict[str, Any] = {"reference": f"{resource_type}/{uuid}"}
    if display:
        value["display"] = display
    return value


def meta(version: str | None, updated: dt.datetime | None) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if version:
        value["versionId"] = version
    if updated is not None:
        value["lastUpdated"] = updated
    return value


def content_version(resource: Resource) -> str:
    """A version for resources with no version counter: a hash of what they say (meta left out)."""
    body = resource.model_dump_json(exclude={"meta"})
    return hashlib.sha256(body.encode()).hexdigest()[:16]


R = TypeVar("R", bound=Resource)


def build(cls: type[R], **fields: Any) -> R:
    """An R4B model from its fields (None left out), validated as fhir.resources validates."""
    return cls.model_validate({name: value for name, value in fields.items() if value is not None})


def with_meta(resource: R, version: str | None, updated: dt.datetime | None) -> R:
    """Set meta.versionId (the content hash when `version` is None) and meta.lastUpdated."""
    resource.meta = meta(version or content_version(resource), updated)  # type: ignore[assignment]
    return resource


def condition_id(review_uuid: object, system: str, code: str) -> str:
    """A diagnosis has no UUID of its own: the review's, the code system and the code."""
    return _ID_UNSAFE.sub("-", f"{review_uuid}-{system}-{code}")[:64]


def _person_ref(user: Any, patient: Any | None, *, names: bool = True) -> dict[str, Any]:
    """A person who acts: the patient (Patient) when the user is the patient, else Practitioner."""
    if patient is not None and getattr(patient, "user_id", None) == getattr(user, "pk", object()):
        return reference("Patient", patient.uuid, patient.full_name if names else None)
    return reference("Practitioner", user.uuid, user.full_name if names else None)


# --- people and organisations -------------------------------------------------------------


def patient(
    obj: Any, *, gp_office: Any | None = None, names: bool = True, version: str | None = None
) -> Patient:
    """A patient: national identifier, name, birth date, language and GP office."""
    system = IDENTIFIER_SYSTEMS.get(obj.identifier_kind)
    resource = build(
        Patient,
        id=str(obj.uuid),
        identifier=[
            {"use": "official", "system": system, "value": obj.identifier}
            if system
            else {"use": "official", "value": obj.identifier}
        ],
        active=True,
        name=[{"use": "official", "text": obj.full_name, **_name_parts(obj.full_name)}]
        if names
        else None,
        birthDate=obj.birth_date,
        communication=[
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": obj.preferred_language}]
                },
                "preferred": True,
            }
        ]
        if obj.preferred_language
        else None,
        generalPractitioner=[reference("Organization", gp_office.uuid, gp_office.name)]
        if gp_office is not None
        else None,
    )
    return with_meta(resource, version, obj.created_at)


def _name_parts(full_name: str) -> dict[str, Any]:
    parts = full_name.split()
    if len(parts) < 2:
        return {}
    return {"family": parts[-1], "given": parts[:-1]}


def practitioner(user: Any) -> Practitioner:
    """A health professional or clinic staff member, by HPR number when they have one."""
    resource = build(
        Practitioner,
        id=str(user.uuid),
        identifier=[{"system": HPR, "value": user.hpr_number}] if user.hpr_number else None,
        active=bool(user.is_active),
        name=[{"text": user.full_name, **_name_parts(user.full_name)}] if user.full_name else None,
    )
    return with_meta(resource, None, getattr(user, "date_joined", None))


def practitioner_role(user: Any) -> PractitionerRole:
    """What a person does here (our role, and the nearest standard code) and for whom."""
    standard, display = ROLE_CODES.get(user.role, ("", ""))
    codings = [{"system": ROLE, "code": user.role}]
    if standard:
        codings.append({"system": PRACTITIONER_ROLE, "code": standard, "display": display})
    organisation = getattr(user, "organisation", None)
    resource = build(
        PractitionerRole,
        id=str(user.uuid),
        active=bool(user.is_active),
        practitioner=reference("Practitioner", user.uuid, user.full_name),
        organization=reference("Organization", organisation.uuid, organisation.name)
        if organisation is not None
        else None,
        code=[{"coding": codings, "text": user.title or None}],
    )
    return with_meta(resource, None, getattr(user, "date_joined", None))


def organization(org: Any) -> Organization:
    """A GP office, the clinic or another organisation, by HER-id and organisation number."""
    identifiers = []
    if org.her_id:
        identifiers.append({"system": HER_ID, "value": str(org.her_id)})
    if org.organisation_number:
        identifiers.append({"system": ORGANISATION_NUMBER, "value": org.organisation_number})
    resource = build(
        Organization,
        id=str(org.uuid),
        identifier=identifiers or None,
        active=True,
        type=[{"coding": [{"system": ORGANISATION_KIND, "code": org.kind}]}],
        name=org.name,
        address=[{"city": org.municipality}] if org.municipality else None,
    )
    return with_meta(resource, None, None)


# --- the case -----------------------------------------------------------------------------------


def _pathway_extension(pathway: str) -> list[dict[str, Any]] | None:
    if not pathway:
        return None
    return [
        {
            "url": PATHWAY_EXTENSION,
            "valueCoding": {
                "system": PATHWAY,
                "code": pathway,
                "display": PATHWAY_DISPLAY.get(pathway, pathway),
            },
        }
    ]


def _priority(case: Any) -> str:
    if case.status == "escalated":
        return "stat"
    return PRIORITY.get(case.priority, "routine")


def service_request(
    case: Any, *, photo_uuids: Sequence[object] = (), names: bool = True
) -> ServiceRequest:
    """A case: the request for a dermatologist's assessment of one skin problem."""
    body_site = [
        {
            "coding": [{"system": BODY_SITE, "code": case.body_site}],
            "text": case.body_site_detail or None,
        }
    ]
    resource = build(
        ServiceRequest,
        id=str(case.uuid),
        identifier=[{"system": URI, "value": f"urn:uuid:{case.uuid}"}],
        status=SERVICE_REQUEST_STATUS.get(case.status, "unknown"),
        intent="proposal" if case.status == "draft" else "order",
        category=[
            {
                "coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
                "text": "Teledermatology",
            }
        ],
        priority=_priority(case),
        code={"text": "Teledermatology assessment (store and forward)"},
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        authoredOn=case.submitted_at or case.created_at,
        occurrencePeriod={"end": case.due_at} if case.due_at else None,
        requester=_person_ref(case.created_by, case.patient, names=names),
        performer=[reference("Practitioner", case.assigned_to.uuid, case.assigned_to.full_name)]
        if case.assigned_to is not None
        else None,
        reasonCode=[{"text": case.complaint}] if case.complaint else None,
        bodySite=body_site if case.body_site else None,
        supportingInfo=[reference("QuestionnaireResponse", case.uuid)]
        + [reference("Media", uuid) for uuid in photo_uuids],
        extension=_pathway_extension(case.pathway),
    )
    return with_meta(resource, str(case.version), case.updated_at)


def referral_request(
    referral: Any, review: Any, case: Any, *, names: bool = True
) -> ServiceRequest:
    """An in-person referral decided in a signed review, based on the case's request."""
    performer: dict[str, Any] = {"display": referral.receiver}
    if referral.receiver_her_id:
        performer["identifier"] = {"system": HER_ID, "value": str(referral.receiver_her_id)}
    resource = build(
        ServiceRequest,
        id=str(referral.uuid),
        identifier=[{"system": URI, "value": f"urn:uuid:{referral.uuid}"}],
        basedOn=[reference("ServiceRequest", case.uuid)],
        status="active" if review.signed_at else "draft",
        intent="order",
        category=[
            {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}
        ],
        priority=PRIORITY.get(referral.priority, "routine"),
        code={"text": "In-person dermatology appointment"},
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        authoredOn=review.signed_at,
        requester=reference("Practitioner", review.author.uuid, review.author.full_name),
        performer=[performer],
        reasonCode=[{"text": referral.reason}] if referral.reason else None,
        extension=_pathway_extension(referral.pathway),
    )
    return with_meta(resource, None, review.updated_at)


def task(case: Any, *, names: bool = True) -> Task:
    """The work on a case: FHIR's status, and our exact state as businessStatus."""
    owner = case.assigned_to or case.claimed_by
    resource = build(
        Task,
        id=str(case.uuid),
        status=TASK_STATUS.get(case.status, "requested"),
        businessStatus={
            "coding": [{"system": CASE_STATUS, "code": case.status}],
            "text": case.status,
        },
        intent="order",
        priority=_priority(case),
        focus=reference("ServiceRequest", case.uuid),
        for_fhir=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        authoredOn=case.created_at,
        lastModified=case.updated_at,
        requester=_person_ref(case.created_by, case.patient, names=names),
        owner=reference("Practitioner", owner.uuid, owner.full_name) if owner else None,
        executionPeriod={"start": case.submitted_at, "end": case.answered_at}
        if case.submitted_at
        else None,
        restriction={"period": {"end": case.due_at}} if case.due_at else None,
    )
    return with_meta(resource, str(case.version), case.updated_at)


def questionnaire_response(
    case: Any, *, fields: Sequence[str], texts: Mapping[str, str], names: bool = True
) -> QuestionnaireResponse:
    """The intake questionnaire's answers: one item per field, linkId = our field name."""
    items = []
    for field in fields:
        value = getattr(case, field)
        item: dict[str, Any] = {"linkId": field, "text": texts.get(field, field)}
        if field in BOOLEAN_FIELDS:
            item["answer"] = [{"valueBoolean": bool(value)}]
        elif value in ("", None):
            pass
        elif field in CHOICE_FIELDS:
            item["answer"] = [
                {"valueCoding": {"system": f"{INTAKE_ANSWER}/{field}", "code": str(value)}}
            ]
        else:
            item["answer"] = [{"valueString": str(value)}]
        items.append(item)
    resource = build(
        QuestionnaireResponse,
        id=str(case.uuid),
        questionnaire=INTAKE_QUESTIONNAIRE,
        basedOn=[reference("ServiceRequest", case.uuid)],
        status="in-progress" if case.status == "draft" else "completed",
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        authored=case.submitted_at or case.created_at,
        author=_person_ref(case.created_by, case.patient, names=names),
        item=items,
    )
    return with_meta(resource, str(case.version), case.updated_at)


def media(photo: Any, case: Any, *, url: str, body_site: str = "", names: bool = True) -> Media:
    """A photo: its authorised route (the photo view checks the policy again), size and hash."""
    content: dict[str, Any] = {
        "contentType": "image/jpeg",
        "url": url,
        "title": f"{photo.kind} photo",
        "creation": photo.created_at,
    }
    if photo.byte_size:
        content["size"] = photo.byte_size
    if photo.sha256:
        content["extension"] = [
            {
                "url": SHA256_EXTENSION,
                "valueBase64Binary": base64.b64encode(bytes.fromhex(photo.sha256)).decode(),
            }
        ]
    resource = build(
        Media,
        id=str(photo.uuid),
        identifier=[{"system": URI, "value": f"urn:uuid:{photo.uuid}"}],
        basedOn=[reference("ServiceRequest", case.uuid)],
        status=MEDIA_STATUS.get(photo.status, "unknown"),
        type={"coding": [{"system": MEDIA_TYPE, "code": "image", "display": "Image"}]},
        modality={"text": photo.kind},
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        createdDateTime=photo.created_at,
        issued=photo.processed_at,
        bodySite={"text": body_site} if body_site else None,
        height=photo.height or None,
        width=photo.width or None,
        content=content,
    )
    return with_meta(resource, None, photo.processed_at or photo.created_at)


# --- the answer ----------------------------------------------------------------------------------


def condition(diagnosis: Any, review: Any, case: Any, *, names: bool = True) -> Condition:
    """A coded diagnosis of a signed review (ICD-10 or ICPC-2; ICD-10 also under HL7's system)."""
    codings = [
        {
            "system": DIAGNOSIS_SYSTEMS.get(diagnosis.system, diagnosis.system),
            "code": diagnosis.code,
            "display": diagnosis.title,
        }
    ]
    if diagnosis.system == "icd10":
        codings.append({"system": ICD10_HL7, "code": diagnosis.code, "display": diagnosis.title})
    resource = build(
        Condition,
        id=condition_id(review.uuid, diagnosis.system, diagnosis.code),
        category=[
            {
                "coding": [
                    {
                        "system": CONDITION_CATEGORY,
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        # Judged from photos and the patient's answers, not in person.
        verificationStatus={"coding": [{"system": VERIFICATION, "code": "provisional"}]},
        code={"coding": codings, "text": diagnosis.title},
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        recordedDate=review.signed_at,
        recorder=reference("Practitioner", review.author.uuid, review.author.full_name),
        note=[{"text": "Primary diagnosis"}] if diagnosis.is_primary else None,
    )
    return with_meta(resource, None, review.updated_at)


def medication_request(
    prescription: Any, review: Any, case: Any, *, names: bool = True
) -> MedicationRequest:
    """A prescription written in a signed review (e-resept transport is a later issue)."""
    dosage = ", ".join(part for part in (prescription.dosage, prescription.duration) if part)
    resource = build(
        MedicationRequest,
        id=str(prescription.uuid),
        status="active",
        intent="order",
        medicationCodeableConcept={
            "text": " ".join(p for p in (prescription.drug, prescription.strength) if p)
        },
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        authoredOn=review.signed_at,
        requester=reference("Practitioner", review.author.uuid, review.author.full_name),
        basedOn=[reference("ServiceRequest", case.uuid)],
        dosageInstruction=[
            {"text": dosage, "patientInstruction": prescription.instructions or None}
        ],
    )
    return with_meta(resource, None, review.updated_at)


def communication(message: Any, case: Any, *, names: bool = True) -> Communication:
    """A secure message on a case (self-care advice is one kind of it)."""
    sender = _person_ref(message.author, case.patient, names=names)
    patient_ref = reference("Patient", case.patient.uuid, case.patient.full_name if names else None)
    resource = build(
        Communication,
        id=str(message.uuid),
        basedOn=[reference("ServiceRequest", case.uuid)],
        status="completed",
        category=[{"coding": [{"system": MESSAGE_KIND, "code": message.kind}]}],
        subject=patient_ref,
        sent=message.sent_at,
        received=message.read_at,
        sender=sender,
        recipient=[patient_ref] if message.from_clinic else None,
        payload=[{"contentString": message.body}],
    )
    return with_meta(resource, None, message.read_at or message.sent_at)


def document_reference(
    case: Any,
    *,
    url: str,
    at: dt.datetime,
    author: Any | None = None,
    names: bool = True,
) -> DocumentReference:
    """The patient's summary of the answer as a PDF, served by its authorised route."""
    resource = build(
        DocumentReference,
        id=str(case.uuid),
        status="current",
        type={
            "coding": [{"system": LOINC, "code": "11488-4", "display": "Consult note"}],
            "text": "Answer summary for the patient",
        },
        subject=reference("Patient", case.patient.uuid, case.patient.full_name if names else None),
        date=at,
        author=[reference("Practitioner", author.uuid, author.full_name)] if author else None,
        content=[
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": url,
                    "title": "Answer summary",
                    "creation": at,
                }
            }
        ],
        context={"related": [reference("ServiceRequest", case.uuid)]},
    )
    return with_meta(resource, None, at)


# --- the access log -------------------------------------------------------------------------


def audit_event(
    event: Any, *, actor: Any | None = None, basis_text: str = "", show_network: bool = False
) -> AuditEvent:
    """One access-log entry: who, in which role and organisation, did what, when, on whose data.

    The reader's client IP address (`agent.network`) is shown only with `show_network`, which the
    caller gives for the privacy officer alone: a patient reading who read their record learns
    who and why, not where from. (`source` names Telederm only; it holds no address.)
    """
    is_read = event.kind == "read"
    who: dict[str, Any] = {"display": actor.full_name if actor else event.actor_role or "system"}
    if actor is not None and actor.role in PRACTITIONER_ROLES:
        who = reference("Practitioner", actor.uuid, actor.full_name)
    agent: dict[str, Any] = {
        "who": who,
        "requestor": True,
        "type": {"coding": [{"system": ROLE, "code": event.actor_role}]}
        if event.actor_role
        else None,
        "name": event.actor_organisation or None,
    }
    if show_network and event.client_address:
        agent["network"] = {"address": event.client_address, "type": "2"}
    entities = []
    if event.patient_uuid:
        entities.append({"what": reference("Patient", event.patient_uuid)})
    if event.case_uuid:
        entities.append({"what": reference("ServiceRequest", event.case_uuid)})
    resource = build(
        AuditEvent,
        id=event.hash,
        type={
            "system": AUDIT_EVENT_TYPE,
            "code": "110110",
            "display": "Patient Record",
        },
        subtype=[{"system": ACCESS_ACTION, "code": event.action}],
        action="R" if is_read else "U",
        recorded=event.at,
        outcome="0",
        purposeOfEvent=[
            {
                "coding": [{"system": ACCESS_BASIS, "code": event.basis}],
                "text": basis_text or None,
            }
        ]
        if event.basis
        else None,
        agent=[{key: value for key, value in agent.items() if value is not None}],
        source={"observer": {"display": "Telederm"}},
        entity=entities or None,
    )
    if event.reason:
        resource.agent[0].purposeOfUse = [{"text": event.reason}]  # type: ignore[list-item]
    return with_meta(resource, str(event.sequence), event.at)
