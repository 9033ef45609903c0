"""Dialogmelding: the dermatologist's answer and advice to the GP (1.1 "Notat", helsefaglig
dialog), and the GP's questions and notes to us (1.0 and 1.1, Foresporsel or Notat).

The shape follows KITH's 1.1 examples ("Helsefaglig dialog.xml", fiks-nhn
"samsvar-test-message.xml"): MsgInfo/Type DIALOG_HELSEFAGLIG, a Notat with TemaKodet from
kodeverk 7322 (Helsefaglig dialog), Tema, TekstNotatInnhold, DokIdNotat and the responsible
health professional in RollerRelatertNotat. An answer to a question carries the question's
document id in Notat/Foresporsel/DokIdForesp (Foresporsel needs a TypeForesp: kodeverk 9152
"99 Annen henvendelse", as in the fiks-nhn examples).

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from . import errors, msghead, schemas
from .model import Attachment, Code, Dialog, Envelope, Head, Person

NS = schemas.DIALOG_11
MSG_TYPE = "DIALOG_HELSEFAGLIG"
MSG_TYPE_TEXT = "Helsefaglig dialog"

KODEVERK_7322 = "2.16.578.1.12.4.1.1.7322"
ABOUT_PATIENT = Code(KODEVERK_7322, "6", "Henvendelse om pasient")
"""Kodeverk 7322 "Helsefaglig dialog": 6 Henvendelse om pasient (KITH's 1.1 example)."""

OTHER_ENQUIRY = Code("2.16.578.1.12.4.1.1.9152", "99", "Annen henvendelse")
"""Kodeverk 9152 (type forespørsel): 99 Annen henvendelse."""


def _code(parent: etree._Element, tag: str, code: Code) -> None:
    msghead.sub(parent, NS, tag, V=code.code, S=code.system, DN=code.text)


def payload(dialog: Dialog) -> etree._Element:
    """The Dialogmelding 1.1 element for `dialog` (one Notat)."""
    root = etree.Element(f"{{{NS}}}Dialogmelding", nsmap={None: NS, "fk1": schemas.FK1})
    notat = msghead.sub(root, NS, "Notat")
    _code(notat, "TemaKodet", dialog.topic_code or ABOUT_PATIENT)
    if dialog.subject:
        msghead.sub(notat, NS, "Tema", dialog.subject)
    msghead.sub(notat, NS, "TekstNotatInnhold", dialog.text)
    if dialog.document_id:
        msghead.sub(notat, NS, "DokIdNotat", dialog.document_id)
    if dialog.in_reply_to:
        question = msghead.sub(notat, NS, "Foresporsel")
        _code(question, "TypeForesp", OTHER_ENQUIRY)
        msghead.sub(question, NS, "DokIdForesp", dialog.in_reply_to)
    if dialog.responsible is not None:
        person = dialog.responsible
        roles = msghead.sub(notat, NS, "RollerRelatertNotat")
        hcp = msghead.sub(roles, NS, "HealthcareProfessional")
        msghead.sub(hcp, NS, "FamilyName", person.family_name)
        msghead.sub(hcp, NS, "GivenName", person.given_name)
        for value, kind in ((person.hpr_number, "HPR"), (str(person.her_id or ""), "HER")):
            if value:
                ident = msghead.sub(hcp, NS, "Ident")
                msghead.sub(ident, schemas.FK1, "Id", value)
                msghead.sub(
                    ident,
                    schemas.FK1,
                    "TypeId",
                    V=kind,
                    DN=msghead.ID_TEXTS[kind],
                    S=msghead.ID_SYSTEMS[kind],
                )
    return root


def build(head: Head, dialog: Dialog, attachments: Sequence[Attachment] = ()) -> bytes:
    """A validated MsgHead + Dialogmelding 1.1 Notat, with attachments (photos) as Vedlegg.

    The head's msg_type should be DIALOG_HELSEFAGLIG (`MSG_TYPE`)."""
    return msghead.build(head, payload(dialog), attachments)


def _cv(element: etree._Element | None, ns: str) -> Code | None:
    if element is None:
        return None
    return Code(
        system=(element.get("S") or "").strip(),
        code=(element.get("V") or "").strip(),
        text=(element.get("DN") or "").strip(),
    )


def _responsible(item: etree._Element, ns: str) -> Person | None:
    for roles in item.iterfind(f"{{{ns}}}RollerRelatertNotat"):
        hcp = msghead.find(roles, "HealthcareProfessional", ns)
        if hcp is not None:
            return msghead.read_person(hcp, ns)
    return None


def _from_notat(item: etree._Element, ns: str) -> Dialog:
    topic = _cv(msghead.find(item, "TemaKodet", ns), ns)
    return Dialog(
        subject=msghead.text(item, "Tema", ns, strip=False) or (topic.text if topic else ""),
        text=msghead.text(item, "TekstNotatInnhold", ns, strip=False),
        responsible=_responsible(item, ns),
        topic_code=topic,
        document_id=msghead.text(item, "DokIdNotat", ns),
        in_reply_to=msghead.text(item, "Foresporsel/DokIdForesp", ns),
    )


def _from_question(item: etree._Element, ns: str) -> Dialog:
    kind = _cv(msghead.find(item, "TypeForesp", ns), ns)
    return Dialog(
        subject=msghead.text(item, "EmneSporsmal", ns, strip=False) or (kind.text if kind else ""),
        text=msghead.text(item, "Sporsmal", ns, strip=False),
        responsible=_responsible(item, ns),
        topic_code=kind,
        document_id=msghead.text(item, "DokIdForesp", ns),
    )


def parse(envelope: Envelope) -> Dialog:
    """The Dialog in a Dialogmelding 1.0 or 1.1: its Notat, or a GP's Foresporsel.

    When a message carries several Notat or Foresporsel, their texts are joined (blank line
    between) and the first one gives the subject, code, ids and the responsible person."""
    document = envelope.document
    if not isinstance(document, etree._Element):
        raise TypeError("envelope.document must be an lxml element")
    q = etree.QName(document)
    ns = q.namespace or ""
    if ns not in (schemas.DIALOG_10, schemas.DIALOG_11) or q.localname != "Dialogmelding":
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT,
                    f"expected a Dialogmelding 1.0 or 1.1, found {q.localname!r} in {ns!r}",
                )
            ]
        )
    items = [
        _from_notat(child, ns)
        if etree.QName(child).localname == "Notat"
        else _from_question(child, ns)
        for child in document
        if isinstance(child.tag, str) and etree.QName(child).localname in ("Notat", "Foresporsel")
    ]
    if not items:
        raise errors.InvalidMessage(
            [errors.problem(errors.OTHER_FORMAT, "the Dialogmelding has no Notat or Foresporsel")]
        )
    first = items[0]
    if len(items) == 1:
        return first
    return Dialog(
        subject=first.subject,
        text="\n\n".join(item.text for item in items if item.text),
        responsible=first.responsible,
        topic_code=first.topic_code,
        document_id=first.document_id,
        in_reply_to=first.in_reply_to,
    )
