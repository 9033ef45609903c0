"""Henvisning 2.0: our in-person referral to a hospital, and a GP's referral to us.

The payload (namespace http://ehelse.no/xmlstds/henvisning/2017-11-30, `xsd/Henvisning-v2.0.xsd`
with poKomponent-v2.0 and felleskomponent1) travels inside MsgHead 1.2: `build` hands the payload
element to `msghead.build`, which adds the photos as attachments and validates the whole message;
`parse` takes the `Envelope` that `msghead.read` made of a validated message.

What goes where (the KITH examples in tests/examples/kith/Henvisning/Henvisning_v2-0 show the
same use of each element):
- `reason` → ReasonAsText with heading PROB "Aktuell problemstilling" (kodeverk 8231);
- `clinical_information` → InfItem/Observation of type ANAM "Sykehistorie" (kodeverk 8233);
- `diagnoses` → Diagnosis/Concept, the first is the main condition (ICD-10 or ICPC-2 OIDs);
- `referrer` → po:AnsvarForRapport, relation HHE "Henvisende helsepersonell" (kodeverk 8254);
- `requested_service` → ReqServ/Comment ("Poliklinisk undersøkelse");
- `priority` and `cancer_pathway` → ReqServ/Priority, kodeverk 8306 "Hastegrad henvisning":
  see PRIORITY_CODES;
- `document_id` → DocumentId, `referred_at` → IssueDate (Europe/Oslo local time).

Reading a GP's referral, every free-text part of the message is kept: the problem statement and
the expected examination (PROB, UTRED) become `reason`; findings, history, medication, CAVE,
other headings, comments, precautions and the need for an interpreter become
`clinical_information`, each under its heading. `read` also says whether the message is a new
referral, a change or a cancellation (ServType, kodeverk 7309): see `ReceivedReferral`.

Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from . import errors, msghead
from .model import ICD10, ICPC2, Attachment, Code, Envelope, Head, Person, Referral

NS = "http://ehelse.no/xmlstds/henvisning/2017-11-30"
PO = "http://ehelse.no/xmlstds/po/poKomponent/2017-11-30"
FK1 = "http://www.kith.no/xmlstds/felleskomponent1"
NSMAP = {None: NS, "po": PO, "fk1": FK1}

OSLO = ZoneInfo("Europe/Oslo")

# Kodeverk 8279 "Meldingens funksjon". KITH's Henvisning 2.0 examples send a referral for a new
# condition as HENVISNING_NYTILSTAND and an onward referral between hospitals as
# HENVISNING_VIDERE; Henvisning 1.x used HENVISNING. Ours is a referral for a new condition
# (Telederm is not a hospital passing on a rights-assessed referral).
MSG_TYPE = "HENVISNING_NYTILSTAND"
MSG_TYPES = {
    "HENVISNING_NYTILSTAND": "Henvisning ny tilstand",
    "HENVISNING_VIDERE": "Viderehenvisning",
    "HENVISNING": "Henvisning",
}

KODEVERK_8116 = "2.16.578.1.12.4.1.1.8116"  # identifier kinds (HPR, HER, FNR ...)
KODEVERK_8231 = "2.16.578.1.12.4.1.1.8231"  # headings of ReasonAsText
KODEVERK_8233 = "2.16.578.1.12.4.1.1.8233"  # kinds of clinical information (InfItem/Type)
KODEVERK_8254 = "2.16.578.1.12.4.1.1.8254"  # relation to the report (AnsvarForRapport)
KODEVERK_8455 = "2.16.578.1.12.4.1.1.8455"  # what the message is about (TypeInnhold)

# Kodeverk 8306 "Hastegrad henvisning" (OID 2.16.578.1.12.4.1.1.8306; Helsedirektoratet's
# "Nasjonal veileder for henvisninger til spesialisthelsetjenesten"): 0 Øyeblikkelig hjelp,
# 3 Haster (elektiv), N Elektiv/Ordinær (elektiv), PK Pakkeforløp for kreft (elektiv). The DN
# texts are those of the KITH examples. Our mapping:
# - suspected cancer (Case.pathway "pk_melanoma") goes as PK whatever its priority: the cancer
#   patient pathway starts when specialist care receives a referral marked so (FACTS.md);
# - "urgent" and "soon" go as 3 "Haster": the code list has no grade between "haster" and
#   "ordinær", and a referral must not arrive less urgent than the dermatologist meant;
# - "routine" goes as N;
# - we never send 0: an emergency is not referred by message but by phone (113, legevakt).
# Reading, 0 and 3 become "urgent", N "routine", PK "urgent" with the cancer pathway, so the
# clinic looks at a GP's urgent referral on the urgent clock.
PRIORITY_TEXTS = {
    "0": "Øyeblikkelig hjelp",
    "3": "Haster (elektiv)",
    "N": "Elektiv/Ordinær (elektiv)",
    "PK": "Pakkeforløp for kreft (elektiv)",
}
PRIORITY_CODES = {"urgent": "3", "soon": "3", "routine": "N"}
CANCER_PATHWAY_CODE = "PK"
PRIORITY_READ = {"0": "urgent", "3": "urgent", "N": "routine", "PK": "urgent"}

# Kodeverk 8231, the headings whose text says why the patient is referred.
REASON_HEADINGS = ("PROB", "UTRED")
HEADING_TEXTS = {
    "PROB": "Aktuell problemstilling",
    "UTRED": "Forventet utredning/behandling",
}
CLINICAL_TYPE = ("ANAM", "Sykehistorie")  # kodeverk 8233

_ALIASES = {"ICD10": ICD10, "ICD-10": ICD10, "ICPC2": ICPC2, "ICPC-2": ICPC2}
_OID = re.compile(r"(\d+\.?)*\d+")


class Change(StrEnum):
    """ServType, kodeverk 7309: what the message does to the referral named by its DocumentId."""

    NEW = "N"
    CHANGE = "M"
    CANCEL = "C"


CHANGE_TEXTS = {Change.NEW: "Ny", Change.CHANGE: "Endring", Change.CANCEL: "Kansellering"}


@dataclass(frozen=True)
class ReceivedReferral:
    """A Henvisning as read: the referral and what the message does with it.

    The DocumentId names the referral across its versions (the KITH examples keep it from Ny to
    Endring and Kansellering, which also carry a ConversationRef to the first message). For us:
    NEW makes a case; CHANGE replaces the text of the case made from the same document id (or,
    once a dermatologist has begun, is added to it as news); CANCEL withdraws that case unless it
    has been answered. `note` is the sender's ReqComment, the reason for a change or
    cancellation.
    """

    referral: Referral
    change: Change = Change.NEW
    note: str = ""
    onward: bool = False
    """A Viderehenvisning (HENVISNING_VIDERE): passed on by another hospital."""
    pathway_codes: tuple[Code, ...] = ()
    """Pakkeforlop codes (kodeverk 8480) an onward referral carries."""


# --- text -------------------------------------------------------------------------------------

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """The text as it survives a message: what `build` writes and `parse` gives back.

    XML 1.0 cannot carry control characters; line ends become \\n; runs of spaces and tabs
    become one space (incoming texts are indented with the XML around them); lines are
    trimmed; blank lines between paragraphs are kept, one at most.
    """
    text = _ILLEGAL_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    blank = False
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            blank = bool(lines)
            continue
        if blank:
            lines.append("")
            blank = False
        lines.append(line)
    return "\n".join(lines)


def one_line(text: str) -> str:
    """`clean_text` for attributes and names: one line."""
    return " ".join(_ILLEGAL_XML.sub("", text).split())


def join_parts(parts: Sequence[tuple[str, str]]) -> str:
    """Headed text parts as one text: a lone part as it is, several each under its heading."""
    parts = [(label, text) for label, text in parts if text]
    if len(parts) == 1:
        return parts[0][1]
    return clean_text("\n\n".join(f"{label}:\n{text}" if label else text for label, text in parts))


# --- codes and times --------------------------------------------------------------------------


def code_system(system: str) -> str:
    """The OID of a code system: OIDs pass, ICD-10 and ICPC-2 may be named."""
    oid = _ALIASES.get(system.strip().upper(), system.strip())
    if not _OID.fullmatch(oid):
        raise ValueError(f"code system {system!r} is not an OID (KITH messages need one)")
    return oid


def read_time(value: str | None) -> dt.datetime | None:
    """A dateTime or date from a message; local times are Europe/Oslo."""
    if not value:
        return None
    value = value.strip()
    try:
        if "T" not in value:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=OSLO)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=OSLO)


# --- building ---------------------------------------------------------------------------------


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


def _concept(parent: etree._Element, name: str, code: Code) -> None:
    _el(
        parent,
        NS,
        name,
        V=code.code.strip(),
        S=code_system(code.system),
        DN=one_line(code.text),
    )


def _professional(parent: etree._Element, ns: str, name: str, person: Person) -> None:
    """A fk1:HealthcareProfessional: a doctor with HPR number and/or HER-id (one is required)."""
    if not person.hpr_number and person.her_id is None:
        raise ValueError("the referring professional needs an HPR number or a HER-id")
    pro = _el(parent, ns, name)
    _el(pro, FK1, "TypeHealthcareProfessional", V="LE", DN="Lege")
    if person.family_name:
        _el(pro, FK1, "FamilyName", one_line(person.family_name))
    if person.given_name:
        _el(pro, FK1, "GivenName", one_line(person.given_name))
    idents = [("HPR", "HPR-nummer", person.hpr_number)]
    if person.her_id is not None:
        idents.append(("HER", "HER-id", str(person.her_id)))
    for kind, text, value in idents:
        if value:
            ident = _el(pro, FK1, "Ident")
            _el(ident, FK1, "Id", value)
            _el(ident, FK1, "TypeId", V=kind, DN=text, S=KODEVERK_8116)


def payload(
    referral: Referral,
    *,
    issued_at: dt.datetime,
    document_id: str,
    change: Change = Change.NEW,
    note: str = "",
) -> etree._Element:
    """The Henvisning element for `referral` (not yet validated: msghead.build does that)."""
    if referral.priority not in PRIORITY_CODES:
        raise ValueError(f"unknown priority {referral.priority!r}")
    root = etree.Element(f"{{{NS}}}Henvisning", nsmap=NSMAP)
    _el(root, NS, "ServType", V=change.value, DN=CHANGE_TEXTS[change])
    _el(root, NS, "IssueDate", msghead.local_time(referral.referred_at or issued_at))
    if note := clean_text(note):
        _el(root, NS, "ReqComment", note)
    _el(root, NS, "DocumentId", referral.document_id or document_id)
    responsible = _el(root, PO, "AnsvarForRapport")
    _professional(responsible, PO, "AnsvarligRapport", referral.referrer)
    _el(
        responsible,
        PO,
        "TypeRelasjon",
        V="HHE",
        S=KODEVERK_8254,
        DN="Henvisende helsepersonell",
    )
    content = _el(root, PO, "TypeInnholdIMelding")
    _el(content, PO, "TypeInnhold", V="10", S=KODEVERK_8455, DN="Utredning/behandling")
    if clinical := clean_text(referral.clinical_information):
        item = _el(root, NS, "InfItem")
        _el(_el(item, NS, "Observation"), NS, "Description", clinical)
        _el(item, NS, "Type", V=CLINICAL_TYPE[0], S=KODEVERK_8233, DN=CLINICAL_TYPE[1])
    if reason := clean_text(referral.reason):
        part = _el(root, NS, "ReasonAsText")
        _el(part, NS, "Heading", V="PROB", S=KODEVERK_8231, DN=HEADING_TEXTS["PROB"])
        _el(part, NS, "TextResultValue", reason)
    for code in referral.diagnoses:
        _concept(_el(root, NS, "Diagnosis"), "Concept", code)
    service = _el(root, NS, "ReqServ")
    _el(service, NS, "ServType", V="N", DN="Ny")
    priority = CANCER_PATHWAY_CODE if referral.cancer_pathway else PRIORITY_CODES[referral.priority]
    _el(service, NS, "Priority", V=priority, DN=PRIORITY_TEXTS[priority])
    if requested := clean_text(referral.requested_service):
        _el(service, NS, "Comment", requested)
    return root


def build(
    head: Head,
    referral: Referral,
    attachments: Iterable[Attachment] = (),
    *,
    change: Change = Change.NEW,
    note: str = "",
) -> bytes:
    """A validated MsgHead document carrying `referral` as Henvisning 2.0, with attachments.

    `head.msg_type` must be a referral type of kodeverk 8279 (MSG_TYPES, ours is MSG_TYPE);
    its text is filled in if empty. `change` and `note` send a change or cancellation of the
    referral with the same document id.
    """
    if head.patient is None:
        raise ValueError("a Henvisning needs the patient in the head")
    if head.msg_type not in MSG_TYPES:
        raise ValueError(f"a Henvisning goes as one of {sorted(MSG_TYPES)}, not {head.msg_type!r}")
    if not head.msg_type_text:
        head = replace(head, msg_type_text=MSG_TYPES[head.msg_type])
    element = payload(
        referral,
        issued_at=head.generated_at,
        document_id=head.msg_id,
        change=change,
        note=note,
    )
    return msghead.build(head, element, tuple(attachments))


# --- reading ----------------------------------------------------------------------------------


def _q(*steps: str, ns: str = NS) -> str:
    """A path of steps in one namespace, for find/iterfind."""
    return "/".join(f"{{{ns}}}{step}" for step in steps)


def _text(element: etree._Element | None) -> str:
    return clean_text("".join(element.itertext())) if element is not None else ""


def _v(element: etree._Element | None, name: str = "V") -> str:
    return (element.get(name) or "").strip() if element is not None else ""


def _label(element: etree._Element | None, fallback: str = "") -> str:
    """A coded value as a reader names it: its display text, else its code."""
    return one_line(_v(element, "DN") or _v(element, "OT") or _v(element) or fallback)


def _lines(*texts: str) -> str:
    return clean_text("\n".join(text for text in texts if text))


def _code(element: etree._Element) -> Code:
    return Code(
        system=_v(element, "S"),
        code=_v(element),
        text=one_line(_v(element, "DN") or _v(element, "OT")),
    )


def medication_line(element: etree._Element, ns: str) -> str:
    """A structured Medication as one line: "Furix (C03C A01), 20 mg, 1 tabl. om morgenen"."""
    drug = element.find(_q("DrugId", ns=ns))
    name, code = _label(drug), _v(drug)
    if code and code != name:
        name = f"{name} ({code})" if name else code
    dose = element.find(_q("UnitDose", ns=ns))
    amount = " ".join(filter(None, (_v(dose), _v(dose, "U"))))
    words = (
        name,
        amount,
        _text(element.find(_q("DosageText", ns=ns))),
        _text(element.find(_q("Comment", ns=ns))),
    )
    return ", ".join(word for word in words if word)


def not_a(format_name: str, ns: str, document: object) -> errors.InvalidMessage:
    """The refusal of a payload that is not the format a parser reads (T10)."""
    found = etree.QName(document).text if isinstance(document, etree._Element) else "nothing"
    return errors.InvalidMessage(
        [
            errors.problem(
                errors.UNSUPPORTED_FORMAT,
                f"expected {format_name} in namespace {ns}, found {found}",
            )
        ]
    )


def _person(element: etree._Element | None) -> Person | None:
    """A fk1 HealthcareProfessional or Person as a Person (a middle name joins the given)."""
    if element is None:
        return None
    hpr, her = "", None
    for ident in element.iterfind(_q("Ident", ns=FK1)):
        kind, value = _v(ident.find(_q("TypeId", ns=FK1))), _text(ident.find(_q("Id", ns=FK1)))
        if kind == "HPR" and not hpr:
            hpr = value
        elif kind == "HER" and her is None and value.isdigit():
            her = int(value)
    names = [_text(element.find(_q(n, ns=FK1))) for n in ("GivenName", "MiddleName")]
    return Person(
        family_name=_text(element.find(_q("FamilyName", ns=FK1))),
        given_name=" ".join(filter(None, names)),
        hpr_number=hpr,
        her_id=her,
    )


def _referrer(root: etree._Element, head: Head) -> Person:
    """The referring professional: HHE in AnsvarForRapport, else the first one named there,
    else the person in the MsgHead sender."""
    candidates = list(root.iterfind(_q("AnsvarForRapport", ns=PO)))
    candidates.sort(key=lambda r: _v(r.find(_q("TypeRelasjon", ns=PO))) != "HHE")
    for responsible in candidates:
        if person := _person(responsible.find(_q("AnsvarligRapport", ns=PO))):
            return person
    return head.sender.person or Person(family_name="", given_name="")


def _result(element: etree._Element) -> str:
    values = [_text(v) for v in element.iter(_q("TextResultValue"), _q("DateResultValue"))]
    values += [
        " ".join(filter(None, (_v(v), _v(v, "U"))))
        for v in element.iter(_q("NumResultValue"), _q("Low"), _q("High"))
    ]
    values.append(_text(element.find(_q("Comment"))))
    found = " ".join(v for v in values if v)
    return ": ".join(filter(None, (_label(element.find(_q("ClinInv", "Id"))), found)))


def _inf_item(item: etree._Element) -> str:
    if (observation := item.find(_q("Observation"))) is not None:
        return _lines(
            _text(observation.find(_q("Description"))), _text(observation.find(_q("Comment")))
        )
    if (medication := item.find(_q("Medication"))) is not None:
        return medication_line(medication, NS)
    if (result := item.find(_q("ResultItem"))) is not None:
        return _result(result)
    return ""


def _interpreter(element: etree._Element) -> str:
    """InfoAssistertKommunikasjon: who needs an interpreter, in which language, and why."""
    lines = []
    for need in element.iterfind(_q("AssistertKommunikasjon", ns=PO)):
        person = _person(need.find(_q("PersonTolkebehov", ns=PO)))
        words = (
            person.full_name if person else "",
            _label(need.find(_q("BehovTolkSprak", ns=PO))),
            "hørselsvikt" if _text(need.find(_q("Horselsvikt", ns=PO))) == "true" else "",
            "synsvikt" if _text(need.find(_q("Synsvikt", ns=PO))) == "true" else "",
            _text(need.find(_q("Merknad", ns=PO))),
        )
        lines.append(", ".join(word for word in words if word))
    return "\n".join(lines)


def _require(root: etree._Element, *steps: str) -> etree._Element:
    """An element the schema requires: an unvalidated payload without it is refused (T02)."""
    found = root.find(_q(*steps))
    if found is None:
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID, f"a Henvisning 2.0 must have {'/'.join(steps)}")]
        )
    return found


def _free_texts(root: etree._Element) -> tuple[str, str]:
    """(reason, clinical information) from every free-text part, each under its heading."""
    reasons: list[tuple[str, str]] = []
    clinical: dict[str, list[str]] = {}

    def add(label: str, text: str) -> None:
        if text:
            clinical.setdefault(label, []).append(text)

    for child in root:
        if child.tag == _q("ReasonAsText"):
            heading = child.find(_q("Heading"))
            codes = [_label(c) for c in child.iterfind(_q("TextCode"))]
            text = _lines(_text(child.find(_q("TextResultValue"))), *codes)
            if heading is None or _v(heading) in REASON_HEADINGS:
                reasons.append((HEADING_TEXTS.get(_v(heading), "") or _label(heading), text))
            else:
                add(_label(heading), text)
        elif child.tag == _q("InfItem"):
            add(_label(child.find(_q("Type")), "Klinisk opplysning"), _inf_item(child))
        elif child.tag == _q("PatientPrecaution"):
            add("Advarsel", _text(child.find(_q("Precaution"))))
        elif child.tag == _q("Comment"):
            codes = [_label(c) for c in child.iterfind(_q("CodedComment"))]
            text = _lines(_text(child.find(_q("TextResultValue"))), *codes)
            add(_label(child.find(_q("Heading")), "Kommentar"), text)
        elif child.tag == _q("InfoAssistertKommunikasjon", ns=PO):
            add("Behov for tolk eller assistert kommunikasjon", _interpreter(child))
    reason = join_parts(reasons)
    return reason, join_parts([(label, "\n".join(texts)) for label, texts in clinical.items()])


def read(envelope: Envelope) -> ReceivedReferral:
    """The referral a validated Henvisning 2.0 carries, and whether it is new, changed or
    cancelled. Raises `errors.InvalidMessage` if the payload is not one."""
    root = envelope.document
    if not isinstance(root, etree._Element) or root.tag != _q("Henvisning"):
        raise not_a("a Henvisning", NS, root)
    service_type = _v(_require(root, "ServType"))
    issued = read_time(_require(root, "IssueDate").text)
    document_id = _text(_require(root, "DocumentId"))
    priority = _v(_require(root, "ReqServ", "Priority"))
    note = _text(root.find(_q("ReqComment")))
    reason, clinical_information = _free_texts(root)
    pathway = tuple(_code(c) for c in root.iterfind(_q("Pakkeforlop", "Pakkeforlopskode")))
    referral = Referral(
        reason=reason or note,
        clinical_information=clinical_information,
        referrer=_referrer(root, envelope.head),
        priority=PRIORITY_READ.get(priority, "routine"),
        cancer_pathway=priority == CANCER_PATHWAY_CODE or bool(pathway),
        diagnoses=tuple(_code(c) for c in root.iterfind(_q("Diagnosis", "Concept"))),
        requested_service=_text(root.find(_q("ReqServ", "Comment"))),
        document_id=document_id,
        referred_at=issued,
    )
    return ReceivedReferral(
        referral=referral,
        change=read_change(service_type),
        note=note,
        onward=envelope.head.msg_type == "HENVISNING_VIDERE",
        pathway_codes=pathway,
    )


def read_change(service_type: str) -> Change:
    """ServType (kodeverk 7309) as a Change: A (Tillegg, an addition) changes the document like
    M does; anything else is taken as new."""
    return {"M": Change.CHANGE, "A": Change.CHANGE, "C": Change.CANCEL}.get(
        service_type, Change.NEW
    )


def parse(envelope: Envelope) -> Referral:
    """The referral a validated Henvisning 2.0 carries (see `read` for change/cancel)."""
    return read(envelope).referral
