"""Reading business documents (MsgHead or AppRec) for their parties, and writing the AppRec
NHN makes for `POST /Messages/{id}/apprec/{herId}`."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from telederm.interop.transports.nhn.standin.errors import ApiError
from telederm.interop.transports.nhn.standin.records import StoredMessage

APPREC_NS = "http://www.kith.no/xmlstds/apprec/2012-02-15"
OSLO = ZoneInfo("Europe/Oslo")
APPREC_STATUS_CODES = {
    "Ok": ("1", "OK"),
    "Rejected": ("2", "Avvist"),
    "OkErrorInMessagePart": ("3", "OK, feil i delmelding"),
}


def default_validate(document: bytes) -> None:
    """The KITH schemas when the kith package offers them, else well-formedness."""
    try:
        from telederm.interop.kith import errors, schemas
    except ImportError:
        parse(document)
        return
    try:
        schemas.validate(document)
    except errors.InvalidMessage as exc:
        problems = [
            f"{getattr(p, 'code', '')} {getattr(p, 'text', '')} {getattr(p, 'details', '')}".strip()
            for p in getattr(exc, "problems", [])
        ]
        raise ApiError(
            400,
            "The business document is not valid",
            code=1000,
            validation_errors=problems or [str(exc)],
        ) from exc


def parse(document: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ApiError(
            400,
            "The business document is not well-formed XML",
            code=1000,
            validation_errors=[str(exc)],
        ) from exc


def local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element: Any, name: str) -> list[Any]:
    return [c for c in element if local(c) == name]


def child(element: Any, name: str) -> Any:
    found = children(element, name)
    return found[0] if found else None


def _text(element: Any, name: str) -> str:
    found = child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def her_of(element: Any) -> int | None:
    """The HER-id among a MsgHead element's Ident children (or an AppRec Inst/Dept/HCPerson)."""
    for ident in children(element, "Ident"):
        type_id = child(ident, "TypeId")
        if type_id is not None and type_id.get("V") == "HER" and _text(ident, "Id").isdigit():
            return int(_text(ident, "Id"))
    type_id = child(element, "TypeId")
    if type_id is not None and type_id.get("V") == "HER" and _text(element, "Id").isdigit():
        return int(_text(element, "Id"))
    return None


@dataclass(frozen=True)
class PartyInfo:
    her_ids: list[int]
    """All HER-ids named, outermost first; the last is the most specific."""
    names: list[tuple[str, int | None]]


def party(element: Any) -> PartyInfo:
    """HER-ids and names of a MsgHead Sender/Receiver or an AppRec Sender/Receiver."""
    her_ids: list[int] = []
    names: list[tuple[str, int | None]] = []
    if element is None:
        return PartyInfo([], [])
    node = child(element, "Organisation")
    if node is not None:  # MsgHead
        while node is not None:
            her = her_of(node)
            names.append((_text(node, "OrganisationName"), her))
            if her is not None:
                her_ids.append(her)
            for person in children(node, "HealthcareProfessional"):
                person_her = her_of(person)
                if person_her is not None:
                    her_ids.append(person_her)
            node = child(node, "Organisation")
        return PartyInfo(her_ids, names)
    inst = child(child(element, "HCP") if child(element, "HCP") is not None else element, "Inst")
    if inst is not None:  # AppRec
        for part in [inst, *children(inst, "Dept"), *children(inst, "HCPerson")]:
            her = her_of(part)
            if part is not inst and local(part) == "HCPerson":
                if her is not None:
                    her_ids.append(her)
                continue
            names.append((_text(part, "Name"), her))
            if her is not None:
                her_ids.append(her)
    return PartyInfo(her_ids, names)


@dataclass(frozen=True)
class DocumentInfo:
    msg_id: str
    msg_type: str
    gen_date: str
    is_apprec: bool
    sender: PartyInfo
    receiver: PartyInfo


def read_document(document: bytes) -> DocumentInfo:
    root = parse(document)
    if local(root) == "AppRec":
        head = root
        msg_type = child(root, "MsgType")
        msg_id = _text(root, "Id")
    elif local(root) == "MsgHead" and child(root, "MsgInfo") is not None:
        head = child(root, "MsgInfo")
        msg_type = child(head, "Type")
        msg_id = _text(head, "MsgId")
    else:
        raise ApiError(400, "The business document is neither a MsgHead nor an AppRec", code=1000)
    return DocumentInfo(
        msg_id=msg_id,
        msg_type=msg_type.get("V", "") if msg_type is not None else "",
        gen_date=gen_date(_text(head, "GenDate")),
        is_apprec=local(root) == "AppRec",
        sender=party(child(head, "Sender")),
        receiver=party(child(head, "Receiver")),
    )


def gen_date(text: str) -> str:
    """KITH writes local time without an offset; the API says date-time, so we add Oslo's."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = dt.datetime.now(OSLO)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=OSLO)
    return moment.isoformat()


def build_apprec(
    message: StoredMessage,
    sender_her_id: int,
    status: str,
    errors: list[dict[str, Any]],
    *,
    at: dt.datetime,
) -> bytes:
    """The AppRec 1.1 NHN writes for POST /Messages/{id}/apprec/{herId}: from the receiver
    (`sender_her_id`) back to the message's sender, about the message's MsgId."""
    info = read_document(message.document)
    ns = f"{{{APPREC_NS}}}"

    def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        element = etree.SubElement(parent, ns + tag, {k: v for k, v in attrs.items() if v})
        if text is not None:
            element.text = text
        return element

    def party(
        parent: Any, tag: str, names: list[tuple[str, int | None]], fallback_her: int
    ) -> None:
        inst = sub(sub(sub(parent, tag), "HCP"), "Inst")
        organisation = names[0] if names else ("", fallback_her)
        sub(inst, "Name", organisation[0] or str(organisation[1] or fallback_her))
        sub(inst, "Id", str(organisation[1] or fallback_her))
        sub(inst, "TypeId", V="HER", DN="HER-id")
        for name, her in names[1:]:
            dept = sub(inst, "Dept")
            sub(dept, "Name", name or str(her))
            if her is not None:
                sub(dept, "Id", str(her))
                sub(dept, "TypeId", V="HER", DN="HER-id")

    root = etree.Element(ns + "AppRec", nsmap={None: APPREC_NS})
    sub(root, "MsgType", V="APPREC", DN="Applikasjonskvittering")
    sub(root, "MIGversion", "v1.1 2012-02-15")
    sub(root, "GenDate", at.replace(microsecond=0, tzinfo=None).isoformat())
    sub(root, "Id", str(uuid.uuid4()))
    party(root, "Sender", info.receiver.names, sender_her_id)
    party(root, "Receiver", info.sender.names, message.sender_her_id)
    code, text = APPREC_STATUS_CODES[status]
    sub(root, "Status", V=code, DN=text)
    for error in errors:
        sub(
            root,
            "Error",
            V=error.get("errorCode") or "X99",
            DN=error.get("details") or "",
            S="2.16.578.1.12.4.1.1.8221",
            OT=error.get("description") or "",
        )
    original = sub(root, "OriginalMsgId")
    sub(original, "MsgType", V=message.msg_type)
    sub(
        original,
        "IssueDate",
        dt.datetime.fromisoformat(message.gen_date).replace(tzinfo=None).isoformat(),
    )
    sub(original, "Id", message.msg_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
