"""The diagnosis code lists and their search: pure, no database."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from telederm.review import codes

# WHO ICD-10 (2019), chapter XII: every three-character category.
WHO_CHAPTER_XII = [
    "L00",
    "L01",
    "L02",
    "L03",
    "L04",
    "L05",
    "L08",
    "L10",
    "L11",
    "L12",
    "L13",
    "L14",
    "L20",
    "L21",
    "L22",
    "L23",
    "L24",
    "L25",
    "L26",
    "L27",
    "L28",
    "L29",
    "L30",
    "L40",
    "L41",
    "L42",
    "L43",
    "L44",
    "L45",
    "L50",
    "L51",
    "L52",
    "L53",
    "L54",
    "L55",
    "L56",
    "L57",
    "L58",
    "L59",
    "L60",
    "L62",
    "L63",
    "L64",
    "L65",
    "L66",
    "L67",
    "L68",
    "L70",
    "L71",
    "L72",
    "L73",
    "L74",
    "L75",
    "L80",
    "L81",
    "L82",
    "L83",
    "L84",
    "L85",
    "L86",
    "L87",
    "L88",
    "L89",
    "L90",
    "L91",
    "L92",
    "L93",
    "L94",
    "L95",
    "L97",
    "L98",
    "L99",
]

# ICPC-2 chapter S as WONCA defines it: symptoms S01–S29 (there is no S25) and diagnoses S70–S99.
# The process codes -30 to -69 are shared by every chapter and are not diagnoses.
ICPC2_CHAPTER_S = [f"S{n:02d}" for n in [*range(1, 25), *range(26, 30), *range(70, 100)]]

# Codes the brief names outside chapter XII.
NAMED_ICD10 = [
    "A46",
    "A63.0",
    "A69.2",
    "B00",
    "B01",
    "B02",
    "B07",
    "B08.1",
    "B09",
    "B35",
    "B35.3",
    "B36.0",
    "B37.2",
    "B85.0",
    "B86",
    "C43",
    "C43.9",
    "C44",
    "C44.9",
    "D03",
    "D04",
    "D18.0",
    "D22",
    "D23",
    "D48.5",
    "R20",
    "R21",
    "R22",
    "R23",
    "R61",
    "T78.3",
]

# Rows whose bokmål title no published list we could read confirms (see codedata/SOURCES.md):
# categories that have subcategories (the Norwegian list names only codes one reports), and two
# subcategories that Norway splits further.
UNCONFIRMED_LEAVES = {"D48.5", "T78.3"}


def rows(system: str) -> list[dict[str, str]]:
    path = codes.DATA_DIR / codes.FILES[system]  # type: ignore[index]
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("system", codes.SYSTEMS)
def test_every_row_is_well_formed_and_once(system: codes.System) -> None:
    table = rows(system)
    assert table, "the list is empty"
    for row in table:
        assert codes.CODE_PATTERNS[system].match(row["code"]), row
        assert row["title_en"].strip() and row["title_nb"].strip(), row
        assert row["title_en"] == row["title_en"].strip(), row
        assert row["nb_verified"] in {"yes", "no"}, row
        assert row["chapter"], row
    duplicates = [code for code, n in Counter(row["code"] for row in table).items() if n > 1]
    assert duplicates == []


def test_chapter_xii_is_complete_at_the_three_character_level() -> None:
    have = {row["code"] for row in rows("icd10")}
    assert [code for code in WHO_CHAPTER_XII if code not in have] == []
    assert {code for code in have if code.startswith("L") and len(code) == 3} == set(
        WHO_CHAPTER_XII
    )


def test_every_subcategory_has_its_category_and_every_l_category_its_subcategories() -> None:
    have = {row["code"] for row in rows("icd10")}
    chapter_xii = {code for code in have if code.startswith("L")}
    for code in chapter_xii:
        if "." in code:
            assert code[:3] in chapter_xii, code
    # Categories WHO subdivides: spot checks that the fourth characters came along.
    for code in ["L20.9", "L40.0", "L50.9", "L70.0", "L89.0", "L98.4", "L99.8"]:
        assert code in have


def test_icpc2_has_chapter_s_as_defined() -> None:
    have = [row["code"] for row in rows("icpc2")]
    assert [code for code in ICPC2_CHAPTER_S if code not in have] == []
    assert "S25" not in have
    assert all(row["chapter"] == row["code"][0] for row in rows("icpc2"))


def test_the_named_skin_codes_outside_chapter_xii_are_there() -> None:
    have = {row["code"] for row in rows("icd10")}
    assert [code for code in NAMED_ICD10 if code not in have] == []


def test_unconfirmed_bokmal_titles_are_only_the_expected_ones() -> None:
    table = rows("icd10")
    have = {row["code"] for row in table}
    for row in table:
        code = row["code"]
        has_subcategories = any(other.startswith(code + ".") for other in have)
        if row["nb_verified"] == "no":
            assert has_subcategories or code in UNCONFIRMED_LEAVES, code
        else:
            assert not has_subcategories, code
    assert all(row["nb_verified"] == "yes" for row in rows("icpc2"))


def test_the_official_titles_we_rely_on() -> None:
    l400 = codes.lookup("icd10", "L40.0")
    assert l400 is not None
    assert (l400.title_en, l400.title_nb) == ("Psoriasis vulgaris", "Psoriasis vulgaris")
    s87 = codes.lookup("icpc2", "S87")
    assert s87 is not None
    assert (s87.title_en, s87.title_nb) == ("Dermatitis/atopic eczema", "Atopisk dermatitt/eksem")
    b86 = codes.lookup("icd10", "B86")
    assert b86 is not None and b86.title_nb == "Skabb"


@pytest.mark.parametrize("typed", ["L40.0", "l40.0", "L400", "l400", " L 40.0 "])
def test_lookup_accepts_a_code_as_people_write_it(typed: str) -> None:
    code = codes.lookup("icd10", typed)
    assert code is not None and code.code == "L40.0"


def test_lookup_misses_return_none() -> None:
    assert codes.lookup("icd10", "L96") is None  # WHO has no L96
    assert codes.lookup("icpc2", "L40.0") is None
    assert codes.lookup("snomed", "L40.0") is None


def test_title_follows_the_language() -> None:
    code = codes.lookup("icd10", "B86")
    assert code is not None
    assert code.title("nb") == code.title("nb-NO") == code.title("no") == "Skabb"
    assert code.title("en") == code.title("en-GB") == "Scabies"


def test_parent_is_the_category() -> None:
    l400 = codes.lookup("icd10", "L40.0")
    assert l400 is not None
    assert codes.parent(l400) == codes.lookup("icd10", "L40")
    l40 = codes.lookup("icd10", "L40")
    assert l40 is not None and codes.parent(l40) is None
    d485 = codes.lookup("icd10", "D48.5")
    assert d485 is not None and codes.parent(d485) is None  # D48 is not in the list


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Seboréisk", "seboreisk"), ("Sår", "sår"), ("ØYE", "øye"), ("Æ", "æ"), ("Behçet", "behcet")],
)
def test_folding_keeps_norwegian_letters(text: str, folded: str) -> None:
    assert codes.fold(text) == folded


def found(query: str, **kwargs: object) -> list[str]:
    return [code.code for code in codes.search(query, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["L40.0", "l40.0", "l400", "L 40.0"])
def test_a_typed_code_comes_first(typed: str) -> None:
    assert found(typed)[:1] == ["L40.0"]


def test_a_code_prefix_lists_the_category_first_then_its_subcategories() -> None:
    result = found("l40", limit=50)
    assert result[0] == "L40"
    assert result[1:9] == [f"L40.{n}" for n in (0, 1, 2, 3, 4, 5, 8, 9)]
    assert all(code.startswith("L40") for code in result)


def test_an_icpc2_prefix() -> None:
    assert found("s9", system="icpc2") == [f"S{n}" for n in range(90, 100)]


@pytest.mark.parametrize("query", ["eksem", "ekse", "EKSEM", "atop eks", "Atopisk eksem"])
def test_norwegian_words_find_eczema(query: str) -> None:
    assert "S87" in found(query, language="nb")


def test_every_word_must_match_the_same_title() -> None:
    assert found("atopisk psoriasis") == []
    assert found("psoriasis vulgaris") == ["L40.0"]


def test_a_title_that_starts_with_the_query_comes_before_one_that_only_contains_it() -> None:
    result = found("psoriasis", language="nb", limit=50)
    assert result[:2] == ["L40", "S91"]  # both titled exactly "Psoriasis"; shorter code first
    assert result.index("L40.0") < result.index("L40.5")  # "Psoriasis vulgaris" starts so
    assert "L40.4" in result  # "Guttat psoriasis": a later word


def test_words_inside_compounds_are_found_after_whole_word_matches() -> None:
    result = found("sopp", language="nb", limit=50)
    assert "B35.3" in result  # Fotsopp
    assert result.index("B36") < result.index("B35.3")  # "…soppsykdommer" starts a word


def test_short_words_do_not_match_inside_words() -> None:
    assert "B35.3" not in found("so", language="nb", limit=100)


def test_a_and_o_are_not_aa_and_oe() -> None:
    assert "C46.0" not in found("sår", language="nb", limit=100)  # Kaposis sarkom
    assert "L97" in found("sår", language="nb")
    assert "L97" not in found("sar", language="nb", limit=100)


def test_accents_are_folded() -> None:
    assert "L21" in found("seboreisk dermatitt", language="nb")
    assert "L81.3" in found("cafe au lait", language="nb")


def test_titles_in_the_other_language_are_found_after_the_readers_own() -> None:
    result = found("pruritus", language="nb", limit=50)
    assert "L29.0" in result  # Pruritus ani: a bokmål title
    assert "S02" in result  # Hudkløe in bokmål, "Pruritus" in English
    assert result.index("L29.0") < result.index("S02")


def test_the_system_filter_and_the_limit() -> None:
    assert found("psoriasis", system="icpc2") == ["S91"]
    assert len(found("l", limit=5)) == 5
    assert found("psoriasis", system="snomed") == []


@pytest.mark.parametrize("query", ["", "   ", ".", "-"])
def test_nothing_to_search_for_finds_nothing(query: str) -> None:
    assert found(query) == []


def test_every_code_is_found_by_itself() -> None:
    for code in codes.all_codes():
        assert codes.search(code.code, system=code.system, limit=1) == [code], code
        assert codes.search(code.compact.lower(), system=code.system, limit=1) == [code], code


def test_the_code_lists_module_stays_pure() -> None:
    source = Path(codes.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) django", source, re.MULTILINE)
