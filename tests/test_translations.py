"""Norwegian bokmål is complete: every message has a translation, none is marked fuzzy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

PO = (
    Path(__file__).resolve().parents[1] / "telederm" / "locale" / "nb" / "LC_MESSAGES" / "django.po"
)


def entries(text: str) -> list[str]:
    return [block for block in text.split("\n\n") if "msgid" in block]


def test_every_bokmal_message_is_translated() -> None:
    blocks = entries(PO.read_text(encoding="utf-8"))[1:]  # the first block is the header
    assert len(blocks) > 200
    untranslated = [
        b
        for b in blocks
        if re.search(r'^msgstr(\[\d\])? ""\n?$', b, re.M)
        and not re.search(r'^msgstr(\[\d\])? ""\n"', b, re.M)
    ]
    fuzzy = [b for b in blocks if "#, fuzzy" in b]
    assert not untranslated, untranslated[:3]
    assert not fuzzy, fuzzy[:3]


@pytest.mark.parametrize(("language", "text"), [("nb", "Logg inn"), ("en", "Sign in")])
def test_the_compiled_catalogue_is_used(language: str, text: str) -> None:
    with translation.override(language):
        assert translation.gettext("Sign in") == text
