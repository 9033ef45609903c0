"""Why a KITH message was refused, in the codes an AppRec carries (kodeverk 8221).

Kodeverk 8221 "Feil i applikasjonskvittering" (OID 2.16.578.1.12.4.1.1.8221) is published in
Volven (volven.no) by Helsedirektoratet. The codes and texts below are the ones two independent
implementations in production use, which agree word for word:
- NAV's eMottak (Kotlin enum `no.nav.emottak.melding.apprec.AppRecErrorCode`);
- Digdir's eFormidling integration point (Java enum
  `no.difi.meldingsutveksling.nextmove.nhn.FeilmeldingForApplikasjonskvittering`, which also names
  the OID);
and E21 appears with the same text in KITH's own AppRec 1.1 example (example-avvist.xml).

Beware: E10 is an invalid *message identifier*, not an invalid fødselsnummer (that is E31).

Pure: no Django.
"""

from __future__ import annotations

from .model import AppRecError

KODEVERK_8221 = "2.16.578.1.12.4.1.1.8221"

# Code → its display text (DN) in kodeverk 8221.
CODES: dict[str, str] = {
    "E10": "Ugyldig meldingsidentifikator",
    "E20": "Lege finnes ikke",
    "E21": "Mottaker finnes ikke",
    "E30": "Pasientens fødselsnummer mangler",
    "E31": "Pasientens fødselsnummer er feil",
    "E32": "Pasientens navn mangler",
    "E35": "Pasienten finnes ikke i mottakersystemet",
    "E36": "Pasientopplysninger er utilstrekkelige",
    "E53": "Pasientens fødselsnummer eller D-nummer finnes ikke registrert i Folkeregisteret.",
    "E54": "Pasientens fødselsnummer er ikke registrert i mottagersystemet",
    "S01": "Feil på signatur",
    "S02": "Ugyldig sertifikat",
    "S03": "Tilbaketrukket sertifikat",
    "S99": "Annen feil på signatur eller sertifikat",
    "T01": "Ikke XML / ikke 'well formed' / uleselig",
    "T02": "XML validerer ikke",
    "T10": "Støtter ikke meldingsformatet",
    "T99": "Annen feil på format",
    "X99": "Annen feil",
}

# The codes this package raises, named for readers of the code.
NOT_XML = "T01"
INVALID = "T02"
UNSUPPORTED_FORMAT = "T10"
OTHER_FORMAT = "T99"
INVALID_MESSAGE_ID = "E10"
OTHER = "X99"


def problem(code: str, details: str = "") -> AppRecError:
    """An AppRecError with the kodeverk's text for `code` (a code outside the table above, e.g.
    from a newer kodeverk version, keeps an empty text rather than failing the receipt)."""
    return AppRecError(code=code, text=CODES.get(code, ""), details=details)


class InvalidMessage(ValueError):
    """A message we refuse to send or to accept: `problems` say why, coded for an AppRec."""

    def __init__(self, problems: list[AppRecError]) -> None:
        if not problems:
            raise ValueError("InvalidMessage needs at least one problem")
        self.problems = problems
        super().__init__("; ".join(f"{p.code} {p.text}: {p.details}" for p in problems))
