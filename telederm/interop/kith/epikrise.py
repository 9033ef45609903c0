"""Epikrise 1.2: the discharge summary to the GP when a consultation is closed, and one read.

The payload (namespace http://www.kith.no/xmlstds/epikrise/2012-02-15, `xsd/Epikrise-v1.2.xsd`)
is a whole `Message` with its own type, version, time and id, carried inside MsgHead 1.2:
`build` hands it to `msghead.build` (which adds attachments and validates), `parse` takes the
`Envelope` of a validated message. KITH's examples (tests/examples/kith/Epikrise/Epikrise_v1-2)
are bare `Message` documents; the tests wrap them in a MsgHead to read them.

What goes where (as in KITH's examples):
- `summary` → Event/Comment with heading VU "Vurdering" (kodeverk 8311);
- `follow_up` → Event/Comment with heading OP "Planer for videre oppfølging";
- `diagnoses` → Event/InfItem/Observation/CodedDescr, type H "Hoveddiagnose" for the first and
  B "Bidiagnose" for the rest (kodeverk 8233);
- `medications` → one Event/InfItem/Observation of type MEDB "Legemiddelopplysning" per line
  (unstructured drug information, as KITH's Henvisning example shows it);
- `responsible` → RelServProvider with relation AHP "Ansvarlig helsepersonell";
- `consultation_at` → Event/ReportedEvent/StartDateTime, `document_id` → ServProvId;
- the patient, our clinic (ServProvider) and the GP (Requester) come from the `Head`.
Free texts go as XHTML paragraphs (`<p>`, `<br/>`), as KITH's examples write them, so that the
GP's record shows the lines as written.

Reading, the parts of a discharge summary that are not diagnoses, medication or follow-up
(reason for admission, course and treatment, findings, history, CAVE, assessment, sick leave,
information to the patient) are all kept in `summary`, each under its heading.

Pure: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from . import errors, msghead
from .henvisning import (
    Change,
    clean_text,
    code_system,
    join_parts,
    medication_line,
    not_a,
    one_line,
    read_change,
    read_time,
)
from .model import ICD10, ICPC2, Attachment, Code, DischargeSummary, Envelope, Head, Party, Person

NS = "http://www.kith.no/xmlstds/epikrise/2012-02-15"
XHTML = "http://www.w3.org/1999/xhtml"
MIG_VERSION = "v1.2 2012-02-15"
MSG_TYPE = "EPIKRISE"  # kodeverk 8279
MSG_TYPE_TEXT = "Epikrise"
DESCRIPTION = "Poliklinisk epikrise"  # MsgDescr: a remote outpatient consultation

CHANGE_TEXTS = {Change.NEW: "Ny", Change.CHANGE: "Endring", Change.CANCEL: "Kansellering"}
# Kodeverk 8311, the headings of Event/Comment we write.
SUMMARY_HEADING = ("VU", "Vurdering")
FOLLOW_UP_HEADING = ("OP", "Planer for videre oppfølging")
# Kodeverk 8233, kinds of clinical information.
MAIN_DIAGNOSIS = ("H", "Hoveddiagnose")
OTHER_DIAGNOSIS = ("B", "Bidiagnose")
MEDICATION = ("MEDB", "Legemiddelopplysning")
SEX_TEXTS = {"0": "Ikke kjent", "1": "Mann", "2": "Kvinne", "9": "Ikke relevant"}  # 3101

# Titles KITH's examples put before a professional's name ("Overlege Rita Lin"), read back
# into Person.title.
TITLES = frozenset(
    {
        "overlege",
        "seksjonsoverlege",
        "avdelingsoverlege",
        "lege",
        "turnuslege",
        "lis",
        "lis-lege",
        "assistentlege",
        "spesialist",
        "legespesialist",
        "hudlege",
        "fastlege",
        "professor",
        "dr.",
        "sykepleier",
    }
)


@dataclass(frozen=True)
class ReceivedDischargeSummary:
    """An Epikrise as read: the summary and what the message does with it.

    ServProvId names the discharge summary across its versions: CHANGE replaces the one with the
    same `document_id`, CANCEL withdraws it (ServType, kodeverk 7309)."""

    discharge_summary: DischargeSummary
    change: Change = Change.NEW


# --- building ---------------------------------------------------------------------------------


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{NS}}}{name}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


def _xhtml(parent: etree._Element, text: str) -> None:
    """Text as XHTML: a paragraph per blank-line-separated block, a <br/> per line end."""
    div = etree.SubElement(parent, f"{{{XHTML}}}div", nsmap={None: XHTML})
    for paragraph in text.split("\n\n"):
        p = etree.SubElement(div, f"{{{XHTML}}}p")
        first, *rest = paragraph.split("\n")
        p.text = first
        for line in rest:
            etree.SubElement(p, f"{{{XHTML}}}br").tail = line


def _her_id(parent: etree._Element, her_id: int) -> None:
    _el(parent, "Id", str(her_id))
    _el(parent, "TypeId", V="HER", DN="HER-id")


def _inst(parent: etree._Element, party: Party) -> etree._Element:
    hcp = _el(parent, "HCP")
    inst = _el(hcp, "Inst")
    _el(inst, "Name", one_line(party.organisation.name))
    if party.organisation.her_id is not None:
        _her_id(inst, party.organisation.her_id)
    if party.department is not None:
        dept = _el(inst, "Dept")
        _el(dept, "Name", one_line(party.department.name))
        if party.department.her_id is not None:
            _her_id(dept, party.department.her_id)
    if party.person is not None:
        person = _el(inst, "HCPerson")
        _el(person, "Name", one_line(party.person.full_name))
        if party.person.her_id is not None:
            _her_id(person, party.person.her_id)
        elif party.person.hpr_number:
            _el(person, "Id", party.person.hpr_number)
            _el(person, "TypeId", V="HPR", DN="HPR-nummer")
    return inst


def display_name(person: Person) -> str:
    """A professional's name as Epikrise writes it: "Overlege Rita Lin"."""
    return one_line(" ".join(filter(None, (person.title, person.given_name, person.family_name))))


def payload(
    summary: DischargeSummary,
    *,
    head: Head,
    change: Change = Change.NEW,
) -> etree._Element:
    """The Epikrise `Message` element for `summary` (msghead.build validates it)."""
    if head.patient is None:
        raise ValueError("an Epikrise needs the patient in the head")
    issued = msghead.local_time(head.generated_at)
    root = etree.Element(f"{{{NS}}}Message", nsmap={None: NS})
    _el(root, "Type", V=MSG_TYPE, DN=MSG_TYPE_TEXT)
    _el(root, "MIGversion", MIG_VERSION)
    _el(root, "GenDate", V=issued)
    _el(root, "MsgId", head.msg_id)
    report = _el(root, "ServRprt")
    _el(report, "ServType", V=change.value, DN=CHANGE_TEXTS[change])
    _el(report, "IssueDate", V=issued)
    _el(report, "Status", V="F", DN="Endelig rapport")  # kodeverk 7306
    _el(report, "MsgDescr", DESCRIPTION)
    _el(report, "ServProvId", summary.document_id or head.msg_id)

    event = _el(report, "Event")
    reported = _el(event, "ReportedEvent")
    _el(
        reported,
        "StartDateTime",
        V=msghead.local_time(summary.consultation_at or head.generated_at),
    )
    _el(event, "ServType", V="N", DN="Ny")
    _el(event, "Service")
    for number, code in enumerate(summary.diagnoses):
        item = _el(event, "InfItem")
        coded = _el(_el(item, "Observation"), "CodedDescr")
        _el(
            coded,
            "Concept",
            V=code.code.strip(),
            S=code_system(code.system),
            DN=one_line(code.text),
        )
        kind = MAIN_DIAGNOSIS if number == 0 else OTHER_DIAGNOSIS
        _el(item, "Type", V=kind[0], DN=kind[1])
    for line in summary.medications:
        if text := clean_text(line):
            item = _el(event, "InfItem")
            _xhtml(_el(_el(item, "Observation"), "Description"), text)
            _el(item, "Type", V=MEDICATION[0], DN=MEDICATION[1])
    for heading, value in (
        (SUMMARY_HEADING, summary.summary),
        (FOLLOW_UP_HEADING, summary.follow_up),
    ):
        if text := clean_text(value):
            comment = _el(event, "Comment")
            _el(comment, "Heading", V=heading[0], DN=heading[1])
            _xhtml(_el(comment, "TextResultValue"), text)

    patient = head.patient
    element = _el(report, "Patient")
    if patient.sex:
        _el(element, "Sex", V=patient.sex, DN=SEX_TEXTS.get(patient.sex, ""))
    if patient.birth_date is not None:
        _el(element, "DateOfBirth", V=patient.birth_date.isoformat())
    _el(element, "Name", one_line(f"{patient.family_name}, {patient.given_name}"))
    _el(element, "OffId", patient.identifier)
    _el(
        element,
        "TypeOffId",
        V=str(patient.identifier_kind),
        DN=msghead.ID_TEXTS.get(patient.identifier_kind, ""),
    )

    provider = _el(report, "ServProvider")
    _el(provider, "Role", V="SPR", DN="Tjenesteyter")
    _el(provider, "ComMethod", V="EDI", DN="EDI")
    _inst(provider, replace(head.sender, person=None))
    requester = _el(report, "Requester")
    _el(requester, "Role", V="REQ", DN="Rekvirent")
    _el(requester, "ComMethod", V="EDI", DN="EDI")
    _inst(requester, head.receiver)
    related = _el(report, "RelServProvider")
    _el(related, "Relation", V="AHP", DN="Ansvarlig helsepersonell")
    prof = _el(_el(related, "HCP"), "HCProf")
    _el(prof, "Name", display_name(summary.responsible))
    if summary.responsible.hpr_number:
        _el(prof, "Id", summary.responsible.hpr_number)
        _el(prof, "TypeId", V="HPR", DN="HPR-nummer")
    elif summary.responsible.her_id is not None:
        _el(prof, "Id", str(summary.responsible.her_id))
        _el(prof, "TypeId", V="HER", DN="HER-id")
    return root


def build(
    head: Head,
    summary: DischargeSummary,
    attachments: Iterable[Attachment] = (),
    *,
    change: Change = Change.NEW,
) -> bytes:
    """A validated MsgHead document carrying `summary` as Epikrise 1.2, with attachments.

    `head.msg_type` must be EPIKRISE and `head.patient` set; `change` sends a change or a
    cancellation of the summary with the same document id."""
    if head.msg_type != MSG_TYPE:
        raise ValueError(f"an Epikrise goes as {MSG_TYPE}, not {head.msg_type!r}")
    if not head.msg_type_text:
        head = replace(head, msg_type_text=MSG_TYPE_TEXT)
    return msghead.build(head, payload(summary, head=head, change=change), tuple(attachments))


# --- reading ----------------------------------------------------------------------------------

_BLOCKS = frozenset(
    {"p", "div", "li", "ul", "ol", "table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre"}
)
_SPACE = re.compile(r"\s+")


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _flow(node: etree._Element, out: list[str]) -> None:
    name = etree.QName(node).localname
    if name == "br":
        out.append("\n")
    elif name == "tr":
        cells = [
            " ".join("".join(cell.itertext()).split())
            for cell in node
            if isinstance(cell.tag, str) and etree.QName(cell).localname in ("td", "th")
        ]
        out.append("\n" + " | ".join(cells))
        return
    elif name in _BLOCKS:
        out.append("\n\n")
    if node.text:
        out.append(_SPACE.sub(" ", node.text))
    for child in node:
        if isinstance(child.tag, str):
            _flow(child, out)
        if child.tail:
            out.append(_SPACE.sub(" ", child.tail))
    if name in _BLOCKS:
        out.append("\n\n")


def rich_text(element: etree._Element | None) -> str:
    """The text of a free-text element: plain text as written, XHTML as a reader sees it."""
    if element is None:
        return ""
    if not any(isinstance(child.tag, str) for child in element):
        return clean_text("".join(element.itertext()))
    out: list[str] = []
    if element.text:
        out.append(_SPACE.sub(" ", element.text))
    for child in element:
        if isinstance(child.tag, str):
            _flow(child, out)
        if child.tail:
            out.append(_SPACE.sub(" ", child.tail))
    return clean_text("".join(out))


def _text(element: etree._Element | None) -> str:
    return clean_text("".join(element.itertext())) if element is not None else ""


def _v(element: etree._Element | None, name: str = "V") -> str:
    return (element.get(name) or "").strip() if element is not None else ""


def _label(element: etree._Element | None, fallback: str = "") -> str:
    return one_line(_v(element, "DN") or _v(element) or fallback)


def split_name(name: str) -> Person:
    """A name as Epikrise writes it ("Overlege Rita Lin", "Lin, Rita") as a Person."""
    words = one_line(name).split(" ")
    title: list[str] = []
    while len(words) > 1 and words[0].lower() in TITLES:
        title.append(words.pop(0))
    rest = " ".join(words)
    if "," in rest:
        family, given = (part.strip() for part in rest.split(",", 1))
    else:
        *given_words, family = words
        given = " ".join(given_words)
    return Person(family_name=family, given_name=given, title=" ".join(title))


def _professional(hcp: etree._Element | None) -> Person | None:
    prof = hcp.find(_q("HCProf")) if hcp is not None else None
    if prof is None:
        return None
    person = split_name(_text(prof.find(_q("Name"))))
    kind, value = _v(prof.find(_q("TypeId"))), _text(prof.find(_q("Id")))
    if kind == "HPR":
        return replace(person, hpr_number=value)
    if kind == "HER" and value.isdigit():
        return replace(person, her_id=int(value))
    return person


def _responsible(report: etree._Element, head: Head) -> Person:
    """AHP "Ansvarlig helsepersonell", else the first related professional, else the sender's."""
    related = list(report.iter(_q("RelServProvider")))
    related.sort(key=lambda r: _v(r.find(_q("Relation"))) != "AHP")
    for element in related:
        if person := _professional(element.find(_q("HCP"))):
            return person
    return head.sender.person or Person(family_name="", given_name="")


def _observation(element: etree._Element) -> str:
    parts = [rich_text(element.find(_q("Description"))), _text(element.find(_q("Comment")))]
    concept = element.find(f"{_q('CodedDescr')}/{_q('Concept')}")
    if concept is not None:
        parts.append(" ".join(filter(None, (_v(concept), _v(concept, "DN")))))
    return clean_text("\n".join(p for p in parts if p))


def _result(element: etree._Element) -> str:
    values = [rich_text(v) for v in element.iter(_q("TextResultValue"), _q("DateResultValue"))]
    values += [
        " ".join(filter(None, (_v(v), _v(v, "U"))))
        for v in element.iter(_q("NumResultValue"), _q("Low"), _q("High"))
    ]
    values.append(_text(element.find(_q("Comment"))))
    found = " ".join(v for v in values if v)
    return ": ".join(filter(None, (_label(element.find(f"{_q('ClinInv')}/{_q('Id')}")), found)))


@dataclass
class _Reading:
    """What the events of a discharge summary say, gathered in document order."""

    main: list[Code] = field(default_factory=list)
    other: list[Code] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    summary: dict[str, list[str]] = field(default_factory=dict)
    follow_up: list[str] = field(default_factory=list)

    def item(self, item: etree._Element) -> None:
        """An InfItem: a diagnosis (H, B, or any ICD-10/ICPC-2 code), medication, or the rest."""
        kind = item.find(_q("Type"))
        concept = item.find(f"{_q('Observation')}/{_q('CodedDescr')}/{_q('Concept')}")
        if concept is not None and (
            _v(kind) in (MAIN_DIAGNOSIS[0], OTHER_DIAGNOSIS[0])
            or _v(concept, "S") in (ICD10, ICPC2)
        ):
            code = Code(system=_v(concept, "S"), code=_v(concept), text=_v(concept, "DN"))
            (self.main if _v(kind) == MAIN_DIAGNOSIS[0] else self.other).append(code)
        elif (medication := item.find(_q("Medication"))) is not None:
            self.medications.append(medication_line(medication, NS))
        elif (observation := item.find(_q("Observation"))) is not None:
            if text := _observation(observation):
                if _v(kind) == MEDICATION[0]:
                    self.medications.append(text)
                else:
                    self.summary.setdefault(_label(kind, "Klinisk opplysning"), []).append(text)
        elif (result := item.find(_q("ResultItem"))) is not None:
            self.summary.setdefault(_label(kind, "Klinisk opplysning"), []).append(_result(result))

    def comment(self, comment: etree._Element) -> None:
        """A Comment: OP is the follow-up, every other heading part of the summary."""
        heading = comment.find(_q("Heading"))
        codes = [_label(c) for c in comment.iterfind(_q("TextCode"))]
        text = clean_text("\n".join([rich_text(comment.find(_q("TextResultValue"))), *codes]))
        if not text:
            return
        if _v(heading) == FOLLOW_UP_HEADING[0]:
            self.follow_up.append(text)
        else:
            self.summary.setdefault(_label(heading, "Kommentar"), []).append(text)


def read(envelope: Envelope) -> ReceivedDischargeSummary:
    """The discharge summary a validated Epikrise 1.2 carries, and whether it is new, changed or
    cancelled. Raises `errors.InvalidMessage` if the payload is not one."""
    root = envelope.document
    if not isinstance(root, etree._Element) or root.tag != _q("Message"):
        raise not_a("an Epikrise Message", NS, root)
    report = root.find(_q("ServRprt"))
    if report is None or report.find(_q("ServType")) is None:
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID, "an Epikrise 1.2 must have ServRprt/ServType")]
        )
    reading = _Reading()
    started = None
    for event in report.iter(_q("Event")):
        if started is None:
            started = read_time(_v(event.find(f"{_q('ReportedEvent')}/{_q('StartDateTime')}")))
        for item in event.iterfind(_q("InfItem")):
            reading.item(item)
        for comment in event.iterfind(_q("Comment")):
            reading.comment(comment)
    parts = [(label, "\n\n".join(texts)) for label, texts in reading.summary.items()]
    result = DischargeSummary(
        summary=join_parts(parts),
        follow_up=clean_text("\n\n".join(reading.follow_up)),
        responsible=_responsible(report, envelope.head),
        diagnoses=tuple(reading.main + reading.other),
        medications=tuple(m for m in reading.medications if m),
        consultation_at=started,
        document_id=_text(report.find(_q("ServProvId"))) or _text(root.find(_q("MsgId"))),
    )
    change = read_change(_v(report.find(_q("ServType"))))
    return ReceivedDischargeSummary(discharge_summary=result, change=change)


def parse(envelope: Envelope) -> DischargeSummary:
    """The discharge summary a validated Epikrise 1.2 carries (see `read` for change/cancel)."""
    return read(envelope).discharge_summary
