"""Choosing a dermatologist for a case automatically. Pure logic: no ORM, no settings.

A dermatologist can take the case when they are available, below their most open cases, answer in
the patient's language and have every competence the case needs (dermoscopy when it has
dermoscopy photos, skin cancer for the melanoma pathway). Among those, the least loaded (open
cases as a share of their maximum) is chosen, so work spreads evenly between full- and part-time
colleagues. The reasons are kept, so the nurse sees why, and why nobody could be chosen; they
are translated into the language active when `choose` runs (the request's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy


@dataclass(frozen=True)
class Candidate:
    """A dermatologist as assignment sees them: `key` identifies them to the caller."""

    key: int
    name: str
    languages: frozenset[str]
    competences: frozenset[str]
    available: bool
    open_cases: int
    max_open_cases: int

    @property
    def load(self) -> float:
        return self.open_cases / self.max_open_cases if self.max_open_cases else 1.0


@dataclass(frozen=True)
class Need:
    """What the case asks of its dermatologist."""

    language: str
    competences: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Choice:
    """The dermatologist chosen (None: the case goes to the pool) and why."""

    chosen: Candidate | None
    reasons: tuple[str, ...] = field(default=())


def choose(
    need: Need, candidates: list[Candidate], labels: Mapping[str, str] | None = None
) -> Choice:
    """The best dermatologist for `need` among `candidates`, with the reasons for the choice.

    `labels` names languages and competences for people ("Norwegian bokmål" for "nb").
    """
    names = dict(labels or {})
    unavailable = full = wrong_language = lacking = 0
    eligible: list[Candidate] = []
    for candidate in candidates:
        if not candidate.available:
            unavailable += 1
        elif candidate.open_cases >= candidate.max_open_cases:
            full += 1
        elif need.language not in candidate.languages:
            wrong_language += 1
        elif not need.competences <= candidate.competences:
            lacking += 1
        else:
            eligible.append(candidate)
    if not eligible:
        return Choice(
            chosen=None,
            reasons=_why_nobody(
                need, names, len(candidates), unavailable, full, wrong_language, lacking
            ),
        )
    best = min(eligible, key=lambda c: (c.load, c.open_cases, c.key))
    reasons: list[str] = [
        _("Answers in the patient's language (%(language)s).")
        % {"language": names.get(need.language, need.language)},
    ]
    for competence in sorted(need.competences):
        reasons.append(
            _("Has the competence the case needs: %(competence)s.")
            % {"competence": names.get(competence, competence)}
        )
    reasons.append(
        _(
            "Has %(open)d of at most %(max)d open cases: the lowest load of %(count)d who could "
            "take it."
        )
        % {"open": best.open_cases, "max": best.max_open_cases, "count": len(eligible)}
    )
    return Choice(chosen=best, reasons=tuple(reasons))


def _why_nobody(
    need: Need,
    names: dict[str, str],
    total: int,
    unavailable: int,
    full: int,
    wrong_language: int,
    lacking: int,
) -> tuple[str, ...]:
    if total == 0:
        return (_("No dermatologist has a profile for automatic assignment."),)
    reasons: list[str] = [_("Nobody could be chosen, so the case goes to the pool.")]
    if unavailable:
        reasons.append(
            ngettext_lazy(
                "%(count)d dermatologist is not available.",
                "%(count)d dermatologists are not available.",
                "count",
            )
            % {"count": unavailable}
        )
    if full:
        reasons.append(
            ngettext_lazy(
                "%(count)d dermatologist has as many open cases as they take.",
                "%(count)d dermatologists have as many open cases as they take.",
                "count",
            )
            % {"count": full}
        )
    if wrong_language:
        reasons.append(
            ngettext_lazy(
                "%(count)d dermatologist does not answer in %(language)s.",
                "%(count)d dermatologists do not answer in %(language)s.",
                "count",
            )
            % {"count": wrong_language, "language": names.get(need.language, need.language)}
        )
    if lacking:
        reasons.append(
            ngettext_lazy(
                "%(count)d dermatologist lacks a competence the case needs (%(needs)s).",
                "%(count)d dermatologists lack a competence the case needs (%(needs)s).",
                "count",
            )
            % {
                "count": lacking,
                "needs": ", ".join(names.get(c, c) for c in sorted(need.competences)),
            }
        )
    return tuple(reasons)
