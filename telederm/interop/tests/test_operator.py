"""The operator's message page: who may see it, what it shows and logs, resend and cancel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import include, path, reverse

import telederm.urls
from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.interop import outbox
from telederm.interop.models import OutgoingMessage
from telederm.interop.operator_views import pretty_xml
from telederm.interop.tests.test_outbox_support import message_xml, msg_id_of

# Until telederm/urls.py routes /operator/messages/, these tests add the route themselves.
urlpatterns = [*telederm.urls.urlpatterns]
if not any(str(p.pattern) == "operator/messages/" for p in urlpatterns):
    urlpatterns.append(path("operator/messages/", include("telederm.interop.operator_urls")))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
Status = OutgoingMessage.Status


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user(
        "drift@telederm.example", "x", full_name="Ola Drift", role=User.Role.OPERATOR
    )


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    return make_case(photos=0)


def queued(case: Case | None = None, status: str = Status.QUEUED, **fields: Any) -> OutgoingMessage:
    msg_id = uuid.uuid4()
    with transaction.atomic():
        message = outbox.queue_message(
            by=None,
            kind=OutgoingMessage.Kind.DIALOGMELDING,
            msg_id=msg_id,
            msg_type="DIALOG_NOTAT",
            receiver_her_id=56704,
            receiver_name="Kattskinnet legesenter",
            payload=message_xml(msg_id),
            case=case,
        )
    OutgoingMessage.objects.filter(pk=message.pk).update(status=status, **fields)
    message.refresh_from_db()
    return message


def detail(message: OutgoingMessage) -> str:
    return reverse("interop:operator-messages-detail", args=[message.uuid])


def test_the_routes_are_where_the_lead_wires_them() -> None:
    assert reverse("interop:operator-messages") == "/operator/messages/"
    some = uuid.uuid4()
    assert reverse("interop:operator-messages-resend", args=[some]).endswith(f"/{some}/resend/")
    assert reverse("interop:operator-messages-cancel", args=[some]).endswith(f"/{some}/cancel/")


@pytest.mark.parametrize(
    "persona",
    ["patient_user", "gp", "duty_nurse", "dermatologist", "coordinator", "outsider"],
)
def test_nobody_but_the_operator_sees_or_acts(
    client: Client, request: pytest.FixtureRequest, persona: str
) -> None:
    message = queued(status=Status.FAILED)
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(reverse("interop:operator-messages")).status_code == 403
    assert client.get(detail(message)).status_code == 403
    for action in ("resend", "cancel"):
        url = reverse(f"interop:operator-messages-{action}", args=[message.uuid])
        assert client.post(url, {"status": "failed"}).status_code == 403
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert not AccessEvent.objects.filter(action="message.view").exists()


def test_a_signed_out_visitor_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("interop:operator-messages"))
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]


def test_the_list_puts_what_needs_a_person_first_without_patient_names(
    client: Client, operator: User, case: Case
) -> None:
    waiting = queued(case)
    rejected = queued(
        case,
        status=Status.REJECTED,
        apprec_errors=[{"code": "E21", "text": "Mottaker finnes ikke", "details": ""}],
    )
    broken = queued(status=Status.FAILED, last_error="connection refused")
    sign_in(client, operator)
    response = client.get(reverse("interop:operator-messages"))
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        html.index(str(broken.uuid))
        < html.index(str(rejected.uuid))
        < html.index(str(waiting.uuid))
    )
    assert "Mottaker finnes ikke" in html and "E21" in html
    assert "connection refused" in html
    assert str(case.uuid)[:8] in html
    assert case.patient.full_name not in html
    assert "Could not be delivered: 1" in html  # the counts, those needing a person marked
    # The list is not a read of patient data.
    assert not AccessEvent.objects.filter(action__endswith=".view").exists()


def test_the_list_filters_by_status(client: Client, operator: User) -> None:
    waiting = queued()
    broken = queued(status=Status.FAILED)
    sign_in(client, operator)
    html = client.get(reverse("interop:operator-messages"), {"status": "failed"}).content.decode()
    assert str(broken.uuid) in html
    assert str(waiting.uuid) not in html


def test_the_detail_shows_the_escaped_xml_and_is_logged(
    client: Client, operator: User, case: Case
) -> None:
    message = queued(case, status=Status.FAILED)
    sign_in(client, operator)
    response = client.get(detail(message))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;MsgHead" in html
    assert "<MsgHead" not in html
    assert str(message.msg_id) in html
    event = AccessEvent.objects.get(action="message.view")
    assert (event.actor, event.case_uuid, event.object_uuid) == (operator, case.uuid, message.uuid)
    assert event.patient_uuid == case.patient.uuid


def test_an_unknown_message_is_not_found(client: Client, operator: User) -> None:
    sign_in(client, operator)
    url = reverse("interop:operator-messages-detail", args=[uuid.uuid4()])
    assert client.get(url).status_code == 404


def test_resending_a_failed_message_from_the_page(client: Client, operator: User) -> None:
    message = queued(status=Status.FAILED, attempts=8, last_error="timeout")
    sign_in(client, operator)
    url = reverse("interop:operator-messages-resend", args=[message.uuid])
    response = client.post(url, {"status": "failed"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 0)


def test_resending_a_rejected_message_leads_to_its_copy(client: Client, operator: User) -> None:
    message = queued(status=Status.REJECTED)
    sign_in(client, operator)
    url = reverse("interop:operator-messages-resend", args=[message.uuid])
    response = client.post(url, {"status": "rejected"})
    copy = OutgoingMessage.objects.get(resent_from=message)
    assert response["Location"] == detail(copy)
    assert msg_id_of(bytes(copy.payload)) == str(copy.msg_id)


def test_a_message_in_doubt_asks_for_confirmation(client: Client, operator: User) -> None:
    message = queued(status=Status.IN_DOUBT)
    sign_in(client, operator)
    page = client.get(detail(message)).content.decode()
    assert 'name="confirm_not_received"' in page
    assert "<legend>" in page
    url = reverse("interop:operator-messages-resend", args=[message.uuid])
    response = client.post(url, {"status": "in_doubt"}, follow=True)
    assert "Confirm that the receiver has not got the message" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.IN_DOUBT
    client.post(url, {"status": "in_doubt", "confirm_not_received": "on"})
    message.refresh_from_db()
    assert message.status == Status.QUEUED


def test_a_stale_form_changes_nothing(client: Client, operator: User) -> None:
    message = queued(status=Status.FAILED)
    sign_in(client, operator)
    url = reverse("interop:operator-messages-cancel", args=[message.uuid])
    response = client.post(url, {"status": "queued"}, follow=True)
    assert "changed meanwhile" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.FAILED


def test_cancelling_from_the_page(client: Client, operator: User) -> None:
    message = queued(status=Status.FAILED)
    sign_in(client, operator)
    url = reverse("interop:operator-messages-cancel", args=[message.uuid])
    client.post(url, {"status": "failed"})
    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    html = client.get(detail(message)).content.decode()
    assert "Send again" not in html and "Cancel the message" not in html


def test_resend_and_cancel_need_a_post(client: Client, operator: User) -> None:
    message = queued(status=Status.FAILED)
    sign_in(client, operator)
    for action in ("resend", "cancel"):
        url = reverse(f"interop:operator-messages-{action}", args=[message.uuid])
        assert client.get(url).status_code == 405


def test_with_no_transport_the_page_says_messages_wait(
    client: Client, operator: User, settings: Any
) -> None:
    settings.TELEDERM_MESSAGE_TRANSPORT = "none"
    sign_in(client, operator)
    html = client.get(reverse("interop:operator-messages")).content.decode()
    assert "No message transport is configured" in html


def test_pretty_xml_indents_and_summarises_attachments() -> None:
    payload = message_xml(uuid.uuid4()).replace(
        b"<MIGversion>", b"<Attachment>" + b"QUFB" * 1000 + b"</Attachment><MIGversion>"
    )
    shown = pretty_xml(payload)
    assert "\n  <MsgInfo>" in shown
    assert "[4000 characters not shown]" in shown
    assert "QUFB" not in shown
    assert pretty_xml(b"not xml <") == "not xml <"


def test_a_message_that_could_not_be_composed_says_so(client: Client, operator: User) -> None:
    message = OutgoingMessage.objects.create(
        msg_id=uuid.uuid4(),
        kind=OutgoingMessage.Kind.DIALOGMELDING,
        msg_type="DIALOG_NOTAT",
        receiver_her_id=56704,
        payload=b"",
        status=Status.FAILED,
        last_error="Could not be composed: no GP",
    )
    sign_in(client, operator)
    html = client.get(detail(message)).content.decode()
    assert "No document was stored" in html
    assert "Could not be composed: no GP" in html
    url = reverse("interop:operator-messages-resend", args=[message.uuid])
    page = client.post(url, {"status": "failed"}, follow=True).content.decode()
    assert "cannot be sent again" in page
