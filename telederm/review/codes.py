"""Diagnosis code lists (ICD-10 and ICPC-2) and the search a dermatologist codes a review with.

Pure: the lists are CSV files in `codedata/` (official titles in English and bokmål, with their
sources in `codedata/SOURCES.md`; ADR 0019), read once per process. No ORM, no settings.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

System = Literal["icd10", "icpc2"]
SYSTEMS: tuple[System, ...] = ("icd10", "icpc2")
SYSTEM_LABELS: dict[System, str] = {"icd10": "ICD-10", "icpc2": "ICPC-2"}

DATA_DIR = Path(__file__).parent / "codedata"
FILES: dict[System, str] = {"icd10": "icd10.csv", "icpc2": "icpc2.csv"}

# Well-formed codes: ICD-10 (WHO) a letter, two digits, and an optional dot and fourth character;
# ICPC-2 a chapter letter and two digits (components -30 to -69 included).
CODE_PATTERNS: dict[System, re.Pattern[str]] = {
    "icd10": re.compile(r"^[A-Z][0-9]{2}(\.[0-9])?$"),
    "icpc2": re.compile(r"^[ABDFHKLNPRSTUWXYZ][0-9]{2}$"),
}

# Letters that are letters of their own in Norwegian, not accented a or o: "ø" must not match
# "o", or "sår" would find "sar…". Every other accent is folded away ("Behçet", "Sjögren").
_KEPT = frozenset("æøå")
_WORD = re.compile(r"\w+")
_CODE_QUERY = re.compile(r"^[A-Z][0-9][0-9A-Z]*$")
# Shorter query words match only at the start of a word: "ek" inside every "-ekt" is noise.
MIN_INFIX = 3


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnosis code with its official titles."""

    system: System
    code: str
    title_en: str
    title_nb: str
    chapter: str
    # False where the bokmål title could not be confirmed against a published Norwegian list.
    nb_verified: bool = True

    def title(self, language: str = "nb") -> str:
        """The title in the reader's language: bokmål for Norwegian, English otherwise."""
        return self.title_nb if is_nb(language) else self.title_en

    @property
    def system_label(self) -> str:
        return SYSTEM_LABELS[self.system]

    @property
    def compact(self) -> str:
        """The code without its dot, as many Norwegian systems write it ("L400")."""
        return self.code.replace(".", "")


def fold(text: str) -> str:
    """Case- and accent-fold for matching, keeping æ, ø and å distinct."""
    out = []
    for char in unicodedata.normalize("NFC", text).casefold():
        if char not in _KEPT:
            char = unicodedata.normalize("NFKD", char)
            char = "".join(c for c in char if not unicodedata.combining(c))
        out.append(char)
    return "".join(out)


def words(text: str) -> tuple[str, ...]:
    """The folded words of a title or query ("Atopisk eksem, uspes." → atopisk, eksem, uspes)."""
    return tuple(_WORD.findall(fold(text)))


def compact_code(text: str) -> str:
    """A code as typed ("l40.0", "L 40.0", "L400") reduced to upper-case letters and digits."""
    return re.sub(r"[\s.]", "", text).upper()


@dataclass(frozen=True, slots=True)
class _Entry:
    code: Code
    key: str  # compact code
    words_en: tuple[str, ...]
    words_nb: tuple[str, ...]
    folded_en: str
    folded_nb: str
    # Both folded titles in one string: a quick substring test skips most rows before ranking.
    haystack: str


def _read(system: System) -> list[Code]:
    path = DATA_DIR / FILES[system]
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Code(
                system=system,
                code=row["code"].strip(),
                title_en=row["title_en"].strip(),
                title_nb=row["title_nb"].strip(),
                chapter=row["chapter"].strip(),
                nb_verified=row.get("nb_verified", "yes").strip().lower() in {"yes", "true", "1"},
            )
            for row in csv.DictReader(handle)
        ]


@lru_cache(maxsize=1)
def _entries() -> tuple[_Entry, ...]:
    return tuple(
        _Entry(
            code=code,
            key=code.compact,
            words_en=words(code.title_en),
            words_nb=words(code.title_nb),
            folded_en=" ".join(words(code.title_en)),
            folded_nb=" ".join(words(code.title_nb)),
            haystack=" ".join(words(code.title_nb)) + " | " + " ".join(words(code.title_en)),
        )
        for system in SYSTEMS
        for code in _read(system)
    )


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, str], Code]:
    return {(entry.code.system, entry.key): entry.code for entry in _entries()}


def all_codes(system: System | None = None) -> list[Code]:
    """Every code, in the order of the lists (by system, then code)."""
    return [entry.code for entry in _entries() if system in (None, entry.code.system)]


def lookup(system: str, code: str) -> Code | None:
    """The code as written in any usual way ("L40.0", "l400"), or None if the list lacks it."""
    return _index().get((system, compact_code(code)))


def is_nb(language: str) -> bool:
    """Whether a language code means Norwegian, which reads the bokmål titles."""
    return language.lower().startswith(("nb", "no", "nn"))


def _match_rank(
    title_words: tuple[str, ...], folded: str, query_words: tuple[str, ...]
) -> int | None:
    """0 if the title starts with the query, 1 if every query word starts a word of the title,
    2 if every query word at least occurs inside one (Norwegian compounds: "sopp" in "fotsopp",
    "eksem" in "lyseksem"); None if some word is missing."""
    if folded.startswith(" ".join(query_words)):
        return 0
    rank = 1
    for q in query_words:
        if any(word.startswith(q) for word in title_words):
            continue
        if len(q) >= MIN_INFIX and any(q in word for word in title_words):
            rank = 2
            continue
        return None
    return rank


def _title_rank(entry: _Entry, query_words: tuple[str, ...], language: str) -> int | None:
    """2–4 for a match in the reader's language (start, word starts, inside words), 5–7 for
    the same in the other language; None if neither title matches."""
    mine = (entry.words_nb, entry.folded_nb)
    other = (entry.words_en, entry.folded_en)
    if not is_nb(language):
        mine, other = other, mine
    for offset, (title_words, folded) in ((2, mine), (5, other)):
        rank = _match_rank(title_words, folded, query_words)
        if rank is not None:
            return offset + rank
    return None


def parent(code: Code) -> Code | None:
    """The three-character category of a subcategory ("L40" for "L40.0"), if the list has it."""
    if "." not in code.code:
        return None
    return lookup(code.system, code.code.split(".")[0])


def search(
    query: str, *, system: str | None = None, language: str = "nb", limit: int = 20
) -> list[Code]:
    """Codes matching what a clinician typed: a code or its start ("l40", "L40.0"), or words
    of a title in either language ("atop eks", "psoriasis"), best first.

    Ranking: the exact code, then codes starting with the query (shortest first, so "L40"
    comes before "L40.0"), then titles starting with the query, then titles in which every
    query word starts a word, then titles in which every query word occurs inside a word;
    titles in the reader's language before the other. Ties: the shorter code, then code order.
    """
    query = query.strip()
    if not query or limit <= 0:
        return []
    if system not in (None, "", *SYSTEMS):
        return []
    key = compact_code(query)
    is_code = bool(_CODE_QUERY.match(key))
    query_words = words(query)
    ranked: list[tuple[int, int, str, str, Code]] = []
    for entry in _entries():
        code = entry.code
        if system and code.system != system:
            continue
        rank: int | None = None
        if is_code and entry.key.startswith(key):
            rank = 0 if entry.key == key else 1
        elif query_words and all(q in entry.haystack for q in query_words):
            rank = _title_rank(entry, query_words, language)
        if rank is not None:
            ranked.append((rank, len(entry.key), code.system, entry.key, code))
    ranked.sort(key=lambda item: item[:4])
    return [item[4] for item in ranked[:limit]]
