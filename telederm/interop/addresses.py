"""The address register: who has which HER-id, imported from a file, and whom a message goes to.

Our copy of the national address register (Adresseregisteret) is imported from a CSV or JSON file
(`telederm addresses import FILE`, docs/addresses-import.md). Every row is checked first and every
problem reported with its line; the import is then one transaction, all or nothing, so a register
is never half replaced by a file with one bad line. Rows are matched by HER-id (upsert); with
`replace` the entries the file no longer has are deactivated, not deleted: messages already sent
keep their receiver.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from stdnum.no import orgnr

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.core import clock
from telederm.interop.models import AddressEntry
from telederm.patients.models import Patient

COLUMNS = (
    "her_id",
    "name",
    "kind",
    "parent_her_id",
    "organisation_number",
    "hpr_number",
    "municipality",
    "accepts",
)
# KITH MsgType codes (kodeverk 8279) are upper-case words joined by underscores.
_MSG_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
_HPR = re.compile(r"^[0-9]{1,9}$")
# A referral goes only to a party that takes Henvisning: HENVISNING (1.x) or a 2.0 type
# (HENVISNING_NYTILSTAND, HENVISNING_VIDERE) in kodeverk 8279.
HENVISNING = "HENVISNING"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row of the file: `line` is the file's line (CSV) or entry (JSON)."""

    line: int
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.text}"


class InvalidAddressFile(Exception):
    """The file was not imported (nothing changed): every problem found, with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    her_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    her_id: int
    name: str
    kind: str
    parent_her_id: int | None
    organisation_number: str
    hpr_number: str
    municipality: str
    accepts: list[str]


def import_file(path: Path | str, *, replace: bool = False) -> ImportResult:
    """Import a register file (CSV or JSON, UTF-8): all rows or none, upserted by HER-id."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidAddressFile([Problem(0, f"the file is not UTF-8 ({exc.reason})")]) from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        records, problems = _read_json(text)
    else:
        records, problems = _read_csv(text)
    return import_records(records, source=path.name, replace=replace, problems=problems)


def import_records(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    source: str = "",
    replace: bool = False,
    problems: list[Problem] | None = None,
) -> ImportResult:
    """Check every (line, record) and import them in one transaction, or raise with all problems."""
    problems = list(problems or [])
    rows: list[_Row] = []
    for line, record in records:
        row = _check(line, record, problems)
        if row is not None:
            rows.append(row)
    seen: dict[int, int] = {}
    for row in rows:
        if row.her_id in seen:
            problems.append(
                Problem(row.line, f"HER-id {row.her_id} is also on line {seen[row.her_id]}")
            )
        else:
            seen[row.her_id] = row.line
    if not rows and not problems:
        problems.append(Problem(0, "the file has no entries"))
    with transaction.atomic():
        known = set(AddressEntry.objects.filter(active=True).values_list("her_id", flat=True))
        parents = set(seen) | (set() if replace else known)
        for row in rows:
            if row.parent_her_id is None:
                continue
            if row.parent_her_id == row.her_id:
                problems.append(Problem(row.line, "an entry cannot be its own parent"))
            elif row.parent_her_id not in parents:
                problems.append(
                    Problem(
                        row.line,
                        f"parent HER-id {row.parent_her_id} is neither in the file nor in "
                        "the register",
                    )
                )
        if problems:
            raise InvalidAddressFile(sorted(problems, key=lambda problem: problem.line))
        return _write(rows, source=source, replace=replace)


def _write(rows: list[_Row], *, source: str, replace: bool) -> ImportResult:
    result = ImportResult(her_ids=[row.her_id for row in rows])
    now = clock.now()
    existing = {entry.her_id: entry for entry in AddressEntry.objects.select_for_update()}
    for row in rows:
        values = {
            "name": row.name,
            "kind": row.kind,
            "parent_her_id": row.parent_her_id,
            "organisation_number": row.organisation_number,
            "hpr_number": row.hpr_number,
            "municipality": row.municipality,
            "accepts": row.accepts,
            "active": True,
            "source": source[:200],
            "imported_at": now,
        }
        entry = existing.get(row.her_id)
        if entry is None:
            AddressEntry.objects.create(her_id=row.her_id, **values)
            result.created += 1
        else:
            for name, value in values.items():
                setattr(entry, name, value)
            entry.save()
            result.updated += 1
    if replace:
        result.deactivated = (
            AddressEntry.objects.filter(active=True)
            .exclude(her_id__in=result.her_ids)
            .update(active=False, imported_at=now)
        )
    return result


def _read_csv(text: str) -> tuple[list[tuple[int, Mapping[str, Any]]], list[Problem]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("her_id", "name", "kind") if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem(1, f"the header lacks {', '.join(missing)}"))
    if unknown:
        problems.append(Problem(1, f"unknown columns: {', '.join(unknown)}"))
    if problems:
        return [], problems
    reader.fieldnames = header
    records: list[tuple[int, Mapping[str, Any]]] = []
    line = reader.line_num
    for record in reader:
        # The line the row starts on (a quoted field may span lines).
        start, line = line + 1, reader.line_num
        if None in record:
            problems.append(Problem(start, "more fields than the header has"))
            continue
        if not any((value or "").strip() for value in record.values()):
            continue  # A blank line is nothing to import.
        records.append((start, record))
    return records, problems


def _read_json(text: str) -> tuple[list[tuple[int, Mapping[str, Any]]], list[Problem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Problem(exc.lineno, f"not valid JSON: {exc.msg}")]
    if not isinstance(data, list):
        return [], [Problem(1, "the file must hold a list of entries")]
    records: list[tuple[int, Mapping[str, Any]]] = []
    problems = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(number, "an entry must be an object"))
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            problems.append(Problem(number, f"unknown keys: {', '.join(unknown)}"))
            continue
        records.append((number, item))
    return records, problems


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    return "" if value is None else str(value).strip()


def _positive(value: str) -> int | None:
    if not value.isdigit() or value.startswith("0"):
        return None
    number = int(value)
    # HER-ids are stored in a PositiveIntegerField: at most 2**31 - 1 on every database.
    return number if number < 2**31 else None


def _check(line: int, record: Mapping[str, Any], problems: list[Problem]) -> _Row | None:
    """The row's values, or None after adding what is wrong with it to `problems`."""
    found: list[str] = []
    her_id = _positive(_text(record, "her_id"))
    if her_id is None:
        found.append(f"HER-id {_text(record, 'her_id')!r} is not a positive whole number")
    name = _text(record, "name")
    if not name:
        found.append("the name is empty")
    elif len(name) > 200:
        found.append("the name is longer than 200 characters")
    kind = _text(record, "kind")
    if kind not in AddressEntry.Kind.values:
        found.append(f"kind {kind!r} is not one of {', '.join(AddressEntry.Kind.values)}")
    parent_text = _text(record, "parent_her_id")
    parent = _positive(parent_text) if parent_text else None
    if parent_text and parent is None:
        found.append(f"parent HER-id {parent_text!r} is not a positive whole number")
    if not parent_text and kind in {AddressEntry.Kind.SERVICE, AddressEntry.Kind.PERSON}:
        # A department or a health professional is addressed within its organisation.
        found.append(f"a {kind} needs the parent HER-id of its organisation")
    number = _text(record, "organisation_number").replace(" ", "")
    if number and not orgnr.is_valid(number):
        found.append(f"organisation number {number!r} is not valid (9 digits, mod-11 check)")
    hpr = _text(record, "hpr_number")
    if hpr and not _HPR.match(hpr):
        found.append(f"HPR number {hpr!r} is not 1 to 9 digits")
    municipality = _text(record, "municipality")
    if len(municipality) > 100:
        found.append("the municipality is longer than 100 characters")
    accepts = _accepts(record.get("accepts"))
    bad = [code for code in accepts if not _MSG_TYPE.match(code)]
    if bad:
        found.append(f"unknown message types in accepts: {', '.join(bad)}")
    problems.extend(Problem(line, text) for text in found)
    if found or her_id is None:
        return None
    return _Row(
        line=line,
        her_id=her_id,
        name=name,
        kind=kind,
        parent_her_id=parent,
        organisation_number=number,
        hpr_number=hpr,
        municipality=municipality,
        accepts=accepts,
    )


def _accepts(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(";")
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def find(her_id: int | None) -> AddressEntry | None:
    """The active register entry with this HER-id, if any."""
    if her_id is None:
        return None
    return AddressEntry.objects.filter(her_id=her_id, active=True).first()


def gp_of(patient: Patient) -> AddressEntry | None:
    """The patient's GP office in the register (active), from the patient record's GP office."""
    office = patient.gp_office
    return find(office.her_id) if office is not None else None


def answer_receiver(case: Case) -> AddressEntry | None:
    """Where the answer to a case goes: the office of the professional who referred it (a GP's
    referral through the web form, the API or Norsk Helsenett is answered to its sender), else
    the patient's GP office. A sender that wrote to us through the national network is
    addressable even when our copy of the register lacks it: its HER-id came with the message.
    """
    sender = case.created_by
    office = sender.organisation
    if sender.role == User.Role.SUBMITTER and office is not None and office.her_id:
        entry = find(office.her_id)
        if entry is not None:
            return entry
        if case.incoming_messages.filter(sender_her_id=office.her_id).exists():
            # Not saved: the register stays a copy of the national one.
            return AddressEntry(
                her_id=office.her_id,
                name=office.name,
                kind=AddressEntry.Kind.ORGANISATION,
                organisation_number=office.organisation_number,
            )
    return gp_of(case.patient)


def parent_of(entry: AddressEntry) -> AddressEntry | None:
    """The organisation a department or person belongs to, if the register has it."""
    return find(entry.parent_her_id)


def referral_receivers(query: str = "", *, limit: int = 200) -> list[AddressEntry]:
    """Active entries that take a Henvisning, whose name, municipality or HER-id matches `query`;
    never the clinic itself."""
    words = query.casefold().split()
    found = []
    entries = AddressEntry.objects.filter(active=True).exclude(her_id=settings.TELEDERM_HER_ID)
    # `accepts` is a JSON list; SQLite cannot query inside it, and the receivers are few.
    for entry in entries.order_by("name", "her_id"):
        if not any(str(code).startswith(HENVISNING) for code in entry.accepts):
            continue
        haystack = f"{entry.name} {entry.municipality} {entry.her_id}".casefold()
        if all(word in haystack for word in words):
            found.append(entry)
            if len(found) >= limit:
                break
    return found


_RECEIVER_HER_ID = re.compile(r"\(HER-id (\d{1,10})\)\s*$")


def receiver_label(entry: AddressEntry) -> str:
    """How a referral receiver is written in the review's "Refer to": name and HER-id."""
    return f"{entry.name} (HER-id {entry.her_id})"


def her_id_in(label: str) -> int | None:
    """The HER-id at the end of a "Refer to" written by `receiver_label`, if there is one."""
    match = _RECEIVER_HER_ID.search(label or "")
    return _positive(match.group(1)) if match else None
