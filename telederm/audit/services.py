"""Write to the access log. Imported by every app that touches patient data.

Every entry is appended to a hash chain (`chain.py`, ADR 0007). Appends are serialised: on
PostgreSQL by a transaction-level advisory lock taken before reading the chain's head, on SQLite by
the write lock that `transaction_mode=IMMEDIATE` takes at BEGIN. The unique `sequence` is the last
guard: a race that slipped past both would fail with an IntegrityError, never fork the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from telederm.audit import chain
from telederm.audit.models import AccessEvent
from telederm.core import clock

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Model


User = get_user_model()

# pg_advisory_xact_lock key for appending to the access log: "telederm" in ASCII, as a bigint.
CHAIN_LOCK_KEY = 0x74656C656465726D


class HasPatient(Protocol):
    """A patient, or anything that belongs to one (a case, a photo)."""

    uuid: uuid.UUID


class HasCase(Protocol):
    uuid: uuid.UUID

    @property
    def patient(self) -> HasPatient: ...


# Reads: looking at a page (".view") or taking a copy away (".download").
READ_SUFFIXES = (".view", ".download")


def record(
    *,
    actor: Model | AnonymousUser | None,
    action: str,
    patient: HasPatient | None = None,
    case: HasPatient | None = None,
    obj: HasPatient | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
    basis: str = "",
) -> AccessEvent:
    """Log one access to patient data; `action` ends in `.view` or `.download` for reads, anything
    else is a write.

    `basis` says why the person had access (`AccessEvent.Basis`), "" when not stated. The entry is
    appended to the chain in a transaction (the caller's, if there is one): on PostgreSQL the
    chain's lock is then held until the caller commits, so log late in a service, not first.
    """
    event = _event(
        actor=actor,
        action=action,
        patient=patient,
        case=case,
        obj=obj,
        request=request,
        reason=reason,
        basis=basis,
    )
    _append([event])
    return event


def record_listing(
    *,
    actor: Model | AnonymousUser | None,
    action: str,
    cases: Iterable[HasCase],
    request: HttpRequest | None = None,
    basis: str = "",
    reason: str = "",
) -> None:
    """Log a page that lists several cases: one read per case shown, since each shows a patient.

    The entries are appended under one lock and written in one statement, so a queue page of 50
    cases costs one round of the chain, not 50.
    """
    events = [
        _event(
            actor=actor,
            action=action,
            patient=case.patient,
            case=case,
            request=request,
            basis=basis,
            reason=reason,
        )
        for case in cases
    ]
    if events:
        _append(events)


def _event(
    *,
    actor: Model | AnonymousUser | None,
    action: str,
    patient: HasPatient | None = None,
    case: HasPatient | None = None,
    obj: HasPatient | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
    basis: str = "",
) -> AccessEvent:
    if basis and basis not in AccessEvent.Basis.values:
        raise ValueError(f"unknown access basis {basis!r}")
    actor_user = actor if isinstance(actor, User) and actor.is_authenticated else None
    organisation = getattr(actor_user, "organisation", None)
    return AccessEvent(
        at=clock.now(),
        actor=actor_user,
        actor_role=getattr(actor_user, "role", "") or "",
        actor_organisation=str(organisation) if organisation else "",
        kind=AccessEvent.Kind.READ if action.endswith(READ_SUFFIXES) else AccessEvent.Kind.WRITE,
        action=action,
        patient_uuid=patient.uuid if patient else None,
        case_uuid=case.uuid if case else None,
        object_uuid=obj.uuid if obj else None,
        reason=reason,
        basis=basis,
        client_address=_client_address(request),
    )


def _append(events: list[AccessEvent]) -> None:
    """Chain `events` after the head, in order, and insert them, holding the append lock."""
    with transaction.atomic():
        head = _lock_chain_head()
        for event in events:
            link = chain.next_link(head)
            event.sequence = link.sequence
            event.previous_hash = link.previous_hash
            event.hash = chain.entry_hash(link.previous_hash, link.sequence, event.chain_fields())
            head = (event.sequence, event.hash)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            # The model's own bulk_create is refused so that nothing else writes around the
            # chain; here every row has just been chained, so the plain QuerySet's is used.
            QuerySet.bulk_create(AccessEvent.objects.all(), events)


def _lock_chain_head() -> tuple[int, str] | None:
    """Take the chain's append lock, then read its head (sequence and hash of the last entry).

    PostgreSQL: the advisory lock is held to the end of the transaction; under READ COMMITTED the
    SELECT after it is a fresh statement and sees the head the previous holder committed.
    SQLite: BEGIN IMMEDIATE already took the database's write lock, so the head cannot move.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    return AccessEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy sets it, and
    # that deployment choice belongs to the reverse proxy's configuration, not to this log.
    return chain.canonical_address(request.META.get("REMOTE_ADDR") or None)
