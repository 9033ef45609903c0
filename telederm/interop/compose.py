"""Messages composed from the domain: the answer to the GP, the referral, the discharge summary.

The pure builders in `kith` turn plain values into validated MsgHead documents; this module reads
the case, its signed review and the address register and hands them those values. What a message
says is written in Norwegian bokmål whatever the language of the person who caused it: it goes
into the receiver's record (forskrift om pasientjournal § 5 asks for a record others can read).
Headings are written here in bokmål; the domain's own labels are read under `override("nb")`.

Each `*_for` returns `(msg_id, payload)`; the payload has been validated against the schemas by
the builder. They raise `NoReceiver` when the register has nobody to send to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone, translation

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.core import clock
from telederm.interop import addresses
from telederm.interop.kith import dialogmelding, epikrise, henvisning
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry
from telederm.patients.models import Patient
from telederm.photos import sites
from telederm.photos.models import Photo
from telederm.photos.services import read_rendition
from telederm.review.models import Diagnosis, Referral, Review

SUBJECT = "Svar fra teledermatologi"
OUTCOME_TEXT = {
    Review.Outcome.ADVICE: "Besvart med råd til pasient og fastlege.",
    Review.Outcome.REFERRAL: "Henvist til poliklinisk undersøkelse.",
    Review.Outcome.VIDEO: "Pasienten innkalles til videokonsultasjon med hudlege.",
    Review.Outcome.CLOSE: "Avsluttet uten videre tiltak fra hudlege.",
    Review.Outcome.MORE_INFO: "Hudlegen har bedt om mer informasjon.",
}
NOT_STATED = "Ikke oppgitt"
PRIORITY_TEXT = {"urgent": "Haster", "soon": "Snart", "routine": "Ordinær"}
PHOTO_KIND_TEXT = {
    Photo.Kind.OVERVIEW: "oversiktsbilde",
    Photo.Kind.CLOSE_UP: "nærbilde",
    Photo.Kind.DERMOSCOPY: "dermatoskopisk bilde",
}
_SYSTEMS: dict[str, str] = {
    Diagnosis.System.ICD10.value: kith.ICD10,
    Diagnosis.System.ICPC2.value: kith.ICPC2,
}
_ID_KINDS = {
    "fnr": kith.IdKind.FNR,
    "dnr": kith.IdKind.DNR,
    # A felles hjelpenummer is written as an H-nummer: the closest kind MsgHead knows (8116).
    "fhn": kith.IdKind.HNR,
}


class NoReceiver(Exception):
    """The address register has no active entry to send this message to."""


def us(person: User | None = None) -> kith.Party:
    """Telederm as the sender, from settings, with the responsible clinician when they have an
    HPR number."""
    organisation = kith.Organisation(
        name=settings.TELEDERM_ORGANISATION_NAME,
        her_id=settings.TELEDERM_HER_ID,
        organisation_number=settings.TELEDERM_ORGANISATION_NUMBER,
    )
    # MsgHead names a health professional only with an identifier (HealthcareProfessional/Ident).
    named = _person(person) if person is not None and person.hpr_number else None
    return kith.Party(organisation=organisation, person=named)


def _split_name(full_name: str) -> tuple[str, str]:
    """(family, given): Norwegian names put the family name last."""
    given, _sep, family = full_name.strip().rpartition(" ")
    return family or full_name.strip(), given


def _person(user: User, *, her_id: int | None = None) -> kith.Person:
    family, given = _split_name(user.full_name or user.email)
    return kith.Person(
        family_name=family,
        given_name=given,
        hpr_number=user.hpr_number,
        her_id=her_id,
        title=user.title,
    )


def _patient(patient: Patient) -> kith.Patient:
    family, given = _split_name(patient.full_name)
    return kith.Patient(
        family_name=family,
        given_name=given,
        identifier=patient.identifier,
        identifier_kind=_ID_KINDS.get(patient.identifier_kind, kith.IdKind.FNR),
        birth_date=patient.birth_date,
    )


def _organisation(entry: AddressEntry) -> kith.Organisation:
    return kith.Organisation(
        name=entry.name, her_id=entry.her_id, organisation_number=entry.organisation_number
    )


def party(entry: AddressEntry, person: kith.Person | None = None) -> kith.Party:
    """A register entry as a receiver: its organisation, and the department or person in it."""
    parent = addresses.parent_of(entry) if entry.parent_her_id else None
    if entry.kind == AddressEntry.Kind.ORGANISATION or parent is None:
        return kith.Party(organisation=_organisation(entry), person=person)
    if entry.kind == AddressEntry.Kind.SERVICE:
        return kith.Party(
            organisation=_organisation(parent), department=_organisation(entry), person=person
        )
    family, given = _split_name(entry.name)
    return kith.Party(
        organisation=_organisation(parent),
        person=kith.Person(
            family_name=family, given_name=given, hpr_number=entry.hpr_number, her_id=entry.her_id
        ),
    )


def gp_receiver(case: Case) -> tuple[AddressEntry, kith.Party]:
    """Who gets the answer (`addresses.answer_receiver`: the referring office, else the patient's
    GP office), with the referring GP named when the case came from a GP of that office;
    NoReceiver if there is nobody to send to."""
    entry = addresses.answer_receiver(case)
    if entry is None:
        raise NoReceiver(f"the GP office of case {case.uuid} is not in the address register")
    sender = case.created_by
    person = None
    office = sender.organisation
    if (
        sender.role == User.Role.SUBMITTER
        and office is not None
        and office.her_id == entry.her_id
        and sender.hpr_number
    ):
        # The GP's own HER-id, when the register has them as a person of the office.
        listed = (
            AddressEntry.objects.filter(
                parent_her_id=entry.her_id,
                kind=AddressEntry.Kind.PERSON,
                hpr_number=sender.hpr_number,
                active=True,
            )
            .values_list("her_id", flat=True)
            .first()
        )
        person = _person(sender, her_id=listed)
    return entry, party(entry, person)


def _head(
    *, msg_type: str, text: str, sender: kith.Party, receiver: kith.Party, case: Case
) -> kith.Head:
    # A case that came as a message from this receiver (the GP's Henvisning) is answered in the
    # same conversation (MsgHead ConversationRef); a message to anyone else starts its own.
    person = receiver.person.her_id if receiver.person is not None else None
    parties = {receiver.organisation.her_id, receiver.her_id, person} - {None}
    first = (
        case.incoming_messages.exclude(msg_id="")
        .filter(sender_her_id__in=parties)
        .order_by("received_at", "pk")
        .first()
    )
    return kith.Head(
        msg_id=str(uuid.uuid4()),
        msg_type=msg_type,
        msg_type_text=text,
        generated_at=clock.now(),
        sender=sender,
        receiver=receiver,
        patient=_patient(case.patient),
        conversation_ref=first.msg_id if first is not None else "",
        parent_ref=first.msg_id if first is not None else "",
    )


def photo_attachments(case: Case) -> tuple[kith.Attachment, ...]:
    """The case's finished photos, full size, as the photo store keeps them (clean JPEG)."""
    attachments = []
    photos = case.photos.filter(status=Photo.Status.READY).select_related("lesion")
    with translation.override("nb"):
        for number, photo in enumerate(photos, start=1):
            data = read_rendition(photo, "full")
            lesion = photo.lesion
            site = sites.describe(lesion.body_site, lesion.laterality) if lesion else ""
            kind = PHOTO_KIND_TEXT.get(Photo.Kind(photo.kind), photo.kind)
            description = f"Bilde {number}: {kind}" + (f", {site}" if site else "")
            attachments.append(
                kith.Attachment(
                    filename=f"bilde-{number}-{photo.uuid.hex[:8]}.jpg",
                    mime_type="image/jpeg",
                    data=data,
                    description=description,
                )
            )
    return tuple(attachments)


def _codes(review: Review) -> tuple[kith.Code, ...]:
    return tuple(
        kith.Code(system=_SYSTEMS[diagnosis.system], code=diagnosis.code, text=diagnosis.title)
        for diagnosis in review.diagnoses.all()
    )


def _prescriptions(review: Review) -> list[str]:
    lines = []
    for rx in review.prescriptions.all():
        parts = [f"{rx.drug} {rx.strength}".strip(), rx.dosage, rx.duration]
        line = ", ".join(part for part in parts if part)
        if rx.instructions:
            line += f". {rx.instructions}"
        lines.append(line)
    return lines


def _section(title: str, lines: Iterable[str]) -> str:
    body = "\n".join(line for line in lines if line)
    return f"{title}:\n{body}" if body else ""


def _diagnosis_lines(review: Review) -> list[str]:
    return [
        f"- {diagnosis.get_system_display()} {diagnosis.code} {diagnosis.title}"
        for diagnosis in review.diagnoses.all()
    ]


def answer_text(review: Review) -> str:
    """The Dialogmelding's text: everything the GP needs from the signed answer, in bokmål."""
    with translation.override("nb"):
        outcome = OUTCOME_TEXT.get(Review.Outcome(review.outcome), "")
        referral = getattr(review, "referral", None)
        if review.outcome == Review.Outcome.REFERRAL and referral is not None:
            outcome += f" Henvist til: {referral.receiver}. Prioritet: " + PRIORITY_TEXT.get(
                referral.priority, referral.priority
            )
            if referral.pathway:
                outcome += ". Pakkeforløp for føflekkreft (PK)"
            outcome += f".\nBegrunnelse: {referral.reason}"
        video = getattr(review, "video_request", None)
        if review.outcome == Review.Outcome.VIDEO and video is not None:
            outcome += f"\nFormål: {video.reason}"
        signed = review.signed_at or clock.now()
        sections = [
            _section("Vurdering", [review.assessment]),
            _section("Diagnoser", _diagnosis_lines(review)),
            _section("Råd til fastlege", [review.advice_gp]),
            _section(
                "Pasienten har fått dette svaret",
                [
                    f"Sannsynlig diagnose: {review.diagnosis}" if review.diagnosis else "",
                    review.advice,
                ],
            ),
            _section("Pasienten er bedt om å søke hjelp igjen", [review.safety_net]),
            _section("Resepter", [f"- {line}" for line in _prescriptions(review)]),
            _section("Utfall", [outcome]),
            f"Signert av {review.author.full_name}, hudlege, "
            f"{timezone.localtime(signed):%d.%m.%Y %H:%M}.",
        ]
    return "\n\n".join(section for section in sections if section)


def photos_left_out_text(case: Case) -> str:
    """A line, in bokmål, on the case's photos that are not attached; "" when all are.

    Only ready photos travel (`photo_attachments`); one still being processed when the answer
    is signed, or refused by the photo check, would otherwise be left out without a word.
    """
    pending = case.photos.filter(status=Photo.Status.PENDING).count()
    refused = case.photos.filter(status=Photo.Status.REJECTED).count()
    parts = []
    if pending:
        parts.append(f"{pending} var fortsatt under behandling da svaret ble signert")
    if refused:
        parts.append(f"{refused} ble avvist av bildekontrollen")
    if not parts:
        return ""
    count = pending + refused
    noun = "bilde" if count == 1 else "bilder"
    return f"{count} {noun} fra saken er ikke vedlagt: {' og '.join(parts)}."


def dialogmelding_for(review: Review) -> tuple[str, bytes]:
    """The signed answer to the patient's GP as Dialogmelding 1.1, with the case's photos."""
    case = review.case
    _entry, receiver = gp_receiver(case)
    head = _head(
        msg_type=dialogmelding.MSG_TYPE,
        text=dialogmelding.MSG_TYPE_TEXT,
        sender=us(review.author),
        receiver=receiver,
        case=case,
    )
    dialog = kith.Dialog(
        subject=SUBJECT,
        text="\n\n".join(
            part for part in (answer_text(review), photos_left_out_text(case)) if part
        ),
        responsible=_person(review.author),
        document_id=str(review.uuid),
    )
    return head.msg_id, dialogmelding.build(head, dialog, photo_attachments(case))


def clinical_information(case: Case, review: Review) -> str:
    """The referral's history and findings, in bokmål: the patient's words and our assessment."""
    with translation.override("nb"):
        site = _stated(case.get_body_site_display())
        if case.body_site_detail:
            site += f" ({case.body_site_detail})"
        lines = [
            f"Problem (pasientens beskrivelse): {case.complaint}",
            f"Lokalisasjon: {site}",
            f"Varighet: {_stated(case.get_onset_display())}",
            f"Utvikling: {_stated(case.get_change_display())}",
            f"Kløe: {_stated(case.get_itch_display())}. Smerte: {_stated(case.get_pain_display())}",
            f"Forsøkt behandling: {case.treatments_tried}" if case.treatments_tried else "",
            f"Annet: {case.other_information}" if case.other_information else "",
            "",
            f"Vurdering ved hudlege (teledermatologi, bilder vedlagt): {review.assessment}",
        ]
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip()


def _stated(answer: object) -> str:
    """An answer as written, or "Ikke oppgitt" for one the case leaves blank.

    A case that came as a message (a GP's Henvisning, a FHIR referral) does not answer the
    questionnaire's choices; saying so beats an empty line in the receiver's record.
    """
    return str(answer) if answer else NOT_STATED


def referral_receiver(review: Review) -> AddressEntry:
    referral = Referral.objects.filter(review=review).first()
    her_id = None
    if referral is not None:
        her_id = referral.receiver_her_id or addresses.her_id_in(referral.receiver)
    entry = addresses.find(her_id)
    if entry is None:
        raise NoReceiver(f"HER-id {her_id} is not an active entry in the address register")
    return entry


def henvisning_for(review: Review) -> tuple[str, bytes]:
    """A signed referral with a receiver HER-id as Henvisning 2.0, with the case's photos."""
    case = review.case
    referral = review.referral
    entry = referral_receiver(review)
    head = _head(
        msg_type=henvisning.MSG_TYPE,
        text=henvisning.MSG_TYPES[henvisning.MSG_TYPE],
        sender=us(review.author),
        receiver=party(entry),
        case=case,
    )
    content = kith.Referral(
        reason=referral.reason,
        clinical_information=clinical_information(case, review),
        referrer=_person(review.author),
        priority=referral.priority,
        cancer_pathway=referral.pathway == Case.Pathway.PK_MELANOMA,
        diagnoses=_codes(review),
        requested_service="Poliklinisk undersøkelse, hudavdeling",
        document_id=str(referral.uuid),
        referred_at=review.signed_at or clock.now(),
    )
    return head.msg_id, henvisning.build(head, content, photo_attachments(case))


def discharge_defaults(review: Review) -> tuple[str, str]:
    """(summary, follow-up) for the discharge summary form, from the signed review, in bokmål."""
    with translation.override("nb"):
        summary = "\n\n".join(
            part
            for part in (
                review.assessment,
                f"Sannsynlig diagnose: {review.diagnosis}" if review.diagnosis else "",
                OUTCOME_TEXT.get(Review.Outcome(review.outcome), ""),
            )
            if part
        )
        follow_up = "\n\n".join(
            part
            for part in (
                review.advice_gp,
                f"Pasienten er bedt om å søke hjelp igjen: {review.safety_net}"
                if review.safety_net
                else "",
            )
            if part
        )
    return summary, follow_up


def epikrise_for(
    case: Case, by: User, *, summary: str | None = None, follow_up: str | None = None
) -> tuple[str, bytes]:
    """The discharge summary (Epikrise 1.2) to the GP when `by` closes the consultation.

    `summary` and `follow_up` are what the dermatologist wrote in the form; by default they are
    taken from the signed review (`discharge_defaults`).
    """
    review = case.review
    default_summary, default_follow_up = discharge_defaults(review)
    _entry, receiver = gp_receiver(case)
    head = _head(
        msg_type=epikrise.MSG_TYPE,
        text=epikrise.MSG_TYPE_TEXT,
        sender=us(by),
        receiver=receiver,
        case=case,
    )
    content = kith.DischargeSummary(
        summary=(summary if summary is not None else default_summary).strip(),
        follow_up=(follow_up if follow_up is not None else default_follow_up).strip(),
        responsible=_person(by),
        diagnoses=_codes(review),
        medications=tuple(_prescriptions(review)),
        consultation_at=review.signed_at,
        document_id=str(uuid.uuid4()),
    )
    # The photos went to the GP with the answer (Dialogmelding); the summary stands on its own.
    return head.msg_id, epikrise.build(head, content)
