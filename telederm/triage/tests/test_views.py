"""The triage pages: who gets in, the no-JavaScript forms, version conflicts, query counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, Message
from telederm.triage import services
from telederm.triage.models import Alarm, SymptomCheck, TriageNote

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


@pytest.fixture
def sent(make_case: MakeCase) -> Case:
    return make_case(submit=True)


def as_(client: Client, user: User) -> Client:
    return sign_in(client, user)


@pytest.mark.parametrize(
    ("persona", "queue", "alarms", "case_page"),
    [
        ("duty_nurse", 200, 200, 200),
        ("coordinator", 403, 200, 403),
        ("dermatologist", 403, 403, 403),
        ("patient_user", 403, 403, 403),
        ("gp", 403, 403, 403),
        ("outsider", 403, 403, 403),
    ],
)
def test_who_may_open_the_pages(
    client: Client,
    request: pytest.FixtureRequest,
    sent: Case,
    persona: str,
    queue: int,
    alarms: int,
    case_page: int,
) -> None:
    as_(client, request.getfixturevalue(persona))
    assert client.get(reverse("triage:queue")).status_code == queue
    assert client.get(reverse("triage:alarms")).status_code == alarms
    assert client.get(reverse("triage:case", args=[sent.uuid])).status_code == case_page


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, sent: Case) -> None:
    for url in [reverse("triage:queue"), reverse("triage:case", args=[sent.uuid])]:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_a_case_outside_triage_is_404_for_the_nurse(
    client: Client, make_case: MakeCase, duty_nurse: User
) -> None:
    draft = make_case()
    as_(client, duty_nurse)
    assert client.get(reverse("triage:case", args=[draft.uuid])).status_code == 404
    response = client.post(reverse("triage:claim", args=[draft.uuid]), {"version": draft.version})
    assert response.status_code == 404


def test_the_queue_shows_emergencies_first_and_time_left(
    client: Client, make_case: MakeCase, duty_nurse: User, patient_user: User
) -> None:
    routine = make_case(submit=True, complaint="Routine rash")
    emergency = make_case(submit=True, complaint="Swelling of the lips")
    services.escalate_case(by=patient_user, case=emergency, reason="Swelling")
    as_(client, duty_nurse)
    page = client.get(reverse("triage:queue")).content.decode()
    assert page.index("Swelling of the lips") < page.index("Routine rash")
    assert "left" in page and "Emergency" in page
    assert "1 open alarm" in page
    # Each case shown is logged as a read by the nurse.
    logged = AccessEvent.objects.filter(action="triage.queue.list.view", actor=duty_nurse)
    assert {e.case_uuid for e in logged} == {routine.uuid, emergency.uuid}


def test_the_queue_filters(client: Client, make_case: MakeCase, duty_nurse: User) -> None:
    mine = make_case(submit=True, complaint="Mine")
    waiting = make_case(submit=True, complaint="Waiting")
    make_case(submit=True, complaint="Free")
    services.claim_case(by=duty_nurse, case=mine, expected_version=None)
    services.request_information(by=duty_nurse, case=waiting, expected_version=None, text="?")
    as_(client, duty_nurse)

    def listed(show: str) -> set[str]:
        response = client.get(reverse("triage:queue"), {"show": show})
        return {c.complaint for c in [r["case"] for r in response.context["rows"]]}

    assert listed("mine") == {"Mine"}
    assert listed("unclaimed") == {"Free"}
    assert listed("waiting") == {"Waiting"}
    assert listed("all") == {"Mine", "Free"}
    assert listed("nonsense") == {"Mine", "Free"}


def _non_audit_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum(
        1
        for q in queries.captured_queries
        # The access log's own statements: its rows, its savepoint, its lock on PostgreSQL.
        if not any(part in q["sql"] for part in ("audit_accessevent", "SAVEPOINT", "pg_advisory"))
    )


def test_the_queue_makes_the_same_queries_for_2_or_12_cases(
    client: Client,
    make_case: MakeCase,
    duty_nurse: User,
    patient_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    url = reverse("triage:queue")
    for _ in range(2):
        case = make_case(submit=True)
    services.escalate_case(by=patient_user, case=case, reason="x")
    as_(client, duty_nurse)
    few = _non_audit_queries(client, url)
    for index in range(10):
        other = make_case(submit=True)
        Message.objects.create(case=other, author=patient_user, from_clinic=False, body="hi")
        if index % 2:
            services.claim_case(by=duty_nurse, case=other, expected_version=None)
    many = _non_audit_queries(client, url)
    assert many == few <= 12
    # Besides the access log (a row per case shown: savepoint, chain head, insert, release,
    # and the transaction around them), the page needs a fixed handful of queries.
    with django_assert_max_num_queries(few + 5 * 12):
        client.get(url)


def test_the_queue_pages_by_fifty(client: Client, sent: Case, duty_nurse: User) -> None:
    rows = [
        Case(
            patient=sent.patient,
            created_by=sent.created_by,
            status="submitted",
            submitted_at=sent.submitted_at,
            due_at=sent.due_at,
            complaint=f"Case {i}",
            body_site="back",
            onset="days",
            change="unchanged",
            itch="none",
            pain="none",
        )
        for i in range(60)
    ]
    Case.objects.bulk_create(rows)
    as_(client, duty_nurse)
    first = client.get(reverse("triage:queue"))
    assert len(first.context["rows"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(reverse("triage:queue"), {"page": 2})
    assert len(second.context["rows"]) == 11


def test_the_nurse_case_page_shows_what_triage_needs(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    TriageNote.objects.create(case=sent, author=duty_nurse, text="Dark, irregular edge")
    as_(client, duty_nurse)
    page = client.get(reverse("triage:case", args=[sent.uuid])).content.decode()
    for text in [
        sent.complaint,
        "Dark, irregular edge",
        "Claim this case",
        "Assign automatically",
        "Fill in the text from the chosen requests",
        "Send advice and close the case",
        "Escalate",
    ]:
        assert text in page, text
    assert 'style="' not in page and "<script>" not in page
    assert AccessEvent.objects.filter(action="case.view", case_uuid=sent.uuid).exists()


def test_claim_without_javascript_and_the_second_nurse_is_told(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    other = User.objects.create_user("n2@telederm.example", "x", role=User.Role.DUTY_NURSE)
    as_(client, duty_nurse)
    response = client.post(reverse("triage:claim", args=[sent.uuid]), {"version": sent.version})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.claimed_by == duty_nurse
    second = as_(Client(), other)
    response = second.post(
        reverse("triage:claim", args=[sent.uuid]), {"version": sent.version}, follow=True
    )
    assert "Mona Berg has already claimed this case" in response.content.decode()
    sent.refresh_from_db()
    assert sent.claimed_by == duty_nurse


def test_a_stale_form_is_refused_with_a_message(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    as_(client, duty_nurse)
    response = client.post(
        reverse("triage:priority", args=[sent.uuid]),
        {"version": sent.version - 1, "priority": "urgent", "pathway": ""},
        follow=True,
    )
    assert "Someone else changed this case" in response.content.decode()
    sent.refresh_from_db()
    assert sent.priority == "routine"


def test_set_priority_and_pathway(client: Client, sent: Case, duty_nurse: User) -> None:
    as_(client, duty_nurse)
    client.post(
        reverse("triage:priority", args=[sent.uuid]),
        {"version": sent.version, "priority": "urgent", "pathway": "pk_melanoma"},
    )
    sent.refresh_from_db()
    assert (sent.priority, sent.pathway) == ("urgent", "pk_melanoma")


def test_an_invalid_form_is_shown_again_with_errors(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    as_(client, duty_nurse)
    response = client.post(
        reverse("triage:priority", args=[sent.uuid]), {"version": sent.version, "priority": "x"}
    )
    assert response.status_code == 400
    assert "Please correct the following" in response.content.decode()


def test_info_request_fill_in_then_send(client: Client, sent: Case, duty_nurse: User) -> None:
    sent.patient.preferred_language = "en"
    sent.patient.save()
    as_(client, duty_nurse)
    url = reverse("triage:request", args=[sent.uuid])
    prepared = client.post(
        url,
        {
            "version": sent.version,
            "templates": ["photo-blurred", "info-allergies"],
            "action": "prepare",
        },
    )
    assert prepared.status_code == 200
    text = prepared.context["info_form"].initial["text"]
    assert "not sharp enough" in text and "allergic" in text
    sent.refresh_from_db()
    assert sent.status == "submitted"
    response = client.post(url, {"version": sent.version, "text": text, "action": "send"})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == "info_requested"
    assert Message.objects.get(case=sent).body == text.strip()


def test_info_request_in_the_patients_language(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    sent.patient.preferred_language = "nb"
    sent.patient.save()
    as_(client, duty_nurse)
    client.post(reverse("set_language"), {"language": "en"})
    prepared = client.post(
        reverse("triage:request", args=[sent.uuid]),
        {"version": sent.version, "templates": ["photo-blurred"], "action": "prepare"},
    )
    assert "the language of the person who will read it" in prepared.content.decode()
    assert prepared.context["reader_language"] == "nb"
    # The nurse works in English; the request is filled in in the patient's bokmål.
    assert "ikke skarpt nok" in prepared.context["info_form"].initial["text"]


def test_self_care_closes_and_returns_to_the_queue(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    as_(client, duty_nurse)
    response = client.post(
        reverse("triage:self_care", args=[sent.uuid]),
        {"version": sent.version, "text": "Moisturise.", "guides": ["eczema-care", "hives"]},
    )
    assert response.status_code == 302 and response["Location"] == reverse("triage:queue")
    sent.refresh_from_db()
    assert sent.status == "closed"


def test_forward_and_assign(
    client: Client, make_case: MakeCase, duty_nurse: User, dermatologist: User
) -> None:
    named, auto = make_case(submit=True), make_case(submit=True)
    as_(client, duty_nurse)
    client.post(
        reverse("triage:forward", args=[named.uuid]),
        {"version": named.version, "dermatologist": dermatologist.pk},
    )
    named.refresh_from_db()
    assert named.assigned_to == dermatologist and named.status == "triaged"
    response = client.post(
        reverse("triage:assign", args=[auto.uuid]), {"version": auto.version}, follow=True
    )
    auto.refresh_from_db()
    assert auto.status == "triaged" and auto.assigned_to is None
    assert "No dermatologist has a profile" in response.content.decode()


def test_a_dermatologist_may_forward_from_the_pool_but_not_claim(
    client: Client, sent: Case, dermatologist: User, other_dermatologist: User
) -> None:
    as_(client, dermatologist)
    assert (
        client.post(
            reverse("triage:claim", args=[sent.uuid]), {"version": sent.version}
        ).status_code
        == 403
    )
    response = client.post(
        reverse("triage:forward", args=[sent.uuid]),
        {"version": sent.version, "dermatologist": other_dermatologist.pk},
    )
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.assigned_to == other_dermatologist


def test_escalate_and_resolve(client: Client, sent: Case, duty_nurse: User) -> None:
    as_(client, duty_nurse)
    client.post(
        reverse("triage:escalate", args=[sent.uuid]),
        {"version": sent.version, "reason": "Mucosal blisters"},
    )
    sent.refresh_from_db()
    assert sent.status == "escalated"
    page = client.get(reverse("triage:case", args=[sent.uuid])).content.decode()
    assert "The emergency is handled" in page
    client.post(
        reverse("triage:resolve", args=[sent.uuid]), {"version": sent.version, "outcome": "review"}
    )
    sent.refresh_from_db()
    assert sent.status == "triaged" and sent.priority == "urgent"


def test_acknowledge_an_alarm(
    client: Client, sent: Case, coordinator: User, patient_user: User
) -> None:
    services.escalate_case(by=patient_user, case=sent, reason="x")
    alarm = Alarm.objects.get()
    as_(client, coordinator)
    page = client.get(reverse("triage:alarms")).content.decode()
    assert "Emergency" in page
    assert sent.patient.full_name not in page
    response = client.post(reverse("triage:acknowledge", args=[alarm.uuid]), {"next": "alarms"})
    assert response["Location"] == reverse("triage:alarms")
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == coordinator


def test_a_patient_cannot_acknowledge(client: Client, sent: Case, patient_user: User) -> None:
    services.escalate_case(by=patient_user, case=sent, reason="x")
    alarm = Alarm.objects.get()
    as_(client, patient_user)
    assert client.post(reverse("triage:acknowledge", args=[alarm.uuid])).status_code == 403


def test_get_is_not_allowed_on_actions(client: Client, sent: Case, duty_nurse: User) -> None:
    as_(client, duty_nurse)
    assert client.get(reverse("triage:claim", args=[sent.uuid])).status_code == 405


def test_an_alarm_on_a_case_in_review_is_shown_without_a_dead_link(
    client: Client, sent: Case, duty_nurse: User, dermatologist: User
) -> None:
    # As the review app's "take" leaves it (triage sits below review and does not import it).
    Case.objects.filter(pk=sent.pk).update(status="in_review", assigned_to=dermatologist)
    case = Case.objects.get(pk=sent.pk)
    assert case.due_at is not None
    alarm = Alarm.objects.create(case=case, kind=Alarm.Kind.BREACH, reference=case.due_at)
    as_(client, duty_nurse)
    for url in [reverse("triage:queue"), reverse("triage:alarms")]:
        page = client.get(url).content.decode()
        assert str(alarm.uuid) in page  # the acknowledge form is there
        assert reverse("triage:case", args=[case.uuid]) not in page


def test_an_emergency_row_shows_emergency_not_its_old_priority(
    client: Client, sent: Case, duty_nurse: User
) -> None:
    services.escalate_case(
        by=duty_nurse, case=sent, reason="Mucosal blisters", expected_version=sent.version
    )
    as_(client, duty_nurse)
    page = client.get(reverse("triage:queue")).content.decode()
    row = page[page.index('class="row-emergency"') :]
    row = row[: row.index("</tr>")]
    assert "Emergency" in row
    assert "Routine" not in row, "no routine badge beside the emergency"


def test_the_nurse_case_page_shows_the_symptom_check_in_words(
    client: Client, sent: Case, duty_nurse: User, patient_user: User
) -> None:
    SymptomCheck.objects.create(
        created_by=patient_user,
        patient=sent.patient,
        case=sent,
        answers={},
        result={
            "disposition": "teledermatology",
            "priority": "urgent",
            "flags": ["pk"],
            "reasons": [{"rule": "r1", "text": {"en": "Changing mole", "nb": "Endret føflekk"}}],
            "seven_point": {"score": 4, "features": [], "threshold": 3},
        },
        rules_version="2026.1",
        disposition="teledermatology",
    )
    as_(client, duty_nurse)
    page = client.get(reverse("triage:case", args=[sent.uuid])).content.decode()
    for text in [
        "Cancer pathway (PK)",
        "Suggested priority: Urgent",
        "7-point checklist: 4 points",
        "Changing mole",
    ]:
        assert text in page, text
    assert ">pk<" not in page


def test_the_clinic_navigation_marks_the_page(
    client: Client, sent: Case, duty_nurse: User, coordinator: User
) -> None:
    queue, alarms = reverse("triage:queue"), reverse("triage:alarms")
    as_(client, duty_nurse)
    page = client.get(queue).content.decode()
    assert f'<a href="{queue}" aria-current="page">' in page
    assert f'<a href="{alarms}">' in page and reverse("review:queue") + '"' not in page
    page = client.get(reverse("triage:case", args=[sent.uuid])).content.decode()
    assert f'<a href="{queue}" aria-current="true">' in page
    as_(client, coordinator)
    page = client.get(alarms).content.decode()
    assert f'<a href="{alarms}" aria-current="page">' in page and f'href="{queue}"' not in page


def test_the_pathway_select_is_not_squeezed(client: Client, sent: Case, duty_nurse: User) -> None:
    as_(client, duty_nurse)
    page = client.get(reverse("triage:case", args=[sent.uuid])).content.decode()
    assert 'class="card triage-wide" aria-labelledby="priority-heading"' in page
