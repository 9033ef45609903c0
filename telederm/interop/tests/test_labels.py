"""Every access-log action the FHIR API names (built from its registry) reads in plain words."""

from __future__ import annotations

from telederm.interop.fhir.search import access_actions
from telederm.privacy.labels import ACTIONS


def test_every_fhir_action_has_a_plain_language_label() -> None:
    actions = access_actions()
    assert len(actions) >= 20
    assert sorted(set(actions) - set(ACTIONS)) == []
