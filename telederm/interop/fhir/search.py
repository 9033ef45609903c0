"""The FHIR resource types we serve: what each may show a token, how it is searched and rendered.

`REGISTRY` is the one list both the router (views.py) and the CapabilityStatement (capability.py)
read, so the statement cannot advertise a parameter the router does not take, nor the router take
one the statement does not list.

Every search starts from what the token may see (`visible`, built on `api.policies`), then
applies the parameters. Parameters follow FHIR R4 search: repeating a parameter ANDs, commas inside
one value OR; dates take the prefixes eq, gt, ge, lt, le with the precision given (a day is the
whole day, in UTC); tokens take `system|code`, `|code` (no system) and `code`; references take
`Type/<id>`, `<id>` or an absolute URL ending so. Modifiers (`:exact`, `:not`…) are not supported.
Paging is by offset (`_offset`, opaque to clients: they follow the Bundle's links).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from fhir.resources.R4B.resource import Resource

from telederm.accounts.models import Organisation, User
from telederm.api import policies
from telederm.api.models import ApiToken
from telederm.api.policies import ScopeCheck
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, Message
from telederm.cases.services import QUESTIONNAIRE_FIELDS
from telederm.interop.fhir import mapping
from telederm.interop.fhir.errors import FhirError
from telederm.patients.models import Patient
from telederm.photos.models import Photo
from telederm.review.models import Diagnosis, Prescription, Referral

DEFAULT_COUNT = 20
MAX_COUNT = 100
# A search counts its matches up to this many; past it the Bundle leaves `total` out rather than
# count a whole table (`_total=accurate` asks for the exact figure).
CHEAP_TOTAL_LIMIT = 1000
UUID_LENGTH = 36


@dataclass
class Context:
    """One request to the FHIR API: who asks, with which scope check, and how to name URLs."""

    request: HttpRequest
    token: ApiToken
    check: ScopeCheck
    base_url: str
    """The absolute URL of /fhir/, ending in a slash."""

    @property
    def user(self) -> User:
        return self.token.user

    @property
    def names(self) -> bool:
        return self.check.shows_patient_name

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)


# --- parameter values -------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?"
)
DATE_PREFIXES = ("eq", "gt", "ge", "lt", "le")


def parse_date_range(text: str) -> tuple[str, dt.datetime, dt.datetime]:
    """A FHIR date search value: its prefix and the half-open range [start, end) it stands for."""
    prefix = "eq"
    if text[:2] in (*DATE_PREFIXES, "ne", "sa", "eb", "ap"):
        prefix, text = text[:2], text[2:]
        if prefix not in DATE_PREFIXES:
            raise FhirError(400, "not-supported", f"the date prefix {prefix} is not supported")
    match = _DATE.fullmatch(text)
    if match is None:
        raise FhirError(
            400, "invalid", f"{text!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)"
        )
    parts = match.groupdict()
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
            return prefix, start, dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
        month = int(parts["month"])
        if parts["day"] is None:
            start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
            return prefix, start, following
        day = dt.datetime(year, month, int(parts["day"]), tzinfo=dt.UTC)
        if parts["hour"] is None:
            return prefix, day, day + dt.timedelta(days=1)
        zone = (
            dt.UTC
            if parts["tz"] == "Z"
            else dt.datetime.strptime(parts["tz"].replace(":", ""), "%z").tzinfo
        )
        moment = dt.datetime(
            year,
            month,
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
            tzinfo=zone,
        )
        precision = dt.timedelta(seconds=1) if parts["second"] else dt.timedelta(minutes=1)
        if parts["fraction"]:
            precision = dt.timedelta(microseconds=1)
        return prefix, moment, moment + precision
    except (ValueError, TypeError, OverflowError) as exc:
        raise FhirError(400, "invalid", f"{text!r} is not a valid date: {exc}") from exc


def date_q(path: str, text: str, *, date_only: bool = False) -> Q:
    """The condition a date search value puts on `path` (a DateTimeField, or a DateField)."""
    prefix, start, end = parse_date_range(text)
    low: dt.date | dt.datetime = start
    high: dt.date | dt.datetime = end
    if date_only:
        # A day field: a range within one day covers that day.
        low, high = start.date(), end.date()
        if high == low or end.time() != dt.time(0):
            high += dt.timedelta(days=1)
    conditions = {
        "eq": Q(**{f"{path}__gte": low, f"{path}__lt": high}),
        "gt": Q(**{f"{path}__gte": high}),
        "ge": Q(**{f"{path}__gte": low}),
        "lt": Q(**{f"{path}__lt": low}),
        "le": Q(**{f"{path}__lt": high}),
    }
    return conditions[prefix]


def split_token(text: str) -> tuple[str | None, str]:
    """`system|code` → (system, code); `|code` → ("", code); `code` → (None, code)."""
    if "|" in text:
        system, _, code = text.partition("|")
        return system, code
    return None, text


def reference_uuid(text: str, resource_type: str) -> uuid.UUID | None:
    """The UUID a reference value names (`Type/<id>`, `<id>`, or a URL ending so), or None."""
    value = text.rstrip("/")
    if "/" in value:
        named_type, _, value = value.rpartition("/")
        if named_type.rpartition("/")[2] != resource_type:
            return None
    return as_uuid(value)


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if len(text) == UUID_LENGTH else None
    except ValueError:
        return None


# --- search parameters ------------------------------------------------------------------------

Filter = Callable[[str], Q]


@dataclass(frozen=True)
class Param:
    """One search parameter: its FHIR type, what it means here, and the condition one value sets."""

    name: str
    type: str
    documentation: str
    condition: Filter

    def apply(self, rows: QuerySet[Any], value: str) -> QuerySet[Any]:
        alternatives = [part for part in value.split(",") if part != ""]
        if not alternatives:
            raise FhirError(400, "invalid", f"the parameter {self.name} has no value")
        combined = Q(pk__in=[])
        for alternative in alternatives:
            combined |= self.condition(alternative)
        return rows.filter(combined)


class IgnoredParam(Param):
    """A parameter some clients always send that changes nothing here: accepted, any value."""

    def apply(self, rows: QuerySet[Any], value: str) -> QuerySet[Any]:
        return rows


# fhirpy's `.count()` sends `_totalMethod=count`, an Aidbox extension that picks how Aidbox
# counts; here the count follows `_total` alone, so the parameter is taken and ignored rather
# than refused (it is listed in the CapabilityStatement with this text).
IGNORED_PARAMS: dict[str, Param] = {
    "_totalMethod": IgnoredParam(
        "_totalMethod",
        "token",  # a code (Aidbox: count, estimate)
        "Accepted and ignored (Aidbox's counting method, which fhirpy's count() sends); "
        "use _total to choose how the Bundle counts its matches.",
        lambda value: Q(),
    )
}


def id_param(path: str = "uuid") -> Param:
    def condition(value: str) -> Q:
        parsed = as_uuid(value)
        return Q(**{path: parsed}) if parsed else Q(pk__in=[])

    return Param("_id", "token", "The resource's id (a UUID).", condition)


def reference_param(name: str, resource_type: str, path: str, documentation: str) -> Param:
    def condition(value: str) -> Q:
        parsed = reference_uuid(value, resource_type)
        return Q(**{path: parsed}) if parsed else Q(pk__in=[])

    return Param(name, "reference", documentation, condition)


def date_param(name: str, path: str, documentation: str, *, date_only: bool = False) -> Param:
    def condition(value: str) -> Q:
        return date_q(path, value, date_only=date_only)

    return Param(name, "date", documentation, condition)


def status_param(mapping_: dict[str, str], path: str, documentation: str) -> Param:
    """A FHIR status token mapped back to the set of our states that show as it."""

    def condition(value: str) -> Q:
        system, code = split_token(value)
        if system:
            return Q(pk__in=[])
        ours = [state for state, shown in mapping_.items() if shown == code]
        return Q(**{f"{path}__in": ours}) if ours else Q(pk__in=[])

    return Param("status", "token", documentation, condition)


def patient_params(path: str) -> list[Param]:
    return [
        reference_param("patient", "Patient", path, "The patient (Patient/<id>)."),
        reference_param("subject", "Patient", path, "The subject: the patient (Patient/<id>)."),
    ]


def uri_identifier_param(path: str = "uuid") -> Param:
    """Our resources' identifier is their UUID as `urn:ietf:rfc:3986|urn:uuid:<uuid>`."""

    def condition(value: str) -> Q:
        system, code = split_token(value)
        if system not in (None, mapping.URI):
            return Q(pk__in=[])
        parsed = as_uuid(code.removeprefix("urn:uuid:"))
        return Q(**{path: parsed}) if parsed else Q(pk__in=[])

    return Param(
        "identifier",
        "token",
        f"The business identifier: {mapping.URI}|urn:uuid:<id>.",
        condition,
    )


def _patient_identifier(value: str) -> Q:
    system, code = split_token(value)
    if system is None:
        return Q(identifier=code)
    kinds = [kind for kind, known in mapping.IDENTIFIER_SYSTEMS.items() if known == system]
    if not kinds or not code:
        # `|value` asks for identifiers without a system: ours always have one.
        return Q(pk__in=[]) if not (kinds and not code) else Q(identifier_kind__in=kinds)
    return Q(identifier_kind__in=kinds, identifier=code)


def _hpr_identifier(value: str) -> Q:
    system, code = split_token(value)
    if system not in (None, mapping.HPR) or not code:
        return Q(pk__in=[])
    return Q(hpr_number=code)


def _organisation_identifier(value: str) -> Q:
    system, code = split_token(value)
    if not code:
        return Q(pk__in=[])
    her = Q(her_id=int(code)) if code.isdigit() and len(code) < 10 else Q(pk__in=[])
    if system == mapping.HER_ID:
        return her
    if system == mapping.ORGANISATION_NUMBER:
        return Q(organisation_number=code)
    if system is None:
        return her | Q(organisation_number=code)
    return Q(pk__in=[])


def _diagnosis_code(value: str) -> Q:
    system, code = split_token(value)
    ours = {known: key for key, known in mapping.DIAGNOSIS_SYSTEMS.items()}
    ours[mapping.ICD10_HL7] = "icd10"
    if system is None:
        return Q(code=code)
    if system not in ours:
        return Q(pk__in=[])
    return Q(system=ours[system], code=code) if code else Q(system=ours[system])


def _diagnosis_id(value: str) -> Q:
    review = as_uuid(value[:UUID_LENGTH])
    if review is None or not value[UUID_LENGTH:].startswith("-"):
        return Q(pk__in=[])
    system, _, code = value[UUID_LENGTH + 1 :].partition("-")
    return Q(review__uuid=review, system=system, code=code)


def _business_status(value: str) -> Q:
    system, code = split_token(value)
    if system not in (None, mapping.CASE_STATUS):
        return Q(pk__in=[])
    return Q(status=code)


def _subtype(value: str) -> Q:
    system, code = split_token(value)
    if system not in (None, mapping.ACCESS_ACTION):
        return Q(pk__in=[])
    return Q(action=code)


# --- resource types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a row shows, for the access log: its patient, its case, and the object itself."""

    patient: Any
    case: Any = None
    obj: Any = None
    basis: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One FHIR resource type served from one kind of row."""

    name: str
    visible: Callable[[Context], QuerySet[Any]]
    render: Callable[[Any, Context], Resource]
    params: Sequence[Param]
    sorts: dict[str, str]
    """Sort keys (`_lastUpdated`, and the natural date's parameter name) → the field they order."""
    default_sort: str
    by_id: Filter
    includes: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    """`Type:param` → the patient row a row names, for `_include`."""
    seen: Callable[[Any, Context], Seen | None] | None = None
    """What a row shows of a patient (None: not patient data, nothing to log)."""
    documentation: str = ""

    @property
    def param_map(self) -> dict[str, Param]:
        return {param.name: param for param in self.params} | IGNORED_PARAMS

    @property
    def log_name(self) -> str:
        return self.name.lower()


def readable_cases(ctx: Context) -> QuerySet[Case]:
    """The cases the token may read (api.policies), as a query to nest in others."""
    return policies.cases_readable_with(ctx.token, ctx.check)


def case_basis(ctx: Context, case: Case) -> str:
    return policies.basis_for_log(ctx.token, case)


_CASE_RELATED = ("patient", "created_by", "assigned_to", "claimed_by")


def _cases(ctx: Context) -> QuerySet[Case]:
    return readable_cases(ctx).select_related(*_CASE_RELATED)


def _case_seen(case: Case, ctx: Context) -> Seen:
    return Seen(patient=case.patient, case=case, basis=case_basis(ctx, case))


def _photo_uuids(case: Case) -> list[uuid.UUID]:
    return [photo.uuid for photo in case.fhir_photos]  # type: ignore[attr-defined]


def _service_requests(ctx: Context) -> QuerySet[Case]:
    # The photos' ids for supportingInfo, in one query per page rather than one per case.
    photos = (
        Photo.objects.exclude(status=Photo.Status.REJECTED)
        .order_by("created_at", "pk")
        .only("uuid", "case_id")
    )
    return _cases(ctx).prefetch_related(Prefetch("photos", queryset=photos, to_attr="fhir_photos"))


def _render_service_request(case: Case, ctx: Context) -> Resource:
    return mapping.service_request(case, photo_uuids=_photo_uuids(case), names=ctx.names)


def _question_texts() -> dict[str, str]:
    return {
        name: str(getattr(Case._meta.get_field(name), "verbose_name", name))
        for name in QUESTIONNAIRE_FIELDS
    }


def _render_questionnaire_response(case: Case, ctx: Context) -> Resource:
    return mapping.questionnaire_response(
        case, fields=QUESTIONNAIRE_FIELDS, texts=_question_texts(), names=ctx.names
    )


def _patients(ctx: Context) -> QuerySet[Patient]:
    own = Q(user=ctx.user)
    if ctx.check.patient_in_context_only:
        rule = own
    else:
        rule = own | Q(pk__in=readable_cases(ctx).values("patient_id"))
    return Patient.objects.filter(rule).select_related("gp_office")


def _patient_seen(patient: Patient, ctx: Context) -> Seen:
    return Seen(patient=patient, basis="own" if patient.user_id == ctx.user.pk else "")


def _practitioners(ctx: Context) -> QuerySet[User]:
    return User.objects.filter(role__in=mapping.PRACTITIONER_ROLES).select_related("organisation")


def _photos(ctx: Context) -> QuerySet[Photo]:
    return (
        Photo.objects.filter(case__in=readable_cases(ctx))
        .exclude(status=Photo.Status.REJECTED)
        .select_related("case__patient", "lesion")
        .annotate(fhir_updated=Coalesce("processed_at", "created_at"))
    )


def _render_media(photo: Photo, ctx: Context) -> Resource:
    url = ctx.absolute(reverse("photos:image", args=[photo.case.uuid, photo.uuid, "full"]))
    site = photo.lesion.body_site if photo.lesion is not None else photo.case.body_site
    return mapping.media(photo, photo.case, url=url, body_site=site, names=ctx.names)


def _diagnoses(ctx: Context) -> QuerySet[Diagnosis]:
    return Diagnosis.objects.filter(
        review__signed_at__isnull=False, review__case__in=readable_cases(ctx)
    ).select_related("review__author", "review__case__patient")


def _prescriptions(ctx: Context) -> QuerySet[Prescription]:
    return Prescription.objects.filter(
        review__signed_at__isnull=False, review__case__in=readable_cases(ctx)
    ).select_related("review__author", "review__case__patient")


def _referrals(ctx: Context) -> QuerySet[Referral]:
    return Referral.objects.filter(
        review__signed_at__isnull=False, review__case__in=readable_cases(ctx)
    ).select_related("review__author", "review__case__patient")


def _messages(ctx: Context) -> QuerySet[Message]:
    return (
        Message.objects.filter(case__in=readable_cases(ctx))
        .select_related("case__patient", "author")
        .annotate(fhir_updated=Coalesce("read_at", "sent_at"))
    )


def _summaries(ctx: Context) -> QuerySet[Case]:
    """Cases with an answer summary: a signed review, or a duty nurse's self-care close."""
    self_care = Message.objects.filter(case=OuterRef("pk"), kind=Message.Kind.SELF_CARE)
    latest = self_care.order_by("-sent_at", "-pk").values("sent_at")[:1]
    return (
        _cases(ctx)
        .annotate(fhir_self_care=Exists(self_care))
        .filter(Q(review__signed_at__isnull=False) | Q(fhir_self_care=True))
        .annotate(fhir_summary_at=Coalesce("review__signed_at", Subquery(latest)))
        .select_related("review__author")
    )


def _render_document(case: Case, ctx: Context) -> Resource:
    review = getattr(case, "review", None)
    author = review.author if review is not None and review.signed_at else None
    url = ctx.absolute(reverse("answers:summary_pdf", args=[case.uuid]))
    at = case.fhir_summary_at  # type: ignore[attr-defined]
    return mapping.document_reference(case, url=url, at=at, author=author, names=ctx.names)


def _audit_events(ctx: Context) -> QuerySet[AccessEvent]:
    """The access log: all of it for the privacy officer, their own entries for a patient."""
    events = AccessEvent.objects.select_related("actor")
    user = ctx.user
    if user.role == User.Role.PRIVACY_OFFICER and "user" in ctx.check.contexts:
        return events
    own = Patient.objects.filter(user=user).values_list("uuid", flat=True).first()
    if user.is_patient and own is not None:
        return events.filter(patient_uuid=own)
    return events.none()


def _audit_seen(event: AccessEvent, ctx: Context) -> Seen | None:
    if event.patient_uuid is None:
        return None
    basis = "own" if ctx.user.is_patient else ""
    return Seen(patient=_Uuid(event.patient_uuid), basis=basis)


@dataclass(frozen=True)
class _Uuid:
    uuid: uuid.UUID


def _render_audit_event(event: AccessEvent, ctx: Context) -> Resource:
    basis = AccessEvent.Basis(event.basis).label if event.basis else ""
    # Client addresses are for the privacy officer's review, not for the patient's own reading.
    return mapping.audit_event(
        event,
        actor=event.actor,
        basis_text=str(basis),
        show_network=ctx.user.role == User.Role.PRIVACY_OFFICER,
    )


def CASE_PATIENT(case: Any) -> Any:
    return case.patient


def ROW_CASE_PATIENT(row: Any) -> Any:
    return row.case.patient


def REVIEW_CASE_PATIENT(row: Any) -> Any:
    return row.review.case.patient


def _includes(name: str, getter: Callable[[Any], Any], *params: str) -> dict[str, Any]:
    return {f"{name}:{param}": getter for param in params}


def _lastupdated(path: str) -> Param:
    return date_param("_lastUpdated", path, "When the resource last changed (meta.lastUpdated).")


PATIENT = ResourceType(
    name="Patient",
    visible=_patients,
    render=lambda row, ctx: mapping.patient(row, gp_office=row.gp_office, names=ctx.names),
    params=[
        id_param(),
        Param(
            "identifier",
            "token",
            "National identity number: "
            f"{mapping.FNR}|<fødselsnummer>, {mapping.DNR}|<D-nummer>, "
            f"{mapping.FHN}|<felles hjelpenummer>, or the number alone.",
            _patient_identifier,
        ),
        date_param("birthdate", "birth_date", "Birth date.", date_only=True),
        _lastupdated("created_at"),
    ],
    sorts={"_lastUpdated": "created_at", "birthdate": "birth_date"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    seen=_patient_seen,
    documentation="The patients of the cases the token may read; a patient's token: themself.",
)

PRACTITIONER = ResourceType(
    name="Practitioner",
    visible=_practitioners,
    render=lambda row, ctx: mapping.practitioner(row),
    params=[
        id_param(),
        Param("identifier", "token", f"HPR number: {mapping.HPR}|<number>.", _hpr_identifier),
        _lastupdated("date_joined"),
    ],
    sorts={"_lastUpdated": "date_joined"},
    default_sort="_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    documentation="Health professionals and clinic staff (not patient data: not logged).",
)

PRACTITIONER_ROLE = ResourceType(
    name="PractitionerRole",
    visible=_practitioners,
    render=lambda row, ctx: mapping.practitioner_role(row),
    params=[
        id_param(),
        reference_param("practitioner", "Practitioner", "uuid", "The practitioner."),
        reference_param("organization", "Organization", "organisation__uuid", "Works for."),
        _lastupdated("date_joined"),
    ],
    sorts={"_lastUpdated": "date_joined"},
    default_sort="_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    documentation="One per practitioner (same id): role code and organisation.",
)

ORGANIZATION = ResourceType(
    name="Organization",
    visible=lambda ctx: Organisation.objects.all(),
    render=lambda row, ctx: mapping.organization(row),
    params=[
        id_param(),
        Param(
            "identifier",
            "token",
            f"HER-id ({mapping.HER_ID}|<id>) or organisation number "
            f"({mapping.ORGANISATION_NUMBER}|<number>), or either alone.",
            _organisation_identifier,
        ),
    ],
    sorts={"name": "name"},
    default_sort="name",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    documentation="GP offices, the clinic and other organisations (not patient data).",
)

SERVICE_REQUEST = ResourceType(
    name="ServiceRequest",
    visible=_service_requests,
    render=_render_service_request,
    params=[
        id_param(),
        uri_identifier_param(),
        *patient_params("patient__uuid"),
        status_param(mapping.SERVICE_REQUEST_STATUS, "status", "FHIR request status."),
        date_param("authored", "submitted_at", "When the case was sent."),
        _lastupdated("updated_at"),
    ],
    sorts={"_lastUpdated": "updated_at", "authored": "submitted_at"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("ServiceRequest", CASE_PATIENT, "patient", "subject"),
    seen=_case_seen,
    documentation=(
        "A case: the request for a dermatologist's assessment. In-person referrals decided in a "
        "signed review are ServiceRequests too, based on the case's: read them by id, or search "
        "them with based-on=ServiceRequest/<case id>."
    ),
)

# The referrals: searched when `based-on` is given, read by id when no case has that id.
REFERRAL = ResourceType(
    name="ServiceRequest",
    visible=_referrals,
    render=lambda row, ctx: mapping.referral_request(
        row, row.review, row.review.case, names=ctx.names
    ),
    params=[
        id_param(),
        reference_param(
            "based-on", "ServiceRequest", "review__case__uuid", "The case a referral is based on."
        ),
        *patient_params("review__case__patient__uuid"),
        date_param("authored", "review__signed_at", "When the referral was signed."),
        _lastupdated("review__updated_at"),
    ],
    sorts={"_lastUpdated": "review__updated_at", "authored": "review__signed_at"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("ServiceRequest", REVIEW_CASE_PATIENT, "patient", "subject"),
    seen=lambda row, ctx: Seen(
        patient=row.review.case.patient,
        case=row.review.case,
        obj=row,
        basis=case_basis(ctx, row.review.case),
    ),
)

TASK = ResourceType(
    name="Task",
    visible=_cases,
    render=lambda row, ctx: mapping.task(row, names=ctx.names),
    params=[
        id_param(),
        *patient_params("patient__uuid"),
        reference_param("focus", "ServiceRequest", "uuid", "The case (ServiceRequest/<id>)."),
        status_param(mapping.TASK_STATUS, "status", "FHIR task status."),
        Param(
            "business-status",
            "token",
            f"Our exact case state ({mapping.CASE_STATUS}|<state>).",
            _business_status,
        ),
        date_param("authored-on", "created_at", "When the case was started."),
        date_param("modified", "updated_at", "When the case last changed."),
        _lastupdated("updated_at"),
    ],
    sorts={"_lastUpdated": "updated_at", "authored-on": "created_at", "modified": "updated_at"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("Task", CASE_PATIENT, "patient", "subject"),
    seen=_case_seen,
    documentation="The work on a case (same id as its ServiceRequest); businessStatus = state.",
)

QUESTIONNAIRE_RESPONSE = ResourceType(
    name="QuestionnaireResponse",
    visible=_cases,
    render=_render_questionnaire_response,
    params=[
        id_param(),
        *patient_params("patient__uuid"),
        reference_param("based-on", "ServiceRequest", "uuid", "The case (ServiceRequest/<id>)."),
        Param(
            "status",
            "token",
            "completed (sent) or in-progress (draft).",
            lambda value: {
                "completed": ~Q(status="draft"),
                "in-progress": Q(status="draft"),
            }.get(split_token(value)[1], Q(pk__in=[])),
        ),
        date_param("authored", "submitted_at", "When the answers were sent."),
        _lastupdated("updated_at"),
    ],
    sorts={"_lastUpdated": "updated_at", "authored": "submitted_at"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("QuestionnaireResponse", CASE_PATIENT, "patient", "subject"),
    seen=_case_seen,
    documentation="The intake answers of a case (same id as its ServiceRequest).",
)

MEDIA = ResourceType(
    name="Media",
    visible=_photos,
    render=_render_media,
    params=[
        id_param(),
        *patient_params("case__patient__uuid"),
        reference_param("based-on", "ServiceRequest", "case__uuid", "The case."),
        status_param(mapping.MEDIA_STATUS, "status", "completed or preparation (processing)."),
        date_param("created", "created_at", "When the photo arrived."),
        _lastupdated("fhir_updated"),
    ],
    sorts={"_lastUpdated": "fhir_updated", "created": "created_at"},
    default_sort="created",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("Media", ROW_CASE_PATIENT, "patient", "subject"),
    seen=lambda row, ctx: Seen(
        patient=row.case.patient, case=row.case, obj=row, basis=case_basis(ctx, row.case)
    ),
    documentation=(
        "Photos; content.url is the photo route of the web application, which checks the "
        "policy again and needs a signed-in session."
    ),
)

CONDITION = ResourceType(
    name="Condition",
    visible=_diagnoses,
    render=lambda row, ctx: mapping.condition(row, row.review, row.review.case, names=ctx.names),
    params=[
        Param("_id", "token", "The resource's id.", _diagnosis_id),
        *patient_params("review__case__patient__uuid"),
        Param(
            "code",
            "token",
            f"ICD-10 ({mapping.ICD10_NO} or {mapping.ICD10_HL7}) or ICPC-2 ({mapping.ICPC2_NO}) "
            "code: system|code.",
            _diagnosis_code,
        ),
        date_param("recorded-date", "review__signed_at", "When the answer was signed."),
        _lastupdated("review__updated_at"),
    ],
    sorts={"_lastUpdated": "review__updated_at", "recorded-date": "review__signed_at"},
    default_sort="-_lastUpdated",
    by_id=_diagnosis_id,
    includes=_includes("Condition", REVIEW_CASE_PATIENT, "patient", "subject"),
    seen=lambda row, ctx: Seen(
        patient=row.review.case.patient,
        case=row.review.case,
        basis=case_basis(ctx, row.review.case),
    ),
    documentation="Coded diagnoses of signed answers; id = <review id>-<system>-<code>.",
)

MEDICATION_REQUEST = ResourceType(
    name="MedicationRequest",
    visible=_prescriptions,
    render=lambda row, ctx: mapping.medication_request(
        row, row.review, row.review.case, names=ctx.names
    ),
    params=[
        id_param(),
        *patient_params("review__case__patient__uuid"),
        date_param("authoredon", "review__signed_at", "When the answer was signed."),
        _lastupdated("review__updated_at"),
    ],
    sorts={"_lastUpdated": "review__updated_at", "authoredon": "review__signed_at"},
    default_sort="-_lastUpdated",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("MedicationRequest", REVIEW_CASE_PATIENT, "patient", "subject"),
    seen=lambda row, ctx: Seen(
        patient=row.review.case.patient,
        case=row.review.case,
        obj=row,
        basis=case_basis(ctx, row.review.case),
    ),
    documentation="Prescriptions of signed answers.",
)

COMMUNICATION = ResourceType(
    name="Communication",
    visible=_messages,
    render=lambda row, ctx: mapping.communication(row, row.case, names=ctx.names),
    params=[
        id_param(),
        *patient_params("case__patient__uuid"),
        reference_param("based-on", "ServiceRequest", "case__uuid", "The case."),
        date_param("sent", "sent_at", "When the message was sent."),
        _lastupdated("fhir_updated"),
    ],
    sorts={"_lastUpdated": "fhir_updated", "sent": "sent_at"},
    default_sort="sent",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("Communication", ROW_CASE_PATIENT, "patient", "subject"),
    seen=lambda row, ctx: Seen(
        patient=row.case.patient, case=row.case, obj=row, basis=case_basis(ctx, row.case)
    ),
    documentation="Secure messages on a case, self-care advice among them.",
)

DOCUMENT_REFERENCE = ResourceType(
    name="DocumentReference",
    visible=_summaries,
    render=_render_document,
    params=[
        id_param(),
        *patient_params("patient__uuid"),
        date_param("date", "fhir_summary_at", "When the answer was given."),
        _lastupdated("fhir_summary_at"),
    ],
    sorts={"_lastUpdated": "fhir_summary_at", "date": "fhir_summary_at"},
    default_sort="-date",
    by_id=lambda value: Q(uuid=as_uuid(value)),
    includes=_includes("DocumentReference", CASE_PATIENT, "patient", "subject"),
    seen=_case_seen,
    documentation=(
        "The patient's answer summary (PDF; same id as the case); the URL is the web "
        "application's route, which checks the policy again and needs a signed-in session."
    ),
)

AUDIT_EVENT = ResourceType(
    name="AuditEvent",
    visible=_audit_events,
    render=_render_audit_event,
    params=[
        Param("_id", "token", "The entry's id (its hash).", lambda value: Q(hash=value)),
        reference_param("patient", "Patient", "patient_uuid", "Whose data was accessed."),
        date_param("date", "at", "When."),
        Param("subtype", "token", f"The action ({mapping.ACCESS_ACTION}|<action>).", _subtype),
        _lastupdated("at"),
    ],
    sorts={"_lastUpdated": "at", "date": "at"},
    # Oldest first: reading the log adds entries to it, so newest-first pages would shift under
    # a reader paging by offset; appended entries only lengthen an ascending list.
    default_sort="date",
    by_id=lambda value: Q(hash=value),
    seen=_audit_seen,
    documentation=(
        "The access log, read-only: a privacy officer's user/ token reads all of it, a "
        "patient's token their own entries; nobody else any."
    ),
)

REGISTRY: dict[str, ResourceType] = {
    kind.name: kind
    for kind in (
        PATIENT,
        PRACTITIONER,
        PRACTITIONER_ROLE,
        ORGANIZATION,
        SERVICE_REQUEST,
        TASK,
        QUESTIONNAIRE_RESPONSE,
        MEDIA,
        CONDITION,
        MEDICATION_REQUEST,
        COMMUNICATION,
        DOCUMENT_REFERENCE,
        AUDIT_EVENT,
    )
}
# Further row sources of a type, tried in order for a read, chosen for a search by a parameter.
ALTERNATES: dict[str, tuple[tuple[str, ResourceType], ...]] = {
    "ServiceRequest": (("based-on", REFERRAL),),
}


def sources_for_read(name: str) -> list[ResourceType]:
    return [REGISTRY[name], *(source for _, source in ALTERNATES.get(name, ()))]


def source_for_search(name: str, names: Iterable[str]) -> ResourceType:
    given = set(names)
    for param, source in ALTERNATES.get(name, ()):
        if param in given:
            return source
    return REGISTRY[name]


def advertised_params(name: str) -> dict[str, Param]:
    """Every parameter a search of this type takes, over all its row sources."""
    params = dict(REGISTRY[name].param_map)
    for _, source in ALTERNATES.get(name, ()):
        for param in source.params:
            params.setdefault(param.name, param)
    return params


def advertised_includes(name: str) -> list[str]:
    includes = dict(REGISTRY[name].includes)
    for _, source in ALTERNATES.get(name, ()):
        includes.update(source.includes)
    return sorted(includes)


def advertised_sorts(name: str) -> list[str]:
    sorts = dict(REGISTRY[name].sorts)
    for _, source in ALTERNATES.get(name, ()):
        sorts.update(source.sorts)
    return sorted(sorts)


def ordering(kind: ResourceType, sort: str) -> list[Any]:
    """The ORM ordering for a `_sort` value (comma-separated keys, `-` for descending)."""
    keys = [key.strip() for key in sort.split(",") if key.strip()]
    if not keys:
        raise FhirError(400, "invalid", "_sort has no value")
    order: list[Any] = []
    descending_last = False
    for key in keys:
        descending = key.startswith("-")
        name = key.removeprefix("-")
        if name not in kind.sorts:
            raise FhirError(
                400,
                "not-supported",
                f"{kind.name} cannot be sorted by {name}; use one of "
                f"{', '.join(sorted(kind.sorts))} (with - for descending)",
            )
        path = kind.sorts[name]
        order.append(F(path).desc(nulls_last=True) if descending else F(path).asc(nulls_last=True))
        descending_last = descending
    order.append("-pk" if descending_last else "pk")
    return order


def access_actions() -> list[str]:
    """Every access-log action the FHIR API writes: `fhir.<type>.view` and `….list.view`.

    Built from the registry (the views name them the same way), for the privacy labels.
    """
    names = sorted({kind.log_name for kind in REGISTRY.values() if kind.seen is not None})
    return [f"fhir.{name}.{suffix}" for name in names for suffix in ("view", "list.view")]
