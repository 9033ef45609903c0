"""The NHN message service client against the loopback stand-in: sending, fetching, AppRecs and
what each failure means to the outbox (permanent, retry, in doubt). No database, no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from lxml import etree

from telederm.interop.transports.base import (
    DELIVERED,
    NOT_DELIVERED,
    UNKNOWN,
    Outgoing,
    TransportError,
)
from telederm.interop.transports.nhn import DeliveryInDoubt, NhnTransport
from telederm.interop.transports.nhn import standin as nhn_standin
from telederm.interop.transports.nhn.standin import ApiError

EXAMPLES = Path(__file__).parent / "examples"
# The official example: Kattskinnet legesenter (HER 56704) writes to a hospital department (90998).
DIALOG = (
    EXAMPLES / "kith" / "Dialogmelding" / "Dialogmelding-v1-1" / "Helsefaglig dialog.xml"
).read_bytes()
DIALOG_MSG_ID = "de1a95c0-4d0c-11e7-9598-0800200c9a66"
GP_OFFICE = 56704
HOSPITAL_DEPARTMENT = 90998
REJECTION = (EXAMPLES / "fiks-nhn" / "app-rec" / "1.1" / "example-avvist.xml").read_bytes()
APPREC_NS = {"a": "http://www.kith.no/xmlstds/apprec/2012-02-15"}


def outgoing(payload: bytes = DIALOG, receiver: int = HOSPITAL_DEPARTMENT, **kwargs) -> Outgoing:
    return Outgoing(msg_id=DIALOG_MSG_ID, receiver_her_id=receiver, payload=payload, **kwargs)


@pytest.fixture
def nhn():
    """The stand-in, with us acting as the GP office of the example documents."""
    with nhn_standin.serve(her_id=GP_OFFICE) as running:
        yield running


@pytest.fixture
def hospital(nhn):
    """The receiving hospital department's own system, a second client of the stand-in."""
    key = nhn.register_client("hospital", her_ids=[HOSPITAL_DEPARTMENT])
    return nhn.transport(her_id=HOSPITAL_DEPARTMENT, client_id="hospital", key=key)


def test_a_sent_document_reaches_exactly_its_receiver(nhn, hospital):
    transport = nhn.transport()
    transport.prepare(outgoing())
    ref = transport.send(outgoing())

    fetched = hospital.fetch()
    assert [(f.ref, f.payload) for f in fetched] == [(ref, DIALOG)]
    assert nhn.documents_for(HOSPITAL_DEPARTMENT) == [DIALOG]
    assert nhn.documents_for(59) == []  # the hospital itself is not the addressee
    assert transport.fetch() == []  # nothing came back to us
    stored = nhn.message(ref)
    assert (stored.sender_her_id, stored.msg_id, stored.is_apprec) == (
        GP_OFFICE,
        DIALOG_MSG_ID,
        False,
    )
    assert [call[:1] + call[2:] for call in nhn.calls] == [
        ("POST", 201),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
    ]


def test_fetched_messages_stay_until_acknowledged(nhn):
    transport = nhn.transport(her_id=HOSPITAL_DEPARTMENT)
    first = nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
    second = nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
    nhn.register_client(nhn.client_id, nhn.client_key.public_jwk, her_ids=[HOSPITAL_DEPARTMENT])

    assert [f.ref for f in transport.fetch()] == [first, second]
    assert [f.ref for f in transport.fetch(limit=1)] == [first]
    transport.acknowledge(first)

    assert [f.ref for f in transport.fetch()] == [second]
    assert nhn.message(first).receipts[HOSPITAL_DEPARTMENT].read is True


def test_an_apprec_for_a_received_message_goes_back_to_its_sender(nhn, hospital):
    ref = nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
    [received] = hospital.fetch()
    apprec = Outgoing(
        msg_id="8d018d60-336b-11de-8bd7-0002a5d5c51b",
        receiver_her_id=GP_OFFICE,
        payload=REJECTION,
        is_apprec=True,
        in_reply_to_ref=received.ref,
    )

    apprec_ref = hospital.send(apprec)

    # The GP's system (us here) fetches NHN's AppRec: rejected, with the error, about its MsgId.
    [back] = nhn.transport().fetch()
    assert back.ref == apprec_ref
    root = etree.fromstring(back.payload)
    assert root.find("a:Status", APPREC_NS).get("V") == "2"
    assert root.find("a:Error", APPREC_NS).get("V") == "E21"
    assert root.findtext("a:OriginalMsgId/a:Id", namespaces=APPREC_NS) == DIALOG_MSG_ID
    assert nhn.message(apprec_ref).is_apprec is True
    assert nhn.message(ref).receipts[HOSPITAL_DEPARTMENT].apprec_status == "Rejected"
    # After a crash, the hospital's outbox can find out that its AppRec arrived.
    assert hospital.reconcile(apprec) == DELIVERED


def test_the_apprec_nhn_writes_is_schema_valid(nhn, hospital):
    schemas = pytest.importorskip("telederm.interop.kith.schemas")
    nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
    [received] = hospital.fetch()
    hospital.send(
        Outgoing(
            msg_id="x",
            receiver_her_id=GP_OFFICE,
            payload=REJECTION,
            is_apprec=True,
            in_reply_to_ref=received.ref,
        )
    )
    [back] = nhn.transport().fetch()
    schemas.validate(back.payload)


def test_reconcile_says_unknown_for_a_document_and_not_delivered_for_a_missing_apprec(
    nhn, hospital
):
    transport = nhn.transport()
    assert transport.reconcile(outgoing()) == UNKNOWN

    nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)
    [received] = hospital.fetch()
    apprec = Outgoing(
        msg_id="y",
        receiver_her_id=GP_OFFICE,
        payload=REJECTION,
        is_apprec=True,
        in_reply_to_ref=received.ref,
    )
    assert hospital.reconcile(apprec) == NOT_DELIVERED


def test_a_lost_answer_leaves_the_message_in_doubt_and_it_is_not_sent_again(nhn, hospital):
    transport = nhn.transport()
    nhn.drop_after_store(1)

    with pytest.raises(DeliveryInDoubt) as raised:
        transport.send(outgoing())

    assert raised.value.permanent is False
    assert raised.value.in_doubt is True
    assert [f.payload for f in hospital.fetch()] == [DIALOG]  # it did arrive, once
    assert [c for c in nhn.calls if c[0] == "POST"] == [("POST", "/Messages", -1)]
    assert transport.reconcile(outgoing()) == UNKNOWN


def test_503_is_worth_trying_again(nhn, hospital):
    transport = nhn.transport()
    nhn.fail_next(1, status=503)

    with pytest.raises(TransportError) as raised:
        transport.send(outgoing())
    assert raised.value.permanent is False
    assert not isinstance(raised.value, DeliveryInDoubt)
    assert hospital.fetch() == []

    transport.send(outgoing())  # the outbox's next attempt
    assert len(hospital.fetch()) == 1


@pytest.mark.parametrize(
    ("payload", "receiver", "status"),
    [
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<MsgHead><MsgInfo>', HOSPITAL_DEPARTMENT, 400),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<Other/>', HOSPITAL_DEPARTMENT, 400),
        (DIALOG.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1), 90998, 400),
        (DIALOG.replace(b"<MIGversion>v1.2 2006-05-24</MIGversion>", b""), 90998, 400),
        (DIALOG, 4242, 400),  # a receiver the document does not name
        (DIALOG.replace(b"<Id>56704</Id>", b"<Id>1234</Id>"), 90998, 403),  # not our sender
    ],
    ids=[
        "not-well-formed",
        "not-msghead",
        "not-utf8",
        "schema-invalid",
        "wrong-receiver",
        "not-our-sender",
    ],
)
def test_what_nhn_refuses_is_permanent(nhn, hospital, payload, receiver, status):
    with pytest.raises(TransportError) as raised:
        nhn.transport().send(outgoing(payload, receiver))

    assert raised.value.permanent is True
    assert f"answered {status}" in str(raised.value)
    assert hospital.fetch() == []


def test_a_schema_invalid_document_is_refused_with_nhns_error_shape(hospital):
    def refuse(document: bytes) -> None:
        raise ApiError(
            400, "The business document is not valid", code=1000, validation_errors=["E"]
        )

    with (
        nhn_standin.serve(her_id=GP_OFFICE, validate=refuse) as strict,
        pytest.raises(TransportError) as raised,
    ):
        strict.transport().send(outgoing())
    assert raised.value.permanent is True
    assert "not valid: E" in str(raised.value)


def test_a_slow_answer_to_a_send_is_in_doubt_and_to_a_fetch_is_retried(nhn):
    transport = nhn.transport(timeout=(2, 0.2))
    transport.prepare(outgoing())  # the token, before the stand-in slows down
    nhn.delay = 0.5

    with pytest.raises(DeliveryInDoubt):
        transport.send(outgoing())
    with pytest.raises(TransportError) as raised:
        transport.fetch()
    assert raised.value.permanent is False
    assert not isinstance(raised.value, DeliveryInDoubt)


def test_a_refused_connection_never_carried_the_message(nhn):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = nhn.transport()
    transport.prepare(outgoing())
    transport.base_url = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(TransportError) as raised:
        transport.send(outgoing())
    assert raised.value.permanent is False
    assert not isinstance(raised.value, DeliveryInDoubt)


def test_prepare_refuses_a_document_without_an_xml_declaration(nhn):
    with pytest.raises(TransportError) as raised:
        nhn.transport().prepare(outgoing(DIALOG.split(b"\n", 1)[1]))
    assert raised.value.permanent is True


def test_the_transport_is_built_from_settings(settings, tmp_path, nhn):
    settings.TELEDERM_NHN_URL = nhn.url
    settings.TELEDERM_HELSEID_TOKEN_URL = nhn.token_url
    settings.TELEDERM_HELSEID_CLIENT_ID = nhn.client_id
    settings.TELEDERM_HELSEID_KEY_FILE = str(nhn.write_key_file(tmp_path / "helseid.jwk"))
    settings.TELEDERM_HER_ID = HOSPITAL_DEPARTMENT
    nhn.register_client(nhn.client_id, nhn.client_key.public_jwk, her_ids=[HOSPITAL_DEPARTMENT])
    nhn.deliver(DIALOG, sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT)

    transport = NhnTransport.from_settings()
    try:
        assert [f.payload for f in transport.fetch()] == [DIALOG]
    finally:
        transport.close()


def test_the_transport_says_which_settings_are_missing(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TELEDERM_NHN_URL = ""
    with pytest.raises(ImproperlyConfigured, match="TELEDERM_NHN_URL"):
        NhnTransport.from_settings()
