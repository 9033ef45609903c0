"""Messages composed from cases: schema-valid, in bokmål, with what the receiver needs.

Every message is read back with the kith parsers (which validate it against the schemas again).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import translation

from telederm.accounts.models import Organisation, User
from telederm.cases.models import Case
from telederm.interop import addresses, compose
from telederm.interop.kith import dialogmelding, henvisning, msghead
from telederm.interop.kith import model as kith
from telederm.interop.models import IncomingMessage
from telederm.photos.models import Photo
from telederm.review import services
from telederm.review.models import Review

pytestmark = pytest.mark.django_db

EXAMPLE = Path(addresses.__file__).resolve().parent / "addresses-example.csv"
DEPARTMENT = 8100071  # "Hudavdelingen, Testsykehuset Nord" in the example register

ANSWER: dict[str, Any] = {
    "assessment": "Symmetrisk, skarpt avgrenset plakk med sølvhvitt skjell.",
    "diagnosis": "Psoriasis",
    "advice": "Smør inn kremen hver kveld i to uker.",
    "safety_net": "Kontakt fastlegen om det sprer seg eller blør.",
    "advice_gp": "Kontroll hos fastlege om fire uker.",
}


def register(gp_office: Organisation, patient_user: User) -> None:
    """The example register, and the patient listed with the GP office it has."""
    addresses.import_file(EXAMPLE)
    patient = patient_user.patient
    patient.gp_office = gp_office
    patient.save()


def sign(
    case: Case,
    dermatologist: User,
    *,
    outcome: str = Review.Outcome.ADVICE,
    referral: services.ReferralDetails | None = None,
    **fields: Any,
) -> Review:
    """Take the case and sign a full answer (two codes, a prescription)."""
    if not dermatologist.hpr_number:
        dermatologist.hpr_number = "9100065"
        dermatologist.save(update_fields=["hpr_number"])
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    return services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        diagnoses=[
            services.DiagnosisChoice("icd10", "L40.0", is_primary=True),
            services.DiagnosisChoice("icpc2", "S91"),
        ],
        prescriptions=[
            services.PrescriptionLine(
                drug="Mometason krem", strength="0,1 %", dosage="1 gang daglig", duration="2 uker"
            )
        ],
        referral=referral,
        outcome=outcome,
        **(ANSWER | fields),
    )


def referral_to_department(pathway: str = "") -> services.ReferralDetails:
    return services.ReferralDetails(
        priority="soon",
        receiver=f"Hudavdelingen, Testsykehuset Nord (fiktivt) (HER-id {DEPARTMENT})",
        reason="Mistanke om malignt melanom, ønsker eksisjon.",
        pathway=pathway,
    )


@pytest.fixture
def listed(gp_office: Organisation, patient_user: User) -> None:
    register(gp_office, patient_user)


def test_us_is_the_clinic_from_settings_with_the_dermatologist(dermatologist: User) -> None:
    dermatologist.full_name = "Erik Martin Strand"
    dermatologist.hpr_number = "9100100"

    party = compose.us(dermatologist)

    assert party.organisation == kith.Organisation("Telederm hudklinikk", 8100001, "999100015")
    assert party.person is not None
    assert (party.person.family_name, party.person.given_name) == ("Strand", "Erik Martin")
    assert party.person.hpr_number == "9100100"
    assert compose.us().person is None


@pytest.mark.usefixtures("listed")
def test_the_answer_goes_to_the_gp_as_a_valid_dialogmelding_with_everything(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    review = sign(case, dermatologist)

    with translation.override("en"):  # the dermatologist's language does not matter
        msg_id, payload = compose.dialogmelding_for(review)

    envelope = msghead.read(payload)
    head = envelope.head
    assert head.msg_id == msg_id
    assert head.msg_type == "DIALOG_HELSEFAGLIG"
    assert head.sender.organisation.her_id == 8100001
    assert head.receiver.her_id == 8100002
    assert head.patient is not None
    assert head.patient.identifier == case.patient.identifier
    dialog = dialogmelding.parse(envelope)
    assert dialog.subject == "Svar fra teledermatologi"
    for expected in [
        "Vurdering:\n" + ANSWER["assessment"],
        "ICD-10 L40.0",
        "ICPC-2 S91",
        "Råd til fastlege:\nKontroll hos fastlege om fire uker.",
        "Sannsynlig diagnose: Psoriasis",
        ANSWER["advice"],
        "Pasienten er bedt om å søke hjelp igjen:\n" + ANSWER["safety_net"],
        "- Mometason krem 0,1 %, 1 gang daglig, 2 uker",
        "Utfall:\nBesvart med råd",
        "Signert av Erik Strand, hudlege",
    ]:
        assert expected in dialog.text
    assert dialog.responsible is not None and dialog.responsible.family_name == "Strand"
    assert dialog.document_id == str(review.uuid)


@pytest.mark.usefixtures("listed")
def test_the_dialogmelding_carries_the_finished_photos_full_size(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True, photos=2)  # the second is refused as a duplicate
    review = sign(case, dermatologist)
    photos = list(case.photos.filter(status=Photo.Status.READY))
    assert len(photos) == 1
    # One still being processed (a retake sent with a message) is not sent half done.
    Photo.objects.create(case=case, uploaded_by=case.created_by, status=Photo.Status.PENDING)

    _msg_id, payload = compose.dialogmelding_for(review)

    attachments = msghead.read(payload).attachments
    assert [a.mime_type for a in attachments] == ["image/jpeg"]
    assert attachments[0].filename.endswith(".jpg")
    for attachment, photo in zip(attachments, photos, strict=True):
        with default_storage.open(photo.full_name, "rb") as stored:
            assert attachment.data == stored.read()


@pytest.mark.usefixtures("listed")
def test_a_case_from_the_gp_names_the_gp_as_the_receiving_person(
    make_case: Callable[..., Case], gp: User, patient_user: User, dermatologist: User
) -> None:
    case = make_case(by=gp, patient=patient_user.patient, submit=True)
    review = sign(case, dermatologist)

    _msg_id, payload = compose.dialogmelding_for(review)

    receiver = msghead.read(payload).head.receiver
    assert receiver.her_id == 8100002
    assert receiver.person is not None
    assert (receiver.person.family_name, receiver.person.hpr_number) == ("Lie", "9100021")


def test_no_gp_in_the_register_is_no_receiver(
    make_case: Callable[..., Case], dermatologist: User, gp_office: Organisation
) -> None:
    case = make_case(submit=True)  # the patient has no GP office on record
    review = sign(case, dermatologist)

    with pytest.raises(compose.NoReceiver):
        compose.dialogmelding_for(review)


@pytest.mark.usefixtures("listed")
def test_a_referral_goes_as_a_valid_henvisning_with_pk_for_the_cancer_pathway(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True, photos=1, treatments_tried="Fuktighetskrem")
    review = sign(
        case,
        dermatologist,
        outcome=Review.Outcome.REFERRAL,
        referral=referral_to_department(Case.Pathway.PK_MELANOMA),
    )
    review.referral.receiver_her_id = DEPARTMENT
    review.referral.save()

    msg_id, payload = compose.henvisning_for(review)

    envelope = msghead.read(payload)
    assert envelope.head.msg_id == msg_id
    assert envelope.head.receiver.her_id == DEPARTMENT
    assert envelope.head.receiver.organisation.her_id == 8100007
    referral = henvisning.parse(envelope)
    assert referral.cancer_pathway is True
    assert referral.reason.startswith("Mistanke om malignt melanom")
    assert "A mole on my back has grown darker." in referral.clinical_information
    assert "Forsøkt behandling: Fuktighetskrem" in referral.clinical_information
    assert ANSWER["assessment"] in referral.clinical_information
    assert {code.code for code in referral.diagnoses} >= {"L40.0"}
    assert referral.referrer.family_name == "Strand"
    assert len(envelope.attachments) == 1


@pytest.mark.usefixtures("listed")
def test_a_routine_referral_is_not_on_the_cancer_pathway(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    review = sign(
        case, dermatologist, outcome=Review.Outcome.REFERRAL, referral=referral_to_department()
    )
    review.referral.receiver_her_id = DEPARTMENT
    review.referral.save()

    _msg_id, payload = compose.henvisning_for(review)

    referral = henvisning.parse(msghead.read(payload))
    assert referral.cancer_pathway is False
    assert referral.priority in {"urgent", "soon"}  # "soon" goes as 3 Haster (kodeverk 8306)


@pytest.mark.usefixtures("listed")
def test_a_referral_to_a_her_id_outside_the_register_has_no_receiver(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    review = sign(
        case, dermatologist, outcome=Review.Outcome.REFERRAL, referral=referral_to_department()
    )
    review.referral.receiver_her_id = 99999
    review.referral.save()

    with pytest.raises(compose.NoReceiver):
        compose.henvisning_for(review)


def test_the_text_is_bokmål_headings_and_outcome(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    review = sign(case, dermatologist, outcome=Review.Outcome.CLOSE, advice_gp="")

    with translation.override("en"):
        text = compose.answer_text(review)

    assert "Råd til fastlege" not in text  # nothing written, no heading
    assert "Utfall:\nAvsluttet uten videre tiltak fra hudlege." in text


@pytest.mark.usefixtures("listed")
def test_a_case_that_came_as_a_message_is_answered_in_its_conversation(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    IncomingMessage.objects.create(
        case=case, msg_id="gp-referral-1", msg_type="HENVISNING", sender_her_id=8100002, payload=b""
    )
    review = sign(
        case, dermatologist, outcome=Review.Outcome.REFERRAL, referral=referral_to_department()
    )

    to_gp = msghead.read(compose.dialogmelding_for(review)[1]).head
    onwards = msghead.read(compose.henvisning_for(review)[1]).head

    assert (to_gp.conversation_ref, to_gp.parent_ref) == ("gp-referral-1", "gp-referral-1")
    assert (onwards.conversation_ref, onwards.parent_ref) == ("", "")
