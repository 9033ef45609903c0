"""Norwegian person identifiers: parse, classify and validate. Pure logic, no database.

Rules from HL7 Norway no-basis and Skatteetaten (see docs/glossary.md and FACTS.md):
- fødselsnummer: DDMMYY + 3 individual digits + 2 mod-11 check digits (python-stdnum checks it);
- D-nummer: as fødselsnummer with 40 added to the day;
- felles hjelpenummer (FHN): first digit 8 or 9, the same two mod-11 check digits, no birth date;
- H-nummer: 40 added to the month; local to one hospital, so not usable for a referral;
- synthetic test numbers (Skatteetaten's Tenor): 80 added to the month; never real people, accepted
  only where the operator allows them (demo and tests).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.no import fodselsnummer
from stdnum.util import clean


class IdentifierKind(enum.StrEnum):
    FODSELSNUMMER = "fnr"
    D_NUMMER = "dnr"
    FELLES_HJELPENUMMER = "fhn"


# FHIR identifier systems, from HL7 Norway no-basis.
SYSTEMS: dict[IdentifierKind, str] = {
    IdentifierKind.FODSELSNUMMER: "urn:oid:2.16.578.1.12.4.1.4.1",
    IdentifierKind.D_NUMMER: "urn:oid:2.16.578.1.12.4.1.4.2",
    IdentifierKind.FELLES_HJELPENUMMER: "urn:oid:2.16.578.1.12.4.1.4.3",
}


class InvalidIdentifier(ValueError):
    """The text is not a usable Norwegian person identifier; the message says why, for the user."""


@dataclass(frozen=True)
class PersonIdentifier:
    kind: IdentifierKind
    value: str
    is_synthetic: bool = False
    birth_date: dt.date | None = None

    @property
    def system(self) -> str:
        return SYSTEMS[self.kind]


def _check_digits_match(number: str) -> bool:
    return (
        fodselsnummer.calc_check_digit1(number[:9]) == number[9]
        and fodselsnummer.calc_check_digit2(number[:10]) == number[10]
    )


def parse_person_identifier(
    text: str, *, accept_synthetic: bool, today: dt.date | None = None
) -> PersonIdentifier:
    """Turn what a person typed into a validated identifier, or raise InvalidIdentifier."""
    number = clean(text or "", " -.:")
    if not number:
        raise InvalidIdentifier(_("Enter the patient's fødselsnummer or D-nummer (11 digits)."))
    if not number.isdigit():
        raise InvalidIdentifier(_("A fødselsnummer has only digits."))
    if len(number) != 11:
        raise InvalidIdentifier(
            _("A fødselsnummer has 11 digits; this has %(count)d.") % {"count": len(number)}
        )
    if not _check_digits_match(number):
        raise InvalidIdentifier(_("The check digits do not match: a digit is probably mistyped."))
    if number[0] in "89":
        return PersonIdentifier(IdentifierKind.FELLES_HJELPENUMMER, number)

    month = int(number[2:4])
    is_synthetic = month > 80
    if is_synthetic and not accept_synthetic:
        raise InvalidIdentifier(_("This is a synthetic test number, not a real person's number."))
    if 40 < month <= 52:
        raise InvalidIdentifier(
            _(
                "This is an H-nummer, which is local to one hospital. "
                "Use the fødselsnummer, D-nummer or felles hjelpenummer."
            )
        )
    # Undo the synthetic month shift so python-stdnum can read the birth date.
    readable = number[:2] + f"{month - 80:02d}" + number[4:] if is_synthetic else number
    try:
        birth_date = fodselsnummer.get_birth_date(readable)
    except StdnumValidationError as exc:
        raise InvalidIdentifier(_("The number does not contain a valid birth date.")) from exc
    if birth_date > (today or dt.date.today()):
        raise InvalidIdentifier(_("The birth date in this number is in the future."))
    kind = IdentifierKind.D_NUMMER if int(number[0]) >= 4 else IdentifierKind.FODSELSNUMMER
    return PersonIdentifier(kind, number, is_synthetic=is_synthetic, birth_date=birth_date)


def make_synthetic_fodselsnummer(birth_date: dt.date, individual: int) -> str:
    """A valid-format synthetic fødselsnummer (month + 80) for demo and test data.

    Returns the number, or raises ValueError when this individual number gives a check remainder
    of 10 (no valid number exists for it): try the next individual number.
    """
    if not 0 <= individual <= 999:
        raise ValueError("an individual number has three digits")
    base = f"{birth_date:%d}{birth_date.month + 80:02d}{birth_date:%y}{individual:03d}"
    k1 = fodselsnummer.calc_check_digit1(base)
    if k1 == "10":
        raise ValueError("no valid check digit for this individual number")
    k2 = fodselsnummer.calc_check_digit2(base + k1)
    if k2 == "10":
        raise ValueError("no valid check digit for this individual number")
    return base + k1 + k2
