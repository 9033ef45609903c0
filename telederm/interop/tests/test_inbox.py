"""Incoming KITH messages: a GP's referral in the in-folder becomes a case and is answered with an
AppRec in the out-folder; refusals, duplicates, AppRecs, dialogue replies and crashes."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from conftest import answer, jpeg_bytes, synthetic_number
from telederm.accounts.models import User
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.states import CaseStatus
from telederm.interop import inbox
from telederm.interop.kith import apprec, dialogmelding, henvisning, msghead, schemas
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.interop.transports.filedrop import FileDropTransport
from telederm.photos.models import Photo

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples/kith/Henvisning/Henvisning_v2-0"
OUR_HER_ID = 8142519
GP = kith.Person(family_name="September", given_name="August", hpr_number="9144901")
GP_OFFICE = kith.Party(
    organisation=kith.Organisation(name="Kattskinnet legesenter", her_id=8150001), person=GP
)
TELEDERM = kith.Party(organisation=kith.Organisation(name="Telederm", her_id=OUR_HER_ID))
PATIENT = kith.Patient(
    family_name="Danser",
    given_name="Line",
    identifier=synthetic_number(1969, 11, 13),
    birth_date=dt.date(1969, 11, 13),
    sex="2",
)
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=msghead.OSLO)


@pytest.fixture(autouse=True)
def _folders(settings: Any, tmp_path: Path) -> None:
    settings.TELEDERM_HER_ID = OUR_HER_ID
    settings.TELEDERM_MESSAGE_TRANSPORT = "file"
    settings.TELEDERM_MESSAGE_FILE_IN = tmp_path / "in"
    settings.TELEDERM_MESSAGE_FILE_OUT = tmp_path / "out"
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()


@pytest.fixture
def drop(tmp_path: Path) -> FileDropTransport:
    return FileDropTransport(tmp_path / "out", tmp_path / "in")


def head(**changes: Any) -> kith.Head:
    base = kith.Head(
        msg_id=str(uuid.uuid4()),
        msg_type=henvisning.MSG_TYPE,
        generated_at=AT,
        sender=GP_OFFICE,
        receiver=TELEDERM,
        patient=PATIENT,
    )
    return replace(base, **changes)


def referral_xml(
    attachments: tuple[kith.Attachment, ...] | None = None, **head_changes: Any
) -> bytes:
    referral = kith.Referral(
        reason="Pigmentert lesjon på ryggen som vokser.",
        clinical_information="Debut for 3 måneder siden, asymmetrisk, 8 mm.",
        referrer=GP,
        priority="urgent",
        cancer_pathway=True,
        document_id=str(uuid.uuid4()),
        referred_at=AT,
    )
    photos = (
        attachments
        if attachments is not None
        else (
            kith.Attachment("rygg-oversikt.jpg", "image/jpeg", jpeg_bytes()),
            kith.Attachment("rygg-naer.jpg", "image/jpeg", jpeg_bytes(colour=(120, 80, 70))),
        )
    )
    return henvisning.build(head(**head_changes), referral, photos)


def place(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)


def run_worker() -> None:
    call_command("worker", batch=True, interval=0.01)


def apprecs_out(folder: Path) -> list[kith.AppRec]:
    return [apprec.parse(path.read_bytes()) for path in sorted(folder.glob("*.xml"))]


def answer_to(incoming: IncomingMessage) -> kith.AppRec:
    outgoing = incoming.apprecs.get()
    assert outgoing.kind == OutgoingMessage.Kind.APPREC
    return apprec.parse(bytes(outgoing.payload))


# --- the whole loop -------------------------------------------------------------------------------


def test_a_referral_in_the_in_folder_becomes_a_case_and_an_apprec_ok_leaves(
    drop: FileDropTransport, tmp_path: Path
) -> None:
    data = referral_xml()
    place(tmp_path / "in", "henvisning-1.xml", data)

    assert inbox.receive_all(drop) == 1

    assert list((tmp_path / "in").glob("*.xml")) == []  # acknowledged: the file is gone
    incoming = IncomingMessage.objects.get()
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    assert incoming.transport == "file" and incoming.transport_ref == "henvisning-1.xml"
    assert bytes(incoming.payload) == data
    case = incoming.case
    assert case is not None
    assert case.status == CaseStatus.SUBMITTED
    assert case.priority == "urgent" and case.pathway == Case.Pathway.PK_MELANOMA
    assert case.created_by.hpr_number == "9144901"
    assert case.created_by.is_active is False
    assert case.patient.identifier == PATIENT.identifier
    assert case.assessment_deadline is not None

    run_worker()  # processes the photos and delivers the AppRec through the file drop
    assert [p.status for p in case.photos.all()] == [Photo.Status.READY, Photo.Status.READY]
    (receipt,) = apprecs_out(tmp_path / "out")
    envelope = msghead.read(data)
    assert receipt.status == kith.AppRecStatus.OK
    assert receipt.original_msg_id == envelope.head.msg_id
    assert receipt.original_msg_type == henvisning.MSG_TYPE
    assert receipt.receiver.organisation.her_id == 8150001
    assert receipt.sender.organisation.her_id == OUR_HER_ID
    assert receipt.errors == ()
    sent = incoming.apprecs.get()
    assert sent.status == OutgoingMessage.Status.SENT
    assert sent.receiver_her_id == 8150001
    assert sent.case == case


def test_receiving_is_in_the_access_log_as_the_referrer() -> None:
    from telederm.audit.models import AccessEvent

    incoming = inbox.receive(referral_xml())
    assert incoming.case is not None
    entry = AccessEvent.objects.get(action="message.receive")
    assert entry.case_uuid == incoming.case.uuid
    assert entry.object_uuid == incoming.uuid
    assert entry.actor == incoming.case.created_by


def test_a_referral_to_one_of_our_services_is_ours() -> None:
    AddressEntry.objects.create(
        her_id=8142520, name="Hudpoliklinikk", kind="service", parent_her_id=OUR_HER_ID
    )
    clinic = kith.Party(
        organisation=kith.Organisation(name="Telederm", her_id=8142599),
        department=kith.Organisation(name="Hudpoliklinikk", her_id=8142520),
    )
    incoming = inbox.receive(referral_xml(receiver=clinic))
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    assert answer_to(incoming).sender.her_id == 8142520


# --- refusals -------------------------------------------------------------------------------------


def test_a_message_that_breaks_the_schema_is_rejected_with_t02() -> None:
    data = referral_xml().replace(b"<ServType", b"<Unknown/><ServType", 1)
    incoming = inbox.receive(data)
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert incoming.case is None
    assert {e["code"] for e in incoming.errors} == {"T02"}
    receipt = answer_to(incoming)
    assert receipt.status == kith.AppRecStatus.REJECTED
    assert [e.code for e in receipt.errors] == ["T02"] * len(receipt.errors)
    assert receipt.original_msg_id == incoming.msg_id
    assert not Case.objects.exists()


def test_a_referral_for_someone_else_is_rejected_with_e21() -> None:
    hospital = kith.Party(organisation=kith.Organisation(name="St Olavs Hospital HF", her_id=59))
    incoming = inbox.receive(referral_xml(receiver=hospital))
    assert incoming.status == IncomingMessage.Status.REJECTED
    receipt = answer_to(incoming)
    assert receipt.status == kith.AppRecStatus.REJECTED
    assert [e.code for e in receipt.errors] == ["E21"]
    assert receipt.sender.organisation.her_id == OUR_HER_ID  # answered as us, not as St Olavs
    assert not Case.objects.exists()


def test_an_invalid_fodselsnummer_is_rejected_with_e31_and_nothing_is_kept() -> None:
    wrong = replace(
        PATIENT, identifier=PATIENT.identifier[:-1] + str((int(PATIENT.identifier[-1]) + 1) % 10)
    )
    incoming = inbox.receive(referral_xml(patient=wrong))
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert [e["code"] for e in incoming.errors] == ["E31"]
    assert [e.code for e in answer_to(incoming).errors] == ["E31"]
    assert not Case.objects.exists()
    assert not User.objects.exists()  # the half-made referrer went with the refusal


def test_garbage_without_a_sender_is_kept_rejected_and_not_answered() -> None:
    incoming = inbox.receive(b"this is not XML")
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert [e["code"] for e in incoming.errors] == ["T01"]
    assert incoming.sender_her_id is None
    assert not OutgoingMessage.objects.exists()


def test_a_document_without_a_msghead_is_rejected_and_not_answered() -> None:
    # KITH's Epikrise examples are bare payloads: no MsgHead, so no sender to answer.
    example = HERE / "examples/kith/Epikrise/Epikrise_v1-2/epikrise_v1.2_n.xml"
    incoming = inbox.receive(example.read_bytes())
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert [e["code"] for e in incoming.errors] == ["T10"]
    assert not OutgoingMessage.objects.exists()


# --- photos ---------------------------------------------------------------------------------------


def test_a_broken_photo_gives_ok_with_errors_and_the_case_exists() -> None:
    attachments = (
        kith.Attachment("rygg.jpg", "image/jpeg", b"\xff\xd8\xffnot really a jpeg"),
        kith.Attachment("ok.jpg", "image/jpeg", jpeg_bytes()),
        kith.Attachment("garbage.png", "image/png", b"garbage"),
    )
    incoming = inbox.receive(referral_xml(attachments))
    assert incoming.status == IncomingMessage.Status.ACCEPTED_WITH_ERRORS
    case = incoming.case
    assert case is not None and case.status == CaseStatus.SUBMITTED
    receipt = answer_to(incoming)
    assert receipt.status == kith.AppRecStatus.OK_WITH_ERRORS
    assert [e.code for e in receipt.errors] == ["X99"]
    assert "garbage.png" in receipt.errors[0].details
    assert "garbage.png" in case.other_information
    # The damaged JPEG passes the first look; the worker refuses it, the case keeps the good one.
    run_worker()
    statuses = sorted(case.photos.values_list("status", flat=True))
    assert statuses == [Photo.Status.READY, Photo.Status.REJECTED]


# --- duplicates and crashes -----------------------------------------------------------------------


def test_a_duplicate_makes_nothing_new_and_gets_the_same_apprec_again() -> None:
    data = referral_xml()
    first = inbox.receive(data)
    again = inbox.receive(data)
    assert again.pk != first.pk
    assert again.status == IncomingMessage.Status.DUPLICATE
    assert again.case == first.case
    assert Case.objects.count() == 1
    one, two = answer_to(first), answer_to(again)
    assert two.msg_id != one.msg_id
    assert (two.status, two.original_msg_id, two.errors) == (
        one.status,
        one.original_msg_id,
        one.errors,
    )
    assert OutgoingMessage.objects.filter(kind="apprec").count() == 2


def test_a_crash_between_storing_and_handling_is_handled_once_on_the_next_run(
    drop: FileDropTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(tmp_path / "in", "henvisning-1.xml", referral_xml())
    real_process = inbox.process

    def crash(incoming: IncomingMessage) -> IncomingMessage:
        raise SystemExit("the worker died")

    monkeypatch.setattr(inbox, "process", crash)
    with pytest.raises(SystemExit):
        inbox.receive_all(drop)
    stored = IncomingMessage.objects.get()
    assert stored.status == IncomingMessage.Status.RECEIVED
    assert not Case.objects.exists()

    monkeypatch.setattr(inbox, "process", real_process)
    assert inbox.receive_all(drop) == 0  # nothing new to fetch; the stored one is handled
    inbox.receive_all(drop)
    stored.refresh_from_db()
    assert stored.status == IncomingMessage.Status.ACCEPTED
    assert Case.objects.count() == 1
    assert stored.apprecs.count() == 1


def test_a_crash_before_acknowledging_handles_the_message_once_when_it_comes_again(
    drop: FileDropTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(tmp_path / "in", "henvisning-1.xml", referral_xml())

    def crash(ref: str) -> None:
        raise SystemExit("the worker died")

    monkeypatch.setattr(drop, "acknowledge", crash)
    with pytest.raises(SystemExit):
        inbox.receive_all(drop)
    monkeypatch.undo()
    assert inbox.receive_all(drop) == 1  # fetched again: the stored row, not a new one
    assert list((tmp_path / "in").glob("*.xml")) == []
    (row,) = IncomingMessage.objects.all()
    assert row.status == IncomingMessage.Status.ACCEPTED
    assert Case.objects.count() == 1


def test_a_payload_over_the_size_limit_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = referral_xml(attachments=())
    monkeypatch.setattr(schemas, "MAX_BYTES", 1000)
    assert len(payload) > 1000
    incoming = inbox.receive(payload, transport="file", ref="big.xml")
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert bytes(incoming.payload) == b""
    assert f"{len(payload)} bytes" in incoming.errors[0]["details"]
    assert incoming.transport_ref == "big.xml"
    assert not Case.objects.exists()
    assert not OutgoingMessage.objects.exists()


def test_pending_messages_are_listed_by_id_not_loaded_all_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = inbox.store(referral_xml())
    second = inbox.store(referral_xml(attachments=()))
    with CaptureQueriesContext(connection) as queries:
        assert inbox.process_pending() == 2
    listing = queries.captured_queries[0]["sql"]
    assert "payload" not in listing
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == IncomingMessage.Status.ACCEPTED


def test_one_bad_message_does_not_stop_the_others(
    drop: FileDropTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(tmp_path / "in", "a.xml", b"<not-kith/>")
    place(tmp_path / "in", "b.xml", referral_xml())
    assert inbox.receive_all(drop) == 2
    statuses = sorted(IncomingMessage.objects.values_list("status", flat=True))
    assert statuses == [IncomingMessage.Status.ACCEPTED, IncomingMessage.Status.REJECTED]


def test_a_fault_of_ours_leaves_the_message_stored_for_the_next_run(
    drop: FileDropTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(tmp_path / "in", "a.xml", referral_xml())
    place(tmp_path / "in", "b.xml", referral_xml())
    real_answer = inbox._answer
    calls: list[str] = []

    def fail_once(*args: Any, **kwargs: Any) -> None:
        calls.append("x")
        if len(calls) == 1:
            raise RuntimeError("a bug while answering")
        real_answer(*args, **kwargs)

    monkeypatch.setattr(inbox, "_answer", fail_once)
    assert inbox.receive_all(drop) == 2
    statuses = sorted(IncomingMessage.objects.values_list("status", flat=True))
    # The first message's work was rolled back whole; the second went through, and the first
    # was tried again by the same run's sweep of stored messages.
    assert statuses == [IncomingMessage.Status.ACCEPTED, IncomingMessage.Status.ACCEPTED]
    assert Case.objects.count() == 2
    assert OutgoingMessage.objects.filter(kind="apprec").count() == 2


# --- AppRecs in -----------------------------------------------------------------------------------


def outgoing_message(**fields: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "msg_id": uuid.uuid4(),
        "kind": OutgoingMessage.Kind.DIALOGMELDING,
        "msg_type": dialogmelding.MSG_TYPE,
        "receiver_her_id": 8150001,
        "payload": b"<MsgHead/>",
        "status": OutgoingMessage.Status.SENT,
        **fields,
    }
    return OutgoingMessage.objects.create(**values)


def their_apprec(original: OutgoingMessage, status: kith.AppRecStatus, *errors: str) -> bytes:
    return apprec.build(
        kith.AppRec(
            msg_id=str(uuid.uuid4()),
            generated_at=AT,
            status=status,
            sender=GP_OFFICE,
            receiver=TELEDERM,
            original_msg_id=str(original.msg_id),
            original_msg_type=original.msg_type,
            original_issued_at=AT,
            errors=tuple(kith.AppRecError(code, "feil") for code in errors),
        )
    )


@pytest.mark.parametrize(
    ("status", "errors", "expected"),
    [
        (kith.AppRecStatus.OK, (), OutgoingMessage.Status.ACKNOWLEDGED),
        (kith.AppRecStatus.REJECTED, ("E21",), OutgoingMessage.Status.REJECTED),
        (kith.AppRecStatus.OK_WITH_ERRORS, ("X99",), OutgoingMessage.Status.OK_WITH_ERRORS),
    ],
)
def test_an_apprec_settles_our_message_and_is_never_answered(
    status: kith.AppRecStatus, errors: tuple[str, ...], expected: str
) -> None:
    ours = outgoing_message()
    incoming = inbox.receive(their_apprec(ours, status, *errors))
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    assert incoming.answers == ours
    ours.refresh_from_db()
    assert ours.status == expected
    assert [e["code"] for e in ours.apprec_errors] == list(errors)
    assert not incoming.apprecs.exists()
    assert OutgoingMessage.objects.count() == 1


def test_an_apprec_from_anyone_but_the_receiver_settles_nothing() -> None:
    ours = outgoing_message(receiver_her_id=8150999)
    incoming = inbox.receive(their_apprec(ours, kith.AppRecStatus.OK))  # from 8150001
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert "8150999" in incoming.errors[0]["details"]
    ours.refresh_from_db()
    assert ours.status == OutgoingMessage.Status.SENT
    assert not incoming.apprecs.exists()


def test_an_apprec_from_the_office_of_the_person_we_wrote_to_settles_it() -> None:
    AddressEntry.objects.create(
        her_id=8150007, name="Dr. September", kind="person", parent_her_id=8150001
    )
    ours = outgoing_message(receiver_her_id=8150007)
    incoming = inbox.receive(their_apprec(ours, kith.AppRecStatus.OK))
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    ours.refresh_from_db()
    assert ours.status == OutgoingMessage.Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    "status", [OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.ACKNOWLEDGED]
)
def test_an_apprec_for_a_message_not_out_settles_nothing(status: str) -> None:
    ours = outgoing_message(status=status)
    incoming = inbox.receive(their_apprec(ours, kith.AppRecStatus.REJECTED, "E21"))
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert "not waiting" in incoming.errors[0]["details"]
    ours.refresh_from_db()
    assert ours.status == status
    assert ours.apprec_errors == []


def test_an_apprec_for_nothing_of_ours_is_kept_and_not_answered() -> None:
    stranger = OutgoingMessage(msg_id=uuid.uuid4(), msg_type="DIALOG_HELSEFAGLIG")
    incoming = inbox.receive(their_apprec(stranger, kith.AppRecStatus.OK))
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert incoming.answers is None
    assert [e["code"] for e in incoming.errors] == ["E10"]
    assert not OutgoingMessage.objects.exists()


def test_the_kith_example_apprecs_are_read() -> None:
    folder = HERE / "examples/kith/Applikasjonskvittering"
    for path in sorted(folder.glob("*.xml")):
        incoming = inbox.receive(path.read_bytes())
        assert incoming.status == IncomingMessage.Status.REJECTED, path.name  # not ours
        assert not incoming.apprecs.exists()


# --- dialogue messages ----------------------------------------------------------------------------


def dialog_xml(dialog: kith.Dialog, **head_changes: Any) -> bytes:
    return dialogmelding.build(head(msg_type=dialogmelding.MSG_TYPE, **head_changes), dialog)


def test_a_gps_reply_to_our_dialogmelding_lands_on_the_case(
    make_case: Any, dermatologist: User
) -> None:
    case = make_case(submit=True)
    ours = outgoing_message(case=case)
    reply = kith.Dialog(
        subject="Svar", text="Takk. Pasienten har fått time hos oss.", responsible=GP
    )
    incoming = inbox.receive(
        dialog_xml(
            reply,
            parent_ref=str(ours.msg_id),
            conversation_ref=str(ours.msg_id),
            patient=patient_of(case),
        )
    )
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    assert incoming.case == case
    message = Message.objects.get(case=case)
    assert message.from_clinic is False
    assert "fått time" in message.body
    assert message.author.hpr_number == "9144901"
    assert case.events.filter(action=CaseEvent.Action.MESSAGE).exists()
    assert answer_to(incoming).status == kith.AppRecStatus.OK
    assert Case.objects.count() == 1


def patient_of(case: Case) -> kith.Patient:
    return kith.Patient(
        family_name="Pasient", given_name="Test", identifier=case.patient.identifier
    )


def test_a_reply_quoting_our_message_to_someone_else_does_not_reach_its_case(
    make_case: Any,
) -> None:
    case = make_case(submit=True)
    ours = outgoing_message(case=case, receiver_her_id=8150999)  # another office
    reply = kith.Dialog(subject="Svar", text="Hva er diagnosen?", responsible=GP)
    incoming = inbox.receive(
        dialog_xml(reply, parent_ref=str(ours.msg_id), patient=patient_of(case))
    )
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert incoming.case is None
    assert not Message.objects.filter(case=case).exists()
    assert answer_to(incoming).status == kith.AppRecStatus.REJECTED


def test_a_reply_from_a_department_of_the_office_we_wrote_to_reaches_the_case(
    make_case: Any,
) -> None:
    case = make_case(submit=True)
    ours = outgoing_message(case=case, receiver_her_id=8150001)
    department = replace(
        GP_OFFICE, department=kith.Organisation(name="Legekontor 2", her_id=8150002)
    )
    reply = kith.Dialog(subject="Svar", text="Takk.", responsible=GP)
    incoming = inbox.receive(
        dialog_xml(reply, parent_ref=str(ours.msg_id), sender=department, patient=patient_of(case))
    )
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    assert incoming.case == case


@pytest.mark.parametrize("quoted", ["case", "review"])
def test_a_quoted_case_id_reaches_the_case_only_from_its_referrer(
    make_case: Any, gp: User, dermatologist: User, quoted: str
) -> None:
    case = make_case(by=gp, submit=True)
    answer(case, dermatologist, take=True)
    case.refresh_from_db()
    quote = str(case.uuid if quoted == "case" else case.review.uuid)
    reply = kith.Dialog(
        subject="Svar", text="Spørsmål om saken.", responsible=GP, in_reply_to=quote
    )
    stranger = inbox.receive(dialog_xml(reply, patient=patient_of(case)))
    assert stranger.status == IncomingMessage.Status.REJECTED
    assert not Message.objects.filter(case=case, from_clinic=False).exists()
    referrer = replace(
        GP_OFFICE, organisation=kith.Organisation(name="Nordkapp legesenter", her_id=8100002)
    )
    own = inbox.receive(dialog_xml(reply, sender=referrer, patient=patient_of(case)))
    assert own.status == IncomingMessage.Status.ACCEPTED
    assert own.case == case


def test_a_reply_about_another_patient_than_the_cases_is_refused(make_case: Any) -> None:
    case = make_case(submit=True)
    ours = outgoing_message(case=case)
    reply = kith.Dialog(subject="Svar", text="Takk.", responsible=GP)
    incoming = inbox.receive(dialog_xml(reply, parent_ref=str(ours.msg_id)))  # PATIENT
    assert PATIENT.identifier != case.patient.identifier
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert incoming.case is None
    assert not Message.objects.filter(case=case).exists()
    rec = answer_to(incoming)
    assert rec.status == kith.AppRecStatus.REJECTED
    assert [e.code for e in rec.errors] == ["X99"]
    assert case.patient.identifier not in (rec.errors[0].details or "")


def test_a_gps_dialogmelding_about_nothing_of_ours_becomes_a_case() -> None:
    question = kith.Dialog(subject="Utslett", text="Kløende utslett på hendene i 3 uker.")
    incoming = inbox.receive(dialog_xml(question))
    assert incoming.status == IncomingMessage.Status.ACCEPTED
    case = incoming.case
    assert case is not None and case.status == CaseStatus.SUBMITTED
    assert "Kløende utslett" in case.complaint
    assert case.created_by.hpr_number == "9144901"


# --- the KITH examples: a new referral, its change and its cancellation ---------------------------


@pytest.fixture
def as_st_olav(settings: Any) -> None:
    """The KITH examples are addressed to St Olavs Hospital (HER-id 59)."""
    settings.TELEDERM_HER_ID = 59


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def test_the_kith_example_referral_becomes_a_case(as_st_olav: None) -> None:
    incoming = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Ny.xml"))
    assert incoming.status in {
        IncomingMessage.Status.ACCEPTED,
        IncomingMessage.Status.ACCEPTED_WITH_ERRORS,
    }
    assert incoming.case is not None
    assert incoming.case.patient.full_name == "Line Danser"


def test_a_change_is_told_to_the_clinic_and_a_cancellation_withdraws(as_st_olav: None) -> None:
    first = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Ny.xml"))
    case = first.case
    assert case is not None

    change = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Endring.xml"))
    assert change.case == case
    assert change.status == IncomingMessage.Status.ACCEPTED_WITH_ERRORS
    assert Message.objects.filter(case=case, from_clinic=False).count() == 1

    cancel = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Kansellering.xml"))
    assert cancel.status == IncomingMessage.Status.ACCEPTED
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert answer_to(cancel).status == kith.AppRecStatus.OK
    assert Case.objects.count() == 1


def test_a_cancellation_of_an_answered_case_is_told_to_the_clinic(
    as_st_olav: None, dermatologist: User
) -> None:

    first = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Ny.xml"))
    case = first.case
    assert case is not None
    answer(case, dermatologist, take=True)
    cancel = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Kansellering.xml"))
    assert cancel.status == IncomingMessage.Status.ACCEPTED_WITH_ERRORS
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED
    assert "cancelled" in Message.objects.get(case=case, from_clinic=False).body


def test_a_change_to_a_referral_we_do_not_have_is_rejected(as_st_olav: None) -> None:
    incoming = inbox.receive(example("Henvisning_ny_tilstand_v2-0_Kansellering.xml"))
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert answer_to(incoming).status == kith.AppRecStatus.REJECTED


ALL_EXAMPLES = sorted((HERE / "examples").rglob("*.xml"))


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: str(p.relative_to(HERE / "examples")))
def test_every_example_message_is_handled_and_never_left_waiting(path: Path) -> None:
    incoming = inbox.receive(path.read_bytes())
    assert incoming.status != IncomingMessage.Status.RECEIVED
    if incoming.status == IncomingMessage.Status.REJECTED:
        assert incoming.errors, "a refusal says why"
    for outgoing in incoming.apprecs.all():
        assert apprec.parse(bytes(outgoing.payload)).original_msg_id == incoming.msg_id


def test_an_answer_to_something_we_do_not_know_is_not_a_new_case() -> None:
    reply = kith.Dialog(subject="Svar", text="Se vedlagte.", in_reply_to=str(uuid.uuid4()))
    incoming = inbox.receive(dialog_xml(reply))
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert [e["code"] for e in incoming.errors] == ["X99"]
    assert answer_to(incoming).status == kith.AppRecStatus.REJECTED
    assert not Case.objects.exists()


def test_a_citizens_message_through_helsenorge_is_not_taken(settings: Any) -> None:
    data = (HERE / "examples/helsenorge/DIALOG_INNBYGGER_EKONTAKT.xml").read_bytes()
    settings.TELEDERM_HER_ID = inbox._peek(data).receiver_her_id
    incoming = inbox.receive(data)
    assert incoming.status == IncomingMessage.Status.REJECTED
    assert [e["code"] for e in incoming.errors] == ["T10"]
    assert not Case.objects.exists()


# --- the clinic sees what came in ----------------------------------------------------------------


def test_the_clinic_pages_show_a_case_that_came_as_a_message(
    client: Any, duty_nurse: User, dermatologist: User
) -> None:
    from django.urls import reverse

    from conftest import sign_in

    incoming = inbox.receive(referral_xml())
    case = incoming.case
    assert case is not None
    run_worker()
    sign_in(client, duty_nurse)
    queue = client.get(reverse("triage:queue"))
    assert queue.status_code == 200
    assert str(case.uuid) in queue.content.decode()
    page = client.get(reverse("triage:case", args=[case.uuid]))
    assert page.status_code == 200
    assert "Pigmentert lesjon" in page.content.decode()
    client.logout()
    sign_in(client, dermatologist)
    page = client.get(reverse("review:case", args=[case.uuid]))
    assert page.status_code == 200
    assert "August September" in page.content.decode()  # referred by


def test_the_worker_fetches_handles_and_answers(tmp_path: Path) -> None:
    from telederm.interop import tasks

    place(tmp_path / "in", "henvisning-1.xml", referral_xml())
    tasks.fetch_messages.enqueue()
    run_worker()
    assert IncomingMessage.objects.get().status == IncomingMessage.Status.ACCEPTED
    (receipt,) = apprecs_out(tmp_path / "out")
    assert receipt.status == kith.AppRecStatus.OK
