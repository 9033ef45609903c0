"""Review fixes: photo kinds from a referral's attachments, "not stated" answers, photos left out
of the answer, the channel in the case history, and the FHIR server's honesty about itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import jpeg_bytes, sign_in
from telederm.accounts.models import Organisation, User
from telederm.cases.models import Case
from telederm.interop import addresses, compose, referrals
from telederm.interop.fhir import capability
from telederm.interop.kith import dialogmelding, msghead
from telederm.interop.kith import model as kith
from telederm.photos import services as photo_services
from telederm.photos.models import Photo
from telederm.review import services as review_services
from telederm.review.models import Review

GP = kith.Person(family_name="September", given_name="August", hpr_number="9144900", title="Lege")
OFFICE = kith.Organisation(name="Kattskinnet legesenter", her_id=91096)
EXAMPLE = Path(addresses.__file__).resolve().parent / "addresses-example.csv"


# --- 1. the kind of photo an attachment names ------------------------------------------------


@pytest.mark.parametrize(
    ("description", "filename", "kind"),
    [
        ("Nærbilde", "", Photo.Kind.CLOSE_UP),
        ("nærbilde av lesjonen", "bilde1.jpg", Photo.Kind.CLOSE_UP),
        ("", "naerbilde_rygg.jpg", Photo.Kind.CLOSE_UP),
        ("Close-up of the mole", "", Photo.Kind.CLOSE_UP),
        ("", "closeup.jpg", Photo.Kind.CLOSE_UP),
        ("close_up", "", Photo.Kind.CLOSE_UP),
        ("Detaljbilde", "", Photo.Kind.CLOSE_UP),
        ("Dermatoskopi", "", Photo.Kind.DERMOSCOPY),
        ("", "DERMATOSKOPI-2.JPG", Photo.Kind.DERMOSCOPY),
        ("dermoscopy image", "", Photo.Kind.DERMOSCOPY),
        ("Dermatoscopic view", "", Photo.Kind.DERMOSCOPY),
        ("nærbilde, dermatoskopisk", "", Photo.Kind.DERMOSCOPY),
        ("Oversikt", "closeup.jpg", Photo.Kind.OVERVIEW),  # the sender's words come first
        ("Overview of the back", "", Photo.Kind.OVERVIEW),
        ("", "rygg.jpg", Photo.Kind.OVERVIEW),
        ("", "", Photo.Kind.OVERVIEW),
        ("Bilde 1", "IMG_2044.HEIC", Photo.Kind.OVERVIEW),
    ],
)
def test_the_photo_kind_follows_the_senders_words(
    description: str, filename: str, kind: Photo.Kind
) -> None:
    assert referrals.photo_kind(description, filename) == kind


def refer(patient: kith.Patient, **overrides: Any) -> referrals.Registered:
    arguments: dict[str, Any] = {
        "by": None,
        "referrer": GP,
        "organisation": OFFICE,
        "patient": patient,
        "reason": "Pigmentert lesjon på ryggen, vokser.",
        "clinical_information": "Debut for 3 måneder siden.",
        "photos": (),
        "channel": "kith",
        **overrides,
    }
    return referrals.receive_referral(**arguments)


def as_kith(user: User) -> kith.Patient:
    given, family = user.full_name.split(" ", 1)
    return kith.Patient(family_name=family, given_name=given, identifier=user.patient.identifier)


@pytest.mark.django_db
def test_a_referrals_photos_keep_the_kind_their_description_names(patient_user: User) -> None:
    photos = (
        kith.Attachment("a.jpg", "image/jpeg", jpeg_bytes(colour=(10, 20, 30)), "Oversikt"),
        kith.Attachment("b.jpg", "image/jpeg", jpeg_bytes(colour=(40, 50, 60)), "Nærbilde"),
        kith.Attachment("dermatoskopi.jpg", "image/jpeg", jpeg_bytes(colour=(70, 80, 90))),
    )

    registered = refer(as_kith(patient_user), photos=photos)

    kinds = [photo.kind for photo in registered.photos]
    assert kinds == [Photo.Kind.OVERVIEW, Photo.Kind.CLOSE_UP, Photo.Kind.DERMOSCOPY]


# --- 2. answers a referral does not give are "not stated" -------------------------------------


@pytest.fixture
def referred(patient_user: User) -> Case:
    return refer(as_kith(patient_user)).case


@pytest.mark.django_db
def test_the_patient_sees_not_stated_and_the_channel_in_the_history(
    client: Client, patient_user: User, referred: Case
) -> None:
    sign_in(client, patient_user)

    page = client.get(reverse("cases:detail", args=[referred.uuid])).content.decode()

    assert page.count("Not stated") == 5  # where, since, change, itching, pain
    assert "Site not stated" in page  # the heading
    assert "<dd></dd>" not in page
    assert "Sent to the clinic by Kattskinnet legesenter through Norsk Helsenett" in page

    listing = client.get(reverse("cases:list")).content.decode()
    assert "Site not stated" in listing


@pytest.mark.django_db
def test_the_clinic_pages_and_queues_say_not_stated(
    client: Client, duty_nurse: User, dermatologist: User, referred: Case
) -> None:
    sign_in(client, duty_nurse)
    queue = client.get(reverse("triage:queue")).content.decode()
    assert "Site not stated: Pigmentert lesjon" in queue
    triage = client.get(reverse("triage:case", args=[referred.uuid])).content.decode()
    assert f"{referred.patient.full_name} · Site not stated</h1>" in triage
    assert triage.count("Not stated") == 5
    assert "through Norsk Helsenett" in triage

    client.logout()
    sign_in(client, dermatologist)
    review = client.get(reverse("review:queue")).content.decode()
    assert "Site not stated: Pigmentert lesjon" in review
    case = client.get(reverse("review:case", args=[referred.uuid])).content.decode()
    assert f"{referred.patient.full_name} · Site not stated</h1>" in case
    assert "through Norsk Helsenett" in case


@pytest.mark.django_db
def test_a_fhir_referral_names_the_connected_system_in_the_history(
    client: Client, patient_user: User, gp: User
) -> None:
    case = refer(as_kith(patient_user), by=gp, channel="fhir").case
    sign_in(client, patient_user)

    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()

    office = gp.organisation.name if gp.organisation else gp.full_name
    assert f"Sent to the clinic by {office} from a connected system (FHIR)" in page


def test_the_history_template_knows_every_channel_referrals_records() -> None:
    template = Path(referrals.__file__).parents[1] / "cases/templates/cases/_history.html"
    text = template.read_text()
    for detail in referrals.CHANNELS.values():
        assert f'event.detail == "{detail}"' in text


@pytest.mark.django_db
def test_a_web_case_shows_its_answers_as_given(
    client: Client, patient_user: User, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)

    page = client.get(reverse("cases:detail", args=[case.uuid])).content.decode()

    assert "Not stated" not in page
    assert "Norsk Helsenett" not in page


def sign(case: Case, dermatologist: User, **fields: Any) -> Review:
    if not dermatologist.hpr_number:
        dermatologist.hpr_number = "9100065"
        dermatologist.save(update_fields=["hpr_number"])
    case = review_services.take_for_review(
        by=dermatologist, case=case, expected_version=case.version
    )
    return review_services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        diagnoses=[review_services.DiagnosisChoice("icd10", "L40.0", is_primary=True)],
        prescriptions=[],
        referral=None,
        outcome=Review.Outcome.ADVICE,
        assessment="Benign naevus.",
        diagnosis="Naevus",
        advice="Følg med på den.",
        safety_net="Kontakt fastlegen om den endrer seg.",
        advice_gp="",
        **fields,
    )


@pytest.mark.django_db
def test_compose_writes_ikke_oppgitt_for_what_a_referral_leaves_blank(
    referred: Case, dermatologist: User
) -> None:
    review = sign(referred, dermatologist)

    text = compose.clinical_information(referred, review)

    assert "Lokalisasjon: Ikke oppgitt\n" in text
    assert "Varighet: Ikke oppgitt\n" in text
    assert "Utvikling: Ikke oppgitt\n" in text
    assert "Kløe: Ikke oppgitt. Smerte: Ikke oppgitt\n" in text


# --- 3. photos not attached to the answer are counted -----------------------------------------


@pytest.fixture
def listed(gp_office: Organisation, patient_user: User) -> None:
    addresses.import_file(EXAMPLE)
    patient = patient_user.patient
    patient.gp_office = gp_office
    patient.save()


@pytest.mark.django_db
@pytest.mark.usefixtures("listed")
def test_the_answer_says_how_many_photos_were_not_attached(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True, photos=2)  # the second is refused as a duplicate
    review = sign(case, dermatologist)
    Photo.objects.create(case=case, uploaded_by=case.created_by, status=Photo.Status.PENDING)

    envelope = msghead.read(compose.dialogmelding_for(review)[1])

    text = dialogmelding.parse(envelope).text
    assert len(envelope.attachments) == 1
    assert text.endswith(
        "2 bilder fra saken er ikke vedlagt: 1 var fortsatt under behandling da svaret ble "
        "signert og 1 ble avvist av bildekontrollen."
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("listed")
def test_the_answer_says_nothing_when_every_photo_is_attached(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True, photos=1)
    review = sign(case, dermatologist)

    text = dialogmelding.parse(msghead.read(compose.dialogmelding_for(review)[1])).text

    assert "ikke vedlagt" not in text
    assert compose.photos_left_out_text(case) == ""


@pytest.mark.django_db
def test_read_rendition_reads_a_ready_photo_and_logs_nothing(
    make_case: Callable[..., Case],
) -> None:
    from django.core.files.storage import default_storage

    from telederm.audit.models import AccessEvent

    photo = make_case(photos=1).photos.get()
    before = AccessEvent.objects.count()

    data = photo_services.read_rendition(photo, "full")

    with default_storage.open(photo.full_name, "rb") as stored:
        assert data == stored.read()
    assert AccessEvent.objects.count() == before


# --- 5. the FHIR server does not claim what it does not serve ---------------------------------


def test_the_capability_statement_is_honest_about_versions_and_conditional_create() -> None:
    resources = {
        resource.type: resource
        for resource in capability.statement("http://testserver/fhir/").rest[0].resource
    }

    updatable = capability.updatable_types()
    assert "ServiceRequest" in updatable
    for name, resource in resources.items():
        assert resource.versioning == ("versioned-update" if name in updatable else "versioned")
        assert resource.readHistory is False
        codes = {interaction.code for interaction in resource.interaction}
        assert not codes & {"vread", "history-instance", "history-type"}
        assert resource.conditionalCreate is (name == "ServiceRequest")
    assert "ifNoneExist" in (resources["ServiceRequest"].documentation or "")
    assert "_totalMethod" in {param.name for param in resources["Patient"].searchParam}


@pytest.mark.django_db
def test_fhirpys_total_method_is_accepted_and_ignored(
    client: Client, gp: User, make_case: Callable[..., Case], patient_user: User
) -> None:
    from telederm.interop.tests.test_fhir_read_support import bearer, parsed, token_for

    make_case(by=gp, patient=patient_user.patient, submit=True)
    make_case(by=gp, patient=patient_user.patient, submit=True)
    token = token_for(gp)

    plain = client.get("/fhir/ServiceRequest?_count=1&_total=accurate", **bearer(token))
    counted = client.get(
        "/fhir/ServiceRequest?_count=1&_total=accurate&_totalMethod=count", **bearer(token)
    )
    unknown = client.get("/fhir/ServiceRequest?_totalHow=count", **bearer(token))

    assert counted.status_code == plain.status_code == 200
    assert parsed(counted).total == parsed(plain).total == 2
    assert [entry.resource.id for entry in parsed(counted).entry] == [
        entry.resource.id for entry in parsed(plain).entry
    ]
    assert unknown.status_code == 400  # other unknown parameters are still refused
