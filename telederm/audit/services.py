"""Write to the access log. Imported by every app that touches patient data."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from telederm.audit.models import AccessEvent
from telederm.core import clock

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Model


User = get_user_model()


class HasPatient(Protocol):
    """A patient, or anything that belongs to one (a case, a photo)."""

    uuid: uuid.UUID


class HasCase(Protocol):
    uuid: uuid.UUID

    @property
    def patient(self) -> HasPatient: ...


def record(
    *,
    actor: Model | AnonymousUser | None,
    action: str,
    patient: HasPatient | None = None,
    case: HasPatient | None = None,
    obj: HasPatient | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
) -> AccessEvent:
    """Log one access to patient data; `action` ends in `.view` for reads, anything else writes."""
    actor_user = actor if isinstance(actor, User) and actor.is_authenticated else None
    organisation = getattr(actor_user, "organisation", None)
    return AccessEvent.objects.create(
        at=clock.now(),
        actor=actor_user,
        actor_role=getattr(actor_user, "role", "") or "",
        actor_organisation=str(organisation) if organisation else "",
        kind=AccessEvent.Kind.READ if action.endswith(".view") else AccessEvent.Kind.WRITE,
        action=action,
        patient_uuid=patient.uuid if patient else None,
        case_uuid=case.uuid if case else None,
        object_uuid=obj.uuid if obj else None,
        reason=reason,
        client_address=_client_address(request),
    )


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy sets it, and
    # that deployment choice belongs to the reverse proxy's configuration, not to this log.
    return request.META.get("REMOTE_ADDR") or None


def record_listing(
    *,
    actor: Model | AnonymousUser | None,
    action: str,
    cases: Iterable[HasCase],
    request: HttpRequest | None = None,
) -> None:
    """Log a page that lists several cases: one read per case shown, since each shows a patient."""
    for case in cases:
        record(actor=actor, action=action, patient=case.patient, case=case, request=request)
