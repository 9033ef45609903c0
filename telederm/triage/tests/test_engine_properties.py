"""Properties of the engine over every path through the questions (hypothesis), and its purity."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from telederm.triage import engine
from telederm.triage.questions import BOOL, CHOICE, QUESTIONS, RED_FLAGS


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid answer document, answering each question only if it is asked."""
    answers: dict[str, Any] = {}
    red_flag_rate = draw(st.sampled_from([0.0, 0.0, 0.1]))
    for question in QUESTIONS:
        if question.is_red_flag:
            answers[question.id] = draw(st.floats(0, 1)) < red_flag_rate
            continue
        if not engine.is_asked(question, answers, None):
            continue
        if question.kind == BOOL:
            answers[question.id] = draw(st.booleans())
        elif question.kind == CHOICE:
            answers[question.id] = draw(st.sampled_from(question.choice_values))
        else:
            answers[question.id] = draw(st.integers(question.minimum, question.maximum))
    age = draw(st.integers(0, engine.MAX_AGE))
    return {"format": engine.FORMAT, "age_years": age, "answers": answers}


@settings(max_examples=300, deadline=None)
@given(documents())
def test_every_valid_path_gets_a_disposition_with_reasons(data: dict[str, Any]) -> None:
    result = engine.assess(data)
    assert result.reasons
    # The disposition is the most severe among the reasons, and the first reason has it.
    ranks = [engine.DISPOSITIONS.index(r.disposition) for r in result.reasons]
    assert ranks == sorted(ranks)
    assert result.reasons[0].disposition == result.disposition
    assert (result.priority is None) == (result.disposition in ("gp", "self_care"))
    assert ("escalate" in result.flags) == (result.disposition == "emergency")
    assert ("pk" in result.flags) == (
        result.seven_point is not None and result.seven_point.score >= 3
    )
    red = any(data["answers"][q] for q in RED_FLAGS)
    assert red == (
        result.disposition in ("emergency", "urgent") and result.reasons[0].rule.startswith("RF-")
    )


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=8)))
def test_any_json_object_is_judged_or_refused_with_reasons(answers: dict[str, Any]) -> None:
    data = {"format": engine.FORMAT, "age_years": 40, "answers": answers}
    try:
        engine.assess(data)
    except engine.InvalidAnswers as exc:
        assert exc.problems


def test_the_engine_loads_without_django_settings_or_the_orm() -> None:
    code = (
        "import sys, telederm.triage.engine as e; e.load_rules(); "
        "assert not [m for m in sys.modules if m.startswith(('django.db', 'django.conf'))]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
