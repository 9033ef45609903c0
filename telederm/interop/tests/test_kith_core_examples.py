"""The official and public example messages: every one we cover is read, the negative fixtures
and the formats we do not cover are refused with coded problems. Pure: no database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lxml import etree

from telederm.interop.kith import apprec, dialogmelding, errors, msghead, schemas
from telederm.interop.kith.model import AppRecStatus, IdKind

EXAMPLES = Path(__file__).parent / "examples"

# fiks-nhn's negative fixtures (../shared/schemas/SOURCES.txt): meant to fail.
NEGATIVE = {
    "fiks-nhn/app-rec/missing-migversion.xml",
    "fiks-nhn/app-rec/unknown-migversion.xml",
    "fiks-nhn/dialogmelding/invalid-version.xml",
}
# Schema-valid AppRecs whose status is outside kodeverk 8258: fiks-nhn's client refuses them too.
UNKNOWN_STATUS = {
    "fiks-nhn/app-rec/1.0/unknown-status.xml",
    "fiks-nhn/app-rec/1.1/unknown-status.xml",
}
# Carries e-resept M1 documents: a format we do not cover (no e-resept schemas vendored).
ERESEPT = "helsenorge/DIALOG_INNBYGGER_RESEPTFORNYELSE.xml"


def _all() -> list[str]:
    return sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.xml"))


def _is_bare_payload(name: str) -> bool:
    return name.startswith("kith/Epikrise/")


def _is_apprec(name: str) -> bool:
    return "app-rec" in name or "Applikasjonskvittering" in name


POSITIVE_MSGHEAD = [
    n
    for n in _all()
    if n not in NEGATIVE and n != ERESEPT and not _is_bare_payload(n) and not _is_apprec(n)
]
POSITIVE_APPREC = [n for n in _all() if _is_apprec(n) and n not in NEGATIVE | UNKNOWN_STATUS]
DIALOGS = [n for n in POSITIVE_MSGHEAD if "ialog" in n]


def test_the_example_set_is_what_we_expect() -> None:
    # Guards the parametrized lists below against an empty or moved examples folder.
    assert len(POSITIVE_MSGHEAD) == 25  # 12 Dialogmelding, 13 Henvisning
    assert len(POSITIVE_APPREC) == 10
    assert len(DIALOGS) == 11


@pytest.mark.parametrize("name", POSITIVE_MSGHEAD)
def test_every_msghead_example_is_read(name: str) -> None:
    envelope = msghead.read((EXAMPLES / name).read_bytes())
    assert envelope.head.msg_id
    assert envelope.head.sender.organisation.name
    assert envelope.head.patient is not None and len(envelope.head.patient.identifier) == 11
    assert isinstance(envelope.document, etree._Element)


@pytest.mark.parametrize("name", DIALOGS)
def test_every_dialogmelding_example_is_parsed(name: str) -> None:
    dialog = dialogmelding.parse(msghead.read((EXAMPLES / name).read_bytes()))
    assert dialog.text.strip()
    assert dialog.subject
    assert dialog.topic_code is not None and dialog.topic_code.code


@pytest.mark.parametrize("name", POSITIVE_APPREC)
def test_every_apprec_example_is_parsed(name: str) -> None:
    rec = apprec.parse((EXAMPLES / name).read_bytes())
    assert rec.msg_id and rec.original_msg_id
    assert rec.status in set(AppRecStatus)
    assert (rec.status is AppRecStatus.OK) == (not rec.errors)


@pytest.mark.parametrize("name", sorted(n for n in _all() if _is_bare_payload(n)))
def test_bare_epikrise_examples_validate_as_payloads_but_are_not_messages(name: str) -> None:
    data = (EXAMPLES / name).read_bytes()
    assert etree.QName(schemas.validate_payload(data)).localname == "Message"
    with pytest.raises(errors.InvalidMessage) as refused:
        schemas.validate(data)
    assert refused.value.problems[0].code == "T10"


def test_helsefaglig_dialog_example_in_detail() -> None:
    envelope = msghead.read(
        (EXAMPLES / "kith/Dialogmelding/Dialogmelding-v1-1/Helsefaglig dialog.xml").read_bytes()
    )
    head = envelope.head
    assert head.msg_type == "DIALOG_HELSEFAGLIG"
    assert head.msg_id == "de1a95c0-4d0c-11e7-9598-0800200c9a66"
    assert head.parent_ref == head.conversation_ref == "d14ea2f3-d796-4d7b-8271-a4480d2b4035"
    assert head.generated_at.isoformat() == "2017-06-12T09:35:22+02:00"  # Oslo summer time
    assert head.sender.organisation.her_id == 56704
    assert head.sender.person is not None and head.sender.person.her_id == 258521
    assert head.receiver.her_id == 90998  # the department's HER-id
    assert head.receiver.department is not None
    assert head.receiver.department.name == "Ortopedisk kirurgi"
    assert head.patient is not None and head.patient.identifier == "13116900216"
    assert head.patient.identifier_kind is IdKind.FNR
    (pdf,) = envelope.attachments
    assert pdf.mime_type == "application/pdf"
    assert pdf.description == pdf.filename == "EKG-2017-06-12"
    assert pdf.data.startswith(b"%PDF-1.4")
    dialog = dialogmelding.parse(envelope)
    assert dialog.subject == "EKG tatt i dag"
    assert dialog.topic_code is not None and dialog.topic_code.code == "6"
    assert dialog.responsible is not None and dialog.responsible.hpr_number == "258521"


def test_a_gps_question_in_dialogmelding_1_0_becomes_a_dialog() -> None:
    name = "fiks-nhn/dialogmelding/1.0/foresporsel-og-svar/dialog-foresporsel-samsvar-test.xml"
    dialog = dialogmelding.parse(msghead.read((EXAMPLES / name).read_bytes()))
    assert dialog.text.startswith("Pas går snart tom for cetirizin")
    assert dialog.subject == "Annen henvendelse"
    assert dialog.responsible is not None and dialog.responsible.family_name == "Sykepleier"


def test_apprec_1_0_rejection_example_keeps_its_error_and_iso_8859_1_text() -> None:
    rec = apprec.parse(
        (EXAMPLES / "kith/Applikasjonskvittering/AppRec-v1-eksempel-avvist.xml").read_bytes()
    )
    assert rec.status is AppRecStatus.REJECTED
    assert [e.code for e in rec.errors] == ["E30"]
    assert rec.errors[0].text == "Pasientens fødselsnummer mangler"


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_fixtures_are_refused_with_schema_problems(name: str) -> None:
    data = (EXAMPLES / name).read_bytes()
    reader = apprec.parse if "app-rec" in name else msghead.read
    with pytest.raises(errors.InvalidMessage) as refused:
        reader(data)
    problems = refused.value.problems
    assert {p.code for p in problems} == {"T02"}
    assert all(p.text == "XML validerer ikke" for p in problems)
    assert any("MIGversion" in p.details or "Missing child" in p.details for p in problems)
    assert all(p.details.startswith("line ") for p in problems)


@pytest.mark.parametrize("name", sorted(UNKNOWN_STATUS))
def test_an_apprec_status_outside_kodeverk_8258_is_refused(name: str) -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        apprec.parse((EXAMPLES / name).read_bytes())
    assert refused.value.problems[0].code == "T99"
    assert "8258" in refused.value.problems[0].details


def test_a_payload_we_do_not_cover_is_refused_by_name() -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read((EXAMPLES / ERESEPT).read_bytes())
    problems = refused.value.problems
    assert {p.code for p in problems} == {"T10"}
    assert "eresept/m1" in problems[0].details
    assert "Resept" in problems[0].details


def test_validation_is_safe_from_several_threads() -> None:
    good = (EXAMPLES / "fiks-nhn/app-rec/1.1/example-ok.xml").read_bytes()
    bad = (EXAMPLES / "fiks-nhn/app-rec/missing-migversion.xml").read_bytes()
    outcomes: list[tuple[bool, bool]] = []

    def work(data: bytes, should_pass: bool) -> None:
        for _ in range(20):
            try:
                schemas.validate(data)
                outcomes.append((should_pass, True))
            except errors.InvalidMessage as exc:
                outcomes.append((should_pass, False))
                assert exc.problems[0].details.startswith("line 4:")

    threads = [
        threading.Thread(target=work, args=(d, ok)) for d, ok in [(good, True), (bad, False)] * 3
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 120
    assert all(expected == got for expected, got in outcomes)
