"""MsgHead 1.2 (Hodemelding): the envelope around every KITH message, built and read.

`build` wraps a payload element (a Dialogmelding, a Henvisning, an Epikrise) and its attachments
in a MsgHead and returns validated UTF-8 bytes; `read` validates bytes and returns an `Envelope`
with the head, the payload element and the decoded attachments.

The shape follows KITH's examples (tests/examples/kith/Dialogmelding/Dialogmelding-v1-1): the
payload is the first Document (RefDoc/MsgType "XML", "XML-instans"), each attachment its own
Document (RefDoc/MsgType "A", "Vedlegg", with MimeType and Content/Base64Container). Identifiers
carry their kodeverk OIDs: 9051 for HER-id and organisation number, 8116 for personal numbers
and HPR-numbers. Times are written in Europe/Oslo local time without an offset, as the examples
write them, to the second.

Pure: no Django.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from lxml import etree

from . import errors, schemas
from .model import Attachment, Envelope, Head, IdKind, Organisation, Party, Patient, Person

NS = schemas.MSGHEAD
MIG_VERSION = "v1.2 2006-05-24"
OSLO = ZoneInfo("Europe/Oslo")

# Kodeverk OIDs for Ident/TypeId.
ID_SYSTEMS: dict[str, str] = {
    IdKind.HER: "2.16.578.1.12.4.1.1.9051",
    IdKind.ENH: "2.16.578.1.12.4.1.1.9051",
    IdKind.FNR: "2.16.578.1.12.4.1.1.8116",
    IdKind.DNR: "2.16.578.1.12.4.1.1.8116",
    IdKind.HNR: "2.16.578.1.12.4.1.1.8116",
    IdKind.HPR: "2.16.578.1.12.4.1.1.8116",
}
ID_TEXTS: dict[str, str] = {
    IdKind.HER: "HER-id",
    IdKind.ENH: "Organisasjonsnummeret i Enhetsregister",
    IdKind.FNR: "Fødselsnummer",
    IdKind.DNR: "D-nummer",
    IdKind.HNR: "H-nummer",
    IdKind.HPR: "HPR-nummer",
}
PATIENT_ID_KINDS = (IdKind.FNR, IdKind.DNR, IdKind.HNR)

# Kodeverk 8279 (Meldingens funksjon): the texts of the types we send or expect.
MSG_TYPE_TEXTS: dict[str, str] = {
    "DIALOG_HELSEFAGLIG": "Helsefaglig dialog",
    "DIALOG_NOTAT": "Notat",
    "DIALOG_FORESPORSEL": "Forespørsel",
    "DIALOG_SVAR": "Svar på forespørsel",
    "HENVISNING": "Henvisning",
    "HENVISNING_NYTILSTAND": "Henvisning ny tilstand",
    "HENVISNING_VIDERE": "Viderehenvisning",
    "EPIKRISE": "Epikrise",
    "APPREC": "Applikasjonskvittering",
}

# Kodeverk 3101 (Kjønn).
SEX_TEXTS = {"0": "Ikke kjent", "1": "Mann", "2": "Kvinne", "9": "Ikke relevant"}

PAYLOAD_MSG_TYPE = ("XML", "XML-instans")
ATTACHMENT_MSG_TYPE = ("A", "Vedlegg")


# --- times -------------------------------------------------------------------------------------


def local_time(moment: dt.datetime) -> str:
    """An aware datetime as MsgHead writes it: Oslo local time, to the second, no offset."""
    if moment.tzinfo is None:
        raise ValueError("KITH times must be timezone-aware")
    return moment.astimezone(OSLO).replace(tzinfo=None, microsecond=0).isoformat()


def parse_time(text: str) -> dt.datetime:
    """A dateTime from a message: with an offset or Z as given, without one in Oslo time."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=OSLO)
    return value


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip()[:10])


# --- small element helpers (also used by the payload builders) ---------------------------------


def sub(
    parent: etree._Element, ns: str, tag: str, value: str | None = None, **attrs: str
) -> etree._Element:
    """Append `<ns:tag attrs>value</ns:tag>` to parent; attributes with empty values are left out.

    Refuses characters XML 1.0 cannot carry (control characters) with a clear problem."""
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    for name, attribute in attrs.items():
        if attribute:
            element.set(name, _xml_text(attribute, f"{tag}/@{name}"))
    if value is not None:
        element.text = _xml_text(value, tag)
    return element


# Characters outside XML 1.0's Char production (control characters, surrogates, U+FFFE/FFFF):
# no XML document can carry them, escaped or not.
_NOT_XML_CHAR = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str, where: str) -> str:
    if bad := _NOT_XML_CHAR.search(value):
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.OTHER_FORMAT,
                    f"{where}: character U+{ord(bad.group()):04X} at position {bad.start()} "
                    "cannot be carried in XML",
                )
            ]
        )
    return value


def find(element: etree._Element, path: str, ns: str = NS) -> etree._Element | None:
    """`element.find` with every step of `path` in namespace `ns`."""
    return element.find("/".join(f"{{{ns}}}{step}" for step in path.split("/")))


def text(
    element: etree._Element | None, path: str = "", ns: str = NS, *, strip: bool = True
) -> str:
    """The text at `path` below element ("" when missing), stripped unless told not to (free
    text keeps what its writer wrote)."""
    if element is None:
        return ""
    target = find(element, path, ns) if path else element
    if target is None:
        return ""
    value = "".join(target.itertext())
    return value.strip() if strip else value


def attr(element: etree._Element | None, path: str, name: str = "V", ns: str = NS) -> str:
    if element is None:
        return ""
    target = find(element, path, ns)
    return (target.get(name) or "").strip() if target is not None else ""


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with the XML declaration written as KITH's examples write it."""
    body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# --- build -------------------------------------------------------------------------------------


def _ident(parent: etree._Element, value: str, kind: IdKind) -> None:
    ident = sub(parent, NS, "Ident")
    sub(ident, NS, "Id", value)
    sub(ident, NS, "TypeId", V=kind.value, DN=ID_TEXTS[kind], S=ID_SYSTEMS[kind])


def _organisation(parent: etree._Element, org: Organisation) -> etree._Element:
    element = sub(parent, NS, "Organisation")
    sub(element, NS, "OrganisationName", org.name)
    if org.her_id is not None:
        _ident(element, str(org.her_id), IdKind.HER)
    if org.organisation_number:
        _ident(element, org.organisation_number, IdKind.ENH)
    return element


def _professional(parent: etree._Element, person: Person) -> None:
    element = sub(parent, NS, "HealthcareProfessional")
    sub(element, NS, "FamilyName", person.family_name)
    sub(element, NS, "GivenName", person.given_name)
    if person.hpr_number:
        _ident(element, person.hpr_number, IdKind.HPR)
    if person.her_id is not None:
        _ident(element, str(person.her_id), IdKind.HER)


def party_element(parent: etree._Element, tag: str, party: Party) -> etree._Element:
    """Sender or Receiver: Organisation, its department as a sub-Organisation, the person."""
    element = sub(parent, NS, tag)
    org = _organisation(element, party.organisation)
    if party.department is not None:
        dept = _organisation(org, party.department)
        if party.person is not None:
            _professional(dept, party.person)
    elif party.person is not None:
        _professional(org, party.person)
    return element


def _patient(parent: etree._Element, patient: Patient) -> None:
    element = sub(parent, NS, "Patient")
    sub(element, NS, "FamilyName", patient.family_name)
    sub(element, NS, "GivenName", patient.given_name)
    if patient.birth_date is not None:
        sub(element, NS, "DateOfBirth", patient.birth_date.isoformat())
    if patient.sex:
        sub(element, NS, "Sex", V=patient.sex, DN=SEX_TEXTS.get(patient.sex, ""))
    if patient.identifier:
        _ident(element, patient.identifier, IdKind(patient.identifier_kind))


def _document(parent: etree._Element, issued: str, msg_type: tuple[str, str]) -> etree._Element:
    document = sub(parent, NS, "Document")
    ref = sub(document, NS, "RefDoc")
    sub(ref, NS, "IssueDate", V=issued)
    sub(ref, NS, "MsgType", V=msg_type[0], DN=msg_type[1])
    return ref


def build(head: Head, payload: etree._Element, attachments: Sequence[Attachment] = ()) -> bytes:
    """A MsgHead 1.2 document around `payload` with `attachments`, validated, as UTF-8 bytes.

    Raises `errors.InvalidMessage` when the result does not validate (or a text holds a
    character XML cannot carry): nothing invalid ever leaves."""
    if not head.msg_id.strip():
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID_MESSAGE_ID, "a message needs a MsgId")]
        )
    root = etree.Element(f"{{{NS}}}MsgHead", nsmap={None: NS})
    info = sub(root, NS, "MsgInfo")
    sub(
        info,
        NS,
        "Type",
        V=head.msg_type,
        DN=head.msg_type_text or MSG_TYPE_TEXTS.get(head.msg_type, ""),
    )
    sub(info, NS, "MIGversion", MIG_VERSION)
    generated = local_time(head.generated_at)
    sub(info, NS, "GenDate", generated)
    sub(info, NS, "MsgId", head.msg_id)
    sub(
        info,
        NS,
        "Ack",
        V="J" if head.ack_requested else "N",
        DN="Ja" if head.ack_requested else "Nei",
    )
    if head.conversation_ref or head.parent_ref:
        ref = sub(info, NS, "ConversationRef")
        sub(ref, NS, "RefToParent", head.parent_ref or head.conversation_ref)
        sub(ref, NS, "RefToConversation", head.conversation_ref or head.parent_ref)
    party_element(info, "Sender", head.sender)
    party_element(info, "Receiver", head.receiver)
    if head.patient is not None:
        _patient(info, head.patient)

    main = _document(root, generated, PAYLOAD_MSG_TYPE)
    content = sub(main, NS, "Content")
    content.append(payload)
    for attachment in attachments:
        ref = _document(root, generated, ATTACHMENT_MSG_TYPE)
        sub(ref, NS, "Id", attachment.filename)
        sub(ref, NS, "MimeType", attachment.mime_type)
        if attachment.description:
            sub(ref, NS, "Description", attachment.description)
        content = sub(ref, NS, "Content")
        container = etree.SubElement(
            content, f"{{{schemas.BASE64}}}Base64Container", nsmap={None: schemas.BASE64}
        )
        container.text = base64.b64encode(attachment.data).decode("ascii")

    data = serialize(root)
    schemas.validate(data)
    return data


# --- read --------------------------------------------------------------------------------------


def _id_of(element: etree._Element, kinds: Sequence[str]) -> tuple[str, str]:
    """The first Ident of one of `kinds`: (value, kind), or ("", "")."""
    for ident in element.findall(f"{{{NS}}}Ident"):
        kind = attr(ident, "TypeId")
        if kind in kinds:
            return text(ident, "Id"), kind
    return "", ""


def _her(element: etree._Element) -> int | None:
    value, _ = _id_of(element, [IdKind.HER])
    return int(value) if value.isdigit() else None


def _read_organisation(element: etree._Element) -> Organisation:
    return Organisation(
        name=text(element, "OrganisationName"),
        her_id=_her(element),
        organisation_number=_id_of(element, [IdKind.ENH])[0],
    )


def read_person(element: etree._Element, ns: str = NS) -> Person:
    """A HealthcareProfessional (MsgHead's, or a payload's with fk1 Idents) as a Person."""
    hpr = her = ""
    for ident in element.findall(f"{{{ns}}}Ident"):
        children = {etree.QName(c).localname: c for c in ident if isinstance(c.tag, str)}
        kind = (children["TypeId"].get("V") or "").strip() if "TypeId" in children else ""
        value = "".join(children["Id"].itertext()).strip() if "Id" in children else ""
        if kind == IdKind.HPR and not hpr:
            hpr = value
        elif kind == IdKind.HER and not her:
            her = value
    return Person(
        family_name=text(element, "FamilyName", ns),
        given_name=text(element, "GivenName", ns),
        hpr_number=hpr,
        her_id=int(her) if her.isdigit() else None,
    )


def _read_party(element: etree._Element | None) -> Party:
    org_element = find(element, "Organisation") if element is not None else None
    if org_element is None:
        return Party(organisation=Organisation(name=""))
    department = None
    person = None
    dept_element = find(org_element, "Organisation")
    if dept_element is not None:
        department = _read_organisation(dept_element)
        hcp = find(dept_element, "HealthcareProfessional")
        if hcp is not None:
            person = read_person(hcp)
    hcp = find(org_element, "HealthcareProfessional")
    if person is None and hcp is not None:
        person = read_person(hcp)
    return Party(organisation=_read_organisation(org_element), department=department, person=person)


def _read_patient(element: etree._Element | None) -> Patient | None:
    if element is None:
        return None
    identifier, kind = _id_of(element, PATIENT_ID_KINDS)
    birth = text(element, "DateOfBirth")
    return Patient(
        family_name=text(element, "FamilyName"),
        given_name=text(element, "GivenName"),
        identifier=identifier,
        identifier_kind=IdKind(kind) if kind else IdKind.FNR,
        birth_date=parse_date(birth) if birth else None,
        sex=attr(element, "Sex"),
    )


def read_head(root: etree._Element) -> Head:
    """MsgInfo of a validated MsgHead as a Head."""
    info = find(root, "MsgInfo")
    assert info is not None  # the schema requires it
    return Head(
        msg_id=text(info, "MsgId"),
        msg_type=attr(info, "Type"),
        msg_type_text=attr(info, "Type", "DN"),
        generated_at=parse_time(text(info, "GenDate")),
        sender=_read_party(find(info, "Sender")),
        receiver=_read_party(find(info, "Receiver")),
        patient=_read_patient(find(info, "Patient")),
        conversation_ref=text(info, "ConversationRef/RefToConversation"),
        parent_ref=text(info, "ConversationRef/RefToParent"),
        ack_requested=attr(info, "Ack") in ("J", "Y", "Yes", "Ja"),
    )


def _read_attachment(ref: etree._Element, container: etree._Element, number: int) -> Attachment:
    raw = "".join(container.itertext())
    try:
        data = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.INVALID,
                    f"line {container.sourceline}: attachment {number} is not valid base64 ({exc})",
                )
            ]
        ) from exc
    description = text(ref, "Description")
    return Attachment(
        filename=text(ref, "Id") or description or f"vedlegg-{number}",
        mime_type=text(ref, "MimeType") or "application/octet-stream",
        data=data,
        description=description,
    )


def read(xml: bytes) -> Envelope:
    """Validate a MsgHead document and return its head, payload element and attachments.

    Raises `errors.InvalidMessage` (T01 not XML, T02 invalid, T10 not a format we read, E10 no
    message id)."""
    root = schemas.validate(xml)
    if etree.QName(root).namespace != NS:
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT, "an AppRec has no MsgHead: use apprec.parse"
                )
            ]
        )
    head = read_head(root)
    if not head.msg_id:
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID_MESSAGE_ID, "MsgInfo/MsgId is empty")]
        )
    payload: etree._Element | None = None
    attachments: list[Attachment] = []
    for ref in root.iterfind(f"{{{NS}}}Document/{{{NS}}}RefDoc"):
        content = find(ref, "Content")
        if content is None:
            continue  # a FileReference: nothing travels with the message
        for child in content:
            if not isinstance(child.tag, str):
                continue
            if etree.QName(child).namespace == schemas.BASE64:
                attachments.append(_read_attachment(ref, child, len(attachments) + 1))
            elif payload is None:
                payload = child
    if payload is None:
        raise errors.InvalidMessage(
            [errors.problem(errors.UNSUPPORTED_FORMAT, "the MsgHead carries no XML document")]
        )
    return Envelope(head=head, document=payload, attachments=tuple(attachments), raw=bytes(xml))
