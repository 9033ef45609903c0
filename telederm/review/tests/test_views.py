"""The review workspace and queue through the test client: no JavaScript, refusals, the log."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, Message
from telederm.cases.states import CaseStatus
from telederm.review import services
from telederm.review.models import Review
from telederm.triage.models import SymptomCheck, TriageNote
from telederm.triage.policies import can_escalate

pytestmark = pytest.mark.django_db


@pytest.fixture
def taken(make_case: Callable[..., Case], dermatologist: User) -> Case:
    case = make_case(submit=True)
    return services.take_for_review(by=dermatologist, case=case, expected_version=case.version)


def form_data(case: Case, **extra: Any) -> dict[str, Any]:
    data = {
        "version": case.version,
        "assessment": "Symmetric plaques on both elbows.",
        "diagnosis": "Psoriasis",
        "advice": "Use the cream in the evening.",
        "safety_net": "If it spreads fast, see your doctor.",
        "advice_gp": "",
        "outcome": "advice",
        "icd10_codes": "L40.0",
        "icpc2_codes": "S91",
        "guides": ["psoriasis"],
        "rx-TOTAL_FORMS": "2",
        "rx-INITIAL_FORMS": "0",
        "rx-MIN_NUM_FORMS": "0",
        "rx-MAX_NUM_FORMS": "10",
        "rx-0-drug": "Betametason",
        "rx-0-strength": "0.1 %",
        "rx-0-dosage": "Once daily",
        "rx-0-duration": "2 weeks",
        "rx-0-instructions": "Thin layer",
        "rx-1-drug": "",
        "rx-1-dosage": "",
        "action": "save",
    }
    return data | extra


def url(name: str, case: Case) -> str:
    return reverse(f"review:{name}", args=[case.uuid])


def test_the_workspace_shows_everything_on_one_screen(
    client: Client, taken: Case, dermatologist: User, patient_user: User, duty_nurse: User
) -> None:
    SymptomCheck.objects.create(
        created_by=patient_user,
        patient=taken.patient,
        case=taken,
        answers={},
        result={
            "disposition": "teledermatology",
            "priority": "soon",
            "flags": ["pk_melanoma"],
            "reasons": [{"rule": "r1", "text": {"en": "Changing mole", "nb": "Endret føflekk"}}],
            "seven_point": {"score": 4, "features": [], "threshold": 3},
        },
        rules_version="2026.1",
        disposition="teledermatology",
    )
    TriageNote.objects.create(case=taken, author=duty_nurse, text="Photos are sharp enough.")
    body = sign_in(client, dermatologist).get(url("case", taken)).content.decode()
    for expected in (
        taken.complaint,
        "Changing mole",
        "7-point checklist: 4 points",
        "Photos are sharp enough.",
        "The patient reads Norwegian bokmål",
        "Write to the patient in Norwegian bokmål.",
        "Keyboard shortcuts",
        'name="icd10_codes"',
        "eczema-care",
        "Save draft",
        "Sign and send",
        "review/workspace.js",
    ):
        assert expected in body, expected
    assert "style=" not in body and "<script>" not in body, "the CSP allows neither"


def test_a_pool_case_offers_to_take_it_not_to_answer(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    body = sign_in(client, dermatologist).get(url("case", case)).content.decode()
    assert "Start review" in body and "data-take-form" in body
    assert "data-sign" not in body


def test_save_draft_without_javascript_keeps_everything_and_signs_nothing(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    response = client.post(url("answer", taken), form_data(taken))
    assert response.status_code == 302
    assert response["Location"].startswith(url("case", taken))
    review = Review.objects.get(case=taken)
    assert not review.is_signed
    assert [d.code for d in review.diagnoses.all()] == ["L40.0", "S91"]
    assert [(p.drug, p.dosage) for p in review.prescriptions.all()] == [
        ("Betametason", "Once daily")
    ]
    assert review.guides == ["psoriasis"]
    body = client.get(url("case", taken)).content.decode()
    assert "Draft saved" in body
    assert "Symmetric plaques on both elbows." in body
    assert 'value="L40.0"' in body
    assert 'value="Betametason"' in body
    assert Case.objects.get(pk=taken.pk).status == CaseStatus.IN_REVIEW


def test_sign_and_send_answers_the_case(client: Client, taken: Case, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    response = client.post(url("answer", taken), form_data(taken, action="sign"))
    assert response.status_code == 302 and response["Location"] == reverse("review:queue")
    assert Case.objects.get(pk=taken.pk).status == CaseStatus.ANSWERED
    body = client.get(url("case", taken)).content.decode()
    assert "Signed answer" in body and "L40.0" in body
    assert "data-sign" not in body


def test_an_unknown_code_is_shown_as_an_error_and_nothing_is_saved(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    response = client.post(url("answer", taken), form_data(taken, icd10_codes="L40.0, X99.9"))
    assert response.status_code == 400
    assert "X99.9 is not a known code." in response.content.decode()
    assert not Review.objects.exists()


def test_sign_without_what_the_outcome_needs_is_refused_with_the_reason(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    response = client.post(
        url("answer", taken), form_data(taken, action="sign", outcome="referral")
    )
    assert response.status_code == 400
    assert "A referral needs a priority" in response.content.decode()
    assert Case.objects.get(pk=taken.pk).status == CaseStatus.IN_REVIEW


def test_a_stale_form_is_refused_and_overwrites_nothing(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    client.post(url("answer", taken), form_data(taken, assessment="First tab"))
    response = client.post(url("answer", taken), form_data(taken, assessment="Second tab"))
    assert response.status_code == 400
    assert "Someone else changed this case" in response.content.decode()
    assert Review.objects.get().assessment == "First tab"


def test_more_information_without_javascript_sends_the_question(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    data = form_data(taken, action="sign", outcome="more_info", info_request="A close-up, please.")
    assert client.post(url("answer", taken), data).status_code == 302
    assert Case.objects.get(pk=taken.pk).status == CaseStatus.INFO_REQUESTED
    assert Message.objects.get().body == "A close-up, please."


@pytest.mark.parametrize(
    ("persona", "status"),
    [("duty_nurse", 404), ("other_dermatologist", 404), ("gp", 403), ("patient_user", 403)],
)
def test_nobody_but_the_assigned_dermatologist_posts_a_review(
    request: pytest.FixtureRequest, client: Client, taken: Case, persona: str, status: int
) -> None:
    sign_in(client, request.getfixturevalue(persona))
    response = client.post(url("answer", taken), form_data(taken, action="sign"))
    assert response.status_code == status
    assert not Review.objects.exists()


def test_a_pool_dermatologist_cannot_post_a_review_before_taking_it(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, dermatologist)
    assert client.post(url("answer", case), form_data(case)).status_code == 403


def test_the_queue_shows_time_left_pathway_deadline_and_drafts(
    client: Client, taken: Case, make_case: Callable[..., Case], dermatologist: User
) -> None:
    pool = make_case(submit=True, complaint="Pool case")
    Case.objects.filter(pk=pool.pk).update(pathway="pk_melanoma")
    services.save_draft(by=dermatologist, case=taken, expected_version=taken.version, advice="x")
    body = sign_in(client, dermatologist).get(reverse("review:queue")).content.decode()
    assert "left" in body and "PK" in body
    assert "draft in progress" in body and "yours" in body and "pool" in body
    assert body.count("draft in progress") == 1


def test_the_queue_is_paged_with_a_fixed_number_of_queries(
    client: Client, make_case: Callable[..., Case], dermatologist: User, gp: User
) -> None:
    first = make_case(submit=True)
    case_ids = []
    for _ in range(30):  # copies of a sent case: the queue only reads rows
        first.pk = None
        first.uuid = __import__("uuid").uuid4()
        first.save()
        case_ids.append(first.pk)
    sign_in(client, dermatologist)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("review:queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Next page" in body
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if "audit_accessevent" not in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")
    ]
    # Session, user, second-factor check and the page: never one query per case.
    assert len(reads) <= 10, reads
    assert AccessEvent.objects.filter(action="queue.list.view").count() == 25
    second = client.get(reverse("review:queue") + "?page=2").content.decode()
    assert "Previous page" in second and "Next page" not in second
    assert client.get(reverse("review:queue") + "?page=x").status_code == 200


def test_duty_nurses_are_sent_to_the_triage_queue(client: Client, duty_nurse: User) -> None:
    response = sign_in(client, duty_nurse).get(reverse("review:queue"))
    try:
        triage = reverse("triage:queue")
    except NoReverseMatch:
        pytest.skip("the triage queue is not mounted yet")
    assert response.status_code == 302 and response["Location"] == triage


@pytest.mark.parametrize(("persona", "status"), [("dermatologist", 200), ("patient_user", 403)])
def test_the_code_search_is_for_the_clinic(
    request: pytest.FixtureRequest, client: Client, persona: str, status: int
) -> None:
    sign_in(client, request.getfixturevalue(persona))
    response = client.get(reverse("review:code_search"), {"q": "psoriasis"})
    assert response.status_code == status


def test_the_workspace_shows_the_message_thread_and_logs_reading_it(
    client: Client, taken: Case, dermatologist: User, patient_user: User
) -> None:
    Message.objects.create(
        case=taken, author=patient_user, from_clinic=False, body="It itches more at night."
    )
    body = sign_in(client, dermatologist).get(url("case", taken)).content.decode()
    assert "It itches more at night." in body
    assert "Write to the patient" in body
    actions = set(
        AccessEvent.objects.filter(actor=dermatologist, case_uuid=taken.uuid).values_list(
            "action", flat=True
        )
    )
    assert {"case.view", "case.messages.view"} <= actions
    assert Message.objects.get().read_at is not None, "the clinic has read it"


def _symptom_check(case: Case, by: User, priority: str = "urgent") -> SymptomCheck:
    return SymptomCheck.objects.create(
        created_by=by,
        patient=case.patient,
        case=case,
        answers={},
        result={
            "disposition": "teledermatology",
            "priority": priority,
            "flags": ["pk"],
            "reasons": [{"rule": "r1", "text": {"en": "Changing mole", "nb": "Endret føflekk"}}],
            "seven_point": {"score": 5, "features": [], "threshold": 3},
        },
        rules_version="2026.1",
        disposition="teledermatology",
    )


def test_the_symptom_check_card_shows_labels_not_codes(
    client: Client, taken: Case, dermatologist: User, patient_user: User
) -> None:
    _symptom_check(taken, patient_user)
    body = sign_in(client, dermatologist).get(url("case", taken)).content.decode()
    assert "Cancer pathway (PK)" in body
    assert "Suggested priority: Urgent" in body
    assert ">pk<" not in body and "priority urgent" not in body


def test_the_workspace_is_laid_out_photos_beside_the_work(
    client: Client, taken: Case, dermatologist: User
) -> None:
    body = sign_in(client, dermatologist).get(url("case", taken)).content.decode()
    order = [
        'class="workspace-grid"',
        'class="workspace-photos"',
        'class="photo-large"',
        'class="workspace-work"',
        'id="questions-heading"',
        'id="messages"',
        'id="write-heading"',
        'class="workspace-more"',
    ]
    positions = [body.index(marker) for marker in order]
    assert positions == sorted(positions), "photos left, then the reading and the review form"
    assert "style=" not in body


def test_the_workspace_offers_forward_and_escalate(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    pool = make_case(submit=True)
    body = sign_in(client, dermatologist).get(url("case", pool)).content.decode()
    assert reverse("triage:forward", args=[pool.uuid]) in body
    assert reverse("triage:escalate", args=[pool.uuid]) in body
    assert "Any dermatologist (the pool)" in body and "Escalate as an emergency" in body


def test_the_dermatologist_escalates_from_the_workspace(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    response = client.post(
        reverse("triage:escalate", args=[taken.uuid]),
        {"version": taken.version, "reason": "Bleeding fast"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("review:queue")
    taken.refresh_from_db()
    assert taken.status == CaseStatus.ESCALATED


def test_the_dermatologist_forwards_to_a_colleague_and_a_stale_form_comes_back(
    client: Client, taken: Case, dermatologist: User, other_dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    stale = client.post(
        reverse("triage:forward", args=[taken.uuid]),
        {"version": taken.version - 1, "dermatologist": other_dermatologist.pk},
        follow=True,
    )
    assert stale.redirect_chain[-1][0] == url("case", taken), "back to the workspace"
    client.post(
        reverse("triage:forward", args=[taken.uuid]),
        {"version": taken.version, "dermatologist": other_dermatologist.pk},
    )
    taken.refresh_from_db()
    assert taken.assigned_to == other_dermatologist


def test_no_forward_once_answered(client: Client, taken: Case, dermatologist: User) -> None:
    client = sign_in(client, dermatologist)
    client.post(url("answer", taken), form_data(taken, action="sign"))
    taken.refresh_from_db()
    assert taken.status == CaseStatus.ANSWERED
    body = client.get(url("case", taken)).content.decode()
    assert "data-forward-form" not in body
    # Escalating follows the triage policy (an answered case may still become an emergency).
    assert ("data-escalate-form" in body) == can_escalate(dermatologist, taken)


def test_the_clinic_navigation_marks_where_the_dermatologist_is(
    client: Client, taken: Case, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    queue_page = client.get(reverse("review:queue")).content.decode()
    assert f'<a href="{reverse("review:queue")}" aria-current="page">' in queue_page
    assert reverse("triage:queue") not in queue_page and reverse("triage:alarms") not in queue_page
    case_page = client.get(url("case", taken)).content.decode()
    assert f'<a href="{reverse("review:queue")}" aria-current="true">' in case_page


def test_the_workspace_has_no_duplicate_ids(
    client: Client, taken: Case, dermatologist: User
) -> None:
    body = sign_in(client, dermatologist).get(url("case", taken)).content.decode()
    assert "data-forward-form" in body and "data-sign" in body
    ids = re.findall(r'\bid="([^"]+)"', body)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], duplicates
