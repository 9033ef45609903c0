"""The transport registry and the worker tasks: the configured transport, and one periodic run
fetching what came in and delivering what is due."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from telederm.interop import tasks
from telederm.interop.models import IncomingMessage, OutgoingMessage
from telederm.interop.tests.test_outbox_support import message_xml
from telederm.interop.transports import base
from telederm.interop.transports.filedrop import FileDropTransport
from telederm.interop.transports.registry import NoTransport, get_transport


@pytest.fixture
def folders(settings: Any, tmp_path: Path) -> Path:
    settings.TELEDERM_MESSAGE_TRANSPORT = "file"
    settings.TELEDERM_MESSAGE_FILE_OUT = tmp_path / "out"
    settings.TELEDERM_MESSAGE_FILE_IN = tmp_path / "in"
    return tmp_path


def test_the_file_transport_uses_the_configured_folders(folders: Path) -> None:
    transport = get_transport()
    assert isinstance(transport, FileDropTransport)
    assert (transport.out_dir, transport.in_dir) == (folders / "out", folders / "in")


def test_no_transport_refuses_to_send_and_fetches_nothing(settings: Any) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "none"
    transport = get_transport()
    assert isinstance(transport, NoTransport)
    message = base.Outgoing(msg_id=str(uuid.uuid4()), receiver_her_id=1, payload=b"x")
    with pytest.raises(base.TransportError):
        transport.send(message)
    assert transport.fetch() == []
    assert transport.reconcile(message) == base.UNKNOWN


def test_the_nhn_transport_is_the_nhn_helpers_client_built_from_its_settings(
    settings: Any,
) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "NHN"
    settings.TELEDERM_NHN_URL = "https://msh.example/"
    settings.TELEDERM_HELSEID_TOKEN_URL = ""
    # Imported only now, and it reads its own settings: without HelseID it refuses to start.
    with pytest.raises(ImproperlyConfigured, match="TELEDERM_HELSEID_TOKEN_URL"):
        get_transport()


def test_a_transport_name_we_do_not_know_is_a_configuration_error(settings: Any) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured, match="carrier-pigeon"):
        get_transport()


@pytest.mark.django_db
def test_fetch_messages_takes_in_what_came_and_sends_the_apprec(folders: Path) -> None:
    incoming = folders / "in"
    incoming.mkdir()
    gp_msg_id = uuid.uuid4()
    (incoming / f"{gp_msg_id}.xml").write_bytes(message_xml(gp_msg_id))
    assert tasks.fetch_messages.call() == 1
    stored = IncomingMessage.objects.get()
    assert stored.msg_id == str(gp_msg_id)
    assert list(incoming.glob("*.xml")) == []  # acknowledged: the database has it
    # The AppRec answering it was queued by the inbox and delivered in the same run.
    apprec = OutgoingMessage.objects.get(kind=OutgoingMessage.Kind.APPREC)
    assert apprec.status == OutgoingMessage.Status.SENT
    assert (folders / "out" / f"{apprec.msg_id}.xml").exists()


@pytest.mark.django_db
def test_deliver_messages_runs_the_outbox(folders: Path) -> None:
    assert tasks.deliver_messages.call() == 0
