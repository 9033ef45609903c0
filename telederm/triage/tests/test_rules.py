"""The rule table: every rule is exercised both ways, and bad rule data is refused at load.

Pure tests: no database. The vignettes (tests/vignettes/*.json) are the cases: a new rule
without a vignette that fires it and one that does not fails here.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from telederm.triage import engine

VIGNETTES = sorted((Path(__file__).parent / "vignettes").glob("*.json"))
RULES = engine.load_rules()


def _answers() -> list[engine.Answers]:
    return [
        engine.validate(json.loads(p.read_text(encoding="utf-8"))["answers"]) for p in VIGNETTES
    ]


ANSWERS = _answers()


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda rule: rule.id)
def test_every_rule_has_a_case_that_fires_it_and_one_that_does_not(rule: engine.Rule) -> None:
    fired = [engine.fires(rule, answers) for answers in ANSWERS]
    assert any(fired), f"no vignette fires {rule.id}"
    assert not all(fired), f"every vignette fires {rule.id}"


def test_the_default_answers_when_no_rule_fires() -> None:
    reasons = {
        tuple(r.rule for r in engine.assess(json.loads(p.read_text())["answers"]).reasons)
        for p in VIGNETTES
    }
    assert ("DEFAULT",) in reasons


def test_every_rule_has_texts_in_both_languages_a_source_and_a_rationale() -> None:
    for rule in (*RULES.rules, RULES.default):
        assert set(rule.text) == {"en", "nb"}
        assert all(len(text) > 20 for text in rule.text.values()), rule.id
        assert rule.source and rule.rationale, rule.id


def test_every_emergency_says_whom_to_call_and_escalates() -> None:
    emergencies = [rule for rule in RULES.rules if rule.disposition == "emergency"]
    assert {rule.call for rule in emergencies} == {"113", "116117"}
    assert all("escalate" in rule.flags for rule in emergencies)
    assert all(
        rule.call in rule.text["en"] and rule.call in rule.text["nb"] for rule in emergencies
    )


def test_only_the_seven_point_rule_starts_the_cancer_pathway() -> None:
    assert [rule.id for rule in RULES.rules if "pk" in rule.flags] == ["PIG-7PT-URGENT"]


SHIPPED = tomllib.loads(engine.RULES_PATH.read_text(encoding="utf-8"))


def broken(change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    data["rule"][index].update(change)
    return data


def without(key: str, index: int = 0) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    del data["rule"][index][key]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (broken({"when": {"q": "fever_degrees", "eq": 39}}), "unknown question 'fever_degrees'"),
        (broken({"when": {"q": "problem", "like": "mole"}}), "needs exactly one operator"),
        (broken({"when": {"q": "problem", "eq": "freckle"}}), "'freckle' is not a possible answer"),
        (broken({"when": {"q": "problem", "gte": 3}}), "needs a number question"),
        (broken({"when": {"q": "problem", "in": []}}), "takes a non-empty list"),
        (broken({"when": {"all": []}}), "'all' takes a non-empty list"),
        (broken({"when": {"score": "abcd", "gte": 3}}), "the only score is 'seven_point'"),
        (without("source"), "'source' is required"),
        (without("text_nb"), "'text_nb' is required"),
        (without("when"), "a condition must be a non-empty table"),
        (broken({"disposition": "hospital"}), "disposition must be one of"),
        (broken({"priority": "asap"}, index=6), "priority must be one of"),
        (broken({"guides": ["sunburn"]}), "unknown guide 'sunburn'"),
        (broken({"flags": ["pk"]}), "an emergency carries the 'escalate' flag"),
        (broken({"call": "112"}), "an emergency says whom to call"),
        (broken({"call": "113"}, index=6), "only an emergency has 'call'"),
        (broken({"id": "RF-SJS-TEN"}), "the id is used twice"),
        (broken({"colour": "red"}), "unknown key 'colour'"),
        (broken({"disposition": "self_care", "priority": "soon"}, index=6), "has no priority"),
        ({**SHIPPED, "version": ""}, "'version' is required"),
        ({k: v for k, v in SHIPPED.items() if k != "default"}, "default: missing"),
    ],
)
def test_bad_rule_data_is_refused_at_load(data: dict[str, Any], message: str) -> None:
    with pytest.raises(engine.InvalidRules) as caught:
        engine.parse_rules(data)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_the_shipped_rules_load_and_are_versioned() -> None:
    assert RULES.version == SHIPPED["version"]
    assert len(RULES.rules) == len(SHIPPED["rule"])


def test_a_rule_file_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(engine.RULES_PATH.read_text().replace("2026.11-1", "trial-2"))
    assert engine.load_rules(path).version == "trial-2"
