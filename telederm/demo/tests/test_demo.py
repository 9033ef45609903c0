"""`telederm demo` loads synthetic data once, through the services, and changes nothing on a rerun."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent, Message
from telederm.demo.management.commands.demo import DEMO_HER_IDS
from telederm.interop.kith import henvisning, msghead, schemas
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.patients.identifiers import parse_person_identifier
from telederm.patients.models import Patient
from telederm.photos.models import Photo
from telederm.review.models import Diagnosis, Prescription, Referral, Review, VideoRequest
from telederm.triage.models import Alarm, ClinicianProfile, SymptomCheck, TriageNote

pytestmark = pytest.mark.django_db


def _load() -> None:
    call_command("demo", stdout=io.StringIO())


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            User,
            Patient,
            Case,
            Photo,
            AccessEvent,
            CaseEvent,
            Message,
            Review,
            Alarm,
            SymptomCheck,
            TriageNote,
            ClinicianProfile,
            AddressEntry,
            IncomingMessage,
            OutgoingMessage,
        )
    )


def test_demo_spans_the_workflow_and_a_rerun_duplicates_nothing() -> None:
    _load()
    assert Case.objects.count() == 21
    assert set(Case.objects.values_list("status", flat=True)) == {
        "draft",
        "submitted",
        "triaged",
        "in_review",
        "answered",
        "referred",
        "video_scheduled",
        "escalated",
        "closed",
        "withdrawn",
    }
    counts = _counts()
    _load()
    assert counts == _counts()

    # Clinicians: profiles for assignment, mobile numbers for SMS.
    erik = User.objects.get(email="hudlege@telederm.example")
    anne = User.objects.get(email="hudlege2@telederm.example")
    nurse = User.objects.get(email="vakt@telederm.example")
    assert set(erik.clinician_profile.competences) == {"dermoscopy", "skin_cancer"}
    assert erik.clinician_profile.languages == ["nb", "en"]
    assert nurse.clinician_profile.available and anne.clinician_profile.available
    assert User.objects.exclude(mobile_number="").count() >= 3

    # Kari's changing mole came from her symptom check: urgent, PK, forwarded by name to Erik.
    kari = User.objects.get(email="kari@pasient.example")
    check = SymptomCheck.objects.get(created_by=kari)
    assert check.case is not None and "pk" in check.result["flags"]
    assert check.case.pathway == Case.Pathway.PK_MELANOMA
    assert check.case.priority == Case.Priority.URGENT
    assert check.case.status == "triaged" and check.case.assigned_to == erik
    assert check.case.claimed_by == nurse and check.case.triage_notes.exists()

    # The emergency: escalated by a symptom check on the case, with its open alarm.
    escalated = Case.objects.get(status="escalated")
    assert escalated.symptom_checks.get().disposition == "emergency"
    assert escalated.alarms.get(kind=Alarm.Kind.EMERGENCY).acknowledged_at is None

    # One case forwarded to the pool after a triage note; the overdue one breached; one unowned.
    pool = Case.objects.filter(
        status="triaged", assigned_to__isnull=True, claimed_by=nurse, triage_notes__isnull=False
    )
    assert pool.count() == 2
    assert Alarm.objects.filter(kind=Alarm.Kind.BREACH).count() == 1
    assert Alarm.objects.get(kind=Alarm.Kind.BREACH).case in pool
    unowned = Alarm.objects.get(kind=Alarm.Kind.UNOWNED).case
    assert unowned.status == "submitted" and unowned.claimed_by is None

    # Ola was asked (in English) for better photos and has answered: back with the nurse.
    ola = User.objects.get(email="ola@pasient.example")
    asked = Message.objects.get(kind=Message.Kind.INFO_REQUEST)
    assert "photo" in asked.body and asked.case.patient.user == ola
    assert asked.case.status == "submitted"
    assert asked.case.messages.filter(author=ola, from_clinic=False).exists()

    # Closed by the nurse with self-care advice and a guide.
    self_care = Message.objects.get(kind=Message.Kind.SELF_CARE)
    assert self_care.guides == ["acne"] and self_care.case.status == "closed"

    # Signed reviews: coded in both systems, with guides, one prescription, one PK referral and
    # one video request; Erik's draft is unsigned with its codes.
    signed = Review.objects.filter(signed_at__isnull=False)
    assert signed.count() == 7
    for review in signed:
        systems = set(review.diagnoses.values_list("system", flat=True))
        assert systems == {Diagnosis.System.ICD10, Diagnosis.System.ICPC2}
        assert review.safety_net and review.advice_gp
    assert Prescription.objects.get().review.case.patient.user == ola
    referral = Referral.objects.get(review__signed_at__isnull=False)
    assert referral.pathway == Case.Pathway.PK_MELANOMA
    assert referral.review.case.status == "referred"
    assert VideoRequest.objects.get().review.case.status == "video_scheduled"
    draft = Review.objects.get(signed_at__isnull=True)
    assert draft.author == erik and draft.case.status == "in_review"
    assert draft.diagnoses.filter(code="C44.3").exists() and not draft.advice

    # Kari and Erik wrote to each other on her answered case; Erik's reply is new for Kari.
    thread = Message.objects.filter(case__patient__user=kari, kind=Message.Kind.MESSAGE)
    assert [m.from_clinic for m in thread.order_by("sent_at")] == [False, True]
    assert thread.get(from_clinic=True).read_at is None
    assert thread.get(from_clinic=False).read_at is not None

    # Everything went through the services: the access log has the triage and review steps.
    actions = set(AccessEvent.objects.values_list("action", flat=True))
    assert {
        "case.escalate",
        "case.triage.claim",
        "case.triage.forward",
        "case.triage.info_request",
        "case.triage.self_care",
        "case.answer",
        "case.review.save",
        "case.message.send",
        "symptom_check.start_case",
    } <= actions


def test_every_demo_identity_number_is_synthetic() -> None:
    _load()
    for number in Patient.objects.values_list("identifier", flat=True):
        assert parse_person_identifier(number, accept_synthetic=True).is_synthetic


def _sent_files() -> list[Path]:
    return sorted(Path(settings.TELEDERM_MESSAGE_FILE_OUT).glob("*.xml"))


def test_demo_messages_close_the_loop_with_the_gp() -> None:
    _load()
    # The register has every demo organisation's HER-id, and the department referred to.
    assert set(DEMO_HER_IDS) | {8100071} <= set(
        AddressEntry.objects.values_list("her_id", flat=True)
    )

    # Every signed answer went to the patient's GP office as a Dialogmelding; the PK referral
    # also went as a Henvisning 2.0; the GP's referral was answered with an AppRec.
    outgoing = OutgoingMessage.objects.all()
    answers = outgoing.filter(kind=OutgoingMessage.Kind.DIALOGMELDING)
    assert answers.count() == Review.objects.filter(signed_at__isnull=False).count() == 7
    registered = set(AddressEntry.objects.values_list("her_id", flat=True))
    for message in answers.select_related("case__created_by__organisation", "case__patient"):
        # The referring professional's office, or for a patient's own case the GP office.
        sender = message.case.created_by
        offices = {message.case.patient.gp_office.her_id}
        if sender.organisation is not None:
            offices.add(sender.organisation.her_id)
        assert message.receiver_her_id in offices & registered
    onwards = outgoing.get(kind=OutgoingMessage.Kind.HENVISNING)
    assert onwards.receiver_her_id == 8100071 and onwards.case.pathway == Case.Pathway.PK_MELANOMA
    assert outgoing.get(kind=OutgoingMessage.Kind.APPREC).receiver_her_id == 8100002

    # Delivered: each is a schema-valid file in the out-folder, named by its msg_id.
    files = _sent_files()
    assert [path.stem for path in files] == sorted(
        str(m) for m in outgoing.values_list("msg_id", flat=True)
    )
    for path in files:
        schemas.validate(path.read_bytes())
    assert not outgoing.filter(status__in=["queued", "sending", "failed"]).exists()

    # The GP office acknowledged Kari's answer and rejected Ola's with a coded reason.
    acknowledged = answers.get(status=OutgoingMessage.Status.ACKNOWLEDGED)
    assert acknowledged.case.patient.user.email == "kari@pasient.example"
    rejected = answers.get(status=OutgoingMessage.Status.REJECTED)
    assert rejected.case.patient.user.email == "ola@pasient.example"
    assert rejected.apprec_status == "2" and rejected.apprec_errors[0]["code"] == "E35"

    # The GP's referral came through the inbox as a KITH Henvisning: a PK case with two photos,
    # sent by Ingrid Lie at Nordkapp legesenter, forwarded by the nurse to Erik.
    received = IncomingMessage.objects.get(msg_type=henvisning.MSG_TYPE)
    assert received.status == IncomingMessage.Status.ACCEPTED
    case = received.case
    assert case.created_by.email == "lege@nordkapp.example"
    assert case.patient.gp_office.her_id == 8100002
    assert case.pathway == Case.Pathway.PK_MELANOMA and case.status == "triaged"
    assert case.assigned_to.email == "hudlege@telederm.example"
    assert [photo.status for photo in case.photos.all()] == ["ready", "ready"]
    assert case.events.filter(detail__contains="national health network").exists()
    envelope = msghead.read(bytes(received.payload))
    assert len(envelope.attachments) == 2

    # A rerun changes nothing: no new message, no new file.
    counts, names = _counts(), _sent_files()
    _load()
    assert (_counts(), _sent_files()) == (counts, names)


def test_demo_output_says_where_the_messages_are_and_how_to_get_a_fhir_token() -> None:
    out = io.StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "Messages to GPs and hospitals: 7 sent, 1 acknowledged, 1 rejected" in text
    assert str(settings.TELEDERM_MESSAGE_FILE_OUT) in text
    assert "telederm token create --user hudlege@telederm.example" in text
    assert "admin@telederm.example" in text and "/operator/messages/" in text
