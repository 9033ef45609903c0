"""What a transport does: hand a finished MsgHead document to the network, fetch what came in.

No Django models here. The outbox (interop/outbox.py) owns the delivery state; a transport only
moves bytes and reports what happened, so the outbox can decide to retry, to give up or to
reconcile after a crash (ADR 0024, ADR 0025).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TransportError(Exception):
    """Sending or fetching failed. `permanent` says whether trying again could help; `in_doubt`
    that the message may have reached the other side (the request left, no answer came), so it
    must not be sent again before it is reconciled."""

    def __init__(self, message: str, *, permanent: bool = False, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.in_doubt = in_doubt


@dataclass(frozen=True)
class Outgoing:
    msg_id: str
    receiver_her_id: int
    payload: bytes
    """The whole MsgHead document, UTF-8."""
    is_apprec: bool = False
    in_reply_to_ref: str = ""
    """For an AppRec: the transport_ref of the message it answers (NHN's id)."""


@dataclass(frozen=True)
class Fetched:
    """A message the transport found for us; `ref` is what `acknowledge` takes back."""

    ref: str
    payload: bytes


class Reconciled(str):
    """What `reconcile` found out about a message whose sending was interrupted."""


DELIVERED = Reconciled("delivered")
NOT_DELIVERED = Reconciled("not_delivered")
UNKNOWN = Reconciled("unknown")


class Transport(Protocol):
    name: str

    def prepare(self, message: Outgoing) -> None:
        """Everything before the point of no return that can be done twice safely."""

    def send(self, message: Outgoing) -> str:
        """Deliver; return the transport's reference. The point of no return is inside."""

    def reconcile(self, message: Outgoing) -> Reconciled:
        """After a crash while sending: did the message reach the other side?"""

    def fetch(self, limit: int = 50) -> list[Fetched]:
        """Messages waiting for us, oldest first; they stay until acknowledged."""

    def acknowledge(self, ref: str) -> None:
        """We have stored the fetched message `ref` safely: the transport may forget it."""
