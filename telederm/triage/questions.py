"""The symptom checker's questions: ids, kinds, choices, when each is asked, and their labels.

This catalogue is the vocabulary of the answer format (docs/triage-assess.md) and of the rules
(`rules/rules.toml`); the engine validates both against it. It imports no ORM and no settings:
labels are lazy translations, resolved only when a page shows them.

Red flags come first. When any red flag is answered "yes" the person is sent straight to the
result: the other questions are then not required (`required_after_red_flag=False`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

BOOL = "bool"
CHOICE = "choice"
INT = "int"

# A condition in the rules' grammar (see engine.py): {"q": id, "<op>": value}, {"all": [...]},
# {"any": [...]} or {"not": {...}}.
Condition = Mapping[str, Any]


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    label: StrOrPromise
    step: str
    choices: tuple[tuple[str, StrOrPromise], ...] = ()
    help: StrOrPromise = ""
    # Asked (and then required) only when this condition holds on the answers given so far.
    ask_if: Condition | None = None
    is_red_flag: bool = False
    minimum: int | None = None
    maximum: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)


PROBLEMS = (
    ("mole", _("A mole or dark spot")),
    ("growth", _("A spot, lump or growth that is not dark")),
    ("rash", _("A rash or red, scaly or bumpy skin")),
    ("itch", _("Itching without a visible rash")),
    ("acne", _("Spots on the face, chest or back (acne)")),
    ("hair_nails", _("Hair or nails")),
    ("wound", _("A sore, wound or ulcer")),
    ("other", _("Something else")),
)

# The same values as Case.Onset, Case.Change and Case.BodySite, so a case can be prefilled.
DURATIONS = (
    ("days", _("Less than a week")),
    ("weeks", _("1 to 4 weeks")),
    ("months", _("1 to 12 months")),
    ("years", _("More than a year")),
)
CHANGES = (
    ("growing", _("Growing or spreading")),
    ("changing", _("Changing colour or shape")),
    ("unchanged", _("About the same")),
    ("improving", _("Getting better")),
    ("comes_and_goes", _("Comes and goes")),
)
BODY_SITES = (
    ("scalp", _("Scalp")),
    ("face", _("Face")),
    ("neck", _("Neck")),
    ("chest", _("Chest")),
    ("abdomen", _("Abdomen")),
    ("back", _("Back")),
    ("arm", _("Arm")),
    ("hand", _("Hand or fingers")),
    ("genital", _("Genital area")),
    ("buttocks", _("Buttocks")),
    ("leg", _("Leg")),
    ("foot", _("Foot or toes")),
    ("nail", _("Nails")),
    ("mouth", _("Mouth or lips")),
    ("widespread", _("Many places")),
)
RASH_KINDS = (
    ("eczema", _("Dry, itchy, rough patches (for example in elbow or knee creases)")),
    ("psoriasis", _("Thick, red patches with silvery scales")),
    ("hives", _("Raised, itchy welts that come and go within a day")),
    ("ring", _("A ring-shaped patch with a scaly edge")),
    ("unsure", _("None of these, or not sure")),
)
IMPACTS = (
    ("none", _("Not at all")),
    ("mild", _("A little")),
    ("moderate", _("Quite a lot: it disturbs sleep, work or school")),
    ("severe", _("Very much: it is hard to cope")),
)
TREATMENTS = (
    ("none", _("Nothing yet")),
    ("pharmacy", _("Something from the pharmacy or shop")),
    ("prescribed", _("Something a doctor prescribed")),
)

_MOLE = {"q": "problem", "eq": "mole"}
_ANY_TREATMENT = {"q": "treatment_tried", "ne": "none"}


def _flag(qid: str, label: StrOrPromise, step: str, help: StrOrPromise = "") -> Question:
    return Question(id=qid, kind=BOOL, label=label, step=step, help=help, is_red_flag=True)


def _mole(
    qid: str, label: StrOrPromise, help: StrOrPromise = "", step: str = "details"
) -> Question:
    return Question(id=qid, kind=BOOL, label=label, step=step, help=help, ask_if=_MOLE)


QUESTIONS: tuple[Question, ...] = (
    # Red flags: the emergencies and same-day problems the rules look for first.
    _flag(
        "rf_spreading_rash_fever",
        _("Is there a rash that is spreading quickly, and do you have a fever?"),
        "red_flags_1",
    ),
    _flag(
        "rf_blisters_mucosa",
        _("Is the skin blistering or peeling, with sores in the mouth, eyes or genitals?"),
        "red_flags_1",
    ),
    _flag(
        "rf_face_swelling_breathing",
        _("Is your face, lips, tongue or throat swelling, or is it hard to breathe or swallow?"),
        "red_flags_1",
    ),
    _flag(
        "rf_non_blanching_unwell",
        _("Is there a rash that does not fade when you press a glass on it, and do you feel ill?"),
        "red_flags_1",
        _("Press the side of a clear drinking glass firmly on the spots and look through it."),
    ),
    _flag(
        "rf_cellulitis_fever",
        _("Is there painful, hot, red skin that is spreading, and do you have a fever?"),
        "red_flags_2",
    ),
    _flag(
        "rf_eczema_painful_blisters",
        _("Do you have eczema, and now many painful blisters or open sores that spread?"),
        "red_flags_2",
    ),
    _flag(
        "rf_shingles_eye",
        _("Is there a painful, blistering rash on the forehead, near the eye or on the nose tip?"),
        "red_flags_2",
        _("This can be shingles near the eye, which needs a doctor the same day."),
    ),
    # About the person and the problem.
    Question(
        id="problem",
        kind=CHOICE,
        label=_("What is the problem?"),
        step="problem",
        choices=PROBLEMS,
    ),
    Question(
        id="body_site",
        kind=CHOICE,
        label=_("Where on the body is it?"),
        step="problem",
        choices=BODY_SITES,
        help=_("If it is in several places, choose “Many places”."),
    ),
    Question(
        id="duration",
        kind=CHOICE,
        label=_("How long have you had it?"),
        step="course",
        choices=DURATIONS,
    ),
    Question(
        id="change",
        kind=CHOICE,
        label=_("How has it changed lately?"),
        step="course",
        choices=CHANGES,
    ),
    # The NICE NG12 weighted 7-point checklist, for moles and dark spots.
    _mole("mole_changed_size", _("Has it grown or changed in size?")),
    _mole("mole_irregular_shape", _("Is its shape uneven or its edge ragged?")),
    _mole("mole_irregular_colour", _("Does it have several colours or uneven colour?")),
    _mole(
        "mole_diameter_7mm",
        _("Is it 7 mm or more across at its widest?"),
        _("About the width of a pencil's rubber end or more."),
    ),
    _mole("mole_inflamed", _("Is it red or swollen around it?"), step="details_more"),
    _mole("mole_oozing", _("Does it ooze, weep or crust?"), step="details_more"),
    _mole(
        "mole_sensation",
        _("Does it itch, tingle or feel different than before?"),
        step="details_more",
    ),
    # Spots, growths and sores that could be skin cancer.
    Question(
        id="bleeds",
        kind=BOOL,
        label=_("Does it bleed without being scratched or knocked?"),
        step="details",
        ask_if={"q": "problem", "in": ["mole", "growth"]},
    ),
    Question(
        id="lump_growing_fast",
        kind=BOOL,
        label=_("Is it a lump that has grown noticeably within weeks?"),
        step="details",
        ask_if={"q": "problem", "eq": "growth"},
    ),
    Question(
        id="sore_not_healing",
        kind=BOOL,
        label=_("Is there a sore or scab that has not healed in 4 weeks?"),
        step="details",
        ask_if={"q": "problem", "in": ["growth", "wound"]},
    ),
    # Rashes and itch.
    Question(
        id="rash_kind",
        kind=CHOICE,
        label=_("Which is closest to what the rash looks like?"),
        step="details",
        choices=RASH_KINDS,
        ask_if={"q": "problem", "eq": "rash"},
    ),
    Question(
        id="household_itching",
        kind=BOOL,
        label=_("Does anyone you live with also itch?"),
        step="details",
        help=_("Itching that spreads in a household, worst at night, can be scabies."),
        ask_if={"q": "problem", "in": ["rash", "itch"]},
    ),
    # Impact and treatment.
    Question(
        id="impact",
        kind=CHOICE,
        label=_("How much does it affect your daily life, sleep or mood?"),
        step="impact",
        choices=IMPACTS,
    ),
    Question(
        id="treatment_tried",
        kind=CHOICE,
        label=_("What have you tried for it?"),
        step="impact",
        choices=TREATMENTS,
    ),
    Question(
        id="treatment_weeks",
        kind=INT,
        label=_("For how many weeks have you used the treatment?"),
        step="impact",
        ask_if=_ANY_TREATMENT,
        minimum=0,
        maximum=520,
    ),
)

BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}
RED_FLAGS: tuple[str, ...] = tuple(q.id for q in QUESTIONS if q.is_red_flag)

# The screens, in order: a few questions each, red flags first. `age_years` (a top-level field of
# the answer format) is asked on the "problem" screen.
STEPS: tuple[tuple[str, StrOrPromise], ...] = (
    ("red_flags_1", _("First, some urgent signs")),
    ("red_flags_2", _("A few more urgent signs")),
    ("problem", _("About you and the problem")),
    ("course", _("How it has developed")),
    ("details", _("A few details")),
    ("details_more", _("A few more details")),
    ("impact", _("How it affects you, and what you have tried")),
)
STEP_IDS: tuple[str, ...] = tuple(step for step, _title in STEPS)
AGE_LABEL = _("How old are you (or the person it is about)?")
