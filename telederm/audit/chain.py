"""The access log's hash chain, as pure functions over plain values (no ORM; ADR 0007).

Every entry carries its position (`sequence`, from 1), the hash of the entry before it
(`previous_hash`, "" for the first) and its own `hash`: SHA-256 over a canonical serialisation of
the chain version, `previous_hash`, `sequence` and every meaningful field. Changing, deleting or
reordering an entry anywhere but at the very end breaks the chain at that entry or the next one.

The serialisation is JSON with sorted keys and no whitespace, with values normalised so that what
the database hands back hashes the same as what was written: times in UTC ISO 8601 with
microseconds, UUIDs in their hyphenated lower-case form, IP addresses in Django's canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Part of every hash: a future change to what is hashed bumps it, and the verifier can tell.
VERSION = 1

# The meaningful fields of an entry, besides its place in the chain.
FIELDS = (
    "at",
    "actor_id",
    "actor_role",
    "actor_organisation",
    "kind",
    "action",
    "patient_uuid",
    "case_uuid",
    "object_uuid",
    "reason",
    "basis",
    "client_address",
)
_UUID_FIELDS = frozenset({"patient_uuid", "case_uuid", "object_uuid"})

# Everything `verify` reads from a row; `id` is optional and only used to name a broken entry.
ROW_KEYS = ("sequence", "previous_hash", "hash", *FIELDS)


def canonical_time(value: dt.datetime) -> str:
    """UTC, ISO 8601, always with microseconds: `2026-11-22T04:17:00.000000+00:00`."""
    if value.tzinfo is None:
        raise ValueError("access-log times must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_address(value: str | None) -> str | None:
    """An IP address as Django's GenericIPAddressField stores it; anything else unchanged."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # PostgreSQL's inet and Django both write ::ffff:192.0.2.1; Python 3.11 would not.
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _canonical_uuid(value: uuid.UUID | str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _canonical_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise KeyError(f"access-log entry lacks {', '.join(missing)}")
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = fields[name]
        if name == "at":
            out[name] = canonical_time(value)
        elif name in _UUID_FIELDS:
            out[name] = _canonical_uuid(value)
        elif name == "client_address":
            out[name] = canonical_address(value)
        elif name == "actor_id":
            out[name] = None if value is None else int(value)
        else:
            out[name] = "" if value is None else str(value)
    return out


def serialise(previous_hash: str, sequence: int, fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are hashed for one entry."""
    document = {
        "v": VERSION,
        "previous_hash": previous_hash,
        "sequence": int(sequence),
        **_canonical_fields(fields),
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(previous_hash: str, sequence: int, fields: Mapping[str, Any]) -> str:
    """SHA-256, hex, of the entry at `sequence` whose predecessor's hash is `previous_hash`."""
    return hashlib.sha256(serialise(previous_hash, sequence, fields)).hexdigest()


@dataclass(frozen=True)
class Link:
    """Where the next entry goes: its sequence and the hash it must point back to."""

    sequence: int
    previous_hash: str


def next_link(head: tuple[int, str] | None) -> Link:
    """The place after `head` (the last entry's sequence and hash), or the first place."""
    if head is None:
        return Link(sequence=1, previous_hash="")
    sequence, head_hash = head
    return Link(sequence=sequence + 1, previous_hash=head_hash)


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with the chain, and the entry where it shows."""

    kind: str  # "changed", "missing", "link", "order", "head"
    sequence: int | None
    entry_id: Any
    at: str
    detail: str

    def __str__(self) -> str:
        if self.sequence is None:
            return f"Access log broken: {self.detail}"
        where = f"entry #{self.sequence}"
        extras = [f"id {self.entry_id}"] if self.entry_id else []
        if self.at:
            extras.append(self.at)
        if extras:
            where += f" ({', '.join(extras)})"
        return f"Access log broken at {where}: {self.detail}"


class Walk:
    """Check a chain one entry at a time, in sequence order, holding only the last entry.

    `feed` returns the first problem (and keeps returning it); `count` and `head` describe what
    was read so far.
    """

    def __init__(self) -> None:
        self.count = 0
        self.head: tuple[int, str] | None = None
        self.problem: Problem | None = None
        self._hash_at: dict[int, str] = {}
        self._watch: set[int] = set()

    def watch(self, sequence: int) -> None:
        """Remember the hash at `sequence` as it goes past (to compare with a recorded head)."""
        self._watch.add(sequence)

    def feed(self, row: Mapping[str, Any]) -> Problem | None:
        if self.problem is not None:
            return self.problem
        self.problem = self._check(row)
        if self.problem is None:
            sequence, stored = int(row["sequence"]), str(row["hash"])
            self.count += 1
            self.head = (sequence, stored)
            if sequence in self._watch:
                self._hash_at[sequence] = stored
        return self.problem

    def _check(self, row: Mapping[str, Any]) -> Problem | None:
        sequence = int(row["sequence"])
        expected = next_link(self.head)

        def problem(kind: str, detail: str) -> Problem:
            at = row.get("at")
            when = canonical_time(at) if isinstance(at, dt.datetime) and at.tzinfo else str(at)
            return Problem(kind, sequence, row.get("id"), when, detail)

        if sequence < expected.sequence:
            return problem(
                "order",
                f"it comes after entry #{expected.sequence - 1} in the log; "
                "the entries are out of order",
            )
        if sequence > expected.sequence:
            first, last = expected.sequence, sequence - 1
            missing = f"entry #{first} is" if first == last else f"entries #{first}–#{last} are"
            return problem("missing", f"{missing} missing before it (deleted from the log)")
        if row["previous_hash"] != expected.previous_hash:
            if expected.sequence == 1:
                detail = "the first entry must not link to a previous one, but it does"
            else:
                detail = (
                    f"its link to entry #{sequence - 1} is wrong: entry #{sequence - 1}'s hash "
                    "was rewritten, or entries were replaced or reordered"
                )
            return problem("link", detail)
        if entry_hash(row["previous_hash"], sequence, row) != row["hash"]:
            return problem(
                "changed",
                "it was changed after it was written (its content no longer hashes "
                "to its stored hash)",
            )
        return None

    def check_head(self, sequence: int, expected_hash: str) -> Problem | None:
        """Compare with a head recorded elsewhere earlier: catches a truncated or rewritten tail.

        Call after the whole log was fed, having called `watch(sequence)` before.
        """
        if self.problem is not None:
            return self.problem
        last = self.head[0] if self.head else 0
        if sequence > last:
            lost = (
                f"entry #{sequence} was"
                if sequence == last + 1
                else f"entries #{last + 1}–#{sequence} were"
            )
            return Problem(
                "head",
                None,
                None,
                "",
                f"the log ends at entry #{last}, but the recorded head is entry #{sequence}: "
                f"{lost} removed from the end",
            )
        found = self._hash_at.get(sequence)
        if found != expected_hash:
            return Problem(
                "head",
                sequence,
                None,
                "",
                f"its hash {found} differs from the recorded head {expected_hash}: "
                "the log was rewritten up to or past this entry",
            )
        return None


def verify(rows: Iterable[Mapping[str, Any]]) -> Problem | None:
    """The first problem in `rows` (dicts with ROW_KEYS, in sequence order), or None if intact."""
    walk = Walk()
    for row in rows:
        found = walk.feed(row)
        if found is not None:
            return found
    return None
