"""A referral receiver as the review form writes it when picked from the address register.

The interop app fills the form's datalist with "Name (HER-id 8100071)"; the HER-id is kept on the
referral (it then also leaves as a Henvisning 2.0) and the name alone is shown to the patient.
Pure: no ORM.
"""

from __future__ import annotations

import re

_RECEIVER_HER_ID = re.compile(r"\s*\(HER-id (\d{1,9})\)\s*$")


def her_id_in(receiver: str) -> int | None:
    """The HER-id a receiver picked from the address register ends with, if any."""
    match = _RECEIVER_HER_ID.search(receiver or "")
    if match is None:
        return None
    return int(match.group(1)) or None


def receiver_name(receiver: str) -> str:
    """The receiver as a person reads it: without the HER-id."""
    return _RECEIVER_HER_ID.sub("", receiver or "").strip()
