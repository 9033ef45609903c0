"""Helpers for the FHIR write tests: a referral transaction Bundle as an integrator sends it."""

from __future__ import annotations

import base64
import copy
from typing import Any

from conftest import jpeg_bytes, synthetic_number
from telederm.accounts.models import User
from telederm.api.tokens import issue_token

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
PATIENT_NUMBER = synthetic_number(1969, 11, 13)
SR_URL = "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-000000000001"
PATIENT_URL = "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-000000000002"
QR_URL = "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-000000000003"
MEDIA_URL = "urn:uuid:0b7e7f3e-1a2b-4c3d-8e9f-00000000001{}"
WRITE_SCOPES = ("user/*.read", "user/*.write")
PATHWAY_EXTENSION = "https://fhir.telederm.no/StructureDefinition/cancer-pathway"
PATHWAY_SYSTEM = "https://fhir.telederm.no/CodeSystem/pathway"


def token_for(user: User, scopes: tuple[str, ...] = WRITE_SCOPES) -> str:
    return issue_token(user=user, scopes=scopes)[1]


def referral_bundle(
    *,
    identifier: str | None = "bundle-1",
    sr_identifier: str | None = "henvisning-1",
    number: str = PATIENT_NUMBER,
    photos: int = 1,
    priority: str = "urgent",
    pathway: bool = True,
    answers: list[dict[str, Any]] | None = None,
    photo_size: tuple[int, int] = (1600, 1200),
) -> dict[str, Any]:
    """A valid referral: ServiceRequest, Patient, QuestionnaireResponse and `photos` Media."""
    media_urls = [MEDIA_URL.format(index) for index in range(photos)]
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": priority,
        "subject": {"reference": PATIENT_URL},
        "reasonCode": [{"text": "Pigmentert lesjon på ryggen, vokser."}],
        "note": [{"text": "Debut for 3 måneder siden."}],
        "supportingInfo": [{"reference": QR_URL}] + [{"reference": url} for url in media_urls],
    }
    if sr_identifier:
        service_request["identifier"] = [
            {"system": "urn:oid:2.16.578.1.12.4.1.2.91096", "value": sr_identifier}
        ]
    if pathway:
        service_request["extension"] = [
            {
                "url": PATHWAY_EXTENSION,
                "valueCoding": {"system": PATHWAY_SYSTEM, "code": "pk_melanoma"},
            }
        ]
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR, "value": number}],
        "name": [{"use": "official", "family": "Danser", "given": ["Line"]}],
        "gender": "female",
    }
    questionnaire = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": PATIENT_URL},
        "basedOn": [{"reference": SR_URL}],
        "item": answers
        if answers is not None
        else [
            {"linkId": "body_site", "answer": [{"valueCoding": {"code": "back"}}]},
            {"linkId": "onset", "answer": [{"valueCoding": {"code": "months"}}]},
            {"linkId": "itch", "answer": [{"valueCoding": {"code": "none"}}]},
            {"linkId": "treatments_tried", "answer": [{"valueString": "Ingen."}]},
            {"linkId": "patient_consents", "answer": [{"valueBoolean": True}]},
        ],
    }
    entries = [
        _entry(SR_URL, service_request),
        _entry(PATIENT_URL, patient),
        _entry(QR_URL, questionnaire),
    ]
    for index, url in enumerate(media_urls):
        data = jpeg_bytes(size=photo_size, colour=(200 - 60 * index, 150, 120 + 40 * index))
        entries.append(
            _entry(
                url,
                {
                    "resourceType": "Media",
                    "status": "completed",
                    "subject": {"reference": PATIENT_URL},
                    "bodySite": {"text": "Rygg"},
                    "content": {
                        "contentType": "image/jpeg",
                        "data": base64.b64encode(data).decode(),
                        "title": f"rygg-{index}.jpg",
                    },
                },
            )
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    if identifier:
        bundle["identifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:x-test:{identifier}"}
    return bundle


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def resource_of(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The first resource of a type in a bundle (to change it in a test)."""
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == resource_type:
            resource: dict[str, Any] = entry["resource"]
            return resource
    raise KeyError(resource_type)


def changed(bundle: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(bundle)
