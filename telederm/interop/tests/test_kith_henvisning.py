"""Henvisning 2.0: our referral to a hospital is schema-valid and stable, and every KITH example
referral reads into a Referral. Pure: no database."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from telederm.interop.kith import errors, henvisning, msghead, schemas
from telederm.interop.kith.model import (
    ICD10,
    ICPC2,
    Attachment,
    Code,
    Envelope,
    Head,
    Organisation,
    Party,
    Patient,
    Person,
    Referral,
)

HERE = Path(__file__).resolve().parent
EXAMPLES = sorted((HERE / "examples/kith/Henvisning/Henvisning_v2-0").glob("*.xml"))
GOLDEN = HERE / "golden"
OSLO = msghead.OSLO

# A synthetic fødselsnummer (month + 80: never a real person's).
PATIENT = Patient(
    family_name="Nordmann",
    given_name="Kari Ørnulf",
    identifier="17856110184",
    birth_date=dt.date(1961, 5, 17),
    sex="2",
)
DERMATOLOGIST = Person(family_name="Hudlund", given_name="Åse", hpr_number="9144900")
TELEDERM = Party(
    organisation=Organisation(name="Telederm eKlinikk", her_id=8140001),
    department=Organisation(name="Hudpoliklinikk", her_id=8140002),
    person=DERMATOLOGIST,
)
HOSPITAL = Party(
    organisation=Organisation(name="Universitetssykehuset Nord-Norge HF", her_id=8140100),
    department=Organisation(name="Hudavdelingen, UNN Tromsø", her_id=8140101),
)
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=OSLO)
# The smallest PNG there is: a photo's stand-in.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def head(msg_type: str = henvisning.MSG_TYPE, **changes: object) -> Head:
    base = Head(
        msg_id="5f0c6a2e-3a4b-4c2d-9e1f-0a1b2c3d4e5f",
        msg_type=msg_type,
        generated_at=AT,
        sender=TELEDERM,
        receiver=HOSPITAL,
        patient=PATIENT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def referral(**changes: object) -> Referral:
    base = Referral(
        reason=(
            "Mistenkt malignt melanom på ryggen. Ønsker eksisjon og histologi.\n"
            'Pasienten er informert om "pakkeforløp" & ventetid <4 uker>.'
        ),
        clinical_information=(
            "Pigmentert lesjon, 9 mm, asymmetrisk med ujevn farge; vokst siste 3 måneder.\n\n"
            "Dermatoskopi (bilder): atypisk nettverk, regresjonsområder. 7-punktsliste: 6 poeng."
        ),
        referrer=DERMATOLOGIST,
        priority="urgent",
        cancer_pathway=True,
        diagnoses=(
            Code(system=ICD10, code="D48.5", text="Svulst med usikker malignitet, hud"),
            Code(system=ICPC2, code="S79", text="Usikker/benign svulst hud"),
        ),
        requested_service="Poliklinisk undersøkelse",
        document_id="9a8b7c6d-1111-4222-8333-944455556666",
        referred_at=AT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def photos() -> tuple[Attachment, ...]:
    return (Attachment(filename="rygg-1.png", mime_type="image/png", data=PNG, description="Rygg"),)


def roundtrip(data: bytes) -> Referral:
    return henvisning.parse(msghead.read(data))


def golden(name: str, data: bytes) -> None:
    """Compare with the stored golden message; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} changed: review, then UPDATE_GOLDEN=1"


# --- what we send -------------------------------------------------------------------------------


def test_our_referral_matches_the_golden_message_and_validates() -> None:
    data = henvisning.build(head(), referral(), photos())
    golden("henvisning.xml", data)
    root = schemas.validate((GOLDEN / "henvisning.xml").read_bytes())
    payload = root.find(f".//{{{henvisning.NS}}}Henvisning")
    assert payload is not None


def test_a_routine_referral_without_pathway_matches_its_golden_message() -> None:
    data = henvisning.build(
        head(msg_id="0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"),
        referral(
            priority="routine",
            cancer_pathway=False,
            diagnoses=(Code(system=ICD10, code="L40.0", text="Psoriasis vulgaris"),),
            reason="Utbredt psoriasis uten effekt av lokalbehandling; vurdering for lysbehandling.",
            clinical_information="",
        ),
    )
    golden("henvisning_routine.xml", data)
    schemas.validate((GOLDEN / "henvisning_routine.xml").read_bytes())


def test_the_referral_carries_what_the_hospital_needs_where_kith_puts_it() -> None:
    envelope = msghead.read(henvisning.build(head(), referral(), photos()))
    doc = envelope.document
    assert isinstance(doc, etree._Element)
    ns = {"h": henvisning.NS, "po": henvisning.PO, "fk1": henvisning.FK1}
    assert envelope.head.msg_type == "HENVISNING_NYTILSTAND"
    assert envelope.head.msg_type_text == "Henvisning ny tilstand"
    assert doc.find("h:ReqServ/h:Priority", ns).get("V") == "PK"
    assert doc.find("h:ReqServ/h:Comment", ns).text == "Poliklinisk undersøkelse"
    assert doc.find("h:ReasonAsText/h:Heading", ns).get("V") == "PROB"
    assert doc.find("h:InfItem/h:Type", ns).get("V") == "ANAM"
    assert [c.get("S") for c in doc.findall("h:Diagnosis/h:Concept", ns)] == [ICD10, ICPC2]
    who = doc.find("po:AnsvarForRapport/po:AnsvarligRapport", ns)
    assert who.find("fk1:Ident/fk1:Id", ns).text == "9144900"
    assert doc.find("po:AnsvarForRapport/po:TypeRelasjon", ns).get("V") == "HHE"
    assert envelope.attachments == photos()


def test_build_then_read_gives_back_every_field_we_map() -> None:
    sent = referral()
    assert roundtrip(henvisning.build(head(), sent, photos())) == sent


@pytest.mark.parametrize(
    ("priority", "pathway", "code", "read_back"),
    [
        ("urgent", False, "3", "urgent"),
        ("soon", False, "3", "urgent"),  # no grade between "haster" and "ordinær": never less
        ("routine", False, "N", "routine"),
        ("routine", True, "PK", "urgent"),  # suspected cancer is PK whatever its priority
        ("urgent", True, "PK", "urgent"),
    ],
)
def test_priority_goes_as_kodeverk_8306(
    priority: str, pathway: bool, code: str, read_back: str
) -> None:
    data = henvisning.build(head(), referral(priority=priority, cancer_pathway=pathway))
    root = schemas.validate(data)
    found = root.find(f".//{{{henvisning.NS}}}ReqServ/{{{henvisning.NS}}}Priority")
    assert found.get("V") == code
    assert found.get("DN") == henvisning.PRIORITY_TEXTS[code]
    back = roundtrip(data)
    assert (back.priority, back.cancer_pathway) == (read_back, pathway)


@pytest.mark.parametrize("change", [henvisning.Change.CHANGE, henvisning.Change.CANCEL])
def test_a_change_or_cancellation_keeps_the_document_id_and_says_why(
    change: henvisning.Change,
) -> None:
    data = henvisning.build(
        head(msg_id="1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", conversation_ref=head().msg_id),
        referral(),
        change=change,
        note="Pasienten ønsker annet sykehus.",
    )
    received = henvisning.read(msghead.read(data))
    assert received.change is change
    assert received.note == "Pasienten ønsker annet sykehus."
    assert received.referral.document_id == referral().document_id


def test_names_of_codes_are_turned_into_oids() -> None:
    data = henvisning.build(
        head(), referral(diagnoses=(Code(system="ICD-10", code="C43.5", text="Melanom"),))
    )
    assert roundtrip(data).diagnoses == (Code(system=ICD10, code="C43.5", text="Melanom"),)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority": "whenever"}, "priority"),
        ({"referrer": Person(family_name="Uten", given_name="Nummer")}, "HPR"),
        ({"diagnoses": (Code(system="SNOMED", code="1"),)}, "OID"),
    ],
)
def test_a_referral_we_cannot_send_is_refused_before_it_is_built(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        henvisning.build(head(), referral(**changes))


def test_a_referral_goes_only_as_a_referral_message_type_and_names_the_patient() -> None:
    with pytest.raises(ValueError, match="DIALOG_NOTAT"):
        henvisning.build(head(msg_type="DIALOG_NOTAT"), referral())
    with pytest.raises(ValueError, match="patient"):
        henvisning.build(head(patient=None), referral())


def test_the_referrer_may_be_known_by_her_id_alone() -> None:
    by_her = Person(family_name="Hudlund", given_name="Åse", her_id=8140003)
    assert roundtrip(henvisning.build(head(), referral(referrer=by_her))).referrer == by_her


# --- free texts ---------------------------------------------------------------------------------

free_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="<>&\"'æøåÆØÅ \n\t\r;]]>-–€", max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reason=free_text, clinical=free_text, service=free_text)
def test_free_texts_survive_the_message_as_cleaned(
    reason: str, clinical: str, service: str
) -> None:
    sent = referral(reason=reason, clinical_information=clinical, requested_service=service)
    back = roundtrip(henvisning.build(head(), sent))
    assert back.reason == henvisning.clean_text(reason)
    assert back.clinical_information == henvisning.clean_text(clinical)
    assert back.requested_service == henvisning.clean_text(service)


@settings(max_examples=40, deadline=None)
@given(family=st.text(max_size=60), given_name=st.text(max_size=60), code_text=st.text(max_size=80))
def test_names_and_code_texts_survive_as_one_line(
    family: str, given_name: str, code_text: str
) -> None:
    referrer = Person(family_name=family, given_name=given_name, hpr_number="9144900")
    code = Code(system=ICD10, code="L40.0", text=code_text)
    back = roundtrip(henvisning.build(head(), referral(referrer=referrer, diagnoses=(code,))))
    assert back.referrer.family_name == henvisning.one_line(family)
    assert back.referrer.given_name == henvisning.one_line(given_name)
    assert back.diagnoses == (replace(code, text=henvisning.one_line(code_text)),)


@given(st.text())
def test_cleaning_a_text_twice_changes_nothing(text: str) -> None:
    once = henvisning.clean_text(text)
    assert henvisning.clean_text(once) == once
    assert "\r" not in once and "\x00" not in once


def test_ordinary_writing_is_kept_as_written() -> None:
    text = "Første linje.\nAndre linje: 5 < 7 & «sitat».\n\nNytt avsnitt – æøå ÆØÅ."
    assert henvisning.clean_text(text) == text


# --- what we receive ----------------------------------------------------------------------------


def read_example(path: Path) -> henvisning.ReceivedReferral:
    return henvisning.read(msghead.read(path.read_bytes()))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_kith_example_reads_into_a_referral(path: Path) -> None:
    received = read_example(path)
    ref = received.referral
    assert ref.reason
    assert ref.referrer.family_name and ref.referrer.hpr_number
    assert ref.document_id and ref.referred_at is not None and ref.referred_at.tzinfo
    assert ref.priority in ("urgent", "routine")
    expected = {"Ny": "N", "Endring": "M", "Kansellering": "C"}.get(path.stem.rsplit("_", 1)[-1])
    assert received.change.value == (expected or "N")
    assert received.onward is path.stem.startswith("Viderehenvisning")
    assert ref.cancer_pathway is ("pakkeforlop" in path.stem)
    if received.change is not henvisning.Change.NEW:
        assert received.note


def test_a_gps_referral_keeps_all_its_free_text_under_headings() -> None:
    ref = read_example(
        HERE / "examples/kith/Henvisning/Henvisning_v2-0/Henvisning_ny_tilstand_v2-0_Ny.xml"
    ).referral
    assert ref.reason.startswith("Stadig dårligere denne vinteren")
    assert "Ercoquin seponert" in ref.reason
    assert "\t" not in ref.reason
    info = ref.clinical_information
    for heading in (
        "Funn og undersøkelsesresultat:",
        "Cave-opplysninger:",
        "Legemiddelopplysning:",
        "Familie/sosialt:",
        "Behov for tolk eller assistert kommunikasjon:",
    ):
        assert heading in info
    assert "Får blodtrykksfall ved vepsestikk" in info
    assert "Paracet, tablett 500mg" in info
    assert "NORDSAMISK" in info
    assert ref.diagnoses == (
        Code(system=ICPC2, code="L88", text="Reumatoid artritt/reumatisk sykdom"),
    )
    assert ref.referrer == Person(family_name="Jones", given_name="May", hpr_number="9144919")
    assert ref.priority == "routine" and not ref.cancer_pathway
    assert ref.referred_at == dt.datetime(2018, 3, 30, 9, 15, tzinfo=OSLO)


def test_many_elements_example_keeps_precautions_comments_and_structured_drugs() -> None:
    received = read_example(
        HERE / "examples/kith/Henvisning/Henvisning_v2-0/"
        "Henvisning_ny_tilstand_v2-0_Test_mange_elementer.xml"
    )
    info = received.referral.clinical_information
    assert "Advarsel:\nGravid" in info
    assert "Spesielle hensyn:\nKommentar om spesielle hensyn" in info
    assert "Prednisolon (H02A B06), 20 mg, Økning til 20 mg daglig" in info
    assert received.referral.requested_service == "Kommentar ønsket undersøkelse"
    assert received.note == "Kommentar til henvisningen"


def test_an_onward_cancer_pathway_referral_brings_its_pathway_codes_and_the_pdf() -> None:
    path = (
        HERE / "examples/kith/Henvisning/Henvisning_v2-0/"
        "Viderehenvisning_v2-0_Rettighetsvurdert_etter_ventetid_pakkeforlop_Ny.xml"
    )
    envelope = msghead.read(path.read_bytes())
    received = henvisning.read(envelope)
    assert received.onward and received.referral.cancer_pathway
    assert received.referral.priority == "urgent"
    assert [c.code for c in received.pathway_codes] == ["A16A", "A16S", "A16CK"]
    assert [a.mime_type for a in envelope.attachments] == ["application/pdf"]


def test_a_cancellation_says_why() -> None:
    received = read_example(
        HERE / "examples/kith/Henvisning/Henvisning_v2-0/"
        "Henvisning_ny_tilstand_v2-0_Uten_rettighetsvurdering_Kansellering.xml"
    )
    assert received.change is henvisning.Change.CANCEL
    assert received.note == "Kansellerer henvisning da pasienten mirakuløst ble frisk."
    assert received.referral.document_id == "47f22b00-1f18-11e9-b56e-0800200c9a66"


# --- what we refuse -----------------------------------------------------------------------------


def test_a_payload_in_another_namespace_is_not_a_henvisning() -> None:
    envelope = msghead.read(henvisning.build(head(), referral()))
    old = etree.fromstring(
        etree.tostring(envelope.document).replace(
            henvisning.NS.encode(), b"http://www.kith.no/xmlstds/henvisning/2012-02-15"
        )
    )
    with pytest.raises(errors.InvalidMessage) as refused:
        henvisning.parse(Envelope(head=envelope.head, document=old))
    assert [p.code for p in refused.value.problems] == [errors.UNSUPPORTED_FORMAT]
    assert "Henvisning" in refused.value.problems[0].details


def test_a_dialogmelding_is_not_a_henvisning() -> None:
    path = next((HERE / "examples/kith/Dialogmelding/Dialogmelding-v1-1").glob("*.xml"))
    envelope = msghead.read(path.read_bytes())
    with pytest.raises(errors.InvalidMessage) as refused:
        henvisning.parse(envelope)
    assert refused.value.problems[0].code == errors.UNSUPPORTED_FORMAT


def without(data: bytes, local_name: str) -> bytes:
    root = etree.fromstring(data)
    for element in root.iter(f"{{{henvisning.NS}}}{local_name}"):
        element.getparent().remove(element)
        break
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("missing", ["ReqServ", "DocumentId", "ServType"])
def test_a_henvisning_missing_a_mandatory_element_is_refused(missing: str) -> None:
    broken = without(henvisning.build(head(), referral()), missing)
    with pytest.raises(errors.InvalidMessage) as refused:
        msghead.read(broken)
    assert refused.value.problems and refused.value.problems[0].code == errors.INVALID
    assert missing in " ".join(p.details for p in refused.value.problems)
    # Even handed an unvalidated payload, the parser says what is missing instead of guessing.
    unvalidated = etree.fromstring(broken).find(f".//{{{henvisning.NS}}}Henvisning")
    with pytest.raises(errors.InvalidMessage) as refused_again:
        henvisning.parse(Envelope(head=head(), document=unvalidated))
    assert missing in refused_again.value.problems[0].details
