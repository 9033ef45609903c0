"""Norsk Helsenett's message service (EDI 2.0 REST API) as a transport, with HelseID auth and a
loopback stand-in for tests (ADR 0025, docs/runbooks/nhn-message-service.md)."""

from telederm.interop.transports.nhn.client import DeliveryInDoubt, NhnTransport

__all__ = ["DeliveryInDoubt", "NhnTransport"]
