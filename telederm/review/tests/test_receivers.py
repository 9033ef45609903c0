"""A referral receiver picked from the address register carries its HER-id; typed freely, none."""

from __future__ import annotations

import pytest

from telederm.review.receivers import her_id_in, receiver_name


@pytest.mark.parametrize(
    ("text", "her_id", "name"),
    [
        (
            "Hudavdelingen, Testsykehuset Nord (HER-id 8100071)",
            8100071,
            "Hudavdelingen, Testsykehuset Nord",
        ),
        ("Hudavdelingen, UNN Tromsø", None, "Hudavdelingen, UNN Tromsø"),
        ("Somewhere (HER-id 0)", None, "Somewhere"),
        ("(HER-id 12) in the middle", None, "(HER-id 12) in the middle"),
        ("", None, ""),
    ],
)
def test_the_her_id_is_read_from_the_end_and_left_out_of_the_name(
    text: str, her_id: int | None, name: str
) -> None:
    assert her_id_in(text) == her_id
    assert receiver_name(text) == name
