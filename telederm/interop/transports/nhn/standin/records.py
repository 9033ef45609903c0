"""What the stand-in keeps: registered clients and messages with each receiver's receipt."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Client:
    """A client registered in the stand-in's HelseID, acting for some HER-ids at NHN."""

    client_id: str
    public_jwk: dict[str, Any]
    her_ids: frozenset[int]


@dataclass
class Receipt:
    """One receiver's view of a message: read or not, and the AppRec it sent back."""

    read: bool = False
    apprec_status: str | None = None
    apprec_errors: list[dict[str, Any]] | None = None


@dataclass
class StoredMessage:
    id: str
    sender_her_id: int
    document: bytes = field(repr=False)
    msg_id: str
    msg_type: str
    gen_date: str
    is_apprec: bool
    receipts: dict[int, Receipt]
    content_type: str = "application/xml"
    stored_at: float = field(default_factory=time.time)

    def as_json(self, receiver: int, *, metadata: bool = True) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "receiverHerId": receiver}
        if metadata:
            item |= {
                "contentType": self.content_type,
                "senderHerId": self.sender_her_id,
                "businessDocumentId": self.msg_id,
                "businessDocumentGenDate": self.gen_date,
                "isAppRec": self.is_apprec,
            }
        return item
