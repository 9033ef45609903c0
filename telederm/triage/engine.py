"""The symptom checker's rules engine: answers in, a disposition with its reasons out.

Pure logic: no ORM, no settings, no request. The rules are data (`rules/rules.toml`, ADR 0017),
checked when loaded; the answers are the JSON format of docs/triage-assess.md, checked strictly
before any rule runs. The most severe disposition of the rules that fire wins; every rule that
fired is a reason, most severe first, so a clinician can see why.

Conditions (in rules and in the questions' `ask_if`) are small JSON/TOML trees:
    {"q": "<question id>", "<op>": value}   op: eq ne in not_in gt gte lt lte
    {"score": "seven_point", "<op>": n}      the NICE NG12 weighted 7-point checklist total
    {"all": [c, ...]}  {"any": [c, ...]}  {"not": c}
A comparison with a question that was not answered is false.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telederm.triage import questions
from telederm.triage.questions import BOOL, BY_ID, CHOICE, INT, RED_FLAGS, Condition

FORMAT = "telederm-triage-answers/1"
RESULT_FORMAT = "telederm-triage-result/1"
RULES_PATH = Path(__file__).parent / "rules" / "rules.toml"

# Most severe first. A teledermatology case outranks "see your GP": a dermatologist's look
# is the stronger advice, and the engine must never soften one rule's advice with another's.
DISPOSITIONS = ("emergency", "urgent", "teledermatology", "gp", "self_care")
PRIORITIES = ("urgent", "soon", "routine")
FLAGS = ("pk", "escalate")
GUIDES = (
    "eczema-care",
    "acne",
    "fungal-infections",
    "sun-protection",
    "mole-self-check",
    "wound-care",
    "scabies",
    "psoriasis",
    "hives",
)
LANGUAGES = ("en", "nb")
CALLS = ("113", "116117")
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte")
AGE = "age_years"
MAX_AGE = 130

# NICE NG12 (1.7.2): major features 2 points each, minor features 1 point each; 3 or more points
# means refer urgently for suspected melanoma.
SEVEN_POINT_WEIGHTS: dict[str, int] = {
    "mole_changed_size": 2,
    "mole_irregular_shape": 2,
    "mole_irregular_colour": 2,
    "mole_diameter_7mm": 1,
    "mole_inflamed": 1,
    "mole_oozing": 1,
    "mole_sensation": 1,
}
SEVEN_POINT_THRESHOLD = 3


class InvalidAnswers(ValueError):
    """The answers do not follow the format; `problems` lists each thing wrong."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid answers:\n" + "\n".join(f"- {p}" for p in self.problems))


class InvalidRules(ValueError):
    """The rule data is wrong; raised at load so a bad rule never reaches a patient."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid rules:\n" + "\n".join(f"- {p}" for p in self.problems))


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    disposition: str
    priority: str | None
    flags: tuple[str, ...]
    guides: tuple[str, ...]
    call: str | None
    text: Mapping[str, str]
    source: str
    rationale: str


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    default: Rule


@dataclass(frozen=True)
class Reason:
    rule: str
    disposition: str
    text: Mapping[str, str]
    source: str

    def as_dict(self, language: str | None = None) -> dict[str, Any]:
        text: Any = dict(self.text) if language is None else self.text[language]
        return {
            "rule": self.rule,
            "disposition": self.disposition,
            "text": text,
            "source": self.source,
        }


@dataclass(frozen=True)
class SevenPoint:
    score: int
    features: tuple[str, ...]
    threshold: int = SEVEN_POINT_THRESHOLD

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "features": list(self.features), "threshold": self.threshold}


@dataclass(frozen=True)
class Assessment:
    disposition: str
    priority: str | None
    flags: tuple[str, ...]
    reasons: tuple[Reason, ...]
    seven_point: SevenPoint | None
    guides: tuple[str, ...]
    call: str | None
    rules_version: str

    def as_dict(self, language: str | None = None) -> dict[str, Any]:
        """The documented JSON result; reason texts in one language, or both when None."""
        return {
            "format": RESULT_FORMAT,
            "disposition": self.disposition,
            "priority": self.priority,
            "flags": list(self.flags),
            "call": self.call,
            "reasons": [reason.as_dict(language) for reason in self.reasons],
            "seven_point": self.seven_point.as_dict() if self.seven_point else None,
            "guides": list(self.guides),
            "rules_version": self.rules_version,
        }


# --- Answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    age_years: int | None
    values: Mapping[str, Any]

    def get(self, key: str) -> Any:
        return self.age_years if key == AGE else self.values.get(key)


def is_asked(question: questions.Question, values: Mapping[str, Any], age: int | None) -> bool:
    """Whether a question is asked, given the answers so far (its `ask_if`)."""
    if question.ask_if is None:
        return True
    return _holds(question.ask_if, _Lookup(values, age))


def has_red_flag(values: Mapping[str, Any]) -> bool:
    return any(values.get(qid) is True for qid in RED_FLAGS)


def validate(data: object) -> Answers:
    """Check a whole answer document; raise InvalidAnswers listing every problem found."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise InvalidAnswers(["the answers must be a JSON object"])
    for key in sorted(set(data) - {"format", AGE, "answers"}):
        problems.append(f"unknown top-level field {key!r}")
    if data.get("format") != FORMAT:
        problems.append(f"'format' must be {FORMAT!r}")
    values = data.get("answers")
    if not isinstance(values, Mapping):
        problems.append("'answers' must be an object of question id to answer")
        values = {}
    raw_age = data.get(AGE)
    age = raw_age if isinstance(raw_age, int) and _is_int(raw_age) else None
    if raw_age is None:
        # Like every other answer, the age is not needed once a red flag sends the person on.
        if not has_red_flag(values):
            problems.append(f"{AGE!r} is required")
    elif age is None or not 0 <= age <= MAX_AGE:
        problems.append(f"{AGE!r} must be a whole number from 0 to {MAX_AGE}")
        age = None
    if isinstance(data.get("answers"), Mapping):
        problems.extend(answer_problems(values, age))
    if problems:
        raise InvalidAnswers(problems)
    return Answers(age_years=age, values=dict(values))


def answer_problems(values: Mapping[str, Any], age: int | None) -> list[str]:
    """Problems with the `answers` object: unknown ids, wrong types, missing or unasked answers.

    Once any red flag is "yes" the person goes straight to the result, so nothing else is
    required then (whatever else was answered is still checked).
    """
    problems: list[str] = []
    for qid in sorted(set(values) - set(BY_ID)):
        problems.append(f"unknown question {qid!r}")
    for question in questions.QUESTIONS:
        qid = question.id
        well_typed = qid in values and not _type_problem(question, values[qid])
        if qid in values and not well_typed:
            problems.append(f"{qid!r}: {_type_problem(question, values[qid])}")
    # Branching is judged on the well-typed answers only, so one typo gives one message.
    typed = {
        qid: v for qid, v in values.items() if qid in BY_ID and not _type_problem(BY_ID[qid], v)
    }
    red_flag = has_red_flag(typed)
    for question in questions.QUESTIONS:
        asked = is_asked(question, typed, age)
        if question.id in values and not asked:
            problems.append(f"{question.id!r} is not asked with these answers; leave it out")
        elif asked and question.id not in values and not red_flag:
            problems.append(f"{question.id!r} is required")
    return problems


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_problem(question: questions.Question, value: object) -> str:
    if question.kind == BOOL and not isinstance(value, bool):
        return "must be true or false"
    if question.kind == CHOICE and value not in question.choice_values:
        return "must be one of " + ", ".join(question.choice_values)
    if question.kind == INT:
        low, high = question.minimum, question.maximum
        if not _is_int(value):
            return "must be a whole number"
        assert isinstance(value, int)
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be from {low} to {high}"
    return ""


# --- Conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lookup:
    values: Mapping[str, Any]
    age: int | None
    seven_point: int | None = None

    def get(self, key: str) -> Any:
        return self.age if key == AGE else self.values.get(key)


def _holds(condition: Condition, lookup: _Lookup) -> bool:
    if "all" in condition:
        return all(_holds(c, lookup) for c in condition["all"])
    if "any" in condition:
        return any(_holds(c, lookup) for c in condition["any"])
    if "not" in condition:
        return not _holds(condition["not"], lookup)
    actual = lookup.seven_point if "score" in condition else lookup.get(condition["q"])
    op = next(key for key in condition if key in OPERATORS)
    expected = condition[op]
    if actual is None:
        return False
    match op:
        case "eq":
            return bool(actual == expected)
        case "ne":
            return bool(actual != expected)
        case "in":
            return actual in expected
        case "not_in":
            return actual not in expected
        case "gt":
            return bool(actual > expected)
        case "gte":
            return bool(actual >= expected)
        case "lt":
            return bool(actual < expected)
        case _:
            return bool(actual <= expected)


def condition_problems(condition: object, where: str) -> list[str]:
    """What is wrong with a condition tree: unknown questions, operators or values."""
    if not isinstance(condition, Mapping) or not condition:
        return [f"{where}: a condition must be a non-empty table"]
    for combinator in ("all", "any"):
        if combinator in condition:
            parts = condition[combinator]
            if len(condition) != 1 or not isinstance(parts, list) or not parts:
                return [f"{where}: {combinator!r} takes a non-empty list and nothing else"]
            return [p for i, c in enumerate(parts) for p in condition_problems(c, f"{where}.{i}")]
    if "not" in condition:
        if len(condition) != 1:
            return [f"{where}: 'not' stands alone"]
        return condition_problems(condition["not"], f"{where}.not")
    ops = [key for key in condition if key not in ("q", "score")]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        return [f"{where}: needs exactly one operator of {', '.join(OPERATORS)}, got {ops}"]
    op, value = ops[0], condition[ops[0]]
    if "score" in condition:
        if condition["score"] != "seven_point" or "q" in condition:
            return [f"{where}: the only score is 'seven_point'"]
        return [] if _is_int(value) else [f"{where}: a score is compared with a whole number"]
    qid = condition.get("q")
    if qid == AGE:
        return [] if _is_int(value) else [f"{where}: {AGE} is compared with a whole number"]
    question = BY_ID.get(str(qid))
    if question is None:
        return [f"{where}: unknown question {qid!r}"]
    candidates = value if op in ("in", "not_in") else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        return [f"{where}: {op!r} takes a non-empty list"]
    if op in ("gt", "gte", "lt", "lte") and question.kind != INT:
        return [f"{where}: {op!r} needs a number question, {qid!r} is {question.kind}"]
    wrong = [c for c in candidates if _type_problem(question, c)]
    return [f"{where}: {v!r} is not a possible answer to {qid!r}" for v in wrong]


# --- Rules ---------------------------------------------------------------------------------


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and check the rule data; cached for the shipped file."""
    if path is None:
        return _shipped_rules()
    return parse_rules(tomllib.loads(path.read_text(encoding="utf-8")))


@functools.cache
def _shipped_rules() -> RuleSet:
    return parse_rules(tomllib.loads(RULES_PATH.read_text(encoding="utf-8")))


def parse_rules(data: Mapping[str, Any]) -> RuleSet:
    """Build a RuleSet from the TOML tables; raise InvalidRules listing every problem."""
    problems: list[str] = []
    version = data.get("version")
    if not isinstance(version, str) or not version:
        problems.append("'version' is required")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append("at least one [[rule]] is required")
        raw_rules = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule, rule_problems = _parse_rule(raw, f"rule {index + 1}", needs_condition=True)
        problems.extend(rule_problems)
        if rule is not None:
            if rule.id in seen:
                problems.append(f"rule {rule.id}: the id is used twice")
            seen.add(rule.id)
            rules.append(rule)
    default, default_problems = _parse_rule(data.get("default"), "default", needs_condition=False)
    problems.extend(default_problems)
    if problems:
        raise InvalidRules(problems)
    assert default is not None and isinstance(version, str)
    return RuleSet(version=version, rules=tuple(rules), default=default)


_RULE_KEYS = {
    "id",
    "when",
    "disposition",
    "priority",
    "flags",
    "guides",
    "call",
    "text_en",
    "text_nb",
    "source",
    "rationale",
}


def _parse_rule(raw: object, where: str, *, needs_condition: bool) -> tuple[Rule | None, list[str]]:
    if not isinstance(raw, Mapping):
        return None, [f"{where}: missing or not a table"]
    where = f"rule {raw['id']}" if isinstance(raw.get("id"), str) else where
    problems = [f"{where}: unknown key {key!r}" for key in sorted(set(raw) - _RULE_KEYS)]
    for key in ("id", "disposition", "text_en", "text_nb", "source", "rationale"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.append(f"{where}: {key!r} is required")
    if needs_condition:
        problems.extend(condition_problems(raw.get("when"), f"{where}: when"))
    elif "when" in raw:
        problems.append(f"{where}: the default rule has no condition")
    disposition = raw.get("disposition")
    if disposition not in DISPOSITIONS:
        problems.append(f"{where}: disposition must be one of {', '.join(DISPOSITIONS)}")
    priority = raw.get("priority")
    if priority is not None and priority not in PRIORITIES:
        problems.append(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
    if priority is not None and disposition in ("gp", "self_care"):
        problems.append(f"{where}: a {disposition} rule makes no case and has no priority")
    flags = tuple(raw.get("flags", ()))
    guides = tuple(raw.get("guides", ()))
    problems.extend(f"{where}: unknown flag {f!r}" for f in flags if f not in FLAGS)
    problems.extend(f"{where}: unknown guide {g!r}" for g in guides if g not in GUIDES)
    call = raw.get("call")
    if disposition == "emergency":
        if call not in CALLS:
            problems.append(f"{where}: an emergency says whom to call: one of {CALLS}")
        if "escalate" not in flags:
            problems.append(f"{where}: an emergency carries the 'escalate' flag")
    elif call is not None:
        problems.append(f"{where}: only an emergency has 'call'")
    if problems:
        return None, problems
    return (
        Rule(
            id=raw["id"],
            when=raw.get("when", {}),
            disposition=str(disposition),
            priority=priority,
            flags=flags,
            guides=guides,
            call=call,
            text={"en": raw["text_en"].strip(), "nb": raw["text_nb"].strip()},
            source=raw["source"].strip(),
            rationale=raw["rationale"].strip(),
        ),
        [],
    )


# --- Assessment ----------------------------------------------------------------------------


def seven_point(values: Mapping[str, Any]) -> SevenPoint | None:
    """The weighted 7-point checklist score of a mole or dark spot; None for other problems."""
    if values.get("problem") != "mole" or not all(q in values for q in SEVEN_POINT_WEIGHTS):
        return None
    features = tuple(q for q in SEVEN_POINT_WEIGHTS if values[q] is True)
    return SevenPoint(score=sum(SEVEN_POINT_WEIGHTS[q] for q in features), features=features)


def fires(rule: Rule, answers: Answers) -> bool:
    score = seven_point(answers.values)
    lookup = _Lookup(answers.values, answers.age_years, score.score if score else None)
    return _holds(rule.when, lookup)


def assess(data: object, rules: RuleSet | None = None) -> Assessment:
    """Validate the answer document and apply the rules to it."""
    answers = validate(data)
    ruleset = rules or load_rules()
    fired = [rule for rule in ruleset.rules if fires(rule, answers)] or [ruleset.default]
    # Most severe first: by disposition, then by priority; file order breaks ties (stable sort).
    fired.sort(key=_severity)
    disposition = fired[0].disposition
    return Assessment(
        disposition=disposition,
        priority=_priority(disposition, fired),
        flags=tuple(f for f in FLAGS if any(f in rule.flags for rule in fired)),
        reasons=tuple(
            Reason(rule=r.id, disposition=r.disposition, text=r.text, source=r.source)
            for r in fired
        ),
        seven_point=seven_point(answers.values),
        guides=tuple(dict.fromkeys(g for rule in fired for g in rule.guides)),
        call=next((rule.call for rule in fired if rule.call), None),
        rules_version=ruleset.version,
    )


def _severity(rule: Rule) -> tuple[int, int]:
    priority = PRIORITIES.index(rule.priority) if rule.priority else len(PRIORITIES)
    return DISPOSITIONS.index(rule.disposition), priority


def _priority(disposition: str, fired: Sequence[Rule]) -> str | None:
    """The most urgent priority a case-making rule asks for; none without a case."""
    if disposition in ("gp", "self_care"):
        return None
    asked = [
        rule.priority
        for rule in fired
        if rule.priority and rule.disposition in ("emergency", "urgent", "teledermatology")
    ]
    if asked:
        return min(asked, key=PRIORITIES.index)
    return "routine" if disposition == "teledermatology" else "urgent"
