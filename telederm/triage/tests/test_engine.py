"""The rules engine on its own: answer validation, the 7-point score, and how rules combine.

Pure tests: no database.
"""

from __future__ import annotations

from typing import Any

import pytest

from telederm.triage import engine
from telederm.triage.questions import QUESTIONS, RED_FLAGS

NO_RED_FLAGS = dict.fromkeys(RED_FLAGS, False)


def document(age: int = 40, **answers: Any) -> dict[str, Any]:
    return {"format": engine.FORMAT, "age_years": age, "answers": answers}


def rash(**extra: Any) -> dict[str, Any]:
    answers = {
        **NO_RED_FLAGS,
        "problem": "rash",
        "body_site": "arm",
        "duration": "weeks",
        "change": "unchanged",
        "rash_kind": "unsure",
        "household_itching": False,
        "impact": "mild",
        "treatment_tried": "none",
    }
    answers.update(extra)
    return document(**{k: v for k, v in answers.items() if v is not None})


def mole(**features: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {
        **NO_RED_FLAGS,
        "problem": "mole",
        "body_site": "back",
        "duration": "months",
        "change": "changing",
        "bleeds": False,
        "impact": "mild",
        "treatment_tried": "none",
    }
    answers.update(dict.fromkeys(engine.SEVEN_POINT_WEIGHTS, False))
    answers.update(features)
    return document(**answers)


def problems_of(data: object) -> list[str]:
    with pytest.raises(engine.InvalidAnswers) as caught:
        engine.validate(data)
    return caught.value.problems


def test_a_complete_rash_document_is_valid() -> None:
    answers = engine.validate(rash())
    assert answers.age_years == 40
    assert answers.values["problem"] == "rash"


def test_every_problem_is_listed_not_just_the_first() -> None:
    data = rash(colour="red", impact="terrible", household_itching="yes")
    data["answers"].pop("duration")
    problems = problems_of(data)
    assert "unknown question 'colour'" in problems
    assert any(p.startswith("'impact': must be one of") for p in problems)
    assert "'household_itching': must be true or false" in problems
    assert "'duration' is required" in problems


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "the answers must be a JSON object"),
        ({**rash(), "format": "telederm-triage-answers/2"}, "'format' must be"),
        ({**rash(), "age_years": "54"}, "'age_years' must be a whole number"),
        ({**rash(), "age_years": True}, "'age_years' must be a whole number"),
        ({**rash(), "age_years": 131}, "'age_years' must be a whole number"),
        ({k: v for k, v in rash().items() if k != "age_years"}, "'age_years' is required"),
        ({**rash(), "name": "Kari"}, "unknown top-level field 'name'"),
        ({**rash(), "answers": [1, 2]}, "'answers' must be an object"),
    ],
)
def test_the_document_itself_is_checked(data: object, problem: str) -> None:
    assert any(p.startswith(problem) for p in problems_of(data))


def test_a_question_not_asked_must_be_left_out() -> None:
    # The 7-point checklist is only for moles.
    problems = problems_of(rash(mole_oozing=True))
    assert problems == ["'mole_oozing' is not asked with these answers; leave it out"]


def test_branching_questions_are_required_when_asked() -> None:
    data = rash(treatment_tried="pharmacy")
    assert problems_of(data) == ["'treatment_weeks' is required"]
    assert engine.validate(rash(treatment_tried="pharmacy", treatment_weeks=3))


@pytest.mark.parametrize("weeks", [-1, 521, 2.5, "3"])
def test_numbers_are_whole_and_in_range(weeks: object) -> None:
    problems = problems_of(rash(treatment_tried="pharmacy", treatment_weeks=weeks))
    assert len(problems) == 1 and problems[0].startswith("'treatment_weeks': must be")


def test_one_red_flag_is_enough_to_judge_even_without_the_age() -> None:
    result = engine.assess(
        {"format": engine.FORMAT, "age_years": None, "answers": {"rf_non_blanching_unwell": True}}
    )
    assert result.disposition == "emergency"
    assert result.call == "113"
    assert result.flags == ("escalate",)


def test_with_no_red_flag_every_question_on_the_path_is_required() -> None:
    problems = problems_of(document(**NO_RED_FLAGS))
    assert "'problem' is required" in problems
    assert "'rash_kind' is required" not in problems  # not asked without a problem


@pytest.mark.parametrize(
    ("features", "score", "counted"),
    [
        ({}, 0, ()),
        ({"mole_changed_size": True}, 2, ("mole_changed_size",)),
        ({"mole_diameter_7mm": True, "mole_oozing": True}, 2, ("mole_diameter_7mm", "mole_oozing")),
        (
            {"mole_irregular_colour": True, "mole_sensation": True},
            3,
            ("mole_irregular_colour", "mole_sensation"),
        ),
        (dict.fromkeys(engine.SEVEN_POINT_WEIGHTS, True), 10, tuple(engine.SEVEN_POINT_WEIGHTS)),
    ],
)
def test_the_seven_point_checklist_weights_major_features_double(
    features: dict[str, bool], score: int, counted: tuple[str, ...]
) -> None:
    result = engine.assess(mole(**features))
    assert result.seven_point == engine.SevenPoint(score=score, features=counted)


@pytest.mark.parametrize(
    ("score_features", "pk"),
    [
        ({"mole_changed_size": True}, False),
        ({"mole_changed_size": True, "mole_inflamed": True}, True),
    ],
)
def test_three_points_mean_suspected_melanoma(score_features: dict[str, bool], pk: bool) -> None:
    result = engine.assess(mole(**score_features))
    assert ("pk" in result.flags) is pk
    assert result.priority == ("urgent" if pk else "routine")


def test_no_seven_point_score_for_other_problems() -> None:
    assert engine.assess(rash()).seven_point is None


def test_the_most_severe_disposition_wins_and_every_fired_rule_is_a_reason() -> None:
    data = mole(mole_changed_size=True, mole_irregular_shape=True)
    data["answers"]["rf_cellulitis_fever"] = True
    result = engine.assess(data)
    assert result.disposition == "emergency"
    assert [r.rule for r in result.reasons] == ["RF-CELLULITIS-FEVER", "PIG-7PT-URGENT"]
    assert result.flags == ("pk", "escalate")
    assert result.call == "116117"


def test_reasons_within_a_disposition_are_ordered_by_priority() -> None:
    result = engine.assess(
        rash(rash_kind="eczema", impact="severe", treatment_tried="pharmacy", treatment_weeks=2)
    )
    assert [(r.rule, r.disposition) for r in result.reasons] == [
        ("SEVERE-IMPACT", "teledermatology"),
        ("ECZEMA-NOT-CONTROLLED", "teledermatology"),
    ]
    assert result.priority == "soon"


def test_when_nothing_fires_the_default_is_a_routine_case() -> None:
    result = engine.assess(rash())
    assert (result.disposition, result.priority) == ("teledermatology", "routine")
    assert [r.rule for r in result.reasons] == ["DEFAULT"]


def test_self_care_has_no_priority_and_names_its_guides() -> None:
    result = engine.assess(rash(rash_kind="ring"))
    assert (result.disposition, result.priority) == ("self_care", None)
    assert result.guides == ("fungal-infections",)


def test_the_result_json_has_stable_keys_and_texts_in_one_or_both_languages() -> None:
    result = engine.assess(rash(rash_kind="hives", duration="days"))
    english = result.as_dict("en")
    assert list(english) == [
        "format",
        "disposition",
        "priority",
        "flags",
        "call",
        "reasons",
        "seven_point",
        "guides",
        "rules_version",
    ]
    assert english["format"] == engine.RESULT_FORMAT
    assert english["reasons"][0]["text"].startswith("Hives")
    assert result.as_dict("nb")["reasons"][0]["text"].startswith("Elveblest")
    assert set(result.as_dict()["reasons"][0]["text"]) == {"en", "nb"}
    assert english["rules_version"] == engine.load_rules().version


def test_every_question_has_a_label_and_a_known_step() -> None:
    from telederm.triage.questions import STEP_IDS

    for question in QUESTIONS:
        assert question.step in STEP_IDS, question.id
        assert str(question.label), question.id
        assert question.kind != "choice" or question.choices, question.id


def test_every_asked_if_condition_is_valid() -> None:
    for question in QUESTIONS:
        if question.ask_if is not None:
            assert engine.condition_problems(question.ask_if, question.id) == []
