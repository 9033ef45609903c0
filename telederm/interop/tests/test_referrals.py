"""A referral from outside (a KITH message or a FHIR Bundle) becomes a sent case."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from conftest import jpeg_bytes, synthetic_number
from telederm.accounts.models import Organisation, User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent
from telederm.cases.states import CaseStatus
from telederm.core import calendar
from telederm.interop import referrals
from telederm.interop.kith import model as kith
from telederm.patients.models import Patient
from telederm.photos.models import Photo

pytestmark = pytest.mark.django_db

GP = kith.Person(family_name="September", given_name="August", hpr_number="9144900", title="Lege")
OFFICE = kith.Organisation(name="Kattskinnet legesenter", her_id=91096)
PATIENT = kith.Patient(
    family_name="Danser", given_name="Line", identifier=synthetic_number(1969, 11, 13)
)


def refer(**overrides: Any) -> referrals.Registered:
    arguments: dict[str, Any] = {
        "by": None,
        "referrer": GP,
        "organisation": OFFICE,
        "patient": PATIENT,
        "reason": "Pigmentert lesjon på ryggen, vokser.",
        "clinical_information": "Debut for 3 måneder siden. Ingen behandling forsøkt.",
        "priority": "soon",
        "cancer_pathway": True,
        "photos": (kith.Attachment("rygg.jpg", "image/jpeg", jpeg_bytes()),),
        "channel": "kith",
        **overrides,
    }
    return referrals.receive_referral(**arguments)


def test_a_message_referral_becomes_a_sent_case_from_an_inactive_referrer() -> None:
    registered = refer()
    case = registered.case
    assert case.status == CaseStatus.SUBMITTED
    assert case.priority == "soon"
    assert case.pathway == Case.Pathway.PK_MELANOMA
    assert case.complaint == "Pigmentert lesjon på ryggen, vokser."
    assert case.other_information.startswith("Debut for 3 måneder")
    assert case.patient_consents is True
    assert case.body_site == "" and case.onset == "" and case.itch == ""
    assert case.submitted_at is not None and case.due_at is not None
    assert case.assessment_deadline == calendar.add_working_days(
        case.submitted_at.astimezone(calendar.OSLO).date(), 10
    )
    referrer = case.created_by
    assert referrer.role == User.Role.SUBMITTER
    assert referrer.is_active is False
    assert referrer.has_usable_password() is False
    assert referrer.hpr_number == "9144900"
    assert referrer.full_name == "August September"
    assert referrer.organisation is not None
    assert referrer.organisation.her_id == 91096
    assert referrer.organisation.kind == Organisation.Kind.GP_OFFICE
    assert case.patient.full_name == "Line Danser"
    assert case.patient.gp_office == referrer.organisation
    assert case.is_on_behalf
    sent = case.events.get(action=CaseEvent.Action.SUBMITTED)
    assert "KITH" in sent.detail
    submitted = AccessEvent.objects.filter(case_uuid=case.uuid, action="case.submit")
    assert submitted.filter(reason="kith").exists()


def test_photos_are_processed_by_the_worker() -> None:
    case = refer().case
    photo = case.photos.get()
    assert photo.status == Photo.Status.PENDING
    call_command("worker", batch=True, interval=0.01)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.READY


def test_the_same_referrer_and_patient_are_found_the_second_time() -> None:
    first = refer().case
    second = refer(reason="En ny flekk på armen.", photos=()).case
    assert second.created_by_id == first.created_by_id
    assert second.patient_id == first.patient_id
    assert User.objects.filter(hpr_number="9144900").count() == 1
    assert Organisation.objects.filter(her_id=91096).count() == 1
    assert Patient.objects.count() == 1


def test_a_referrer_without_hpr_number_is_found_by_name_at_the_office() -> None:
    nameless = kith.Person(family_name="Lege", given_name="Vikar")
    first = refer(referrer=nameless).case
    second = refer(referrer=nameless, photos=()).case
    assert first.created_by_id == second.created_by_id
    assert first.created_by.hpr_number == ""


def test_a_known_gp_of_the_sending_office_is_the_referrer(gp: User) -> None:
    by_hpr = kith.Person(family_name="Lie", given_name="Ingrid", hpr_number=gp.hpr_number)
    office = kith.Organisation(name="Nordkapp legesenter", her_id=gp.organisation.her_id)
    case = refer(referrer=by_hpr, organisation=office).case
    assert case.created_by == gp


def test_an_hpr_number_from_another_office_does_not_act_in_the_gps_name(gp: User) -> None:
    """An HPR number is on every prescription: alone it must not make a message the GP's."""
    by_hpr = kith.Person(family_name="Lie", given_name="Ingrid", hpr_number=gp.hpr_number)
    case = refer(referrer=by_hpr).case  # From Kattskinnet legesenter, not Nordkapp.
    assert case.created_by != gp
    assert not case.created_by.is_active
    assert case.created_by.organisation.her_id == OFFICE.her_id


def test_a_name_that_does_not_match_the_registered_person_is_refused() -> None:
    refer()
    stranger = dataclasses.replace(PATIENT, family_name="Olsen", given_name="Per")
    with pytest.raises(referrals.ReferralRefused) as refused:
        refer(patient=stranger)
    assert refused.value.code == "E36"
    assert "Danser" not in str(refused.value)
    assert Case.objects.count() == 1


def test_a_middle_name_or_new_surname_is_the_same_person() -> None:
    refer()
    married = dataclasses.replace(PATIENT, family_name="Hansen", given_name="Line Marie")
    assert refer(patient=married).case.patient.identifier == PATIENT.identifier


def test_a_broken_photo_is_left_out_and_the_case_is_still_sent() -> None:
    registered = refer(
        photos=(
            kith.Attachment("rygg.jpg", "image/jpeg", b"not a picture at all"),
            kith.Attachment("nær.jpg", "image/jpeg", jpeg_bytes(colour=(120, 90, 80))),
            kith.Attachment("brev.pdf", "application/pdf", b"%PDF-1.4 letter"),
        )
    )
    assert registered.case.status == CaseStatus.SUBMITTED
    assert len(registered.photos) == 1
    assert [(p.filename, p.reason) for p in registered.photo_problems] == [
        ("rygg.jpg", "not_an_image")
    ]
    assert [p.filename for p in registered.left_out] == ["rygg.jpg", "brev.pdf"]
    assert "brev.pdf (application/pdf)" in registered.case.other_information
    assert "rygg.jpg" in registered.case.other_information
    assert registered.case.other_information.startswith("Debut for 3 måneder")


def test_a_long_text_is_cut_at_a_word_and_the_attachment_note_is_kept() -> None:
    long = "ord " * 800
    registered = refer(
        reason=long,
        clinical_information=long,
        photos=(kith.Attachment("brev.pdf", "application/pdf", b"%PDF-1.4"),),
    )
    case = registered.case
    assert len(case.complaint) <= 2000 and case.complaint.endswith("…")
    assert len(case.other_information) <= 2000
    assert case.other_information.endswith("brev.pdf (application/pdf)")


def test_an_invalid_identifier_refuses_the_referral_and_writes_nothing() -> None:
    wrong = kith.Patient(family_name="Danser", given_name="Line", identifier="13116900217")
    with pytest.raises(referrals.ReferralRefused) as refused:
        refer(patient=wrong)
    assert refused.value.code == "E31"
    assert not Case.objects.exists()
    assert not Patient.objects.exists()
    assert not User.objects.exists()


def test_a_synthetic_number_is_refused_where_the_operator_does_not_accept_them(
    settings: Any,
) -> None:
    settings.TELEDERM_ACCEPT_SYNTHETIC_IDS = False
    with pytest.raises(referrals.ReferralRefused) as refused:
        refer()
    assert refused.value.code == "E31"
    assert "synthetic" in str(refused.value)


def test_a_missing_identifier_or_name_has_its_own_code() -> None:
    with pytest.raises(referrals.ReferralRefused) as refused:
        refer(patient=kith.Patient(family_name="Danser", given_name="Line", identifier=""))
    assert refused.value.code == "E30"
    with pytest.raises(referrals.ReferralRefused) as refused:
        refer(patient=kith.Patient(family_name="", given_name="", identifier=PATIENT.identifier))
    assert refused.value.code == "E32"


def test_a_fhir_referral_is_sent_by_the_token_user(gp: User) -> None:
    case = referrals.receive_referral(
        by=gp,
        referrer=GP,
        organisation=OFFICE,
        patient=PATIENT,
        reason="Eksem",
        clinical_information="",
        channel="fhir",
    ).case
    assert case.created_by == gp
    assert case.priority == "routine" and case.pathway == ""
    assert "FHIR" in case.events.get(action=CaseEvent.Action.SUBMITTED).detail
    assert not User.objects.filter(is_active=False).exists()


def test_a_fhir_user_who_may_not_refer_is_refused(dermatologist: User) -> None:
    with pytest.raises(PermissionDenied):
        refer(by=dermatologist, channel="fhir")
    assert not Case.objects.exists()


def test_the_due_time_follows_the_priority() -> None:
    urgent = refer(priority="urgent", photos=()).case
    routine = refer(priority="routine", photos=()).case
    assert urgent.due_at is not None and routine.due_at is not None
    assert urgent.due_at < routine.due_at
    assert urgent.due_at - urgent.submitted_at <= dt.timedelta(hours=8)
