"""Fill a PostgreSQL database with 100,000 patients and about a million FHIR resources (COPY).

    DATABASE_URL=postgres://... python scripts/seed_fhir.py [--patients 100000]

scripts/bench_fhir.py calls `seed()` on its throwaway cluster after `migrate`. The cases, patients,
clinicians, photos and signed reviews with coded diagnoses come from scripts/seed_cases.py (about
0.6 patients per case, so 100,000 patients take 166,667 cases); this file adds what the FHIR API
shows besides and that seeding leaves out:

- prescriptions on about a third of the signed answers that give advice (MedicationRequest);
- the in-person referral of every referred case (a second kind of ServiceRequest);
- messages: the clinic's follow-up on a share of answered cases and the patient side's reply,
  and the duty nurse's self-care advice on cases closed without a dermatologist (Communication;
  the latter also make a DocumentReference, the patient's answer summary);
- the access log (AuditEvent): the dermatologist's reads of each case they answered and the
  sender's or patient's read of the answer, in time order.

The access log is a hash chain (telederm.audit.chain, ADR 0007): the entries are chained here with
the same `chain.entry_hash` that `audit.services.record` uses, starting after whatever head the log
already has, so `telederm audit verify` passes and the server's own entries chain on after them.
Every identity number is synthetic (seed_cases: month + 80).

`count_resources()` counts what the API exposes per resource type, with the same row sources as
telederm/interop/fhir/search.py (over all readers, not one token's view).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
for folder in (str(ROOT), str(SCRIPTS)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from seed_cases import SeedSummary, _copy  # after the path is set

# seed_cases makes cases * 6 // 10 patients.
PATIENTS_PER_CASE = 0.6
PRESCRIPTION_SHARE = 0.35
FOLLOW_UP_SHARE = 0.3
REPLY_SHARE = 0.5
DRUGS = (
    ("Hydrokortison", "1 %", "Smøres tynt på 2 ganger daglig", "2 uker"),
    ("Mometason", "0,1 %", "Smøres tynt på 1 gang daglig", "3 uker"),
    ("Terbinafin", "1 %", "Smøres på 1 gang daglig", "2 uker"),
    ("Adapalen", "0,1 %", "Smøres på om kvelden", "12 uker"),
)
RECEIVERS = (
    ("Hudavdelingen, Oslo universitetssykehus", 90000001),
    ("Hudavdelingen, UNN Tromsø", 90000002),
    ("Hudpoliklinikken, Haukeland", 90000003),
)


@dataclass
class FhirSeedSummary:
    cases: SeedSummary
    rows: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    chain_head: int = 0

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())

    @property
    def total_rows(self) -> int:
        return self.cases.total_rows + sum(self.rows.values())


def cases_for(patients: int) -> int:
    """How many cases seed_cases needs for `patients` patients."""
    cases = round(patients / PATIENTS_PER_CASE)
    while cases * 6 // 10 < patients:
        cases += 1
    return cases


def seed(*, patients: int, seed: int = 2027, now: dt.datetime | None = None) -> FhirSeedSummary:
    """Seed the cases (seed_cases) for `patients` patients, then the rest the FHIR API shows."""
    from django.db import connection, transaction
    from seed_cases import seed as seed_cases

    from telederm.audit.models import AccessEvent
    from telederm.cases.models import Message
    from telederm.core import clock
    from telederm.review.models import Prescription, Referral

    started = time.perf_counter()
    now = now or clock.now()
    case_summary = seed_cases(cases=cases_for(patients), now=now)
    summary = FhirSeedSummary(cases=case_summary)
    rng = random.Random(seed)  # noqa: S311 - seeded synthetic data, not a secret
    extra = SeedSummary()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.id, c.uuid, p.uuid, c.status, c.priority, c.pathway, c.created_by_id,
                       cu.role, r.id, r.author_id, r.signed_at, r.outcome, c.submitted_at
                FROM cases_case c
                JOIN patients_patient p ON p.id = c.patient_id
                JOIN accounts_user cu ON cu.id = c.created_by_id
                LEFT JOIN review_review r ON r.case_id = c.id
                WHERE c.submitted_at IS NOT NULL
                ORDER BY c.id
                """
            )
            sent = cursor.fetchall()
            cursor.execute("SELECT id FROM accounts_user WHERE role = 'duty_nurse' ORDER BY id")
            nurses = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id, role, organisation_id FROM accounts_user")
            people = {pk: (role, org) for pk, role, org in cursor.fetchall()}
            cursor.execute("SELECT id, name FROM accounts_organisation")
            org_names = dict(cursor.fetchall())

        # Keys after whatever the tables hold (seed_cases wrote messages already).
        first_prescription = _next_id(Prescription)
        first_referral = _next_id(Referral)
        first_message = _next_id(Message)
        prescriptions: list[dict[str, Any]] = []
        referrals: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        # (at, actor, action, patient uuid, case uuid, basis): chained after sorting by time.
        reads: list[tuple[dt.datetime, int, str, uuid.UUID, uuid.UUID, str]] = []
        for (
            _case_id,
            case_uuid,
            patient_uuid,
            status,
            priority,
            pathway,
            creator,
            creator_role,
            review_id,
            author,
            signed_at,
            outcome,
            submitted_at,
        ) in sent:
            sender_basis = "own" if creator_role == "patient" else "sender"
            if signed_at is not None:
                if outcome == "advice" and rng.random() < PRESCRIPTION_SHARE:
                    drug, strength, dosage, duration = rng.choice(DRUGS)
                    prescriptions.append(
                        {
                            "id": first_prescription + len(prescriptions),
                            "review_id": review_id,
                            "drug": drug,
                            "strength": strength,
                            "dosage": dosage,
                            "duration": duration,
                            "instructions": "",
                        }
                    )
                if status == "referred":
                    receiver, her_id = rng.choice(RECEIVERS)
                    referrals.append(
                        {
                            "id": first_referral + len(referrals),
                            "review_id": review_id,
                            "priority": priority,
                            "pathway": pathway,
                            "receiver": receiver,
                            "receiver_her_id": her_id,
                            "reason": "Needs examination with a dermatoscope and a biopsy.",
                        }
                    )
                if rng.random() < FOLLOW_UP_SHARE:
                    asked = signed_at + dt.timedelta(days=rng.uniform(1, 10))
                    messages.append(
                        {
                            "id": first_message + len(messages),
                            "case_id": _case_id,
                            "author_id": author,
                            "from_clinic": True,
                            "kind": "message",
                            "body": "How is it going with the cream? Send a new photo if it "
                            "has not improved.",
                            "sent_at": asked,
                            "read_at": asked + dt.timedelta(hours=rng.uniform(1, 48)),
                        }
                    )
                    if rng.random() < REPLY_SHARE:
                        messages.append(
                            {
                                "id": first_message + len(messages),
                                "case_id": _case_id,
                                "author_id": creator,
                                "from_clinic": False,
                                "kind": "message",
                                "body": "Much better now, thank you.",
                                "sent_at": asked + dt.timedelta(days=rng.uniform(2, 5)),
                            }
                        )
                opened = signed_at - dt.timedelta(minutes=rng.uniform(5, 60))
                reads.append((opened, author, "case.view", patient_uuid, case_uuid, "assigned"))
                reads.append(
                    (
                        signed_at + dt.timedelta(hours=rng.uniform(1, 72)),
                        creator,
                        "case.view",
                        patient_uuid,
                        case_uuid,
                        sender_basis,
                    )
                )
            elif status == "closed":
                # Closed by the duty nurse with self-care advice: no review, an answer summary.
                at = submitted_at + dt.timedelta(hours=rng.uniform(2, 30))
                nurse = rng.choice(nurses)
                messages.append(
                    {
                        "id": first_message + len(messages),
                        "case_id": _case_id,
                        "author_id": nurse,
                        "from_clinic": True,
                        "kind": "self_care",
                        "body": "This looks like dry skin: use a fragrance-free cream daily.",
                        "guides": ["dry-skin"],
                        "sent_at": at,
                        "read_at": at + dt.timedelta(hours=rng.uniform(1, 48)),
                    }
                )
                reads.append(
                    (
                        at - dt.timedelta(minutes=10),
                        nurse,
                        "case.view",
                        patient_uuid,
                        case_uuid,
                        "triage",
                    )
                )
            elif status in {"triaged", "in_review", "escalated", "submitted", "info_requested"}:
                reads.append(
                    (
                        submitted_at + dt.timedelta(minutes=rng.uniform(5, 120)),
                        rng.choice(nurses),
                        "case.view",
                        patient_uuid,
                        case_uuid,
                        "triage",
                    )
                )

        _copy(Prescription, prescriptions, extra)
        _copy(Referral, referrals, extra)
        _copy(Message, messages, extra)
        reads.sort(key=lambda read: read[0])
        summary.chain_head = _copy_chained_reads(AccessEvent, reads, people, org_names, extra)

        from django.core.management.color import no_style

        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(
                no_style(), [Prescription, Referral, Message, AccessEvent]
            ):
                cursor.execute(statement)
    with connection.cursor() as cursor:
        # seed_cases vacuumed and analysed the rest already.
        tables = [model._meta.db_table for model in (Prescription, Referral, Message, AccessEvent)]
        cursor.execute("VACUUM ANALYZE " + ", ".join(tables))
    summary.rows = extra.rows
    summary.resources = count_resources()
    summary.seconds = time.perf_counter() - started
    return summary


def _next_id(model: Any) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0) + 1


def _copy_chained_reads(
    model: Any,
    reads: list[tuple[dt.datetime, int, str, uuid.UUID, uuid.UUID, str]],
    people: dict[int, tuple[str, int | None]],
    org_names: dict[int, str],
    summary: SeedSummary,
) -> int:
    """COPY access-log entries, each chained to the one before (after the log's current head)."""
    from telederm.audit import chain

    head = model.objects.order_by("-sequence").values_list("sequence", "hash").first()
    first_id = _next_id(model)

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal head
        for n, (at, actor, action, patient_uuid, case_uuid, basis) in enumerate(reads):
            role, org = people[actor]
            fields = {
                "at": at,
                "actor_id": actor,
                "actor_role": role,
                "actor_organisation": org_names.get(org, "") if org else "",
                "kind": "read",
                "action": action,
                "patient_uuid": patient_uuid,
                "case_uuid": case_uuid,
                "object_uuid": None,
                "reason": "",
                "basis": basis,
                "client_address": None,
            }
            link = chain.next_link(head)
            digest = chain.entry_hash(link.previous_hash, link.sequence, fields)
            head = (link.sequence, digest)
            yield {
                "id": first_id + n,
                "sequence": link.sequence,
                "previous_hash": link.previous_hash,
                "hash": digest,
                **fields,
            }

    _copy(model, rows(), summary)
    return head[0] if head else 0


def count_resources() -> dict[str, int]:
    """What the FHIR API exposes, per resource type, over all readers (search.py's row sources)."""
    from django.db.models import Exists, OuterRef, Q

    from telederm.accounts.models import Organisation, User
    from telederm.audit.models import AccessEvent
    from telederm.cases.models import Case, Message
    from telederm.interop.fhir import mapping
    from telederm.patients.models import Patient
    from telederm.photos.models import Photo
    from telederm.review.models import Diagnosis, Prescription, Referral

    cases = Case.objects.count()
    practitioners = User.objects.filter(role__in=mapping.PRACTITIONER_ROLES).count()
    self_care = Message.objects.filter(case=OuterRef("pk"), kind=Message.Kind.SELF_CARE)
    signed = {"review__signed_at__isnull": False}
    return {
        "Patient": Patient.objects.count(),
        "Practitioner": practitioners,
        "PractitionerRole": practitioners,
        "Organization": Organisation.objects.count(),
        "ServiceRequest": cases + Referral.objects.filter(**signed).count(),
        "Task": cases,
        "QuestionnaireResponse": cases,
        "Media": Photo.objects.exclude(status=Photo.Status.REJECTED).count(),
        "Condition": Diagnosis.objects.filter(**signed).count(),
        "MedicationRequest": Prescription.objects.filter(**signed).count(),
        "Communication": Message.objects.count(),
        "DocumentReference": Case.objects.filter(
            Q(review__signed_at__isnull=False) | Exists(self_care)
        ).count(),
        "AuditEvent": AccessEvent.objects.count(),
    }


def main() -> None:
    import argparse
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telederm.settings")
    import django

    django.setup()
    summary = seed(patients=args.patients)
    print(
        f"Seeded {summary.cases.patients:,} patients, {summary.cases.cases:,} cases, "
        f"{summary.total_rows:,} rows in {summary.seconds:.1f} s; FHIR resources: "
        f"{summary.total_resources:,} ("
        + ", ".join(f"{k} {v:,}" for k, v in summary.resources.items())
        + ")"
    )


if __name__ == "__main__":
    main()
