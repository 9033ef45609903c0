"""Which transport carries the messages: `TELEDERM_MESSAGE_TRANSPORT` ("file", "nhn" or "none")."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from telederm.interop.transports.base import (
    UNKNOWN,
    Fetched,
    Outgoing,
    Reconciled,
    Transport,
    TransportError,
)
from telederm.interop.transports.filedrop import FileDropTransport

NAMES = ("file", "nhn", "none")


class NoTransport:
    """No way out is configured: nothing is sent, messages wait in the outbox (the operator page
    says so), nothing is fetched."""

    name = "none"

    def prepare(self, message: Outgoing) -> None:
        raise TransportError("no message transport is configured")

    def send(self, message: Outgoing) -> str:
        raise TransportError("no message transport is configured")

    def reconcile(self, message: Outgoing) -> Reconciled:
        return UNKNOWN

    def fetch(self, limit: int = 50) -> list[Fetched]:
        return []

    def acknowledge(self, ref: str) -> None:
        raise TransportError("no message transport is configured")


def configured_name() -> str:
    """The transport named by the settings."""
    name = str(settings.TELEDERM_MESSAGE_TRANSPORT).strip().lower()
    if name not in NAMES:
        raise ImproperlyConfigured(
            f"TELEDERM_MESSAGE_TRANSPORT must be one of {', '.join(NAMES)}, not {name!r}"
        )
    return name


def get_transport(name: str | None = None) -> Transport:
    """The transport by `name`, or the configured one. NHN's client is imported only when used."""
    chosen = name or configured_name()
    if chosen == "file":
        return FileDropTransport(
            settings.TELEDERM_MESSAGE_FILE_OUT, settings.TELEDERM_MESSAGE_FILE_IN
        )
    if chosen == "nhn":
        nhn = import_module("telederm.interop.transports.nhn")
        transport: Transport = nhn.NhnTransport()
        return transport
    if chosen == "none":
        return NoTransport()
    raise ImproperlyConfigured(f"unknown message transport {chosen!r}")
