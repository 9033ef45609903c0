"""What a signed answer and a closed consultation send: the right messages, once, or a visible why.

The clinic's interop pages are wired here as the project wires them (/clinic/interop/), so these
tests do not depend on telederm/urls.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path, reverse

from conftest import sign_in
from telederm import urls as project_urls
from telederm.accounts.models import Organisation, User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent
from telederm.cases.states import CaseStatus
from telederm.interop import compose, signals
from telederm.interop.kith import dialogmelding, epikrise, henvisning, msghead
from telederm.interop.kith.errors import InvalidMessage, problem
from telederm.interop.models import OutgoingMessage
from telederm.interop.tests.test_compose import DEPARTMENT, referral_to_department, register, sign
from telederm.review import services
from telederm.review.models import Review

urlpatterns = [
    path("clinic/interop/", include("telederm.interop.urls_clinic")),
    *project_urls.urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

Kind = OutgoingMessage.Kind


@pytest.fixture
def listed(gp_office: Organisation, patient_user: User) -> None:
    register(gp_office, patient_user)


def messages_of(case: Case, kind: str | None = None) -> list[OutgoingMessage]:
    found = OutgoingMessage.objects.filter(case=case)
    return list(found.filter(kind=kind) if kind else found)


def logged(case: Case, action: str) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(case_uuid=case.uuid, action=action))


# Signing -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("listed")
def test_signing_advice_queues_exactly_one_dialogmelding_to_the_gp_with_the_photos(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)

    sign(case, dermatologist)

    [message] = messages_of(case)
    assert message.kind == Kind.DIALOGMELDING
    assert message.msg_type == "DIALOG_HELSEFAGLIG"
    assert (message.receiver_her_id, message.status) == (8100002, OutgoingMessage.Status.QUEUED)
    envelope = msghead.read(bytes(message.payload))
    assert envelope.head.msg_id == str(message.msg_id)
    assert len(envelope.attachments) == case.photos.filter(status="ready").count() == 1
    assert dialogmelding.parse(envelope).subject == "Svar fra teledermatologi"
    assert len(logged(case, "message.queue")) == 1


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("outcome", [Review.Outcome.VIDEO, Review.Outcome.CLOSE])
def test_video_and_close_outcomes_also_tell_the_gp(
    make_case: Callable[..., Case], dermatologist: User, outcome: str
) -> None:
    case = make_case(submit=True)
    extra: dict[str, Any] = (
        {"video_reason": "Se utslettet i bevegelse."} if outcome == "video" else {}
    )

    sign(case, dermatologist, outcome=outcome, **extra)

    assert [m.kind for m in messages_of(case)] == [Kind.DIALOGMELDING]


@pytest.mark.usefixtures("listed")
def test_asking_for_more_information_sends_nothing(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)

    sign(case, dermatologist, outcome=Review.Outcome.MORE_INFO, info_request="Et nærbilde, takk.")

    assert messages_of(case) == []


@pytest.mark.usefixtures("listed")
def test_a_referral_picked_from_the_register_queues_a_henvisning_with_pk(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)

    review = sign(
        case,
        dermatologist,
        outcome=Review.Outcome.REFERRAL,
        referral=referral_to_department(Case.Pathway.PK_MELANOMA),
    )

    assert sorted(m.kind for m in messages_of(case)) == [Kind.DIALOGMELDING, Kind.HENVISNING]
    [message] = messages_of(case, Kind.HENVISNING)
    assert message.receiver_her_id == DEPARTMENT
    assert message.msg_type == henvisning.MSG_TYPE
    referral = henvisning.parse(msghead.read(bytes(message.payload)))
    assert referral.cancer_pathway is True
    review.referral.refresh_from_db()
    assert review.referral.receiver_her_id == DEPARTMENT  # kept on the referral


@pytest.mark.usefixtures("listed")
def test_a_referral_typed_without_a_her_id_is_only_recorded(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    free_text = services.ReferralDetails(
        priority="routine", receiver="Hudavdelingen, UNN Tromsø", reason="Eksisjon."
    )

    sign(case, dermatologist, outcome=Review.Outcome.REFERRAL, referral=free_text)

    assert [m.kind for m in messages_of(case)] == [Kind.DIALOGMELDING]


@pytest.mark.usefixtures("listed")
def test_the_review_form_sends_the_receiver_picked_from_the_register(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    dermatologist.hpr_number = "9100065"
    dermatologist.save()
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    sign_in(client, dermatologist)

    page = client.get(reverse("review:case", args=[case.uuid])).content.decode()
    assert 'list="referral-receivers"' in page
    assert f'hx-get="{reverse("interop:addresses")}"' in page
    response = client.post(
        reverse("review:answer", args=[case.uuid]),
        {
            "version": case.version,
            "assessment": "Asymmetrisk pigmentert lesjon.",
            "diagnosis": "Føflekk som bør fjernes",
            "advice": "Du blir kalt inn til sykehuset.",
            "outcome": "referral",
            "icd10_codes": "D22.5",
            "referral_priority": "urgent",
            "referral_pathway": "pk_melanoma",
            "referral_receiver": referral_to_department().receiver,
            "referral_reason": "Mistanke om melanom.",
            "rx-TOTAL_FORMS": "0",
            "rx-INITIAL_FORMS": "0",
            "rx-MIN_NUM_FORMS": "0",
            "rx-MAX_NUM_FORMS": "10",
            "action": "sign",
        },
    )

    assert response.status_code == 302
    [message] = messages_of(case, Kind.HENVISNING)
    assert message.receiver_her_id == DEPARTMENT


def test_no_gp_in_the_register_sends_nothing_and_the_workspace_says_so(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)  # the patient has no GP office in the register

    sign(case, dermatologist)

    assert messages_of(case) == []
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED
    sign_in(client, dermatologist)
    page = client.get(reverse("review:case", args=[case.uuid])).content.decode()
    assert "No message went to the GP:" in page
    assert "the patient's GP office is not in the address register." in page


@pytest.mark.usefixtures("listed")
def test_a_message_that_cannot_be_composed_does_not_undo_the_signature(
    client: Client,
    make_case: Callable[..., Case],
    dermatologist: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def invalid(review: Review) -> tuple[str, bytes]:
        raise InvalidMessage([problem("T02", "line 1: something the schema refuses")])

    monkeypatch.setattr(compose, "dialogmelding_for", invalid)
    case = make_case(submit=True)

    review = sign(case, dermatologist)

    assert review.is_signed
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED
    [message] = messages_of(case)
    assert message.status == OutgoingMessage.Status.FAILED
    assert message.last_error.startswith("Could not be composed: T02")
    assert bytes(message.payload) == b""  # nothing invalid can ever be sent
    sign_in(client, dermatologist)
    page = client.get(reverse("review:case", args=[case.uuid])).content.decode()
    assert "<strong>Could not be delivered</strong>" in page
    assert "No message went to the GP" not in page


@pytest.mark.usefixtures("listed")
def test_queue_answer_messages_is_what_the_signal_calls(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    review = sign(case, dermatologist)
    OutgoingMessage.objects.filter(case=case).delete()

    queued = signals.queue_answer_messages(by=dermatologist, review=review, case=case)

    assert [m.kind for m in queued] == [Kind.DIALOGMELDING]


# The discharge summary ------------------------------------------------------------------


@pytest.fixture
def answered(make_case: Callable[..., Case], dermatologist: User, listed: None) -> Case:
    case = make_case(submit=True)
    sign(case, dermatologist)
    case.refresh_from_db()
    return case


def discharge_url(case: Case) -> str:
    return reverse("interop:discharge", args=[case.uuid])


def test_the_workspace_links_the_discharge_for_the_assigned_dermatologist(
    client: Client, answered: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)

    page = client.get(reverse("review:case", args=[answered.uuid])).content.decode()

    assert f'href="{discharge_url(answered)}"' in page
    assert "Dialogue message (Dialogmelding 1.1) · Nordkapp legesenter (fiktivt)" in page


def test_the_discharge_form_is_prefilled_from_the_signed_review(
    client: Client, answered: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)

    response = client.get(discharge_url(answered))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Symmetrisk, skarpt avgrenset plakk" in page  # the assessment, in the summary
    assert "Kontroll hos fastlege om fire uker." in page  # the advice to the GP, in follow-up
    assert "Nordkapp legesenter (fiktivt) (HER-id 8100002)" in page
    assert len(logged(answered, "case.view")) == 1


def test_closing_with_a_discharge_summary_queues_a_valid_epikrise_and_closes_the_case(
    client: Client, answered: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)

    response = client.post(
        discharge_url(answered),
        {
            "version": answered.version,
            "summary": "Psoriasis bekreftet på bilder.",
            "follow_up": "Kontroll om fire uker.",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("review:case", args=[answered.uuid])
    answered.refresh_from_db()
    assert answered.status == CaseStatus.CLOSED
    assert answered.events.filter(action=CaseEvent.Action.CLOSED).exists()
    [message] = messages_of(answered, Kind.EPIKRISE)
    assert (message.receiver_her_id, message.msg_type) == (8100002, "EPIKRISE")
    summary = epikrise.parse(msghead.read(bytes(message.payload)))
    assert "Psoriasis bekreftet på bilder." in summary.summary
    assert "Kontroll om fire uker." in summary.follow_up
    assert {code.code for code in summary.diagnoses} >= {"L40.0"}
    assert len(logged(answered, "case.discharge")) == 1
    # Two queued messages on this case: the answer's Dialogmelding and this Epikrise.
    assert len(logged(answered, "message.queue")) == 2


def test_a_stale_form_changes_nothing(client: Client, answered: Case, dermatologist: User) -> None:
    sign_in(client, dermatologist)

    response = client.post(
        discharge_url(answered),
        {"version": answered.version - 1, "summary": "Gammel.", "follow_up": ""},
    )

    assert response.status_code == 200
    answered.refresh_from_db()
    assert answered.status == CaseStatus.ANSWERED
    assert messages_of(answered, Kind.EPIKRISE) == []


def test_without_the_gp_in_the_register_the_case_is_not_closed(
    client: Client, answered: Case, dermatologist: User
) -> None:
    patient = answered.patient
    patient.gp_office = None
    patient.save()
    sign_in(client, dermatologist)

    page = client.get(discharge_url(answered)).content.decode()
    response = client.post(
        discharge_url(answered), {"version": answered.version, "summary": "S", "follow_up": ""}
    )

    assert "GP office is not in the address register" in page
    assert "not in the address register" in response.content.decode()
    answered.refresh_from_db()
    assert answered.status == CaseStatus.ANSWERED


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("patient_user", 403),
        ("gp", 403),
        ("outsider", 403),
        ("coordinator", 403),
        ("duty_nurse", 404),  # an answered case is no longer the nurse's to see
        ("other_dermatologist", 404),
    ],
)
def test_only_the_assigned_dermatologist_may_close_with_a_summary(
    client: Client, answered: Case, persona: str, expected: int, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    sign_in(client, user)

    get = client.get(discharge_url(answered))
    post = client.post(
        discharge_url(answered), {"version": answered.version, "summary": "S", "follow_up": ""}
    )

    assert (get.status_code, post.status_code) == (expected, expected)
    answered.refresh_from_db()
    assert answered.status == CaseStatus.ANSWERED
    assert not logged(answered, "case.discharge")


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, answered: Case) -> None:
    response = client.get(discharge_url(answered))

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_case_still_in_review_cannot_be_closed_with_a_summary(
    client: Client, make_case: Callable[..., Case], dermatologist: User, listed: None
) -> None:
    case = make_case(submit=True)
    services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    sign_in(client, dermatologist)

    assert client.get(discharge_url(case)).status_code == 403


def test_an_unknown_case_is_not_found(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)

    response = client.get(
        reverse("interop:discharge", args=["00000000-0000-0000-0000-000000000000"])
    )

    assert response.status_code == 404


# The register for clinicians ------------------------------------------------------------


@pytest.mark.usefixtures("listed")
def test_clinicians_find_referral_receivers_with_their_her_id(
    client: Client, dermatologist: User
) -> None:
    sign_in(client, dermatologist)

    page = client.get(reverse("interop:addresses"), {"q": "hud"}).content.decode()
    options = client.get(reverse("interop:addresses"), HTTP_HX_REQUEST="true").content.decode()

    label = f"Hudavdelingen, Testsykehuset Nord (fiktivt) (HER-id {DEPARTMENT})"
    assert label in page
    assert '<option value="Hudavdelingen' not in page
    assert options.count("<option") == 1
    assert f'<option value="{label}">' in options
    assert "Telederm hudklinikk" not in options  # never ourselves


@pytest.mark.parametrize(("persona", "expected"), [("patient_user", 403), ("gp", 403)])
def test_the_register_page_is_for_the_clinic(
    client: Client, persona: str, expected: int, request: pytest.FixtureRequest
) -> None:
    sign_in(client, request.getfixturevalue(persona))

    assert client.get(reverse("interop:addresses")).status_code == expected
