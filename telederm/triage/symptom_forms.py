"""The symptom checker's forms: one screen of questions, and the answers carried between screens.

The answers so far travel in a signed hidden field, not in the session or the database: a
signed-out check stores nothing on the server, and the signature stops a hand-edited answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from telederm.triage import engine, questions
from telederm.triage.questions import BOOL, CHOICE, INT

STATE_SALT = "telederm.triage.symptom-check"
# A check left open longer than this starts again (the answers may no longer hold).
STATE_MAX_AGE_SECONDS = 2 * 60 * 60
YES, NO = "yes", "no"
YES_NO = ((YES, _("Yes")), (NO, _("No")))


@dataclass
class CheckState:
    """The answers given so far, the age, and the case the check was started from."""

    answers: dict[str, Any] = field(default_factory=dict)
    age_years: int | None = None
    case_uuid: uuid.UUID | None = None

    def dumps(self) -> str:
        return signing.dumps(
            {
                "answers": self.answers,
                "age_years": self.age_years,
                "case": str(self.case_uuid) if self.case_uuid else None,
            },
            salt=STATE_SALT,
            compress=True,
        )

    @classmethod
    def loads(cls, token: str) -> CheckState:
        """Raise signing.BadSignature (or SignatureExpired) on a forged or stale token."""
        data = signing.loads(token, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
        case = data.get("case")
        return cls(
            answers=dict(data.get("answers") or {}),
            age_years=data.get("age_years"),
            case_uuid=uuid.UUID(case) if case else None,
        )

    def document(self) -> dict[str, Any]:
        """The answer document of docs/triage-assess.md."""
        return {"format": engine.FORMAT, "age_years": self.age_years, "answers": self.answers}

    @property
    def has_red_flag(self) -> bool:
        return engine.has_red_flag(self.answers)


def asked_on(step: str, state: CheckState) -> list[questions.Question]:
    """The questions of a screen that are asked with the answers so far.

    `treatment_weeks` depends on an answer on its own screen; it is shown there always and
    checked in `StepForm.clean`, so the screen works without JavaScript.
    """
    return [
        q
        for q in questions.QUESTIONS
        if q.step == step
        and (q.id == "treatment_weeks" or engine.is_asked(q, state.answers, state.age_years))
    ]


def next_step(state: CheckState, after: str | None) -> str | None:
    """The first screen after `after` with a question to ask; None when all are answered."""
    start = 0 if after is None else questions.STEP_IDS.index(after) + 1
    for step in questions.STEP_IDS[start:]:
        if asked_on(step, state):
            return step
    return None


def previous_step(state: CheckState, before: str) -> str | None:
    earlier = questions.STEP_IDS[: questions.STEP_IDS.index(before)]
    return next((s for s in reversed(earlier) if asked_on(s, state)), None)


class StepForm(forms.Form):
    """One screen of the symptom checker, built from the question catalogue."""

    def __init__(self, *args: Any, step: str, state: CheckState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = step
        self.questions = asked_on(step, state)
        if step == "problem":
            self.fields[engine.AGE] = forms.IntegerField(
                label=questions.AGE_LABEL,
                min_value=0,
                max_value=engine.MAX_AGE,
                help_text=_("In whole years. For a baby under one year, write 0."),
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
                initial=state.age_years,
            )
        for question in self.questions:
            self.fields[question.id] = _field(question, state.answers.get(question.id))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "treatment_weeks" in self.fields:
            tried = cleaned.get("treatment_tried")
            if tried and tried != "none" and cleaned.get("treatment_weeks") is None:
                self.add_error("treatment_weeks", _("Tell us for how many weeks."))
        return cleaned

    def answers(self) -> dict[str, Any]:
        """The screen's answers in the answer format's types (only those asked)."""
        values: dict[str, Any] = {}
        for question in self.questions:
            value = self.cleaned_data.get(question.id)
            if question.kind == BOOL:
                values[question.id] = value == YES
            elif value not in (None, ""):
                values[question.id] = value
        if values.get("treatment_tried") == "none":
            values.pop("treatment_weeks", None)
        return values


def _field(question: questions.Question, current: Any) -> forms.Field:
    help_text = question.help or ""
    if question.kind == BOOL:
        initial = None if current is None else (YES if current else NO)
        return forms.ChoiceField(
            label=question.label,
            choices=YES_NO,
            widget=forms.RadioSelect,
            help_text=help_text,
            initial=initial,
            error_messages={"required": _("Choose yes or no.")},
        )
    if question.kind == CHOICE:
        widget: type[forms.Widget] = forms.RadioSelect
        choices: list[tuple[str, Any]] = list(question.choices)
        if len(choices) > 8:
            widget = forms.Select
            choices = [("", _("Choose")), *choices]
        return forms.ChoiceField(
            label=question.label,
            choices=choices,
            widget=widget,
            help_text=help_text,
            initial=current,
            error_messages={"required": _("Choose one of the answers.")},
        )
    assert question.kind == INT
    return forms.IntegerField(
        label=question.label,
        min_value=question.minimum,
        max_value=question.maximum,
        required=False,
        help_text=help_text or _("Leave empty if you have not tried anything."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
        initial=current,
    )


def merge(state: CheckState, step: str, form: StepForm) -> CheckState:
    """The state with this screen's answers; answers no longer asked are dropped."""
    answers = {k: v for k, v in state.answers.items() if k not in {q.id for q in form.questions}}
    answers.update(form.answers())
    age = (
        form.cleaned_data.get(engine.AGE, state.age_years) if step == "problem" else state.age_years
    )
    new = CheckState(answers=answers, age_years=age, case_uuid=state.case_uuid)
    # A changed answer can hide a later question (say, the problem is no longer a mole).
    new.answers = {
        qid: value
        for qid, value in new.answers.items()
        if engine.is_asked(questions.BY_ID[qid], new.answers, new.age_years)
    }
    return new
