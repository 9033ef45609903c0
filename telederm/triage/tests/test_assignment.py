"""Automatic assignment: pure, no database."""

from __future__ import annotations

import pytest

from telederm.triage.assignment import Candidate, Need, choose


def derm(
    key: int,
    *,
    languages: tuple[str, ...] = ("nb",),
    competences: tuple[str, ...] = (),
    available: bool = True,
    open_cases: int = 0,
    max_open_cases: int = 30,
) -> Candidate:
    return Candidate(
        key=key,
        name=f"Dermatologist {key}",
        languages=frozenset(languages),
        competences=frozenset(competences),
        available=available,
        open_cases=open_cases,
        max_open_cases=max_open_cases,
    )


NB = Need(language="nb")


def test_the_least_loaded_of_those_who_fit_is_chosen() -> None:
    choice = choose(NB, [derm(1, open_cases=10), derm(2, open_cases=3), derm(3, open_cases=7)])
    assert choice.chosen is not None and choice.chosen.key == 2
    assert any("3 of at most 30" in reason for reason in choice.reasons)


def test_load_is_a_share_of_each_persons_maximum() -> None:
    # 4 of 10 (40 %) is busier than 6 of 30 (20 %).
    choice = choose(NB, [derm(1, open_cases=4, max_open_cases=10), derm(2, open_cases=6)])
    assert choice.chosen is not None and choice.chosen.key == 2


def test_ties_go_to_the_fewest_cases_then_the_lowest_key() -> None:
    assert choose(NB, [derm(2), derm(1)]).chosen == derm(1)


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (derm(1, available=False), "not available"),
        (derm(1, open_cases=30), "as many open cases"),
        (derm(1, languages=("en",)), "does not answer in nb"),
        (derm(1, competences=()), "lacks a competence the case needs (dermoscopy)"),
    ],
)
def test_a_candidate_who_does_not_fit_is_never_chosen_and_the_reason_is_given(
    candidate: Candidate, reason: str
) -> None:
    need = Need(language="nb", competences=frozenset({"dermoscopy"}))
    fitting = derm(9, competences=("dermoscopy",), open_cases=29)
    assert choose(need, [candidate, fitting]).chosen == fitting
    alone = choose(need, [candidate])
    assert alone.chosen is None
    assert "pool" in alone.reasons[0]
    assert any(reason in r for r in alone.reasons), alone.reasons


def test_competences_and_language_must_all_match() -> None:
    need = Need(language="en", competences=frozenset({"dermoscopy", "skin_cancer"}))
    candidates = [
        derm(1, languages=("en",), competences=("dermoscopy",)),
        derm(2, languages=("nb", "en"), competences=("dermoscopy", "skin_cancer"), open_cases=20),
    ]
    choice = choose(need, candidates, labels={"en": "English", "skin_cancer": "Skin cancer"})
    assert choice.chosen is not None and choice.chosen.key == 2
    assert "Answers in the patient's language (English)." in choice.reasons
    assert "Has the competence the case needs: Skin cancer." in choice.reasons


def test_no_candidates_at_all() -> None:
    choice = choose(NB, [])
    assert choice.chosen is None
    assert "No dermatologist has a profile" in choice.reasons[0]


def test_a_maximum_of_zero_takes_nobody() -> None:
    assert choose(NB, [derm(1, max_open_cases=0)]).chosen is None
