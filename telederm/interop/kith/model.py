"""What a KITH message says, as plain values: the contract between the builders/parsers in this
package and the services that turn cases into messages and messages into cases.

Pure: no Django, no ORM, no XML here. Builders take these and return validated MsgHead documents
(bytes); parsers take validated documents and return these. Texts are plain Unicode; dates are
timezone-aware datetimes (MsgHead writes them in Europe/Oslo local time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class IdKind(StrEnum):
    """Norwegian identifier kinds as MsgHead and KITH write them (kodeverk 8116 and 9051)."""

    FNR = "FNR"  # fødselsnummer
    DNR = "DNR"  # D-nummer
    HNR = "HNR"  # H-nummer
    HER = "HER"  # HER-id (Adresseregisteret)
    HPR = "HPR"  # HPR-nummer (Helsepersonellregisteret)
    ENH = "ENH"  # organisasjonsnummer (Enhetsregisteret)


@dataclass(frozen=True)
class Person:
    """A health professional: a GP, a dermatologist, a nurse."""

    family_name: str
    given_name: str
    hpr_number: str = ""
    her_id: int | None = None
    title: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Organisation:
    name: str
    her_id: int | None = None
    organisation_number: str = ""


@dataclass(frozen=True)
class Party:
    """A sender or receiver: an organisation, maybe a department of it, maybe a named person."""

    organisation: Organisation
    department: Organisation | None = None
    person: Person | None = None

    @property
    def her_id(self) -> int | None:
        """The most specific HER-id: the department's, else the organisation's."""
        if self.department is not None and self.department.her_id is not None:
            return self.department.her_id
        return self.organisation.her_id


@dataclass(frozen=True)
class Patient:
    family_name: str
    given_name: str
    identifier: str
    """Fødselsnummer, D-nummer or H-nummer: 11 digits."""
    identifier_kind: IdKind = IdKind.FNR
    birth_date: dt.date | None = None
    sex: str = ""
    """"1" male, "2" female, "9" not applicable, "" unknown (kodeverk 3101)."""

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Attachment:
    """A file that travels with the message, base64-encoded in its own MsgHead Document."""

    filename: str
    mime_type: str
    data: bytes
    description: str = ""


@dataclass(frozen=True)
class Head:
    """MsgHead/MsgInfo: who sends what to whom, about whom."""

    msg_id: str
    msg_type: str
    """Kodeverk 8279 code, e.g. DIALOG_NOTAT, HENVISNING, EPIKRISE, APPREC."""
    generated_at: dt.datetime
    sender: Party
    receiver: Party
    patient: Patient | None = None
    msg_type_text: str = ""
    conversation_ref: str = ""
    """ConversationRef/RefToConversation: the msg_id that started the exchange, if any."""
    parent_ref: str = ""
    """ConversationRef/RefToParent: the msg_id this one answers, if any."""
    ack_requested: bool = True


@dataclass(frozen=True)
class Code:
    """A coded value: system (KITH OID or name), code and its display text."""

    system: str
    code: str
    text: str = ""


ICD10 = "2.16.578.1.12.4.1.1.7110"
ICPC2 = "2.16.578.1.12.4.1.1.7170"


@dataclass(frozen=True)
class Envelope:
    """A parsed, validated MsgHead document: its head, payload and attachments.

    `document` is the payload's root element (an lxml element) for the payload parser.
    """

    head: Head
    document: object
    attachments: tuple[Attachment, ...] = ()
    raw: bytes = b""


@dataclass(frozen=True)
class Dialog:
    """Dialogmelding 1.1 "Notat" (helsefaglig dialog): the answer and advice to a GP, or a GP's
    question to us."""

    subject: str
    text: str
    responsible: Person | None = None
    """The health professional responsible for the content (RollerRelatertNotat)."""
    topic_code: Code | None = None
    """TemaKodet, kodeverk 7322 (e.g. "6 Henvendelse om pasient")."""
    document_id: str = ""
    """DokIdNotat: our id of the note (the case's uuid or the review's)."""
    in_reply_to: str = ""
    """DokIdForesp of the question answered, if any."""


@dataclass(frozen=True)
class Referral:
    """Henvisning 2.0: an in-person referral (outgoing), or a GP's referral to us (incoming)."""

    reason: str
    """Henvisningsårsak / what the receiver is asked to do."""
    clinical_information: str
    """Sykehistorie / findings / what has been tried."""
    referrer: Person
    priority: str = "routine"
    """Telederm's priorities: "urgent", "soon", "routine"."""
    cancer_pathway: bool = False
    """Pakkeforløp kreft: suspected cancer (PK)."""
    diagnoses: tuple[Code, ...] = ()
    requested_service: str = ""
    document_id: str = ""
    referred_at: dt.datetime | None = None


@dataclass(frozen=True)
class DischargeSummary:
    """Epikrise 1.2 from the specialist to the GP when a consultation is closed."""

    summary: str
    """What was found and done."""
    follow_up: str
    """Advice and follow-up for the GP."""
    responsible: Person
    diagnoses: tuple[Code, ...] = ()
    medications: tuple[str, ...] = ()
    """Prescriptions, each as a line of text ("Mometason krem 0,1 %, 1 gang daglig, 2 uker")."""
    consultation_at: dt.datetime | None = None
    document_id: str = ""


class AppRecStatus(StrEnum):
    """Kodeverk 8258."""

    OK = "1"
    REJECTED = "2"
    OK_WITH_ERRORS = "3"


@dataclass(frozen=True)
class AppRecError:
    """One reason, coded in kodeverk 8221 (e.g. "E31" invalid fødselsnummer, "X99" other error)."""

    code: str
    text: str
    details: str = ""


@dataclass(frozen=True)
class AppRec:
    """An application receipt: answers one message by its msg_id."""

    msg_id: str
    generated_at: dt.datetime
    status: AppRecStatus
    sender: Party
    receiver: Party
    original_msg_id: str
    original_msg_type: str
    original_issued_at: dt.datetime
    errors: tuple[AppRecError, ...] = field(default_factory=tuple)
