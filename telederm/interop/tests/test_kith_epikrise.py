"""Epikrise 1.2: our discharge summary to the GP is schema-valid and stable, and every KITH example
reads into a DischargeSummary. Pure: no database."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from telederm.interop.kith import epikrise, errors, henvisning, msghead, schemas
from telederm.interop.kith.model import (
    ICD10,
    ICPC2,
    Code,
    DischargeSummary,
    Envelope,
    Head,
    Organisation,
    Party,
    Patient,
    Person,
)

HERE = Path(__file__).resolve().parent
EXAMPLES = sorted((HERE / "examples/kith/Epikrise/Epikrise_v1-2").glob("*.xml"))
GOLDEN = HERE / "golden"
OSLO = msghead.OSLO

# A synthetic fødselsnummer (month + 80: never a real person's).
PATIENT = Patient(
    family_name="Nordmann",
    given_name="Kari",
    identifier="17856110184",
    birth_date=dt.date(1961, 5, 17),
    sex="2",
)
DERMATOLOGIST = Person(
    family_name="Hudlund", given_name="Åse", hpr_number="9144900", title="Overlege"
)
TELEDERM = Party(
    organisation=Organisation(name="Telederm eKlinikk", her_id=8140001),
    department=Organisation(name="Hudpoliklinikk", her_id=8140002),
    person=DERMATOLOGIST,
)
GP = Party(
    organisation=Organisation(name="Fjordbyen legesenter", her_id=8140200),
    person=Person(family_name="Fastlund", given_name="Per", her_id=8140201),
)
AT = dt.datetime(2026, 3, 4, 14, 5, tzinfo=OSLO)


def head(**changes: object) -> Head:
    base = Head(
        msg_id="7e6d5c4b-3a29-4187-9654-3210fedcba98",
        msg_type=epikrise.MSG_TYPE,
        generated_at=AT,
        sender=TELEDERM,
        receiver=GP,
        patient=PATIENT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def summary(**changes: object) -> DischargeSummary:
    base = DischargeSummary(
        summary=(
            "Bildene viser en skarpt avgrenset, skjellende plakk på albuer og knær.\n"
            "Forenlig med psoriasis vulgaris; ingen tegn til infeksjon.\n\n"
            "Pasienten er informert om diagnosen & behandlingen (<10 % kroppsoverflate)."
        ),
        follow_up="Kontroll hos fastlege om 8 uker. Ny henvisning ved manglende effekt.",
        responsible=DERMATOLOGIST,
        diagnoses=(
            Code(system=ICD10, code="L40.0", text="Psoriasis vulgaris"),
            Code(system=ICPC2, code="S91", text="Psoriasis"),
        ),
        medications=(
            "Betametason/kalsipotriol gel, 1 gang daglig i 4 uker",
            "Mometason krem 0,1 %, 1 gang daglig, 2 uker",
        ),
        consultation_at=dt.datetime(2026, 3, 4, 13, 40, tzinfo=OSLO),
        document_id="3b2a1908-7766-4554-8433-221100ffeedd",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def roundtrip(data: bytes) -> DischargeSummary:
    return epikrise.parse(msghead.read(data))


def golden(name: str, data: bytes) -> None:
    """Compare with the stored golden message; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} changed: review, then UPDATE_GOLDEN=1"


# --- what we send -------------------------------------------------------------------------------


def test_our_discharge_summary_matches_the_golden_message_and_validates() -> None:
    golden("epikrise.xml", epikrise.build(head(), summary()))
    root = schemas.validate((GOLDEN / "epikrise.xml").read_bytes())
    assert root.find(f".//{{{epikrise.NS}}}Message") is not None


def test_the_summary_sits_where_a_gps_record_looks_for_it() -> None:
    envelope = msghead.read(epikrise.build(head(), summary()))
    doc = envelope.document
    assert isinstance(doc, etree._Element)
    ns = {"e": epikrise.NS, "x": epikrise.XHTML}
    assert envelope.head.msg_type == "EPIKRISE"
    assert doc.find("e:Type", ns).get("V") == "EPIKRISE"
    report = doc.find("e:ServRprt", ns)
    assert report.find("e:Patient/e:OffId", ns).text == PATIENT.identifier
    assert report.find("e:Patient/e:Name", ns).text == "Nordmann, Kari"
    assert report.find("e:ServProvider/e:HCP/e:Inst/e:Id", ns).text == "8140001"
    assert report.find("e:Requester/e:HCP/e:Inst/e:HCPerson/e:Id", ns).text == "8140201"
    prof = report.find("e:RelServProvider/e:HCP/e:HCProf", ns)
    assert prof.find("e:Name", ns).text == "Overlege Åse Hudlund"
    assert report.find("e:RelServProvider/e:Relation", ns).get("V") == "AHP"
    headings = [h.get("V") for h in report.findall("e:Event/e:Comment/e:Heading", ns)]
    assert headings == ["VU", "OP"]
    kinds = [t.get("V") for t in report.findall("e:Event/e:InfItem/e:Type", ns)]
    assert kinds == ["H", "B", "MEDB", "MEDB"]
    # Lines and paragraphs as XHTML, as KITH's examples write them.
    paragraphs = report.findall("e:Event/e:Comment/e:TextResultValue/x:div/x:p", ns)
    assert len(paragraphs) == 3 and paragraphs[0].find("x:br", ns) is not None


def test_build_then_read_gives_back_every_field_we_map() -> None:
    sent = summary()
    assert roundtrip(epikrise.build(head(), sent)) == sent


def test_a_cancellation_keeps_the_document_id() -> None:
    data = epikrise.build(
        head(msg_id="a1b2c3d4-0000-4000-8000-000000000001"),
        summary(),
        change=henvisning.Change.CANCEL,
    )
    received = epikrise.read(msghead.read(data))
    assert received.change is henvisning.Change.CANCEL
    assert received.discharge_summary.document_id == summary().document_id


def test_an_epikrise_needs_the_patient_and_its_own_message_type() -> None:
    with pytest.raises(ValueError, match="patient"):
        epikrise.build(head(patient=None), summary())
    with pytest.raises(ValueError, match="EPIKRISE"):
        epikrise.build(head(msg_type="DIALOG_NOTAT"), summary())


@pytest.mark.parametrize(
    ("name", "person"),
    [
        ("Overlege Rita Lin", Person(family_name="Lin", given_name="Rita", title="Overlege")),
        (
            "Turnuslege August September",
            Person(family_name="September", given_name="August", title="Turnuslege"),
        ),
        ("Berg Hansen, Kari Anne", Person(family_name="Berg Hansen", given_name="Kari Anne")),
        ("Lin", Person(family_name="Lin", given_name="")),
    ],
)
def test_a_professionals_name_is_split_as_epikrise_writes_it(name: str, person: Person) -> None:
    assert epikrise.split_name(name) == person


# --- free texts ---------------------------------------------------------------------------------

free_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="<>&\"'æøåÆØÅ \n\t\r;]]>-–€", max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=free_text, follow_up=free_text, medications=st.lists(free_text, max_size=3))
def test_free_texts_survive_the_message_as_cleaned(
    text: str, follow_up: str, medications: list[str]
) -> None:
    sent = summary(summary=text, follow_up=follow_up, medications=tuple(medications))
    back = roundtrip(epikrise.build(head(), sent))
    assert back.summary == henvisning.clean_text(text)
    assert back.follow_up == henvisning.clean_text(follow_up)
    cleaned = tuple(henvisning.clean_text(m) for m in medications)
    assert back.medications == tuple(m for m in cleaned if m)


# --- what we receive ----------------------------------------------------------------------------

SENDER = Party(organisation=Organisation(name="NORSK HELSENETT SF HOVEDKONTOR", her_id=91393))
RECEIVER = Party(organisation=Organisation(name="Kattskinnet legesenter", her_id=91096))


def read_example(path: Path) -> epikrise.ReceivedDischargeSummary:
    """KITH's examples are bare Messages: wrap one in a MsgHead as it would travel, then read."""
    message = etree.parse(str(path)).getroot()
    wrapped = msghead.build(
        Head(
            msg_id=message.findtext(f"{{{epikrise.NS}}}MsgId"),
            msg_type="EPIKRISE",
            generated_at=dt.datetime(2017, 5, 5, 6, 24, 9, tzinfo=OSLO),
            sender=SENDER,
            receiver=RECEIVER,
            patient=Patient(family_name="Danser", given_name="Line", identifier="13116900216"),
        ),
        message,
    )
    return epikrise.read(msghead.read(wrapped))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_kith_example_reads_into_a_discharge_summary(path: Path) -> None:
    received = read_example(path)
    result = received.discharge_summary
    assert received.change.value == path.stem[-1].upper()
    assert result.responsible == Person(
        family_name="Lin", given_name="Rita", hpr_number="9144900", title="Overlege"
    )
    assert result.document_id == "b9270660-4567-11e7-9598-0800200c9a66"
    if received.change is not henvisning.Change.CANCEL:
        assert result.summary and result.follow_up and result.medications
        assert result.consultation_at == dt.datetime(2017, 4, 27, 9, 0, 10, tzinfo=OSLO)


def test_a_hospitals_summary_keeps_every_part_under_its_heading() -> None:
    result = read_example(HERE / "examples/kith/Epikrise/Epikrise_v1-2/epikrise_v1.2_n.xml")
    text = result.discharge_summary.summary
    for heading in (
        "Cave-opplysninger:\nSulfa (exanthem 1999)",
        "Funn og undersøkelsesresultat:\nEKG: Sinusrytme",
        "Sykehistorie:\nKjent diabetes mellitus",
        "Årsak til innleggelse:\nSlapp, subfebril",
        "Forløp og behandling:\nPga. mistenkt infeksjon",
        "Vurdering:\nMan anser pas. som ferdigbehandlet",
        "Sykmelding:\nSykmeldt ut uken",
        "Informasjon til pasient/pårørende:\nPas. informert",
    ):
        assert heading in text
    # The lab table's rows stay rows.
    assert "\nCRP | 79 | 52 | 39 | 30 | 20 | 4 | 4 | 6\n" in text + "\n"
    assert "\nkreatin | 85 | | 79" in text
    summary_ = result.discharge_summary
    assert summary_.follow_up.startswith("Det avtales ingen videre kontroller her.")
    assert [c.code for c in summary_.diagnoses] == ["I330", "E119", "I252"]
    assert summary_.diagnoses[0].system == ICD10
    assert summary_.medications[0] == "Furix (C03C A01), 20 mg, 1 tabl. om morgenen"


def test_a_changed_summary_brings_the_forgotten_drug() -> None:
    result = read_example(HERE / "examples/kith/Epikrise/Epikrise_v1-2/epikrise_v1.2_m.xml")
    assert result.change is henvisning.Change.CHANGE
    assert any(
        m.startswith("Albyl_e (B01A C06), 160 mg") for m in result.discharge_summary.medications
    )


# --- what we refuse -----------------------------------------------------------------------------


def test_a_henvisning_is_not_an_epikrise() -> None:
    path = HERE / "examples/kith/Henvisning/Henvisning_v2-0/Henvisning_ny_tilstand_v2-0_Ny.xml"
    with pytest.raises(errors.InvalidMessage) as refused:
        epikrise.parse(msghead.read(path.read_bytes()))
    assert refused.value.problems[0].code == errors.UNSUPPORTED_FORMAT


def test_an_epikrise_of_another_version_is_refused() -> None:
    envelope = msghead.read(epikrise.build(head(), summary()))
    old = etree.fromstring(
        etree.tostring(envelope.document).replace(
            epikrise.NS.encode(), b"http://www.kith.no/xmlstds/epikrise/2006-09-23"
        )
    )
    with pytest.raises(errors.InvalidMessage) as refused:
        epikrise.parse(Envelope(head=envelope.head, document=old))
    assert "Epikrise" in refused.value.problems[0].details


@pytest.mark.parametrize("missing", ["ServRprt", "Patient", "Requester"])
def test_an_epikrise_missing_a_mandatory_element_is_refused(missing: str) -> None:
    root = etree.fromstring(epikrise.build(head(), summary()))
    element = next(root.iter(f"{{{epikrise.NS}}}{missing}"))
    element.getparent().remove(element)
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    assert refused.value.problems[0].code == errors.INVALID
    assert missing in " ".join(p.details for p in refused.value.problems)
