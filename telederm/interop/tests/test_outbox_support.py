"""Shared helpers for the outbox, file-drop and operator tests: real, schema-valid messages and a
transport stand-in that records what reached "the receiver"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from telederm.interop.transports import base

EXAMPLE = (
    Path(__file__).parent / "examples/kith/Dialogmelding/Dialogmelding-v1-1/Helsefaglig dialog.xml"
)
MSGHEAD_NS = "http://www.kith.no/xmlstds/msghead/2006-05-24"


def message_xml(msg_id: str | uuid.UUID) -> bytes:
    """KITH's own Dialogmelding 1.1 example (schema-valid) under the MsgId `msg_id`."""
    root = etree.fromstring(EXAMPLE.read_bytes())
    element = root.find(f"{{{MSGHEAD_NS}}}MsgInfo/{{{MSGHEAD_NS}}}MsgId")
    assert element is not None
    element.text = str(msg_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def msg_id_of(payload: bytes) -> str:
    root = etree.fromstring(payload)
    element = root.find(f"{{{MSGHEAD_NS}}}MsgInfo/{{{MSGHEAD_NS}}}MsgId")
    assert element is not None and element.text
    return element.text


def test_the_example_message_carries_the_msg_id_it_is_given() -> None:
    msg_id = uuid.uuid4()
    assert msg_id_of(message_xml(msg_id)) == str(msg_id)


@dataclass
class Receiver:
    """A transport stand-in: `delivered` is what the other side holds, by msg_id."""

    name: str = "file"
    delivered: dict[str, list[bytes]] = field(default_factory=dict)
    fail_with: base.TransportError | None = None
    reconcile_says: base.Reconciled | None = None
    prepared: list[str] = field(default_factory=list)

    def prepare(self, message: base.Outgoing) -> None:
        self.prepared.append(message.msg_id)

    def send(self, message: base.Outgoing) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.delivered.setdefault(message.msg_id, []).append(message.payload)
        return f"ref-{message.msg_id}"

    def reconcile(self, message: base.Outgoing) -> base.Reconciled:
        if self.reconcile_says is not None:
            return self.reconcile_says
        return base.DELIVERED if message.msg_id in self.delivered else base.NOT_DELIVERED

    def fetch(self, limit: int = 50) -> list[base.Fetched]:
        return []

    def acknowledge(self, ref: str) -> None:
        pass

    def copies(self) -> int:
        return sum(len(payloads) for payloads in self.delivered.values())
