"""Fill a PostgreSQL database with a big service's worth of synthetic cases, fast (COPY).

    DATABASE_URL=postgres://... python scripts/seed_cases.py [--cases 100000]

scripts/bench_queues.py calls `seed()` on its throwaway cluster after `migrate`. The shape is a
large regional service a few years in: about 0.6 patients per case (some come back), a few
hundred clinicians with assignment profiles, about 3 % of cases open in the queues (escalated,
sent, triaged, in review, waiting for information) with due times spread so that some are
overdue, and the rest answered, referred, closed, withdrawn or still drafts. Every sent case has
its history (events), a lesion with an overview and a close-up photo (some photographed again in
a later case, for the compare view), and answered cases a signed review with a coded diagnosis.

All rows go in with PostgreSQL's COPY, built from the models' own field lists, so a new column
with a Python default is filled without changing this file. Every identity number is synthetic
(month + 80): it belongs to nobody. Photos share one small processed JPEG per rendition.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Share of all cases in each state. Open states (the queues) add up to about 3 %.
STATUS_SHARES = {
    "draft": 1.0,
    "withdrawn": 0.5,
    "escalated": 0.02,
    "submitted": 1.2,
    "triaged": 0.9,
    "in_review": 0.8,
    "info_requested": 0.3,
    "video_scheduled": 0.2,
    "referred": 4.0,
    "answered": 30.0,
    "closed": 61.08,
}
PRIORITY_SHARES = {"urgent": 10, "soon": 25, "routine": 65}
# Due intervals as the default settings give them, in hours (working hours read as calendar
# time here: good enough for spreading due times).
DUE_HOURS = {"urgent": 8, "soon": 36, "routine": 5 * 24}
PK_SHARE = 0.03
ON_BEHALF_SHARE = 0.4
COMPLAINTS = (
    "A mole on my back has grown darker.",
    "An itchy rash on both hands for weeks.",
    "A sore on the lip that does not heal.",
    "Red scaly patches on the elbows.",
    "Spots on the face that come and go.",
    "A lump on the scalp that bleeds when I comb.",
    "Blisters on the feet after a hike.",
    "Dry cracked skin on the fingers.",
)
DIAGNOSES = (
    ("L20.8", "Annen atopisk dermatitt", "Eczema"),
    ("L40.0", "Psoriasis vulgaris", "Psoriasis"),
    ("D22.5", "Melanocyttært nevus på truncus", "Harmless mole"),
    ("L57.0", "Aktinisk keratose", "Sun damage"),
    ("B35.3", "Tinea pedis", "Athlete's foot"),
    ("L70.0", "Acne vulgaris", "Acne"),
)


@dataclass
class SeedSummary:
    cases: int = 0
    patients: int = 0
    clinicians: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    open_by_status: dict[str, int] = field(default_factory=dict)
    overdue_open: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _copy(model: Any, rows: Iterable[dict[str, Any]], summary: SeedSummary) -> None:
    """COPY rows (dicts keyed by attname) into the model's table; missing fields get defaults."""
    from django.db import connection, models

    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    fillers: list[Callable[[dict[str, Any]], Any]] = []
    for f in fields:
        json_field = isinstance(f, models.JSONField)
        # Django's own default: the field's default (called if callable), "" for text, or None.
        default: Callable[[], Any] = f.get_default
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            from telederm.core import clock

            default = clock.now

        def fill(
            row: dict[str, Any], name: str = f.attname, d: Any = default, j: bool = json_field
        ) -> Any:
            value = row[name] if name in row else d()
            return json.dumps(value) if j and value is not None else value

        fillers.append(fill)
    count = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([fill(row) for fill in fillers])
            count += 1
    summary.rows[model._meta.db_table] = summary.rows.get(model._meta.db_table, 0) + count


def _weighted(rng: random.Random, shares: dict[str, float], count: int) -> list[str]:
    names = list(shares)
    return rng.choices(names, weights=[shares[n] for n in names], k=count)


def _identifiers(count: int) -> Iterator[str]:
    """Distinct synthetic fødselsnummer, born 1930-2020."""
    from telederm.patients.identifiers import make_synthetic_fodselsnummer

    day = dt.date(1930, 1, 1)
    made = 0
    while made < count:
        for individual in range(100, 500, 7):
            try:
                yield make_synthetic_fodselsnummer(day, individual)
            except ValueError:
                continue
            made += 1
            if made == count:
                return
        day += dt.timedelta(days=1)
        if day.year > 2020:
            day = dt.date(1930, 1, 1)


def _write_photo_files() -> tuple[str, str, str]:
    """One small processed-looking JPEG per rendition, shared by every seeded photo."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    names = []
    for size, edge in (("full", 1600), ("screen", 1000), ("thumb", 320)):
        out = io.BytesIO()
        Image.new("RGB", (edge, edge * 3 // 4), (200, 150, 130)).save(
            out, format="JPEG", quality=85
        )
        name = f"bench-seed/{size}.jpg"
        if default_storage.exists(name):
            default_storage.delete(name)
        names.append(default_storage.save(name, ContentFile(out.getvalue())))
    return names[0], names[1], names[2]


def seed(*, cases: int, seed: int = 2026, now: dt.datetime | None = None) -> SeedSummary:
    """Seed `cases` cases and everything around them into an empty, migrated database."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from telederm.accounts.models import Organisation, User
    from telederm.cases.models import Case, CaseEvent, Message
    from telederm.core import clock
    from telederm.patients.models import Patient
    from telederm.photos.models import Lesion, Photo
    from telederm.photos.sites import SITES
    from telederm.review.models import Diagnosis, Review
    from telederm.triage.models import Alarm, ClinicianProfile, TriageNote

    if connection.vendor != "postgresql":
        raise SystemExit("seed_cases needs PostgreSQL (COPY); set DATABASE_URL")
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - seeded synthetic data, not a secret
    now = now or clock.now()
    summary = SeedSummary(cases=cases)
    unusable = make_password(None)
    base = 10_000_000  # Seeded keys start high, clear of anything made before (e.g. demo data).

    n_patients = max(10, cases * 6 // 10)
    n_nurses = max(10, cases // 1000)
    n_derms = max(20, cases // 500)
    n_senders = max(20, cases // 200)
    n_offices = max(5, n_senders // 3)
    self_referring = n_patients // 2  # Patients with their own account.
    summary.patients = n_patients
    summary.clinicians = n_nurses + n_derms

    with transaction.atomic():
        # Organisations: the clinic and the senders' offices, nursing homes, installations.
        clinic_id = base
        kinds = ["gp_office"] * 8 + ["nursing_home", "offshore"]
        _copy(
            Organisation,
            [{"id": clinic_id, "name": "Telederm hudklinikk (bench)", "kind": "clinic"}]
            + [
                {"id": base + 1 + i, "name": f"Bench office {i}", "kind": rng.choice(kinds)}
                for i in range(n_offices)
            ],
            summary,
        )

        # People: duty nurses, dermatologists, senders, self-referring patients.
        nurse_ids = [base + i for i in range(n_nurses)]
        derm_ids = [base + n_nurses + i for i in range(n_derms)]
        sender_ids = [base + n_nurses + n_derms + i for i in range(n_senders)]
        patient_user_start = base + n_nurses + n_derms + n_senders

        def people() -> Iterator[dict[str, Any]]:
            for i, pk in enumerate(nurse_ids):
                yield {
                    "id": pk,
                    "email": f"nurse{i}@bench.example",
                    "full_name": f"Nurse {i}",
                    "role": User.Role.DUTY_NURSE,
                    "organisation_id": clinic_id,
                    "password": unusable,
                }
            for i, pk in enumerate(derm_ids):
                yield {
                    "id": pk,
                    "email": f"derm{i}@bench.example",
                    "full_name": f"Dermatologist {i}",
                    "role": User.Role.DERMATOLOGIST,
                    "organisation_id": clinic_id,
                    "password": unusable,
                }
            for i, pk in enumerate(sender_ids):
                yield {
                    "id": pk,
                    "email": f"sender{i}@bench.example",
                    "full_name": f"Sender {i}",
                    "role": User.Role.SUBMITTER,
                    "title": "GP",
                    "organisation_id": base + 1 + i % n_offices,
                    "password": unusable,
                }
            for i in range(self_referring):
                yield {
                    "id": patient_user_start + i,
                    "email": f"patient{i}@bench.example",
                    "full_name": f"Patient {i}",
                    "role": User.Role.PATIENT,
                    "password": unusable,
                }

        _copy(User, people(), summary)
        _copy(
            ClinicianProfile,
            (
                {
                    "id": base + i,
                    "user_id": pk,
                    "languages": ["nb", "en"] if rng.random() < 0.6 else ["nb"],
                    "competences": rng.sample(
                        [c.value for c in ClinicianProfile.Competence], rng.randint(0, 2)
                    ),
                    "available": rng.random() < 0.8,
                }
                for i, pk in enumerate(nurse_ids + derm_ids)
            ),
            summary,
        )

        ids = _identifiers(n_patients)
        _copy(
            Patient,
            (
                {
                    "id": base + i,
                    "identifier_kind": "fnr",
                    "identifier": next(ids),
                    "full_name": f"Patient {i}",
                    "user_id": patient_user_start + i if i < self_referring else None,
                    "preferred_language": "en" if i % 10 == 0 else "nb",
                    "gp_office_id": base + 1 + i % n_offices,
                }
                for i in range(n_patients)
            ),
            summary,
        )

        # Cases and everything hanging off them, generated together, copied table by table.
        statuses = _weighted(rng, STATUS_SHARES, cases)
        priorities = _weighted(rng, PRIORITY_SHARES, cases)
        sites = list(SITES)
        case_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        lesions: list[dict[str, Any]] = []
        photos: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        diagnoses: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        alarms: list[dict[str, Any]] = []
        lesion_of_patient: dict[int, int] = {}
        full_name, screen_name, thumb_name = _write_photo_files()
        three_years = 3 * 365 * 24 * 3600
        open_states = {"escalated", "submitted", "triaged", "in_review", "info_requested"}

        def event(case_id: int, at: dt.datetime, actor: int, action: str, a: str, b: str) -> None:
            events.append(
                {
                    "id": base + len(events),
                    "case_id": case_id,
                    "at": at,
                    "actor_id": actor,
                    "action": action,
                    "from_status": a,
                    "to_status": b,
                }
            )

        # Older cases first, so that a patient's lesion is photographed again in a later case.
        order = sorted(range(cases), key=lambda i: statuses[i] in open_states)
        for n, i in enumerate(order):
            pk = base + n
            status = statuses[i]
            priority = priorities[i]
            patient_index = rng.randrange(n_patients)
            patient_id = base + patient_index
            on_behalf = patient_index >= self_referring or rng.random() < ON_BEHALF_SHARE / 2
            creator = rng.choice(sender_ids) if on_behalf else patient_user_start + patient_index
            is_open = status in open_states
            span = dt.timedelta(hours=DUE_HOURS[priority])
            if is_open:
                # Due times from a little past (overdue) to the full interval ahead.
                due = now + span * rng.uniform(-0.1, 1.0)
                if status == "escalated":
                    due = now + dt.timedelta(minutes=rng.uniform(-5, 15))
                submitted = due - (dt.timedelta(minutes=15) if status == "escalated" else span)
                created = submitted - dt.timedelta(minutes=rng.uniform(5, 120))
            else:
                created = now - dt.timedelta(seconds=rng.uniform(14 * 24 * 3600, three_years))
                submitted = created + dt.timedelta(minutes=rng.uniform(5, 120))
                due = submitted + span
            sent = status not in {"draft", "withdrawn"}
            if status == "withdrawn" and rng.random() < 0.5:
                sent = True  # Some are withdrawn after sending.
            nurse = rng.choice(nurse_ids)
            derm = rng.choice(derm_ids)
            claimed = None
            assigned = None
            if status == "submitted" and rng.random() < 0.4:
                claimed = nurse
            if status in {"triaged", "escalated"}:
                claimed = nurse
            if status == "triaged" and rng.random() < 0.25:
                assigned = derm
            if status in {"in_review", "answered", "referred", "video_scheduled"}:
                assigned = derm
            closed_by_nurse = status == "closed" and rng.random() < 0.1
            if status == "closed" and not closed_by_nurse:
                assigned = derm
            answered = None
            if status in {"answered", "referred", "video_scheduled"} or (
                status == "closed" and not closed_by_nurse
            ):
                answered = submitted + span * rng.uniform(0.1, 1.2)
            pk_flag = rng.random() < PK_SHARE
            site = rng.choice(list(Case.BodySite.values))
            row = {
                "id": pk,
                "patient_id": patient_id,
                "created_by_id": creator,
                "status": status,
                "version": 1 + rng.randint(1, 6),
                "priority": "urgent" if pk_flag else priority,
                "pathway": "pk_melanoma" if pk_flag else "",
                "assessment_deadline": (submitted + dt.timedelta(days=14)).date()
                if on_behalf and sent
                else None,
                "claimed_by_id": claimed,
                "escalated_at": submitted if status == "escalated" else None,
                "assigned_to_id": assigned,
                "complaint": rng.choice(COMPLAINTS),
                "body_site": site,
                "onset": rng.choice(list(Case.Onset.values)),
                "change": rng.choice(list(Case.Change.values)),
                "itch": rng.choice(list(Case.Severity.values)),
                "pain": rng.choice(list(Case.Severity.values)),
                "patient_consents": on_behalf,
                "created_at": created,
                "updated_at": answered or submitted,
                "submitted_at": submitted if sent else None,
                "due_at": due if sent else None,
                "answered_at": answered,
            }
            case_rows.append(row)

            event(pk, created, creator, "created", "", "draft")
            if sent:
                event(pk, submitted, creator, "submitted", "draft", "submitted")
            if claimed:
                event(pk, submitted + span * 0.05, claimed, "triage_claimed", "", "")
            if status == "escalated":
                event(pk, submitted, creator, "escalated", "submitted", "escalated")
            if status == "triaged" or assigned:
                event(pk, submitted + span * 0.08, nurse, "priority_set", "submitted", "triaged")
                notes.append(
                    {
                        "id": base + len(notes),
                        "case_id": pk,
                        "author_id": nurse,
                        "text": "Photos adequate. Forwarded to the pool.",
                        "written_at": submitted + span * 0.08,
                    }
                )
            if assigned and status != "triaged":
                event(
                    pk, submitted + span * 0.1, assigned, "review_started", "triaged", "in_review"
                )
            if status == "info_requested":
                event(pk, submitted + span * 0.1, nurse, "info_requested", "submitted", status)
                messages.append(
                    {
                        "id": base + len(messages),
                        "case_id": pk,
                        "author_id": nurse,
                        "from_clinic": True,
                        "kind": "info_request",
                        "body": "Please send a sharper close-up in daylight.",
                        "sent_at": submitted + span * 0.1,
                    }
                )
            if answered:
                event(pk, answered, assigned or derm, "answered", "in_review", "answered")
            if status == "closed":
                closer = nurse if closed_by_nurse else (assigned or derm)
                at = (answered or submitted) + dt.timedelta(days=rng.uniform(1, 20))
                event(pk, at, closer, "closed", "answered", "closed")
            if status == "referred":
                event(
                    pk, answered + dt.timedelta(minutes=1), assigned, "referred", "answered", status
                )

            if answered or status == "in_review":
                signed = answered is not None
                code, title, plain = rng.choice(DIAGNOSES)
                review_id = base + len(reviews)
                reviews.append(
                    {
                        "id": review_id,
                        "case_id": pk,
                        "author_id": assigned,
                        "assessment": f"Clinical picture fits {plain.lower()}.",
                        "diagnosis": plain,
                        "advice": "Use the cream twice a day for two weeks." if signed else "",
                        "safety_net": "Contact us again if it spreads or bleeds.",
                        "outcome": "referral" if status == "referred" else "advice",
                        "created_at": submitted + span * 0.1,
                        "updated_at": answered or now,
                        "signed_at": answered,
                    }
                )
                if signed:
                    diagnoses.append(
                        {
                            "id": review_id,
                            "review_id": review_id,
                            "system": "icd10",
                            "code": code,
                            "title": title,
                            "is_primary": True,
                        }
                    )

            if is_open and due < now and status != "info_requested":
                alarms.append(
                    {
                        "id": base + len(alarms),
                        "case_id": pk,
                        "kind": "breach",
                        "reference": due,
                        "raised_at": due + dt.timedelta(minutes=5),
                    }
                )
            elif sent and not is_open and rng.random() < 0.08:
                # Past breaches and unowned cases, acknowledged long ago: the alarm table keeps
                # them, so the banner's query must not read them all.
                alarms.append(
                    {
                        "id": base + len(alarms),
                        "case_id": pk,
                        "kind": rng.choice(["breach", "unowned"]),
                        "reference": due,
                        "raised_at": due + dt.timedelta(minutes=5),
                        "acknowledged_at": due + dt.timedelta(minutes=20),
                        "acknowledged_by_id": nurse,
                    }
                )

            # A lesion with an overview and a close-up; a patient's spot may be photographed
            # again in a later case (the compare view counts those).
            if status == "draft" and rng.random() < 0.5:
                continue
            earlier = lesion_of_patient.get(patient_id)
            if earlier is not None and rng.random() < 0.3:
                lesion_id = earlier
            else:
                lesion_id = base + len(lesions)
                body = rng.choice(sites)
                lesions.append(
                    {
                        "id": lesion_id,
                        "patient_id": patient_id,
                        "case_id": pk,
                        "body_site": body.code,
                        "laterality": body.sides[0],
                        "created_by_id": creator,
                        "created_at": created,
                    }
                )
                lesion_of_patient[patient_id] = lesion_id
            kinds = ["overview", "close_up"] + (["overview"] if rng.random() < 0.2 else [])
            for k, kind in enumerate(kinds):
                photos.append(
                    {
                        "id": base + len(photos),
                        "case_id": pk,
                        "lesion_id": lesion_id if k < 2 else None,
                        "uploaded_by_id": creator,
                        "kind": kind,
                        "status": "ready",
                        "full_name": full_name,
                        "screen_name": screen_name,
                        "thumb_name": thumb_name,
                        "width": 1600,
                        "height": 1200,
                        "byte_size": 180_000,
                        "created_at": created + dt.timedelta(minutes=k + 1),
                        "processed_at": created + dt.timedelta(minutes=k + 2),
                    }
                )

        _copy(Case, case_rows, summary)
        _copy(CaseEvent, events, summary)
        _copy(TriageNote, notes, summary)
        _copy(Message, messages, summary)
        _copy(Alarm, alarms, summary)
        _copy(Review, reviews, summary)
        _copy(Diagnosis, diagnoses, summary)
        _copy(Lesion, lesions, summary)
        _copy(Photo, photos, summary)

        from django.core.management.color import no_style

        touched = [
            Organisation,
            User,
            ClinicianProfile,
            Patient,
            Case,
            CaseEvent,
            TriageNote,
            Message,
            Alarm,
            Review,
            Diagnosis,
            Lesion,
            Photo,
        ]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), touched):
                cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    for row in case_rows:
        if row["status"] in open_states:
            summary.open_by_status[row["status"]] = summary.open_by_status.get(row["status"], 0) + 1
            if row["due_at"] < now:
                summary.overdue_open += 1
    summary.seconds = time.perf_counter() - started
    return summary


def main() -> None:
    import argparse
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telederm.settings")
    import django

    django.setup()
    summary = seed(cases=args.cases)
    print(
        f"Seeded {summary.cases:,} cases, {summary.patients:,} patients, "
        f"{summary.clinicians} clinicians, {summary.total_rows:,} rows in {summary.seconds:.1f} s; "
        f"open: {summary.open_by_status}, overdue {summary.overdue_open}"
    )


if __name__ == "__main__":
    main()
