"""AppRec (applikasjonskvittering): the receipt every received message is answered with.

We write AppRec 1.1 and read 1.0 and 1.1. An AppRec travels on its own, without a MsgHead (as
in KITH's and fiks-nhn's examples and on NHN's message service). Status is kodeverk 8258
(1 OK, 2 Avvist, 3 OK med feil i delmelding); each error is a kodeverk 8221 code (errors.py) with
its text and, in OT, our details.

Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lxml import etree

from . import errors, msghead, schemas
from .model import (
    AppRec,
    AppRecError,
    AppRecStatus,
    Envelope,
    Head,
    IdKind,
    Organisation,
    Party,
    Person,
)

NS = schemas.APPREC_11
MIG_VERSION = "v1.1 2012-02-15"
MSG_TYPE = "APPREC"

# Kodeverk 8258 (Status for applikasjonskvittering), texts as in KITH's examples.
STATUS_TEXTS = {
    AppRecStatus.OK: "OK",
    AppRecStatus.REJECTED: "Avvist",
    AppRecStatus.OK_WITH_ERRORS: "OK, feil i delmelding",
}


def _sub(
    parent: etree._Element, tag: str, value: str | None = None, **attrs: str
) -> etree._Element:
    return msghead.sub(parent, NS, tag, value, **attrs)


def _id(parent: etree._Element, value: str, kind: IdKind) -> None:
    _sub(parent, "Id", value)
    _sub(parent, "TypeId", V=kind.value, DN=msghead.ID_TEXTS[kind])


def _unit(parent: etree._Element, tag: str, org: Organisation) -> etree._Element:
    unit = _sub(parent, tag)
    _sub(unit, "Name", org.name)
    if org.her_id is not None:
        _id(unit, str(org.her_id), IdKind.HER)
    elif org.organisation_number:
        _id(unit, org.organisation_number, IdKind.ENH)
    if tag == "Inst" and org.her_id is not None and org.organisation_number:
        # Inst has one Id; the organisation number goes in AdditionalId.
        additional = _sub(unit, "AdditionalId")
        _sub(additional, "Id", org.organisation_number)
        _sub(additional, "Type", V=IdKind.ENH.value, DN=msghead.ID_TEXTS[IdKind.ENH])
    return unit


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    hcp = _sub(_sub(parent, tag), "HCP")
    inst = _unit(hcp, "Inst", party.organisation)
    if party.department is not None:
        # Inst's sequence is Name, Id, TypeId, Dept*, AdditionalId*, HCPerson*.
        dept = _unit(hcp, "Dept", party.department)
        additional = inst.find(f"{{{NS}}}AdditionalId")
        if additional is not None:
            additional.addprevious(dept)
        else:
            inst.append(dept)
    if party.person is not None:
        person = _sub(inst, "HCPerson")
        _sub(person, "Name", party.person.full_name)
        if party.person.her_id is not None:
            _id(person, str(party.person.her_id), IdKind.HER)
            if party.person.hpr_number:
                additional = _sub(person, "AdditionalId")
                _sub(additional, "Id", party.person.hpr_number)
                _sub(additional, "Type", V=IdKind.HPR.value, DN=msghead.ID_TEXTS[IdKind.HPR])
        elif party.person.hpr_number:
            _id(person, party.person.hpr_number, IdKind.HPR)


def build(rec: AppRec) -> bytes:
    """An AppRec 1.1 document for `rec`, validated, as UTF-8 bytes."""
    if rec.status is not AppRecStatus.OK and not rec.errors:
        raise errors.InvalidMessage(
            [errors.problem(errors.OTHER, "a rejection or an OK with errors must say why")]
        )
    if not rec.msg_id.strip():
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID_MESSAGE_ID, "an AppRec needs an Id")]
        )
    root = etree.Element(f"{{{NS}}}AppRec", nsmap={None: NS})
    _sub(root, "MsgType", V=MSG_TYPE, DN=msghead.MSG_TYPE_TEXTS[MSG_TYPE])
    _sub(root, "MIGversion", MIG_VERSION)
    _sub(root, "GenDate", msghead.local_time(rec.generated_at))
    _sub(root, "Id", rec.msg_id)
    _party(root, "Sender", rec.sender)
    _party(root, "Receiver", rec.receiver)
    _sub(root, "Status", V=rec.status.value, DN=STATUS_TEXTS[rec.status])
    for error in rec.errors:
        _sub(
            root,
            "Error",
            V=error.code,
            S=errors.KODEVERK_8221,
            DN=error.text or errors.CODES.get(error.code, ""),
            OT=error.details,
        )
    original = _sub(root, "OriginalMsgId")
    _sub(
        original,
        "MsgType",
        V=rec.original_msg_type,
        DN=msghead.MSG_TYPE_TEXTS.get(rec.original_msg_type, ""),
    )
    _sub(original, "IssueDate", msghead.local_time(rec.original_issued_at))
    _sub(original, "Id", rec.original_msg_id)
    data = msghead.serialize(root)
    schemas.validate(data)
    return data


def for_message(
    message: Envelope | Head,
    *,
    status: AppRecStatus,
    errors: Sequence[AppRecError] = (),
    msg_id: str,
    at: dt.datetime,
    sender: Party | None = None,
) -> AppRec:
    """The AppRec answering a received message: back to its sender, about its MsgId.

    `sender` is who answers (us); by default the receiver the message was addressed to."""
    head = message.head if isinstance(message, Envelope) else message
    return AppRec(
        msg_id=msg_id,
        generated_at=at,
        status=status,
        sender=sender if sender is not None else head.receiver,
        receiver=head.sender,
        original_msg_id=head.msg_id,
        original_msg_type=head.msg_type,
        original_issued_at=head.generated_at,
        errors=tuple(errors),
    )


# --- parse -------------------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, str]:
    """AppRec names a person in one string ("Rita Lin"): the last word is the family name."""
    given, _, family = name.strip().rpartition(" ")
    return (given, family)


def _read_id(element: etree._Element, ns: str) -> tuple[str, str]:
    return msghead.text(element, "Id", ns), msghead.attr(element, "TypeId", "V", ns)


def _read_unit(element: etree._Element, ns: str) -> Organisation:
    value, kind = _read_id(element, ns)
    number = value if kind == IdKind.ENH else ""
    for additional in element.iterfind(f"{{{ns}}}AdditionalId"):
        if not number and msghead.attr(additional, "Type", "V", ns) == IdKind.ENH:
            number = msghead.text(additional, "Id", ns)
    return Organisation(
        name=msghead.text(element, "Name", ns),
        her_id=int(value) if kind == IdKind.HER and value.isdigit() else None,
        organisation_number=number,
    )


def _read_person(element: etree._Element, ns: str) -> Person:
    given, family = _split_name(msghead.text(element, "Name", ns))
    value, kind = _read_id(element, ns)
    hpr = value if kind == IdKind.HPR else ""
    for additional in element.iterfind(f"{{{ns}}}AdditionalId"):
        if not hpr and msghead.attr(additional, "Type", "V", ns) == IdKind.HPR:
            hpr = msghead.text(additional, "Id", ns)
    return Person(
        family_name=family,
        given_name=given,
        hpr_number=hpr,
        her_id=int(value) if kind == IdKind.HER and value.isdigit() else None,
    )


def _read_party(element: etree._Element | None, ns: str) -> Party:
    hcp = msghead.find(element, "HCP", ns) if element is not None else None
    if hcp is None:
        return Party(organisation=Organisation(name=""))
    inst = msghead.find(hcp, "Inst", ns)
    if inst is None:  # a single professional (HCProf), as in KITH's 1.0 examples
        prof = msghead.find(hcp, "HCProf", ns)
        person = _read_person(prof, ns) if prof is not None else None
        return Party(organisation=Organisation(name=""), person=person)
    dept = msghead.find(inst, "Dept", ns)
    person_element = msghead.find(inst, "HCPerson", ns)
    return Party(
        organisation=_read_unit(inst, ns),
        department=_read_unit(dept, ns) if dept is not None else None,
        person=_read_person(person_element, ns) if person_element is not None else None,
    )


def parse(xml: bytes) -> AppRec:
    """Validate an AppRec 1.0 or 1.1 document and return it as an `AppRec`.

    Raises `errors.InvalidMessage`: T01/T02/T10 as `schemas.validate`, T10 for a document that
    is not an AppRec, T99 for a status outside kodeverk 8258."""
    root = schemas.validate(xml)
    q = etree.QName(root)
    ns = q.namespace or ""
    if ns not in (schemas.APPREC_10, schemas.APPREC_11):
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT, f"expected an AppRec, found {q.localname!r}"
                )
            ]
        )
    status_code = msghead.attr(root, "Status", "V", ns)
    try:
        status = AppRecStatus(status_code)
    except ValueError:
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.OTHER_FORMAT,
                    f"status {status_code!r} is not in kodeverk 8258 (1, 2 or 3)",
                )
            ]
        ) from None
    problems = tuple(
        AppRecError(
            code=(error.get("V") or "").strip(),
            text=error.get("DN") or "",
            details=error.get("OT") or "",
        )
        for error in root.iterfind(f"{{{ns}}}Error")
    )
    original = msghead.find(root, "OriginalMsgId", ns)
    return AppRec(
        msg_id=msghead.text(root, "Id", ns),
        generated_at=msghead.parse_time(msghead.text(root, "GenDate", ns)),
        status=status,
        sender=_read_party(msghead.find(root, "Sender", ns), ns),
        receiver=_read_party(msghead.find(root, "Receiver", ns), ns),
        original_msg_id=msghead.text(original, "Id", ns),
        original_msg_type=msghead.attr(original, "MsgType", "V", ns),
        original_issued_at=msghead.parse_time(msghead.text(original, "IssueDate", ns)),
        errors=problems,
    )
