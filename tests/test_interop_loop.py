"""The loop the interop issue closes, end to end through the real parts: a GP's Henvisning dropped
into the communication server's in-folder becomes a case; the dermatologist's answer leaves as a
schema-valid Dialogmelding with the photos; the GP's AppRec settles it; fhirpy reads the whole
case back from the running server.

Nothing is stubbed: the file-drop transport, the worker, the photo pipeline, the review services,
the outbox, the schemas and the FHIR API over HTTP are the ones in production.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient

from conftest import jpeg_bytes, synthetic_number
from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.interop import addresses
from telederm.interop.kith import apprec, dialogmelding, henvisning, msghead, schemas
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.photos.models import Photo
from telederm.review import services as review_services

pytestmark = pytest.mark.django_db(transaction=True)

CLINIC_HER_ID = 8100001
OFFICE_HER_ID = 8100002
GP_HER_ID = 8100021
GP = kith.Person(family_name="Lie", given_name="Ingrid", hpr_number="9144889", her_id=GP_HER_ID)
OFFICE = kith.Party(
    organisation=kith.Organisation(name="Nordkapp legesenter", her_id=OFFICE_HER_ID), person=GP
)
CLINIC = kith.Party(
    organisation=kith.Organisation(name="Telederm hudklinikk", her_id=CLINIC_HER_ID)
)


@pytest.fixture
def folders(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    """The communication server's folders, and the register with the GP office and us."""
    settings.TELEDERM_HER_ID = CLINIC_HER_ID
    settings.TELEDERM_MESSAGE_TRANSPORT = "file"
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    settings.TELEDERM_MESSAGE_FILE_IN = inbox
    settings.TELEDERM_MESSAGE_FILE_OUT = outbox
    register = tmp_path / "register.csv"
    register.write_text(
        "her_id,name,kind,parent_her_id,organisation_number,hpr_number,municipality,accepts\n"
        f"{CLINIC_HER_ID},Telederm hudklinikk,organisation,,999100015,,Tromsø,"
        "HENVISNING_NYTILSTAND\n"
        f"{OFFICE_HER_ID},Nordkapp legesenter,organisation,,999100023,,Nordkapp,"
        "DIALOG_HELSEFAGLIG\n"
        f"{GP_HER_ID},Ingrid Lie,person,{OFFICE_HER_ID},,9144889,Nordkapp,DIALOG_HELSEFAGLIG\n",
        encoding="utf-8",
    )
    addresses.import_file(register)
    return inbox, outbox


def drop(folder: Path, name: str, data: bytes) -> None:
    """As a communication server writes: a temporary name, then an atomic rename."""
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    os.replace(partial, folder / name)


def run_worker() -> None:
    call_command("worker", batch=True, interval=0.01)


def gp_referral(patient_number: str) -> tuple[str, bytes]:
    head = kith.Head(
        msg_id=str(uuid.uuid4()),
        msg_type=henvisning.MSG_TYPE,
        generated_at=dt.datetime.now(tz=msghead.OSLO).replace(microsecond=0),
        sender=OFFICE,
        receiver=CLINIC,
        patient=kith.Patient(
            family_name="Nordmann",
            given_name="Kari",
            identifier=patient_number,
            birth_date=dt.date(1961, 4, 12),
            sex="2",
        ),
    )
    referral = kith.Referral(
        reason="Pigmentert lesjon på venstre skulder som har vokst siste 3 måneder.",
        clinical_information="Asymmetrisk, 9 mm, ujevn farge. Ingen tidligere hudkreft.",
        referrer=GP,
        priority="urgent",
        cancer_pathway=True,
        document_id=str(uuid.uuid4()),
    )
    photos = (
        kith.Attachment("skulder-oversikt.jpg", "image/jpeg", jpeg_bytes((1600, 1200))),
        kith.Attachment("skulder-naer.jpg", "image/jpeg", jpeg_bytes((1600, 1200), (90, 60, 50))),
    )
    return head.msg_id, henvisning.build(head, referral, photos)


def only(folder: Path) -> bytes:
    files = sorted(folder.glob("*.xml"))
    assert len(files) == 1, files
    data = files[0].read_bytes()
    files[0].unlink()  # The communication server takes it away.
    return data


def parses(resource: dict[str, Any]) -> Any:
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_a_gps_henvisning_becomes_a_case_is_answered_by_dialogmelding_and_read_back_with_fhirpy(
    folders: tuple[Path, Path], dermatologist: User, live_server: Any
) -> None:
    inbox, outbox = folders
    number = synthetic_number(1961, 4, 12)

    # 1. The GP's Henvisning arrives: the worker fetches it, makes the case and answers AppRec OK.
    msg_id, referral_xml = gp_referral(number)
    drop(inbox, f"{msg_id}.xml", referral_xml)
    run_worker()
    incoming = IncomingMessage.objects.get(msg_id=msg_id)
    assert incoming.status == IncomingMessage.Status.ACCEPTED, incoming.errors
    case = incoming.case
    assert case is not None
    assert case.status == CaseStatus.SUBMITTED
    assert (case.priority, case.pathway) == ("urgent", "pk_melanoma")
    assert case.patient.identifier == number
    office = case.created_by.organisation
    assert office is not None and office.her_id == OFFICE_HER_ID
    assert case.assessment_deadline is not None  # The legal 10 working days run.
    photos = list(case.photos.order_by("created_at"))
    assert [photo.status for photo in photos] == [Photo.Status.READY] * 2

    receipt = apprec.parse(only(outbox))
    assert receipt.status == kith.AppRecStatus.OK
    assert receipt.original_msg_id == msg_id
    assert receipt.receiver.her_id == OFFICE_HER_ID

    # 2. The dermatologist takes it and signs an answer with a coded diagnosis.
    case = review_services.take_for_review(
        by=dermatologist, case=case, expected_version=case.version
    )
    review_services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        assessment="Klinisk og dermatoskopisk forenlig med seboreisk keratose. Ikke malignt.",
        diagnosis="Harmless age spot (seborrhoeic keratosis)",
        advice="This is a harmless spot. It needs no treatment.",
        advice_gp="Ingen videre tiltak. Ny vurdering ved endring.",
        outcome="advice",
        diagnoses=[review_services.DiagnosisChoice("icd10", "L82", is_primary=True)],
    )

    # 3. The answer leaves as a schema-valid Dialogmelding to the referring GP, with the photos,
    # in the conversation the Henvisning started.
    run_worker()
    sent = OutgoingMessage.objects.get(case=case, kind=OutgoingMessage.Kind.DIALOGMELDING)
    assert sent.status == OutgoingMessage.Status.SENT
    answer_xml = only(outbox)
    schemas.validate(answer_xml)
    envelope = msghead.read(answer_xml)
    assert envelope.head.msg_id == str(sent.msg_id)
    assert envelope.head.receiver.her_id == OFFICE_HER_ID
    assert envelope.head.conversation_ref == msg_id
    assert envelope.head.patient is not None and envelope.head.patient.identifier == number
    dialog = dialogmelding.parse(envelope)
    assert "seboreisk keratose" in dialog.text
    assert "L82" in dialog.text
    assert [a.mime_type for a in envelope.attachments] == ["image/jpeg", "image/jpeg"]
    assert all(a.data.startswith(b"\xff\xd8") for a in envelope.attachments)

    # 4. The GP's system answers with an AppRec: the loop is closed.
    gp_receipt = apprec.for_message(
        envelope,
        status=kith.AppRecStatus.OK,
        msg_id=str(uuid.uuid4()),
        at=dt.datetime.now(tz=msghead.OSLO).replace(microsecond=0),
    )
    drop(inbox, "apprec.xml", apprec.build(gp_receipt))
    run_worker()
    sent.refresh_from_db()
    assert sent.status == OutgoingMessage.Status.ACKNOWLEDGED
    assert sent.apprec_status == "1"
    assert not list(outbox.glob("*.xml"))  # An AppRec is never answered.

    # 5. fhirpy reads the whole case back from the running server.
    _, token = issue_token(user=dermatologist, scopes=["user/*.read"])
    fhir = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    request = fhir.reference("ServiceRequest", str(case.uuid)).to_resource()
    parses(request.serialize())
    assert request["priority"] in {"urgent", "asap"}
    patient = fhir.reference("Patient", request["subject"]["reference"].split("/")[1]).to_resource()
    parses(patient.serialize())
    assert any(i["value"] == number for i in patient["identifier"])
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{case.uuid}").first()
    assert task is not None
    parses(task.serialize())
    assert task["status"] == "completed"
    answers = (
        fhir.resources("QuestionnaireResponse").search(subject=f"Patient/{patient['id']}").fetch()
    )
    assert answers
    media = fhir.resources("Media").search(subject=f"Patient/{patient['id']}").fetch_all()
    assert len(media) == 2
    for item in media:
        parses(item.serialize())
        url = item["content"]["url"]
        # Not public: without a session or token the photo route sends to sign-in; with the
        # token the API gave, the image comes (the route checks the same policy).
        anonymous = requests.get(url, timeout=10, allow_redirects=False)
        assert anonymous.status_code == 302 and "/account/login/" in anonymous.headers["Location"]
        image = requests.get(url, timeout=10, headers={"Authorization": f"Bearer {token}"})
        assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")
    conditions = fhir.resources("Condition").search(subject=f"Patient/{patient['id']}").fetch()
    codes = {c["code"] for cond in conditions for c in cond["code"]["coding"]}
    assert "L82" in codes
    advice = fhir.resources("Communication").search(subject=f"Patient/{patient['id']}").fetch()
    assert advice
    documents = (
        fhir.resources("DocumentReference").search(subject=f"Patient/{patient['id']}").fetch()
    )
    assert (
        documents and documents[0]["content"][0]["attachment"]["contentType"] == "application/pdf"
    )


def test_a_self_referred_patients_answer_goes_to_the_gp_office_in_their_record(
    folders: tuple[Path, Path], make_case: Any, patient_user: User, dermatologist: User
) -> None:
    _, outbox = folders
    from telederm.accounts.models import Organisation

    office = Organisation.objects.create(
        name="Nordkapp legesenter", kind=Organisation.Kind.GP_OFFICE, her_id=OFFICE_HER_ID
    )
    patient = patient_user.patient
    patient.gp_office = office
    patient.save()
    case = make_case(by=patient_user, submit=True)
    assert addresses.answer_receiver(case) == AddressEntry.objects.get(her_id=OFFICE_HER_ID)
    case = review_services.take_for_review(
        by=dermatologist, case=case, expected_version=case.version
    )
    review_services.answer_case(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        assessment="Eksem.",
        diagnosis="Eczema",
        advice="Use a moisturiser.",
    )
    run_worker()
    envelope = msghead.read(only(outbox))
    assert envelope.head.receiver.her_id == OFFICE_HER_ID
    assert envelope.head.conversation_ref in {"", envelope.head.msg_id}
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ANSWERED
