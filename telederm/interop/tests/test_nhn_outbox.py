"""The outbox delivering through the NHN client to the stand-in: a queued Dialogmelding reaches
the receiver's mailbox once, and a crash after sending leaves it in doubt, never sent twice."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction

from telederm.core import clock
from telederm.interop import outbox
from telederm.interop.models import OutgoingMessage
from telederm.interop.tests.test_outbox_support import message_xml
from telederm.interop.transports.nhn import standin as nhn_standin

pytestmark = pytest.mark.django_db

GP_OFFICE, HOSPITAL_DEPARTMENT = 56704, 90998  # sender and receiver of KITH's example
Status = OutgoingMessage.Status


@pytest.fixture
def nhn():
    with nhn_standin.serve(her_id=GP_OFFICE) as running:
        yield running


def queue(msg_id: uuid.UUID) -> OutgoingMessage:
    with transaction.atomic():
        return outbox.queue_message(
            by=None,
            kind=OutgoingMessage.Kind.DIALOGMELDING,
            msg_id=msg_id,
            msg_type="DIALOG_HELSEFAGLIG",
            receiver_her_id=HOSPITAL_DEPARTMENT,
            receiver_name="Ortopedisk kirurgi",
            payload=message_xml(msg_id),
        )


def test_a_queued_message_reaches_the_receivers_mailbox_once(nhn):
    msg_id = uuid.uuid4()
    message = queue(msg_id)

    outbox.deliver_due(transport=nhn.transport())
    outbox.deliver_due(clock.now() + dt.timedelta(hours=1), transport=nhn.transport())

    message.refresh_from_db()
    assert message.status == Status.SENT
    [stored] = nhn.messages_for(HOSPITAL_DEPARTMENT)
    assert (stored.id, stored.msg_id) == (message.transport_ref, str(msg_id))
    assert message.transport == "nhn"


def test_a_refusal_by_nhn_fails_the_message_at_once(nhn):
    message = queue(uuid.uuid4())
    nhn.register_client(nhn.client_id, nhn.client_key.public_jwk, her_ids=[1])  # not the sender

    outbox.deliver_due(transport=nhn.transport())

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "403" in message.last_error
    assert nhn.messages_for(HOSPITAL_DEPARTMENT) == []


def test_an_outage_at_nhn_is_retried_later(nhn):
    message = queue(uuid.uuid4())
    nhn.fail_next(1, status=503)

    outbox.deliver_due(transport=nhn.transport())
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)

    outbox.deliver_due(clock.now() + dt.timedelta(hours=1), transport=nhn.transport())
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(nhn.messages_for(HOSPITAL_DEPARTMENT)) == 1


def test_a_lost_answer_leaves_the_message_in_doubt_and_no_second_copy_is_sent(nhn):
    message = queue(uuid.uuid4())
    nhn.drop_after_store(1)

    outbox.deliver_due(transport=nhn.transport())
    outbox.deliver_due(clock.now() + dt.timedelta(days=1), transport=nhn.transport())

    message.refresh_from_db()
    assert len(nhn.messages_for(HOSPITAL_DEPARTMENT)) == 1
    assert message.status == Status.IN_DOUBT


def test_a_message_from_a_gp_is_fetched_answered_and_the_apprec_reaches_the_gp(settings):
    """The loop over NHN: the GP's message is fetched, stored, marked read and answered; the
    AppRec NHN writes from our answer reaches the GP's mailbox and names the GP's MsgId."""
    from lxml import etree

    from telederm.interop import inbox

    settings.TELEDERM_HER_ID = HOSPITAL_DEPARTMENT
    gp_msg_id = uuid.uuid4()
    with nhn_standin.serve(her_id=HOSPITAL_DEPARTMENT) as nhn:
        ref = nhn.deliver(
            message_xml(gp_msg_id), sender_her_id=GP_OFFICE, receiver_her_id=HOSPITAL_DEPARTMENT
        )
        us = nhn.transport()

        assert inbox.receive_all(transport=us) == 1
        assert nhn.message(ref).receipts[HOSPITAL_DEPARTMENT].read is True
        [apprec] = OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.APPREC)
        outbox.deliver_due(transport=us)

        apprec.refresh_from_db()
        assert apprec.status == Status.SENT
        key = nhn.register_client("gp", her_ids=[GP_OFFICE])
        [back] = nhn.transport(her_id=GP_OFFICE, client_id="gp", key=key).fetch()
    root = etree.fromstring(back.payload)
    ns = {"a": "http://www.kith.no/xmlstds/apprec/2012-02-15"}
    assert root.findtext("a:OriginalMsgId/a:Id", namespaces=ns) == str(gp_msg_id)
    ours = etree.fromstring(bytes(apprec.payload))
    assert root.find("a:Status", ns).get("V") == ours.find("a:Status", ns).get("V")
    assert nhn.message(ref).receipts[HOSPITAL_DEPARTMENT].apprec_status is not None
