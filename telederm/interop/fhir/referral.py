"""An incoming FHIR referral: a transaction Bundle read strictly, checked, and turned into the plain
values (`kith.model`) that `interop.referrals.receive_referral` makes a case of.

Two steps, each refusing with every problem it finds at once (an OperationOutcome issue each, with
a FHIRPath-like location), so an integrator fixes a bundle in one round:

1. `parse_bundle`: the JSON must be an R4B Bundle (fhir.resources, strict: unknown elements,
   wrong types and bad dates are errors) → 400.
2. `read_referral`: the bundle must be a referral (docs/fhir-referrals.md) → 422: a transaction of
   POSTs with exactly one ServiceRequest (intent order, status active) and one Patient, at most one
   QuestionnaireResponse and some Media, references resolving inside the bundle by `urn:uuid:`
   fullUrl, a usable person number, our intake questions only, photos inline and really images.

No queries here: the caller passes the operator's rules (synthetic numbers, photo limits).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pyvips
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.media import Media
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.servicerequest import ServiceRequest

from telederm.cases.models import Case
from telederm.interop.kith import model as kith
from telederm.patients.identifiers import (
    SYSTEMS,
    IdentifierKind,
    InvalidIdentifier,
    parse_person_identifier,
)
from telederm.photos.processing import sniff

REFERRAL_TYPES = ("ServiceRequest", "Patient", "QuestionnaireResponse", "Media")

FNR_SYSTEM = SYSTEMS[IdentifierKind.FODSELSNUMMER]
DNR_SYSTEM = SYSTEMS[IdentifierKind.D_NUMMER]
_PERSON_SYSTEMS = {FNR_SYSTEM: kith.IdKind.FNR, DNR_SYSTEM: kith.IdKind.DNR}

# FHIR request priority → Telederm's priority. FHIR's four levels against our three: routine is
# routine, urgent is "soon" (answer within days), asap and stat are our urgent (same day).
PRIORITIES = {"routine": "routine", "urgent": "soon", "asap": "urgent", "stat": "urgent"}

# How a ServiceRequest says "cancer patient pathway (pakkeforløp), suspected melanoma": as
# fhir.mapping writes it, the extension PATHWAY_EXTENSION, valueCoding PATHWAY_SYSTEM#pk_melanoma
# (docs/fhir.md); also taken: that coding in `category` or `code`, or the extension with
# valueBoolean true. No national FHIR code system for pakkeforløp exists yet.
PATHWAY_SYSTEM = "https://fhir.telederm.no/CodeSystem/pathway"
PATHWAY_CODES = frozenset({"pk_melanoma"})
PATHWAY_EXTENSION = "https://fhir.telederm.no/StructureDefinition/cancer-pathway"

# The intake questions a QuestionnaireResponse may answer: linkId = our questionnaire field name
# (cases.services.QUESTIONNAIRE_FIELDS), with the question as the clinic reads it.
TEXT_QUESTIONS = {
    "complaint": "What is the problem?",
    "body_site_detail": "More exactly where",
    "treatments_tried": "Treatments tried",
    "other_information": "Anything else?",
}
CHOICE_QUESTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "body_site": ("Where on the body?", frozenset(Case.BodySite.values)),
    "onset": ("Since when?", frozenset(Case.Onset.values)),
    "change": ("How has it changed?", frozenset(Case.Change.values)),
    "itch": ("Itching", frozenset(Case.Severity.values)),
    "pain": ("Pain or soreness", frozenset(Case.Severity.values)),
}
CONSENT_QUESTION = "patient_consents"
LINK_IDS = frozenset(TEXT_QUESTIONS) | frozenset(CHOICE_QUESTIONS) | {CONSENT_QUESTION}

# Photos: what the photo pipeline takes, recognised by their first bytes (not the declared type).
MEDIA_TYPES = ("image/jpeg", "image/png", "image/heic")
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}

# The complaint field holds 2000 characters; longer reasons go on in the clinical information.
REASON_MAX = 2000
_IF_NONE_EXIST = re.compile(r"identifier=(?P<key>[^&]+)")


@dataclass(frozen=True)
class Issue:
    """One problem with a bundle: an OperationOutcome issue (code from the FHIR IssueType set)."""

    code: str
    text: str
    location: str = ""


class BundleRefused(Exception):
    """The bundle cannot become a referral; `issues` say every reason, `status` the HTTP answer."""

    def __init__(self, status: int, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(issue.text for issue in issues))
        self.status = status
        self.issues = tuple(issues)


@dataclass(frozen=True)
class EntryRef:
    """One request entry, by position: its resource type and fullUrl, for the response bundle."""

    resource_type: str
    full_url: str


@dataclass(frozen=True)
class IncomingReferral:
    """What the bundle asks for, in the words of `receive_referral`."""

    patient: kith.Patient
    reason: str
    clinical_information: str
    priority: str
    cancer_pathway: bool
    photos: tuple[kith.Attachment, ...]
    keys: tuple[str, ...]
    """Idempotency keys `system|value`: Bundle and ServiceRequest identifiers, ifNoneExist."""
    entries: tuple[EntryRef, ...]
    answers: dict[str, Any] = field(default_factory=dict)
    """The QuestionnaireResponse's answers by linkId (already folded into clinical_information)."""


# -- step 1: structure --------------------------------------------------------------------------


def parse_bundle(body: bytes) -> Bundle:
    """The request body as an R4B Bundle, or BundleRefused(400) with an issue per error."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleRefused(400, [Issue("structure", f"The body is not JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise BundleRefused(400, [Issue("structure", "The body must be a JSON object (a Bundle).")])
    if data.get("resourceType") != "Bundle":
        raise BundleRefused(
            400,
            [
                Issue(
                    "structure",
                    "POST /fhir/ takes a transaction Bundle (resourceType Bundle).",
                    "Bundle.resourceType",
                )
            ],
        )
    try:
        return Bundle.model_validate(data)
    except pydantic.ValidationError as exc:
        raise BundleRefused(400, [_pydantic_issue(error) for error in exc.errors()]) from None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # fhir.resources raises KeyError for an unknown resourceType inside an entry.
        raise BundleRefused(
            400, [Issue("structure", f"The bundle is not valid FHIR R4: {_describe(exc)}")]
        ) from None


def _pydantic_issue(error: Any) -> Issue:
    location = "Bundle" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.get("loc", ())
    )
    code = "structure" if error.get("type") == "extra_forbidden" else "value"
    if error.get("type") == "missing":
        code = "required"
    return Issue(code, f"{location}: {error.get('msg', 'invalid')}", location)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        name = str(exc.args[0]) if exc.args else ""
        kind = name.rsplit(".", 1)[-1].removesuffix("Type")
        return f"unknown resource type {kind!r}"
    return str(exc)[:300]


# -- step 2: meaning ----------------------------------------------------------------------------


def read_referral(
    bundle: Bundle,
    *,
    accept_synthetic: bool,
    max_photo_bytes: int,
    max_photos: int,
    today: dt.date | None = None,
) -> IncomingReferral:
    """The referral the bundle carries, or BundleRefused(422) naming every problem found."""
    reader = _Reader(
        accept_synthetic=accept_synthetic,
        max_photo_bytes=max_photo_bytes,
        max_photos=max_photos,
        today=today,
    )
    referral = reader.read(bundle)
    if reader.issues or referral is None:
        status = (
            400 if any(i.code in {"structure", "not-supported"} for i in reader.issues) else 422
        )
        raise BundleRefused(status, reader.issues or [Issue("invalid", "Not a referral.")])
    return referral


class _Reader:
    def __init__(
        self,
        *,
        accept_synthetic: bool,
        max_photo_bytes: int,
        max_photos: int,
        today: dt.date | None,
    ) -> None:
        self.accept_synthetic = accept_synthetic
        self.max_photo_bytes = max_photo_bytes
        self.max_photos = max_photos
        self.today = today
        self.issues: list[Issue] = []

    def problem(self, code: str, text: str, location: str = "") -> None:
        self.issues.append(Issue(code, text, location))

    def read(self, bundle: Bundle) -> IncomingReferral | None:
        if bundle.type != "transaction":
            self.problem(
                "not-supported",
                f"Only a transaction Bundle is accepted here, not {bundle.type!r}.",
                "Bundle.type",
            )
            return None
        entries = list(bundle.entry or [])
        by_type: dict[str, list[tuple[int, Any]]] = {name: [] for name in REFERRAL_TYPES}
        full_urls: dict[str, str] = {}
        refs: list[EntryRef] = []
        keys: list[str] = []
        if bundle.identifier is not None and bundle.identifier.value:
            keys.append(f"{bundle.identifier.system or ''}|{bundle.identifier.value}")
        for index, entry in enumerate(entries):
            where = f"Bundle.entry[{index}]"
            resource = entry.resource
            if resource is None:
                self.problem("required", "Each entry carries a resource.", f"{where}.resource")
                continue
            kind = resource.get_resource_type()
            refs.append(EntryRef(kind, entry.fullUrl or ""))
            if kind not in by_type:
                self.problem(
                    "not-supported",
                    f"A referral bundle holds only {', '.join(REFERRAL_TYPES)}; not {kind}.",
                    f"{where}.resource",
                )
                continue
            self._check_request(entry, kind, where, keys)
            if entry.fullUrl:
                if not entry.fullUrl.startswith("urn:uuid:"):
                    self.problem(
                        "invalid",
                        "fullUrl must be a urn:uuid: (the server gives the resources their ids).",
                        f"{where}.fullUrl",
                    )
                elif entry.fullUrl in full_urls:
                    self.problem("invalid", "fullUrl used twice in the bundle.", f"{where}.fullUrl")
                full_urls[entry.fullUrl] = kind
            by_type[kind].append((index, resource))

        if len(by_type["ServiceRequest"]) != 1:
            self.problem(
                "invalid",
                "A referral has exactly one ServiceRequest; "
                f"this bundle has {len(by_type['ServiceRequest'])}.",
                "Bundle.entry",
            )
        if len(by_type["Patient"]) != 1:
            self.problem(
                "invalid",
                f"A referral has exactly one Patient; this bundle has {len(by_type['Patient'])}.",
                "Bundle.entry",
            )
        if len(by_type["QuestionnaireResponse"]) > 1:
            self.problem(
                "invalid", "A referral has at most one QuestionnaireResponse.", "Bundle.entry"
            )
        if len(by_type["Media"]) > self.max_photos:
            self.problem(
                "too-costly",
                f"A referral carries at most {self.max_photos} photos; "
                f"this bundle has {len(by_type['Media'])}.",
                "Bundle.entry",
            )
        if self.issues or not by_type["ServiceRequest"] or not by_type["Patient"]:
            return None

        sr_index, request = by_type["ServiceRequest"][0]
        patient_index, patient_resource = by_type["Patient"][0]
        patient_url = entries[patient_index].fullUrl or ""
        sr_url = entries[sr_index].fullUrl or ""
        patient = self._patient(patient_resource, f"Bundle.entry[{patient_index}].resource")
        reason, notes, priority, pathway = self._service_request(
            request,
            f"Bundle.entry[{sr_index}].resource",
            full_urls=full_urls,
            patient_url=patient_url,
            keys=keys,
        )
        answers: dict[str, Any] = {}
        for index, qr in by_type["QuestionnaireResponse"]:
            answers = self._questionnaire(
                qr, f"Bundle.entry[{index}].resource", patient_url=patient_url, sr_url=sr_url
            )
        photos = [
            self._photo(media, f"Bundle.entry[{index}].resource", patient_url, sr_url, number)
            for number, (index, media) in enumerate(by_type["Media"], start=1)
        ]
        if not reason and answers.get("complaint"):
            reason = str(answers["complaint"])
        if not reason:
            self.problem(
                "required",
                "Say what the referral is for: ServiceRequest.reasonCode.text, or the "
                "QuestionnaireResponse answer to 'complaint'.",
                f"Bundle.entry[{sr_index}].resource.reasonCode",
            )
        if self.issues or patient is None:
            return None
        clinical = _clinical_information(notes, answers, reason)
        if len(reason) > REASON_MAX:
            clinical = f"{reason}\n\n{clinical}".strip()
            reason = reason[: REASON_MAX - 1].rstrip() + "…"
        return IncomingReferral(
            patient=patient,
            reason=reason,
            clinical_information=clinical,
            priority=priority,
            cancer_pathway=pathway,
            photos=tuple(photo for photo in photos if photo is not None),
            keys=tuple(dict.fromkeys(keys)),
            entries=tuple(refs),
            answers=answers,
        )

    def _check_request(self, entry: BundleEntry, kind: str, where: str, keys: list[str]) -> None:
        if entry.request is None:
            self.problem(
                "required", "Each transaction entry has a request (POST).", f"{where}.request"
            )
            return
        if entry.request.method != "POST":
            self.problem(
                "not-supported",
                "A referral is created: every entry's request.method is POST.",
                f"{where}.request.method",
            )
        if (entry.request.url or "").strip("/") != kind:
            self.problem(
                "invalid",
                f"request.url must be the resource type ({kind!r}).",
                f"{where}.request.url",
            )
        condition = entry.request.ifNoneExist
        if condition:
            match = _IF_NONE_EXIST.fullmatch(condition)
            if kind != "ServiceRequest" or match is None:
                self.problem(
                    "not-supported",
                    "ifNoneExist is supported only on the ServiceRequest, as "
                    "identifier=system|value.",
                    f"{where}.request.ifNoneExist",
                )
            else:
                key = match.group("key")
                keys.append(key if "|" in key else f"|{key}")

    def _patient(self, resource: Patient, where: str) -> kith.Patient | None:
        chosen: tuple[int, str, str] | None = None
        for index, identifier in enumerate(resource.identifier or []):
            if identifier.system in _PERSON_SYSTEMS:
                chosen = (index, identifier.system, identifier.value or "")
                break
        if chosen is None:
            self.problem(
                "required",
                f"The patient needs a fødselsnummer ({FNR_SYSTEM}) or D-nummer ({DNR_SYSTEM}).",
                f"{where}.identifier",
            )
            return None
        index, system, value = chosen
        location = f"{where}.identifier[{index}].value"
        try:
            number = parse_person_identifier(
                value, accept_synthetic=self.accept_synthetic, today=self.today
            )
        except InvalidIdentifier as exc:
            self.problem("value", str(exc), location)
            return None
        kind = _PERSON_SYSTEMS[system]
        expected = kith.IdKind.DNR if number.kind == IdentifierKind.D_NUMMER else kith.IdKind.FNR
        if number.kind == IdentifierKind.FELLES_HJELPENUMMER or kind != expected:
            self.problem(
                "value",
                f"The number is not a {'D-nummer' if kind == kith.IdKind.DNR else 'fødselsnummer'}"
                " as its system says.",
                location,
            )
            return None
        if (
            resource.birthDate is not None
            and number.birth_date is not None
            and resource.birthDate != number.birth_date
        ):
            self.problem(
                "value",
                "birthDate does not match the birth date in the person number.",
                f"{where}.birthDate",
            )
        family, given = _name(resource)
        if not (family or given):
            self.problem("required", "The patient needs a name.", f"{where}.name")
            return None
        return kith.Patient(
            family_name=family,
            given_name=given,
            identifier=number.value,
            identifier_kind=kind,
            birth_date=number.birth_date,
            sex={"male": "1", "female": "2", "other": "9"}.get(resource.gender or "", ""),
        )

    def _service_request(
        self,
        request: ServiceRequest,
        where: str,
        *,
        full_urls: dict[str, str],
        patient_url: str,
        keys: list[str],
    ) -> tuple[str, str, str, bool]:
        if request.intent != "order":
            self.problem("value", "A referral's intent is 'order'.", f"{where}.intent")
        if request.status != "active":
            self.problem("value", "A new referral's status is 'active'.", f"{where}.status")
        if request.doNotPerform:
            self.problem("value", "doNotPerform is not a referral.", f"{where}.doNotPerform")
        if request.subject is None or request.subject.reference != patient_url or not patient_url:
            self.problem(
                "invalid",
                "subject must refer to the bundle's Patient entry by its fullUrl.",
                f"{where}.subject",
            )
        for index, info in enumerate(request.supportingInfo or []):
            if full_urls.get(info.reference or "") not in {"QuestionnaireResponse", "Media"}:
                self.problem(
                    "invalid",
                    "supportingInfo must refer to a QuestionnaireResponse or Media entry of the "
                    "bundle by its fullUrl.",
                    f"{where}.supportingInfo[{index}]",
                )
        for identifier in request.identifier or []:
            if identifier.value:
                keys.append(f"{identifier.system or ''}|{identifier.value}")
        priority = PRIORITIES.get(request.priority or "routine", "routine")
        reasons = [
            text
            for concept in request.reasonCode or []
            for text in [concept.text or _displays(concept.coding)]
            if text
        ]
        notes = [note.text for note in request.note or [] if note.text]
        return "; ".join(reasons), "\n\n".join(notes), priority, _is_cancer_pathway(request)

    def _questionnaire(
        self, qr: QuestionnaireResponse, where: str, *, patient_url: str, sr_url: str
    ) -> dict[str, Any]:
        if qr.status not in {"completed", "amended"}:
            self.problem("value", "The questionnaire must be completed.", f"{where}.status")
        if qr.subject is not None and qr.subject.reference != patient_url:
            self.problem("invalid", "subject must be the bundle's Patient.", f"{where}.subject")
        for index, based_on in enumerate(qr.basedOn or []):
            if based_on.reference != sr_url:
                self.problem(
                    "invalid",
                    "basedOn must be the bundle's ServiceRequest.",
                    f"{where}.basedOn[{index}]",
                )
        answers: dict[str, Any] = {}
        for index, item in enumerate(qr.item or []):
            at = f"{where}.item[{index}]"
            if item.linkId not in LINK_IDS:
                self.problem(
                    "not-supported",
                    f"Unknown question {item.linkId!r}: the linkIds are "
                    f"{', '.join(sorted(LINK_IDS))}.",
                    f"{at}.linkId",
                )
                continue
            if item.linkId in answers:
                self.problem("invalid", f"{item.linkId!r} answered twice.", f"{at}.linkId")
                continue
            if item.item:
                self.problem("not-supported", "Our questions have no sub-items.", f"{at}.item")
                continue
            answer_list = item.answer or []
            if len(answer_list) != 1:
                self.problem("invalid", "Give exactly one answer to each question.", f"{at}.answer")
                continue
            value = self._answer(item.linkId, answer_list[0], f"{at}.answer[0]")
            if value is not None:
                answers[item.linkId] = value
        if answers.get(CONSENT_QUESTION) is False:
            self.problem(
                "business-rule",
                "A referral needs the patient's agreement (patient_consents true).",
                where,
            )
        return answers

    def _answer(self, link_id: str, answer: Any, at: str) -> Any:
        if link_id == CONSENT_QUESTION:
            if answer.valueBoolean is None:
                self.problem("value", "patient_consents is answered with valueBoolean.", at)
            return answer.valueBoolean
        if link_id in TEXT_QUESTIONS:
            if not answer.valueString or not answer.valueString.strip():
                self.problem("value", f"{link_id} is answered with a non-empty valueString.", at)
                return None
            if len(answer.valueString) > 2000:
                self.problem("too-long", f"{link_id} is at most 2000 characters.", at)
                return None
            return answer.valueString.strip()
        _question, codes = CHOICE_QUESTIONS[link_id]
        code = answer.valueCoding.code if answer.valueCoding is not None else answer.valueString
        if code not in codes:
            self.problem(
                "value",
                f"{link_id} is answered with valueCoding.code one of {', '.join(sorted(codes))}.",
                at,
            )
            return None
        return code

    def _photo(
        self, media: Media, where: str, patient_url: str, sr_url: str, number: int
    ) -> kith.Attachment | None:
        if media.subject is not None and media.subject.reference != patient_url:
            self.problem("invalid", "subject must be the bundle's Patient.", f"{where}.subject")
        for index, based_on in enumerate(media.basedOn or []):
            if based_on.reference != sr_url:
                self.problem(
                    "invalid",
                    "basedOn must be the bundle's ServiceRequest.",
                    f"{where}.basedOn[{index}]",
                )
        content = media.content
        if content is None:  # Required by FHIR, yet a JSON null gets through the parser.
            self.problem("required", "A Media carries its photo in content.", f"{where}.content")
            return None
        if content.url:
            self.problem(
                "not-supported",
                "Photos travel inline (content.data, base64); Telederm fetches no URLs.",
                f"{where}.content.url",
            )
            return None
        if content.contentType not in MEDIA_TYPES:
            self.problem(
                "not-supported",
                f"contentType must be one of {', '.join(MEDIA_TYPES)}.",
                f"{where}.content.contentType",
            )
            return None
        data = content.data or b""
        if not data:
            self.problem(
                "required",
                "content.data is empty or not base64.",
                f"{where}.content.data",
            )
            return None
        if len(data) > self.max_photo_bytes:
            self.problem(
                "too-costly",
                f"A photo is at most {self.max_photo_bytes} bytes; this has {len(data)}.",
                f"{where}.content.data",
            )
            return None
        if _sniff(data) != content.contentType:
            self.problem(
                "value",
                f"content.data is not a {content.contentType} image.",
                f"{where}.content.data",
            )
            return None
        if not _header_readable(data, content.contentType):
            self.problem(
                "value",
                "content.data is damaged: it cannot be opened as an image.",
                f"{where}.content.data",
            )
            return None
        if content.size is not None and content.size != len(data):
            self.problem("value", "content.size does not match the data.", f"{where}.content.size")
        if (
            content.hash is not None
            and content.hash != hashlib.sha1(data, usedforsecurity=False).digest()
        ):
            # FHIR's Attachment.hash is the SHA-1 of the data (a checksum, not a security control).
            self.problem("value", "content.hash does not match the data.", f"{where}.content.hash")
        description = media.bodySite.text if media.bodySite and media.bodySite.text else ""
        filename = content.title or f"photo-{number}"
        if "." not in filename:
            filename = f"{filename}.{_EXTENSIONS[content.contentType]}"
        return kith.Attachment(
            filename=filename[:200],
            mime_type=content.contentType,
            data=data,
            description=description or (content.title or ""),
        )


def _name(resource: Patient) -> tuple[str, str]:
    names = list(resource.name or [])
    official = [name for name in names if name.use == "official"] or names
    for name in official:
        family = (name.family or "").strip()
        given = " ".join(part.strip() for part in name.given or [] if part and part.strip())
        if family or given:
            return family, given
        if name.text and name.text.strip():
            parts = name.text.strip().rsplit(" ", 1)
            return (parts[-1], parts[0]) if len(parts) == 2 else (parts[0], "")
    return "", ""


def _displays(codings: Iterable[Any] | None) -> str:
    return "; ".join(coding.display for coding in codings or [] if coding.display)


def _is_cancer_pathway(request: ServiceRequest) -> bool:
    concepts = list(request.category or []) + ([request.code] if request.code else [])
    for concept in concepts:
        for coding in concept.coding or []:
            if coding.code in PATHWAY_CODES and coding.system in {PATHWAY_SYSTEM, None}:
                return True
    for extension in request.extension or []:
        if extension.url == PATHWAY_EXTENSION:
            if extension.valueBoolean:
                return True
            if extension.valueCoding is not None and extension.valueCoding.code in PATHWAY_CODES:
                return True
    return False


def _clinical_information(notes: str, answers: dict[str, Any], reason: str) -> str:
    """The notes, then every intake answer the referral's case has no field for, as labelled lines.

    `receive_referral` takes the reason and the clinical information; the other questions' answers
    travel as text the clinic reads, in the order of our questionnaire.
    """
    lines = []
    complaint = answers.get("complaint")
    if complaint and complaint != reason:
        lines.append(f"{TEXT_QUESTIONS['complaint']}: {complaint}")
    for link_id in ("body_site", "body_site_detail", "onset", "change", "itch", "pain"):
        if link_id in answers:
            question = (
                CHOICE_QUESTIONS[link_id][0]
                if link_id in CHOICE_QUESTIONS
                else TEXT_QUESTIONS[link_id]
            )
            lines.append(f"{question}: {answers[link_id]}")
    for link_id in ("treatments_tried", "other_information"):
        if link_id in answers:
            lines.append(f"{TEXT_QUESTIONS[link_id]}: {answers[link_id]}")
    return "\n\n".join(part for part in (notes, "\n".join(lines)) if part)


def _header_readable(data: bytes, media_type: str) -> bool:
    """Whether the image's header can be read (the worker decodes the pixels later, as for the web
    form's photos; a photo damaged further in is then shown as rejected on the case)."""
    if media_type == "image/heic":
        return True  # libvips reads HEIF through the photo pipeline's own loader only.
    try:
        pyvips.Image.new_from_buffer(data, "", access="sequential")
    except pyvips.Error:
        return False
    return True


def _sniff(data: bytes) -> str:
    """The media type the bytes are, by the photo pipeline's own reading of them."""
    return {"jpeg": "image/jpeg", "png": "image/png", "heif": "image/heic"}.get(sniff(data), "")


def strip_photo_data(body: bytes) -> bytes:
    """The bundle as received without the photos' bytes (kept once, by the photo store)."""
    try:
        data = json.loads(body)
        for entry in data.get("entry") or []:
            content = (entry.get("resource") or {}).get("content")
            if isinstance(content, dict) and "data" in content:
                content["data"] = f"<{len(str(content['data']))} base64 characters>"
        return json.dumps(data, ensure_ascii=False).encode()
    except (ValueError, AttributeError, TypeError):
        return b""
