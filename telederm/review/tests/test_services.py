"""Review services: one dermatologist per case, a signed answer, the patient and sender told."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import transaction

from conftest import answer
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import transition_case
from telederm.cases.states import CaseStatus
from telederm.core import sms
from telederm.core.errors import ChangedMeanwhile
from telederm.review import services
from telederm.review.models import Review, VideoRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dermatologist_takes_and_answers_a_case(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    assert (case.status, case.assigned_to) == (CaseStatus.IN_REVIEW, dermatologist)
    answer(case, dermatologist)
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED
    assert case.review.advice == "Keep an eye on it."
    assert case.answered_at is not None


def test_a_colleague_cannot_take_a_case_already_taken(
    make_case: Callable[..., Case], dermatologist: User, other_dermatologist: User
) -> None:
    case = make_case(submit=True)
    taken = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    with pytest.raises(services.ReviewRefused, match="colleague has already taken"):
        services.take_for_review(by=other_dermatologist, case=taken, expected_version=taken.version)
    with pytest.raises(PermissionDenied):
        answer(taken, other_dermatologist)


@pytest.mark.parametrize("persona", ["duty_nurse", "gp", "patient_user"])
def test_only_a_dermatologist_answers(
    request: pytest.FixtureRequest, make_case: Callable[..., Case], persona: str
) -> None:
    case = make_case(submit=True)
    with pytest.raises(PermissionDenied):
        services.take_for_review(
            by=request.getfixturevalue(persona), case=case, expected_version=case.version
        )


def test_an_empty_answer_is_refused_and_nothing_is_saved(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    with pytest.raises(services.ReviewRefused, match="assessment and advice"):
        services.answer_case(
            by=dermatologist,
            case=case,
            expected_version=case.version,
            assessment="  ",
            diagnosis="",
            advice="",
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert not hasattr(case, "review")


def test_the_worker_tells_patient_and_sender_without_clinical_content(
    make_case: Callable[..., Case], gp: User, patient_user: User, dermatologist: User
) -> None:
    case = make_case(by=gp, submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    answer(case, dermatologist)
    call_command("worker", batch=True, interval=0.01)
    recipients = sorted(m.to[0] for m in mail.outbox)
    # The receipt to the GP on sending, then the answer notice to the GP and to the patient.
    assert recipients == sorted([gp.email, gp.email, patient_user.email])
    for message in mail.outbox:
        assert "Naevus" not in message.body
        assert "Keep an eye on it" not in message.body


# Drafts, sign-off and outcomes.

PSORIASIS = services.DiagnosisChoice(system="icd10", code="l40.0", is_primary=True)
PSORIASIS_GP = services.DiagnosisChoice(system="icpc2", code="S91")
WRITTEN = {
    "assessment": "Well-demarcated plaques with silvery scale on both elbows.",
    "diagnosis": "Psoriasis",
    "advice": "Use the cream every evening for four weeks.",
    "safety_net": "If it spreads quickly or you get a fever, call your doctor.",
    "advice_gp": "Topical steroid; review in 8 weeks.",
}


@pytest.fixture
def taken(make_case: Callable[..., Case], dermatologist: User) -> Case:
    case = make_case(submit=True)
    return services.take_for_review(by=dermatologist, case=case, expected_version=case.version)


def _fresh(case: Case) -> Case:
    return Case.objects.select_related("patient").get(pk=case.pk)


def test_a_draft_is_saved_many_times_and_stays_invisible(taken: Case, dermatologist: User) -> None:
    review = services.save_draft(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        assessment="First thoughts",
        guides=["psoriasis", "eczema-care", "psoriasis"],
        diagnoses=[PSORIASIS],
    )
    case = _fresh(taken)
    assert case.version == taken.version + 1, "a saved draft moves the version on"
    review = services.save_draft(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        advice="Cream",
        prescriptions=[
            services.PrescriptionLine(drug="Betametason", strength="0.1 %", dosage="Once daily"),
            services.PrescriptionLine(drug="Calcipotriol", dosage="Twice daily", duration="4 w"),
            services.PrescriptionLine(drug="  ", dosage="ignored: no drug"),
        ],
    )
    review.refresh_from_db()
    assert (review.assessment, review.advice) == ("First thoughts", "Cream")
    assert review.guides == ["eczema-care", "psoriasis"], "library order, each once"
    assert [p.drug for p in review.prescriptions.all()] == ["Betametason", "Calcipotriol"]
    assert [(d.code, d.is_primary) for d in review.diagnoses.all()] == [("L40.0", True)]
    assert review.diagnoses.get().title == "Psoriasis vulgaris"
    assert not review.is_signed
    case = _fresh(taken)
    assert case.status == CaseStatus.IN_REVIEW
    assert AccessEvent.objects.filter(action="case.review.save", case_uuid=case.uuid).count() == 2


def test_an_unknown_code_or_guide_is_refused_and_nothing_is_saved(
    taken: Case, dermatologist: User
) -> None:
    with pytest.raises(services.ReviewRefused, match="not a known ICD-10 code"):
        services.save_draft(
            by=dermatologist,
            case=taken,
            expected_version=taken.version,
            assessment="Kept?",
            diagnoses=[services.DiagnosisChoice(system="icd10", code="L99.9X")],
        )
    with pytest.raises(services.ReviewRefused, match="Unknown self-care guide"):
        services.save_draft(
            by=dermatologist, case=taken, expected_version=taken.version, guides=["homeopathy"]
        )
    assert not Review.objects.exists()
    assert _fresh(taken).version == taken.version


def test_a_draft_from_an_old_version_is_refused(taken: Case, dermatologist: User) -> None:
    services.save_draft(by=dermatologist, case=taken, expected_version=taken.version, advice="A")
    with pytest.raises(ChangedMeanwhile):
        services.save_draft(
            by=dermatologist, case=taken, expected_version=taken.version, advice="B"
        )
    assert Review.objects.get().advice == "A"


@pytest.mark.parametrize("persona", ["duty_nurse", "other_dermatologist", "gp", "patient_user"])
def test_only_the_assigned_dermatologist_saves_or_signs(
    request: pytest.FixtureRequest, taken: Case, persona: str
) -> None:
    person = request.getfixturevalue(persona)
    for step in (services.save_draft, services.sign_review):
        with pytest.raises(PermissionDenied):
            step(by=person, case=taken, expected_version=taken.version, **WRITTEN)
    assert not Review.objects.exists()


def test_signing_advice_answers_the_case_and_tells_the_patient_side_without_content(
    taken: Case, dermatologist: User, patient_user: User
) -> None:
    patient_user.mobile_number = "+4791234567"
    patient_user.save()
    call_command("worker", batch=True, interval=0.01)  # the receipt for sending the case
    mail.outbox.clear()
    review = services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="advice",
        diagnoses=[PSORIASIS, PSORIASIS_GP],
        guides=["psoriasis"],
        **WRITTEN,
    )
    case = _fresh(taken)
    assert case.status == CaseStatus.ANSWERED
    assert review.signed_at is not None and case.answered_at == review.signed_at
    assert sorted(review.diagnoses.values_list("code", flat=True)) == ["L40.0", "S91"]
    assert case.events.last().action == CaseEvent.Action.ANSWERED  # type: ignore[union-attr]
    mail.outbox.clear()
    sms.outbox.clear()
    call_command("worker", batch=True, interval=0.01)
    assert [m.to for m in mail.outbox] == [[patient_user.email]]
    assert len(sms.outbox) == 1 and sms.outbox[0].to == "+4791234567"
    for text in [mail.outbox[0].subject, mail.outbox[0].body, sms.outbox[0].text]:
        for clinical in ("soriasis", "cream", "plaques", "L40", case.complaint):
            assert clinical not in text


def test_advice_needs_a_coded_diagnosis_assessment_and_advice(
    taken: Case, dermatologist: User
) -> None:
    with pytest.raises(services.ReviewIncomplete, match="coded diagnosis"):
        services.sign_review(
            by=dermatologist, case=taken, expected_version=taken.version, **WRITTEN
        )
    with pytest.raises(services.ReviewIncomplete, match="assessment and advice"):
        services.sign_review(
            by=dermatologist,
            case=taken,
            expected_version=taken.version,
            assessment="Only this",
            diagnoses=[PSORIASIS],
        )
    case = _fresh(taken)
    assert case.status == CaseStatus.IN_REVIEW
    assert not Review.objects.exists(), "a refused sign-off saves nothing"


def test_a_pk_referral_refers_the_case_and_marks_its_pathway(
    taken: Case, dermatologist: User
) -> None:
    with pytest.raises(services.ReviewIncomplete, match="referral needs"):
        services.sign_review(
            by=dermatologist,
            case=taken,
            expected_version=taken.version,
            outcome="referral",
            **WRITTEN,
        )
    review = services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="referral",
        referral=services.ReferralDetails(
            priority="urgent",
            receiver="Hudavdelingen, UNN Tromsø",
            reason="Suspected melanoma, 7-point score 4",
            pathway="pk_melanoma",
        ),
        video_reason="left over from trying the video outcome",
        **WRITTEN,
    )
    case = _fresh(taken)
    assert (case.status, case.pathway) == (CaseStatus.REFERRED, "pk_melanoma")
    assert review.referral.receiver == "Hudavdelingen, UNN Tromsø"
    assert not VideoRequest.objects.exists(), "parts of another outcome do not go with it"
    assert review.is_signed


def test_a_video_request_schedules_a_video_consultation(taken: Case, dermatologist: User) -> None:
    with pytest.raises(services.ReviewIncomplete, match="video consultation is for"):
        services.sign_review(
            by=dermatologist, case=taken, expected_version=taken.version, outcome="video", **WRITTEN
        )
    review = services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="video",
        video_reason="See the lesion move under the skin",
        **WRITTEN,
    )
    assert _fresh(taken).status == CaseStatus.VIDEO_SCHEDULED
    assert review.video_request.reason == "See the lesion move under the skin"


def test_close_closes_the_case(taken: Case, dermatologist: User) -> None:
    services.sign_review(
        by=dermatologist, case=taken, expected_version=taken.version, outcome="close", **WRITTEN
    )
    assert _fresh(taken).status == CaseStatus.CLOSED


def test_more_info_asks_the_sender_and_keeps_the_review_a_draft(
    taken: Case, dermatologist: User, patient_user: User
) -> None:
    call_command("worker", batch=True, interval=0.01)  # the receipt for sending the case
    with pytest.raises(services.ReviewIncomplete, match="what you need"):
        services.sign_review(
            by=dermatologist, case=taken, expected_version=taken.version, outcome="more_info"
        )
    review = services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="more_info",
        assessment="Cannot tell from these photos",
        info_request="Please send a sharp close-up in daylight.",
    )
    case = _fresh(taken)
    assert case.status == CaseStatus.INFO_REQUESTED
    assert not review.is_signed
    message = Message.objects.get(case=case)
    assert (message.kind, message.from_clinic, message.author) == (
        Message.Kind.INFO_REQUEST,
        True,
        dermatologist,
    )
    assert message.body == "Please send a sharp close-up in daylight."
    mail.outbox.clear()
    call_command("worker", batch=True, interval=0.01)
    assert [m.to for m in mail.outbox] == [[patient_user.email]]
    assert "close-up" not in mail.outbox[0].body
    # The draft is still there when the case comes back to review.
    assert Review.objects.get(case=case).assessment == "Cannot tell from these photos"


def test_a_signed_review_is_immutable(taken: Case, dermatologist: User) -> None:
    services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="video",
        video_reason="Look at it moving",
        **WRITTEN,
    )
    case = _fresh(taken)
    # The video consultation may bring the case back to review: the signed record stays as it is.
    with transaction.atomic():
        transition_case(
            by=dermatologist,
            case=case,
            to=CaseStatus.IN_REVIEW,
            action=CaseEvent.Action.REVIEW_STARTED,
        )
    for step in (services.save_draft, services.sign_review, services.answer_case):
        kwargs = {"diagnosis": "x"} if step is services.answer_case else {}
        with pytest.raises(services.ReviewRefused, match="signed and can no longer be changed"):
            step(
                by=dermatologist,
                case=case,
                expected_version=case.version,
                assessment="Changed",
                advice="Changed",
                **kwargs,
            )
    assert Review.objects.get().assessment == WRITTEN["assessment"]


def test_answer_case_signs_a_draft_with_a_plain_words_diagnosis(
    taken: Case, dermatologist: User
) -> None:
    services.save_draft(
        by=dermatologist, case=taken, expected_version=taken.version, guides=["acne"]
    )
    case = _fresh(taken)
    review = services.answer_case(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        assessment="Comedones",
        diagnosis="Acne",
        advice="Wash twice daily.",
    )
    assert (review.outcome, review.guides, review.is_signed) == ("advice", ["acne"], True)
    assert _fresh(taken).status == CaseStatus.ANSWERED


def test_after_the_reply_the_same_dermatologist_takes_the_case_back_and_signs_the_draft(
    taken: Case, dermatologist: User, other_dermatologist: User, patient_user: User
) -> None:
    from telederm.cases.messaging import send_message

    services.sign_review(
        by=dermatologist,
        case=taken,
        expected_version=taken.version,
        outcome="more_info",
        assessment="Probably psoriasis; nails?",
        diagnoses=[PSORIASIS],
        info_request="Are your nails affected?",
    )
    send_message(by=patient_user, case=_fresh(taken), body="Yes, two nails have pits.")
    case = _fresh(taken)
    assert (case.status, case.assigned_to) == (CaseStatus.SUBMITTED, dermatologist)
    with pytest.raises(services.ReviewRefused, match="colleague"):
        services.take_for_review(by=other_dermatologist, case=case, expected_version=case.version)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    review = services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        outcome="advice",
        advice="Cream for the skin; we will look at the nails by video if needed.",
    )
    assert review.is_signed and review.assessment == "Probably psoriasis; nails?"
    assert _fresh(taken).status == CaseStatus.ANSWERED
