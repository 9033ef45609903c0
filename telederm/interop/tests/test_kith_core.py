"""Building and reading KITH messages: golden files, round trips, refusals and properties.

Golden messages live in tests/golden/ and are written by the builders from the fixed inputs
below. When a builder changes on purpose, rewrite them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest telederm/interop/tests/test_kith_core.py

Pure: no database.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from telederm.interop.kith import apprec, dialogmelding, errors, msghead, schemas
from telederm.interop.kith.model import (
    AppRec,
    AppRecError,
    AppRecStatus,
    Attachment,
    Code,
    Dialog,
    Head,
    IdKind,
    Organisation,
    Party,
    Patient,
    Person,
)

GOLDEN = Path(__file__).parent / "golden"
OSLO = ZoneInfo("Europe/Oslo")

DERMATOLOGIST = Person("Hudlege", "Kari", hpr_number="9144889")
GP = Person("Lin", "Rita", hpr_number="258521", her_id=258521)
US = Party(
    Organisation("Telederm AS", her_id=8100001, organisation_number="912345678"),
    department=Organisation("Hudpoliklinikk", her_id=8100002),
    person=DERMATOLOGIST,
)
GP_OFFICE = Party(Organisation("Kattskinnet legesenter", her_id=56704), person=GP)
PATIENT = Patient(
    "Danser",
    "Line",
    "13116900216",
    IdKind.FNR,
    birth_date=dt.date(1969, 11, 13),
    sex="2",
)
WINTER = dt.datetime(2026, 11, 22, 9, 30, 15, tzinfo=dt.UTC)  # 10:30:15 in Oslo
PHOTO = Attachment(
    "overview-1.jpg",
    "image/jpeg",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9",
    "Oversiktsbilde, venstre underarm",
)


def head(**changes: object) -> Head:
    values: dict[str, object] = {
        "msg_id": "7f1c3c1e-0a9b-4e1e-9a53-5d2f1b1f0001",
        "msg_type": dialogmelding.MSG_TYPE,
        "msg_type_text": dialogmelding.MSG_TYPE_TEXT,
        "generated_at": WINTER.astimezone(OSLO),
        "sender": US,
        "receiver": GP_OFFICE,
        "patient": PATIENT,
        "conversation_ref": "3b0a7a1e-55aa-4c1e-8c1b-0d6a0e0c0002",
        "parent_ref": "3b0a7a1e-55aa-4c1e-8c1b-0d6a0e0c0002",
    }
    values.update(changes)
    return Head(**values)  # type: ignore[arg-type]


DIALOG = Dialog(
    subject="Svar fra hudlege: føflekk på venstre underarm",
    text=(
        "Vurdering: benign nevus. Ingen tegn til malignitet (ABCD < 3 & ingen 'ugly duckling').\n"
        "Råd til fastlege: kontroll ved endring."
    ),
    responsible=DERMATOLOGIST,
    topic_code=dialogmelding.ABOUT_PATIENT,
    document_id="c0ffee00-0000-4000-8000-000000000003",
    in_reply_to="henv-2026-0042",
)


def rec(**changes: object) -> AppRec:
    values: dict[str, object] = {
        "msg_id": "a4b5c6d7-0000-4000-8000-000000000004",
        "generated_at": WINTER.astimezone(OSLO),
        "status": AppRecStatus.OK,
        "sender": US,
        "receiver": GP_OFFICE,
        "original_msg_id": "henv-2026-0042",
        "original_msg_type": "HENVISNING",
        "original_issued_at": dt.datetime(2026, 11, 21, 14, 5, 0, tzinfo=OSLO),
    }
    values.update(changes)
    return AppRec(**values)  # type: ignore[arg-type]


REJECTED = rec(
    status=AppRecStatus.REJECTED,
    errors=(errors.problem("E35", "Pasienten er ikke registrert hos oss"),),
)

GOLDEN_CASES = {
    "dialogmelding-answer.xml": lambda: dialogmelding.build(head(), DIALOG),
    "dialogmelding-with-photos.xml": lambda: dialogmelding.build(
        head(msg_id="7f1c3c1e-0a9b-4e1e-9a53-5d2f1b1f0005"), DIALOG, [PHOTO, PHOTO]
    ),
    "apprec-ok.xml": lambda: apprec.build(rec()),
    "apprec-rejected.xml": lambda: apprec.build(REJECTED),
}


# --- golden messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_message(name: str) -> None:
    produced = GOLDEN_CASES[name]()
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(produced)
    assert produced == path.read_bytes(), f"{name} changed: rerun with UPDATE_GOLDEN=1 and review"
    schemas.validate(path.read_bytes())


def test_golden_messages_say_what_kith_prescribes() -> None:
    text = (GOLDEN / "dialogmelding-with-photos.xml").read_text("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<MsgHead xmlns=')
    assert '<Type V="DIALOG_HELSEFAGLIG" DN="Helsefaglig dialog"/>' in text
    assert "<MIGversion>v1.2 2006-05-24</MIGversion>" in text
    assert "<GenDate>2026-11-22T10:30:15</GenDate>" in text  # Oslo local time, no offset
    assert text.count('<MsgType V="A" DN="Vedlegg"/>') == 2
    assert text.count("<MimeType>image/jpeg</MimeType>") == 2
    assert '<TypeId V="HER" DN="HER-id" S="2.16.578.1.12.4.1.1.9051"/>' in text
    assert '<TypeId V="FNR" DN="Fødselsnummer" S="2.16.578.1.12.4.1.1.8116"/>' in text
    assert '<TemaKodet V="6" S="2.16.578.1.12.4.1.1.7322" DN="Henvendelse om pasient"/>' in text
    rejected = (GOLDEN / "apprec-rejected.xml").read_text("utf-8")
    assert '<Status V="2" DN="Avvist"/>' in rejected
    assert 'S="2.16.578.1.12.4.1.1.8221"' in rejected
    assert "<MIGversion>v1.1 2012-02-15</MIGversion>" in rejected


# --- round trips -------------------------------------------------------------------------------


def test_dialogmelding_round_trip_with_photos() -> None:
    envelope = msghead.read(dialogmelding.build(head(), DIALOG, [PHOTO]))
    assert envelope.head == head()
    assert envelope.attachments == (PHOTO,)
    assert dialogmelding.parse(envelope) == DIALOG


def test_head_without_conversation_patient_or_ack_round_trips() -> None:
    bare = head(conversation_ref="", parent_ref="", patient=None, ack_requested=False)
    envelope = msghead.read(dialogmelding.build(bare, Dialog(subject="", text="Kort svar")))
    assert envelope.head == bare
    dialog = dialogmelding.parse(envelope)
    assert dialog.text == "Kort svar"
    assert dialog.topic_code == dialogmelding.ABOUT_PATIENT  # the default theme
    assert dialog.subject == "Henvendelse om pasient"  # no Tema: the code's text


def test_d_number_patient_and_department_person_round_trip() -> None:
    patient = Patient("Nordmann", "Ola", "41019012345", IdKind.DNR, sex="1")
    sender = Party(
        Organisation("Telederm AS", organisation_number="912345678"), person=DERMATOLOGIST
    )
    envelope = msghead.read(dialogmelding.build(head(patient=patient, sender=sender), DIALOG))
    assert envelope.head.patient == patient
    assert envelope.head.sender == sender


def test_apprec_round_trip_and_answer_to_a_message() -> None:
    envelope = msghead.read(dialogmelding.build(head(), DIALOG))
    answer = apprec.for_message(
        envelope,
        status=AppRecStatus.OK_WITH_ERRORS,
        errors=[errors.problem("E36", "mangler adresse")],
        msg_id="ar-1",
        at=WINTER,
    )
    assert answer.receiver == US and answer.sender == GP_OFFICE  # swapped
    assert answer.original_msg_id == head().msg_id
    assert answer.original_msg_type == "DIALOG_HELSEFAGLIG"
    assert answer.original_issued_at == WINTER
    assert apprec.parse(apprec.build(answer)) == answer
    assert apprec.parse(apprec.build(REJECTED)) == REJECTED


def test_apprec_for_a_head_with_our_own_sender() -> None:
    ours = Party(Organisation("Telederm AS", her_id=8100001))
    answer = apprec.for_message(
        head(sender=GP_OFFICE, receiver=US),
        status=AppRecStatus.OK,
        msg_id="x",
        at=WINTER,
        sender=ours,
    )
    assert answer.sender == ours and answer.receiver == GP_OFFICE and answer.errors == ()


# --- refusals ----------------------------------------------------------------------------------


def test_a_message_without_msg_id_is_not_built() -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        dialogmelding.build(head(msg_id=" "), DIALOG)
    assert refused.value.problems[0].code == "E10"


def test_a_missing_msg_id_element_is_a_schema_violation() -> None:
    data = dialogmelding.build(head(), DIALOG)
    tampered = re.sub(rb"<MsgId>[^<]*</MsgId>\s*", b"", data)
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(tampered)
    (problem,) = refused.value.problems
    assert problem.code == "T02"
    assert "Expected is ( {http://www.kith.no/xmlstds/msghead/2006-05-24}MsgId )" in problem.details
    assert problem.details.startswith("line 7:")


def test_an_empty_msg_id_is_refused_on_reading() -> None:
    data = re.sub(rb"<MsgId>[^<]*</MsgId>", b"<MsgId></MsgId>", dialogmelding.build(head(), DIALOG))
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(data)
    assert refused.value.problems[0].code == "E10"


def test_tampered_base64_is_refused() -> None:
    data = dialogmelding.build(head(), DIALOG, [PHOTO])
    encoded = base64.b64encode(PHOTO.data)
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(data.replace(encoded, encoded[:-4] + b"A==="))
    assert refused.value.problems[0].code in {"T02"}
    assert (
        "Base64Container" in refused.value.problems[0].details
        or "base64" in refused.value.problems[0].details
    )


def test_base64_with_wrong_padding_that_the_schema_misses_is_refused() -> None:
    data = dialogmelding.build(
        head(), DIALOG, [Attachment("a.bin", "application/octet-stream", b"ab")]
    )
    assert b">YWI=<" in data
    # "YWI" is not base64Binary; "YWJ=" is, to the schema, but has non-zero padding bits.
    for bad in (b">YWI<", b">YWJ=<"):
        try:
            envelope = msghead.read(data.replace(b">YWI=<", bad))
        except errors.InvalidMessage as refused:
            assert refused.problems[0].code == "T02"
        else:  # decoded leniently: then it must still give bytes, never crash
            assert isinstance(envelope.attachments[0].data, bytes)


def test_wrong_payload_namespace_is_refused_clearly() -> None:
    data = dialogmelding.build(head(), DIALOG).replace(
        schemas.DIALOG_11.encode(), b"http://example.org/not-kith"
    )
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(data)
    (problem,) = refused.value.problems
    assert problem.code == "T10"
    assert "http://example.org/not-kith" in problem.details and "Dialogmelding" in problem.details


def test_a_schema_violation_inside_the_payload_is_found() -> None:
    data = (
        dialogmelding.build(head(), DIALOG)
        .replace(b"<Tema>", b"<Temaet>")
        .replace(b"</Tema>", b"</Temaet>")
    )
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(data)
    assert refused.value.problems[0].code == "T02"
    assert "Temaet" in refused.value.problems[0].details


def test_a_rejection_must_say_why() -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        apprec.build(rec(status=AppRecStatus.REJECTED))
    assert refused.value.problems[0].code == "X99"


def test_an_organisation_without_identifier_is_refused_by_the_schema() -> None:
    nobody = Party(Organisation("Uten id"))
    with pytest.raises(errors.InvalidMessage) as refused:
        dialogmelding.build(head(receiver=nobody), DIALOG)
    assert refused.value.problems[0].code == "T02"
    assert "Ident" in refused.value.problems[0].details


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dialogmelding.build(head(generated_at=dt.datetime(2026, 1, 1, 12, 0)), DIALOG)


def test_parse_needs_a_dialogmelding() -> None:
    envelope = msghead.read(dialogmelding.build(head(), DIALOG))
    other = type(envelope)(
        head=envelope.head, document=etree.Element(f"{{{schemas.EPIKRISE_12}}}Message")
    )
    with pytest.raises(errors.InvalidMessage) as refused:
        dialogmelding.parse(other)
    assert refused.value.problems[0].code == "T10"


def test_apprec_parse_refuses_a_msghead() -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        apprec.parse(dialogmelding.build(head(), DIALOG))
    assert refused.value.problems[0].code == "T10"
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(apprec.build(rec()))
    assert "apprec.parse" in refused.value.problems[0].details


# --- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        (dt.datetime(2026, 1, 15, 11, 0, 0, 999, tzinfo=dt.UTC), "2026-01-15T12:00:00"),
        (dt.datetime(2026, 7, 15, 11, 0, 0, tzinfo=dt.UTC), "2026-07-15T13:00:00"),
        (dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC), "2026-03-29T01:59:59"),
        (dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt.UTC), "2026-03-29T03:00:00"),
    ],
)
def test_times_are_written_in_oslo_local_time(moment: dt.datetime, written: str) -> None:
    assert msghead.local_time(moment) == written


def test_times_with_offsets_or_fractions_are_read() -> None:
    assert msghead.parse_time("2025-05-13T11:56:21.7607390Z") == dt.datetime(
        2025, 5, 13, 11, 56, 21, 760739, tzinfo=dt.UTC
    )
    assert msghead.parse_time("2025-05-13T11:56:21").utcoffset() == dt.timedelta(hours=2)


# --- properties --------------------------------------------------------------------------------

XML_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="\ufffe\uffff",
).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20)
XML_TEXT = st.text(XML_CHARS, max_size=200)
NOT_XML = st.sampled_from(
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800"]
)


@settings(max_examples=60, deadline=None)
@given(subject=XML_TEXT, text=XML_TEXT, document_id=XML_TEXT.map(str.strip))
def test_any_dialog_text_survives_the_round_trip(subject: str, text: str, document_id: str) -> None:
    dialog = Dialog(
        subject=subject or "x",
        text=text,
        responsible=DERMATOLOGIST,
        topic_code=dialogmelding.ABOUT_PATIENT,
        document_id=document_id,
    )
    assert dialogmelding.parse(msghead.read(dialogmelding.build(head(), dialog))) == dialog


@settings(max_examples=30, deadline=None)
@given(prefix=XML_TEXT, bad=NOT_XML, suffix=XML_TEXT)
def test_characters_xml_cannot_carry_are_refused_clearly(
    prefix: str, bad: str, suffix: str
) -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        dialogmelding.build(head(), Dialog(subject="s", text=prefix + bad + suffix))
    (problem,) = refused.value.problems
    assert problem.code == "T99"
    assert f"U+{ord(bad):04X}" in problem.details and "TekstNotatInnhold" in problem.details


@settings(max_examples=40, deadline=None)
@given(details=XML_TEXT, text=XML_TEXT)
def test_any_apprec_error_text_survives_the_round_trip(details: str, text: str) -> None:
    sent = rec(
        status=AppRecStatus.REJECTED,
        errors=(AppRecError(code="X99", text=text or "Annen feil", details=details),),
    )
    assert apprec.parse(apprec.build(sent)) == sent


@settings(max_examples=20, deadline=None)
@given(
    data=st.binary(max_size=2048),
    mime=st.sampled_from(["image/jpeg", "image/png", "application/pdf"]),
)
def test_any_attachment_bytes_survive(data: bytes, mime: str) -> None:
    attachment = Attachment("f", mime, data)
    envelope = msghead.read(dialogmelding.build(head(), DIALOG, [attachment]))
    assert envelope.attachments == (attachment,)


def test_codes_used_are_in_the_kodeverk_table() -> None:
    assert errors.problem("T02").text == "XML validerer ikke"
    assert errors.problem("E10").text == "Ugyldig meldingsidentifikator"
    assert {"T01", "T02", "T10", "T99", "E10", "X99"} <= set(errors.CODES)
    with pytest.raises(ValueError):
        errors.InvalidMessage([])


def test_topic_code_other_than_default_round_trips() -> None:
    dialog = Dialog(
        subject="Spørsmål",
        text="?",
        topic_code=Code("2.16.578.1.12.4.1.1.7322", "8", "Forespørsel om helseopplysninger"),
    )
    assert dialogmelding.parse(msghead.read(dialogmelding.build(head(), dialog))) == dialog


def test_a_photo_bigger_than_ten_megabytes_in_base64_travels() -> None:
    big = Attachment("dermoscopy.png", "image/png", bytes(range(256)) * (30 * 1024))  # 7.5 MiB
    envelope = msghead.read(dialogmelding.build(head(), DIALOG, [big]))
    assert envelope.attachments[0].data == big.data
