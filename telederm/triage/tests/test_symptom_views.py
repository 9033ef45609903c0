"""The symptom checker's pages: signed out (nothing kept), signed in, an emergency, a new case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import sign_in
from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.triage.models import Alarm, SymptomCheck
from telederm.triage.questions import RED_FLAGS

START = reverse("symptoms:start")
NO = dict.fromkeys(RED_FLAGS, "no")
RED_1 = dict.fromkeys(RED_FLAGS[:4], "no")
RED_2 = dict.fromkeys(RED_FLAGS[4:], "no")


def post(client: Client, response: Any, **answers: Any) -> Any:
    """Answer the screen `response` shows, carrying its signed state."""
    data = {"state": response.context["state"], "step": response.context["step"], **answers}
    return client.post(START, data)


def walk(client: Client, *screens: dict[str, Any], start: str = START) -> Any:
    response = client.get(start)
    for answers in screens:
        assert response.status_code == 200, response
        response = post(client, response, **answers)
    return response


MOLE_SCREENS = (
    RED_1,
    RED_2,
    {"age_years": "54", "problem": "mole", "body_site": "back"},
    {"duration": "months", "change": "growing"},
    {
        "mole_changed_size": "yes",
        "mole_irregular_shape": "yes",
        "mole_irregular_colour": "no",
        "mole_diameter_7mm": "no",
        "bleeds": "no",
    },
    {"mole_inflamed": "no", "mole_oozing": "no", "mole_sensation": "no"},
    {"impact": "mild", "treatment_tried": "none"},
)


@pytest.mark.django_db
def test_signed_out_the_whole_check_works_and_nothing_is_stored(client: Client) -> None:
    first = client.get(START)
    assert first.status_code == 200
    assert first.context["step"] == "red_flags_1"
    assert "nothing you answer is stored" in first.content.decode()
    response = walk(client, *MOLE_SCREENS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Send it to a dermatologist" in page
    assert "Sign in to start a case" in page
    assert "score 3 points or more" in page
    assert not SymptomCheck.objects.exists()


@pytest.mark.django_db
def test_screens_follow_the_answers(client: Client) -> None:
    problem = walk(client, RED_1, RED_2)
    assert problem.context["step"] == "problem"
    assert "age_years" in problem.context["form"].fields
    course = post(client, problem, age_years="30", problem="acne", body_site="face")
    assert course.context["step"] == "course"
    # Acne has no detail questions: the next screen is about impact and treatment.
    impact = post(client, course, duration="months", change="unchanged")
    assert impact.context["step"] == "impact"
    back = post(client, impact, back="1")
    assert back.context["step"] == "course"
    assert back.context["form"]["duration"].value() == "months"


@pytest.mark.django_db
def test_a_missing_answer_is_shown_on_the_same_screen(client: Client) -> None:
    response = walk(client, {**RED_1, "rf_blisters_mucosa": ""})
    assert response.context["step"] == "red_flags_1"
    assert response.context["form"].errors["rf_blisters_mucosa"]
    assert 'class="error-summary"' in response.content.decode()


@pytest.mark.django_db
def test_a_tampered_state_starts_again(client: Client) -> None:
    response = client.post(START, {"state": "forged", "step": "problem", "problem": "mole"})
    assert response.status_code == 302 and response["Location"] == START


@pytest.mark.django_db
def test_a_red_flag_goes_straight_to_call_113(client: Client) -> None:
    response = walk(client, {**RED_1, "rf_face_swelling_breathing": "yes"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="tel:113"' in page
    # The call comes before anything else in the content, and there is no case button.
    assert page.index("Call 113 now") < page.index("Why we advise this")
    assert "Send it to a dermatologist" not in page
    assert "Sign in to start a case" not in page


@pytest.mark.django_db
def test_cellulitis_with_fever_says_legevakt_116117(client: Client) -> None:
    response = walk(client, RED_1, {**RED_2, "rf_cellulitis_fever": "yes"})
    page = response.content.decode()
    assert 'href="tel:116117"' in page
    assert "out-of-hours doctor (legevakt)" in page


@pytest.mark.django_db
def test_a_signed_in_patients_check_is_kept_and_shown_at_its_own_address(
    client: Client, patient_user: User
) -> None:
    sign_in(client, patient_user)
    response = walk(client, *MOLE_SCREENS)
    check = SymptomCheck.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("symptoms:result", args=[check.uuid])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert reverse("symptoms:new_case", args=[check.uuid]) in page.content.decode()


@pytest.mark.django_db
def test_only_its_maker_sees_a_kept_check(
    client: Client, patient_user: User, other_patient_user: User
) -> None:
    sign_in(client, patient_user)
    walk(client, *MOLE_SCREENS)
    check = SymptomCheck.objects.get()
    sign_in(client, other_patient_user)
    assert client.get(reverse("symptoms:result", args=[check.uuid])).status_code == 404
    assert client.get(reverse("symptoms:new_case", args=[check.uuid])).status_code == 404
    client.logout()
    anonymous = client.get(reverse("symptoms:result", args=[check.uuid]))
    assert anonymous.status_code == 302 and "/account/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_has_it_got_worse_escalates_the_case_and_says_the_nurse_was_alerted(
    client: Client, make_case: Callable[..., Case], patient_user: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)
    response = walk(
        client, {**RED_1, "rf_spreading_rash_fever": "yes"}, start=f"{START}?case={case.uuid}"
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert Alarm.objects.filter(case=case, kind=Alarm.Kind.EMERGENCY).exists()
    assert "duty nurse has been alerted" in page
    assert 'href="tel:113"' in page
    assert SymptomCheck.objects.get().case == case


@pytest.mark.django_db
def test_a_check_for_a_case_needs_signing_in(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True)
    response = client.get(f"{START}?case={case.uuid}")
    assert response.status_code == 302 and "/account/login/" in response["Location"]


@pytest.mark.django_db
def test_a_check_for_someone_elses_case_is_not_found(
    client: Client, make_case: Callable[..., Case], other_patient_user: User
) -> None:
    case = make_case(submit=True)
    sign_in(client, other_patient_user)
    response = walk(
        client, {**RED_1, "rf_spreading_rash_fever": "yes"}, start=f"{START}?case={case.uuid}"
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED


@pytest.mark.django_db
def test_send_it_to_a_dermatologist_starts_a_prefilled_case_and_goes_to_photos(
    client: Client, patient_user: User
) -> None:
    sign_in(client, patient_user)
    walk(client, *MOLE_SCREENS)
    check = SymptomCheck.objects.get()
    url = reverse("symptoms:new_case", args=[check.uuid])
    form = client.get(url)
    assert form.status_code == 200
    assert form.context["form"]["body_site"].value() == "back"
    assert "suspected melanoma" in form.content.decode()
    response = client.post(
        url,
        {
            "complaint": "A mole that has grown",
            "body_site": "back",
            "onset": "months",
            "change": "growing",
            "itch": "none",
            "pain": "none",
        },
    )
    case = Case.objects.get()
    assert response["Location"] == reverse("photos:manage", args=[case.uuid])
    assert (case.priority, case.pathway) == ("urgent", "pk_melanoma")
    check.refresh_from_db()
    assert check.case == case
    again = client.get(url)
    assert again["Location"] == reverse("cases:detail", args=[case.uuid])


@pytest.mark.django_db
def test_self_care_links_its_guides_and_offers_no_case(client: Client) -> None:
    response = walk(
        client,
        RED_1,
        RED_2,
        {"age_years": "33", "problem": "rash", "body_site": "leg"},
        {"duration": "weeks", "change": "growing"},
        {"rash_kind": "ring", "household_itching": "no"},
        {"impact": "mild", "treatment_tried": "none"},
    )
    page = response.content.decode()
    assert "You can look after this yourself" in page
    assert reverse("answers:guide", args=["fungal-infections"]) in page
    assert "Send it to a dermatologist" not in page


@pytest.mark.django_db
def test_treatment_weeks_are_asked_when_something_was_tried(client: Client) -> None:
    screens = (
        RED_1,
        RED_2,
        {"age_years": "16", "problem": "acne", "body_site": "face"},
        {"duration": "years", "change": "unchanged"},
    )
    impact = walk(client, *screens)
    missing = post(client, impact, impact="moderate", treatment_tried="pharmacy")
    assert missing.context["form"].errors["treatment_weeks"]
    done = post(client, impact, impact="moderate", treatment_tried="pharmacy", treatment_weeks="8")
    assert "See your GP" in done.content.decode()


@pytest.mark.django_db
def test_the_result_is_in_bokmaal_with_the_rules_own_texts(client: Client) -> None:
    client.cookies["django_language"] = "nb"
    response = walk(client, {**RED_1, "rf_non_blanching_unwell": "yes"})
    assert "Ring 113 nå" in response.content.decode()


@pytest.mark.django_db
def test_a_gp_checks_and_refers_the_patient_the_way_cases_new_does(
    client: Client, gp: User
) -> None:
    from conftest import synthetic_number

    sign_in(client, gp)
    response = walk(client, *MOLE_SCREENS)
    check = SymptomCheck.objects.get()
    assert check.created_by == gp and check.patient is None
    url = reverse("symptoms:new_case", args=[check.uuid])
    form = client.get(url)
    assert "patient_identifier" in form.context["form"].fields
    response = client.post(
        url,
        {
            "patient_identifier": synthetic_number(1960, 5, 17),
            "patient_name": "Ola Nordmann",
            "complaint": "A mole that has grown",
            "body_site": "back",
            "onset": "months",
            "change": "growing",
            "itch": "none",
            "pain": "none",
            "patient_consents": "on",
        },
    )
    case = Case.objects.get()
    assert response["Location"] == reverse("photos:manage", args=[case.uuid])
    assert case.created_by == gp and case.patient.full_name == "Ola Nordmann"
    assert case.pathway == "pk_melanoma"
