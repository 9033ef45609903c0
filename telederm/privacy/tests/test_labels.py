"""Every action the code writes to the access log has a sentence the patient can read."""

from __future__ import annotations

import re
from pathlib import Path

from telederm.privacy.labels import ACTIONS

PACKAGE = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r'action="([a-z_]+\.[a-z_.]+)"')


def test_every_recorded_action_has_a_plain_language_label() -> None:
    found = set()
    for source in PACKAGE.rglob("*.py"):
        if "tests" in source.parts or "migrations" in source.parts:
            continue
        found.update(RECORDED.findall(source.read_text("utf-8")))
    assert len(found) >= 30, "the scan should find the actions the services record"
    assert sorted(found - set(ACTIONS)) == []
