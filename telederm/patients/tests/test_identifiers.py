"""Norwegian person identifiers: pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from conftest import synthetic_number
from telederm.patients.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    make_synthetic_fodselsnummer,
    parse_person_identifier,
)


def with_check_digits(first_nine: str) -> str:
    k1 = fodselsnummer.calc_check_digit1(first_nine)
    k2 = fodselsnummer.calc_check_digit2(first_nine + k1)
    assert len(k1) == len(k2) == 1, "pick digits that give valid check digits"
    return first_nine + k1 + k2


def test_a_synthetic_fodselsnummer_is_read_with_its_birth_date() -> None:
    number = synthetic_number(1954, 3, 12)
    parsed = parse_person_identifier(number, accept_synthetic=True)
    assert parsed.kind is IdentifierKind.FODSELSNUMMER
    assert parsed.is_synthetic
    assert parsed.birth_date == dt.date(1954, 3, 12)
    assert parsed.system == "urn:oid:2.16.578.1.12.4.1.4.1"


def test_spaces_and_dashes_are_ignored() -> None:
    number = synthetic_number(1990, 1, 2)
    assert (
        parse_person_identifier(f"{number[:6]} {number[6:]}", accept_synthetic=True).value == number
    )


def test_a_synthetic_d_nummer_is_recognised_by_its_day_plus_40() -> None:
    number = with_check_digits("528270121")  # day 12 + 40, month 2 + 80, 1970, individual 121
    parsed = parse_person_identifier(number, accept_synthetic=True)
    assert parsed.kind is IdentifierKind.D_NUMMER
    assert parsed.birth_date == dt.date(1970, 2, 12)
    assert parsed.system == "urn:oid:2.16.578.1.12.4.1.4.2"


def test_a_felles_hjelpenummer_is_accepted_without_a_birth_date() -> None:
    number = with_check_digits("812345670")
    parsed = parse_person_identifier(number, accept_synthetic=False)
    assert parsed.kind is IdentifierKind.FELLES_HJELPENUMMER
    assert parsed.birth_date is None
    assert parsed.system == "urn:oid:2.16.578.1.12.4.1.4.3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the patient's fødselsnummer"),
        ("1234567890", "11 digits; this has 10"),
        ("12ab5678901", "only digits"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        parse_person_identifier(text, accept_synthetic=True)


def test_one_mistyped_digit_is_caught_by_the_check_digits() -> None:
    number = synthetic_number(1975, 6, 1)
    typo = number[:3] + str((int(number[3]) + 1) % 10) + number[4:]
    with pytest.raises(InvalidIdentifier, match="check digits"):
        parse_person_identifier(typo, accept_synthetic=True)


def test_synthetic_numbers_are_refused_where_the_operator_forbids_them() -> None:
    with pytest.raises(InvalidIdentifier, match="synthetic test number"):
        parse_person_identifier(synthetic_number(1975, 6, 1), accept_synthetic=False)


def test_an_h_nummer_is_refused_because_it_is_local_to_one_hospital() -> None:
    number = with_check_digits("124570120")  # month 5 + 40
    with pytest.raises(InvalidIdentifier, match="H-nummer"):
        parse_person_identifier(number, accept_synthetic=True)


def test_a_birth_date_in_the_future_is_refused() -> None:
    number = synthetic_number(2020, 6, 1, individual=500)  # 500-749 with year 20: born 2020
    with pytest.raises(InvalidIdentifier, match="future"):
        parse_person_identifier(number, accept_synthetic=True, today=dt.date(2019, 1, 1))


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
    individual=st.integers(min_value=0, max_value=499),
)
def test_every_generated_synthetic_number_parses_back_to_its_birth_date(
    birth: dt.date, individual: int
) -> None:
    try:
        number = make_synthetic_fodselsnummer(birth, individual)
    except ValueError:
        return  # no valid check digit exists for this individual number: nothing to parse
    parsed = parse_person_identifier(number, accept_synthetic=True)
    assert parsed.birth_date == birth
    assert parsed.is_synthetic
