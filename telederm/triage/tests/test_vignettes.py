"""Clinical vignettes through the engine: each file's answers give its expected result.

Pure tests: no database. The same files go through `telederm triage assess` in test_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telederm.triage import engine

VIGNETTES = sorted((Path(__file__).parent / "vignettes").glob("*.json"))


def test_there_are_at_least_thirty_vignettes_covering_every_disposition() -> None:
    assert len(VIGNETTES) >= 30
    expected = {json.loads(p.read_text())["expected"]["disposition"] for p in VIGNETTES}
    assert expected == set(engine.DISPOSITIONS)


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda path: path.stem)
def test_vignette(path: Path) -> None:
    vignette = json.loads(path.read_text(encoding="utf-8"))
    assert set(vignette) == {"description", "answers", "expected"}
    result = engine.assess(vignette["answers"])
    expected = vignette["expected"]
    assert result.disposition == expected["disposition"]
    assert result.priority == expected["priority"]
    assert list(result.flags) == expected["flags"]
    assert [reason.rule for reason in result.reasons] == expected["rules"]
