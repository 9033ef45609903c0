"""Triage services: claim, priority, notes, requests, self-care, forwarding, emergencies, alarms."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import due_time
from telederm.core import sms
from telederm.core.errors import ChangedMeanwhile, UserFacingError
from telederm.triage import services
from telederm.triage.models import Alarm, ClinicianProfile, TriageNote

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


@pytest.fixture
def sent(make_case: MakeCase) -> Case:
    return make_case(submit=True)


@pytest.fixture
def second_nurse(duty_nurse: User) -> User:
    return User.objects.create_user(
        "natt@telederm.example",
        "x",
        full_name="Nils Natt",
        role=User.Role.DUTY_NURSE,
        organisation=duty_nurse.organisation,
    )


def drain_outbox() -> None:
    """Run what sending queued (photo checks, receipts) and forget those notices."""
    call_command("worker", batch=True, interval=0.01)
    mail.outbox.clear()
    sms.outbox.clear()


def actions(case: Case) -> list[str]:
    return list(case.events.values_list("action", flat=True))


def logged(action: str) -> int:
    return AccessEvent.objects.filter(action=action).count()


def test_a_nurse_claims_and_releases_a_case(sent: Case, duty_nurse: User) -> None:
    case = services.claim_case(by=duty_nurse, case=sent, expected_version=sent.version)
    assert case.claimed_by == duty_nurse
    assert case.version == sent.version + 1
    assert CaseEvent.Action.TRIAGE_CLAIMED in actions(case)
    assert logged("case.triage.claim") == 1
    case = services.release_case(by=duty_nurse, case=case, expected_version=case.version)
    assert case.claimed_by is None


def test_claiming_twice_by_the_same_nurse_changes_nothing(sent: Case, duty_nurse: User) -> None:
    case = services.claim_case(by=duty_nurse, case=sent, expected_version=None)
    again = services.claim_case(by=duty_nurse, case=case, expected_version=None)
    assert again.version == case.version
    assert logged("case.triage.claim") == 1


def test_the_second_nurse_to_claim_is_told_who_has_it(
    sent: Case, duty_nurse: User, second_nurse: User
) -> None:
    seen_version = sent.version
    services.claim_case(by=duty_nurse, case=sent, expected_version=seen_version)
    # Both loaded the same version: the second is refused for the change she did not see.
    with pytest.raises(ChangedMeanwhile):
        services.claim_case(by=second_nurse, case=sent, expected_version=seen_version)
    # Even without a version, she is told who has it, and nothing is overwritten.
    with pytest.raises(services.TriageRefused, match="Mona Berg has already claimed"):
        services.claim_case(by=second_nurse, case=sent, expected_version=None)
    sent.refresh_from_db()
    assert sent.claimed_by == duty_nurse


def test_another_nurse_cannot_act_on_a_claimed_case(
    sent: Case, duty_nurse: User, second_nurse: User
) -> None:
    services.claim_case(by=duty_nurse, case=sent, expected_version=None)
    with pytest.raises(services.TriageRefused):
        services.set_priority(
            by=second_nurse, case=sent, expected_version=None, priority="urgent", pathway=""
        )
    with pytest.raises(PermissionDenied):
        services.release_case(by=second_nurse, case=sent, expected_version=None)


def test_setting_the_priority_counts_the_due_time_again_from_sending(
    sent: Case, duty_nurse: User
) -> None:
    assert sent.submitted_at is not None
    case = services.set_priority(
        by=duty_nurse,
        case=sent,
        expected_version=sent.version,
        priority="urgent",
        pathway="pk_melanoma",
    )
    assert case.priority == "urgent" and case.pathway == "pk_melanoma"
    assert case.due_at == due_time(priority="urgent", start=sent.submitted_at)
    event = case.events.get(action=CaseEvent.Action.PRIORITY_SET)
    assert event.detail == "priority routine → urgent; pathway – → pk_melanoma"
    assert logged("case.triage.priority") == 1


def test_a_stale_version_is_refused(sent: Case, duty_nurse: User) -> None:
    with pytest.raises(ChangedMeanwhile):
        services.set_priority(
            by=duty_nurse,
            case=sent,
            expected_version=sent.version - 1,
            priority="urgent",
            pathway="",
        )
    sent.refresh_from_db()
    assert sent.priority == "routine"


def test_a_triage_note_is_for_the_clinic(sent: Case, duty_nurse: User) -> None:
    note = services.add_triage_note(by=duty_nurse, case=sent, text=" Looks like a naevus. ")
    assert TriageNote.objects.get() == note and note.text == "Looks like a naevus."
    with pytest.raises(services.TriageRefused):
        services.add_triage_note(by=duty_nurse, case=sent, text="  ")


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_asking_for_information_waits_for_the_sender_and_tells_them_without_details(
    sent: Case, duty_nurse: User, patient_user: User
) -> None:
    patient_user.mobile_number = "+4791234567"
    patient_user.save()
    drain_outbox()
    message = services.request_information(
        by=duty_nurse,
        case=sent,
        expected_version=sent.version,
        text="Please send a sharper close-up of the mole.",
    )
    sent.refresh_from_db()
    assert sent.status == Case.Status.INFO_REQUESTED
    assert message.kind == Message.Kind.INFO_REQUEST and message.from_clinic
    call_command("worker", batch=True, interval=0.01)
    assert [m.to for m in mail.outbox] == [[patient_user.email]]
    assert "mole" not in mail.outbox[0].body
    assert [m.to for m in sms.outbox] == ["+4791234567"]


def test_self_care_closes_the_case_with_guides(sent: Case, duty_nurse: User) -> None:
    message = services.advise_self_care(
        by=duty_nurse,
        case=sent,
        expected_version=sent.version,
        text="Use a moisturiser twice a day.",
        guides=["eczema-care"],
    )
    sent.refresh_from_db()
    assert sent.status == Case.Status.CLOSED
    assert message.kind == Message.Kind.SELF_CARE and message.guides == ["eczema-care"]
    assert CaseEvent.Action.SELF_CARE_ADVISED in actions(sent)
    with pytest.raises(ValueError, match="unknown guides"):
        services.advise_self_care(
            by=duty_nurse, case=sent, expected_version=None, text="x", guides=["../etc"]
        )


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_forward_to_the_pool_and_to_a_named_dermatologist(
    make_case: MakeCase, duty_nurse: User, dermatologist: User
) -> None:
    pooled = make_case(submit=True)
    case = services.forward_case(by=duty_nurse, case=pooled, expected_version=None, to=None)
    assert case.status == Case.Status.TRIAGED and case.assigned_to is None
    named = make_case(submit=True)
    drain_outbox()
    case = services.forward_case(by=duty_nurse, case=named, expected_version=None, to=dermatologist)
    assert case.status == Case.Status.TRIAGED and case.assigned_to == dermatologist
    call_command("worker", batch=True, interval=0.01)
    assert [m.to for m in mail.outbox] == [[dermatologist.email]]


def test_forwarding_to_someone_who_is_not_a_dermatologist_is_refused(
    sent: Case, duty_nurse: User
) -> None:
    with pytest.raises(services.TriageRefused):
        services.forward_case(by=duty_nurse, case=sent, expected_version=None, to=duty_nurse)


def test_a_dermatologist_may_hand_a_pool_case_to_a_colleague(
    sent: Case, dermatologist: User, other_dermatologist: User
) -> None:
    case = services.forward_case(
        by=dermatologist, case=sent, expected_version=None, to=other_dermatologist
    )
    assert case.assigned_to == other_dermatologist


def _profile(user: User, **fields: object) -> ClinicianProfile:
    return ClinicianProfile.objects.create(user=user, **{"languages": ["nb"], **fields})


def test_automatic_assignment_picks_by_competence_and_load(
    make_case: MakeCase,
    duty_nurse: User,
    dermatologist: User,
    other_dermatologist: User,
) -> None:
    _profile(dermatologist, competences=["skin_cancer"])
    _profile(other_dermatologist)
    busy = make_case(submit=True)
    services.forward_case(by=duty_nurse, case=busy, expected_version=None, to=dermatologist)
    # An ordinary case goes to the one with fewer open cases...
    case, choice = services.assign_automatically(
        by=duty_nurse, case=make_case(submit=True), expected_version=None
    )
    assert case.assigned_to == other_dermatologist
    assert choice.reasons
    # ...a melanoma-pathway case to the one with the competence, busy or not.
    pk = make_case(submit=True)
    pk = services.set_priority(
        by=duty_nurse, case=pk, expected_version=None, priority="urgent", pathway="pk_melanoma"
    )
    case, choice = services.assign_automatically(by=duty_nurse, case=pk, expected_version=None)
    assert case.assigned_to == dermatologist
    assert "Skin cancer" in " ".join(choice.reasons)
    assert "automatically" in case.events.filter(action="forwarded").last().detail  # type: ignore[union-attr]


def test_automatic_assignment_without_a_fitting_dermatologist_goes_to_the_pool(
    sent: Case, duty_nurse: User, dermatologist: User
) -> None:
    _profile(dermatologist, available=False)
    case, choice = services.assign_automatically(by=duty_nurse, case=sent, expected_version=None)
    assert case.status == Case.Status.TRIAGED and case.assigned_to is None
    assert choice.chosen is None and "not available" in " ".join(choice.reasons)


def test_automatic_assignment_follows_the_patients_language(
    sent: Case, duty_nurse: User, dermatologist: User, other_dermatologist: User
) -> None:
    sent.patient.preferred_language = "en"
    sent.patient.save()
    _profile(dermatologist, languages=["nb"])
    _profile(other_dermatologist, languages=["nb", "en"], max_open_cases=5)
    case, _choice = services.assign_automatically(by=duty_nurse, case=sent, expected_version=None)
    assert case.assigned_to == other_dermatologist


@pytest.mark.parametrize(("send_on", "status"), [(True, "triaged"), (False, "closed")])
def test_a_handled_emergency_is_closed_or_sent_on_as_urgent(
    sent: Case, duty_nurse: User, send_on: bool, status: str
) -> None:
    case = services.escalate_case(by=duty_nurse, case=sent, reason="Swollen face")
    assert Alarm.objects.filter(case=case, acknowledged_at__isnull=True).count() == 1
    case = services.resolve_escalation(
        by=duty_nurse, case=case, expected_version=case.version, send_to_review=send_on
    )
    assert case.status == status
    assert not Alarm.objects.filter(case=case, acknowledged_at__isnull=True).exists()
    if send_on:
        assert case.priority == "urgent"
        assert case.due_at is not None and case.due_at > case.escalated_at + dt.timedelta(hours=1)  # type: ignore[operator]


def test_acknowledging_an_alarm(sent: Case, coordinator: User, patient_user: User) -> None:
    case = services.escalate_case(by=patient_user, case=sent, reason="Blisters")
    alarm = Alarm.objects.get(case=case)
    with pytest.raises(PermissionDenied):
        services.acknowledge_alarm(by=patient_user, alarm=alarm)
    alarm = services.acknowledge_alarm(by=coordinator, alarm=alarm)
    assert alarm.acknowledged_by == coordinator and alarm.acknowledged_at is not None
    assert logged("alarm.acknowledge") == 1
    services.acknowledge_alarm(by=coordinator, alarm=alarm)
    assert logged("alarm.acknowledge") == 1


def test_the_reader_of_an_on_behalf_case_is_the_sender(
    make_case: MakeCase, gp: User, patient_user: User
) -> None:
    gp.preferred_language = "en"
    gp.save()
    case = make_case(by=gp, submit=True)
    assert services.reader_language(case) == "en"
    own = make_case(submit=True)
    assert services.reader_language(own) == patient_user.patient.preferred_language


@pytest.mark.django_db(transaction=True)
def test_two_nurses_claiming_at_the_same_moment(
    sent: Case, duty_nurse: User, second_nurse: User
) -> None:
    """The row lock serialises them: one claims, the other is refused, nothing is overwritten.

    Needs a connection per thread, so it runs on PostgreSQL (`make test` runs both databases).
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite test databases share one connection between threads")
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def claim(nurse: User) -> None:
        try:
            barrier.wait(timeout=10)
            services.claim_case(by=nurse, case=sent, expected_version=sent.version)
            outcome[nurse.pk] = "claimed"
        except UserFacingError as error:
            outcome[nurse.pk] = type(error).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in (duty_nurse, second_nurse)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcome.values()) == ["ChangedMeanwhile", "claimed"]
    sent.refresh_from_db()
    winner = next(pk for pk, result in outcome.items() if result == "claimed")
    assert sent.claimed_by_id == winner
    assert sent.events.filter(action=CaseEvent.Action.TRIAGE_CLAIMED).count() == 1
