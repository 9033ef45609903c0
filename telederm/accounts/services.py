"""Changes a person makes to their own account (sign-in itself is allauth's)."""

from __future__ import annotations

from django.db import transaction

from telederm.accounts.models import User
from telederm.core.sms import is_valid_number


@transaction.atomic
def set_notification_settings(*, by: User, mobile_number: str) -> User:
    """Set (or clear, with "") the mobile number this person's SMS notifications go to."""
    if mobile_number and not is_valid_number(mobile_number):
        raise ValueError("an E.164 number or nothing")
    by.mobile_number = mobile_number
    by.save(update_fields=["mobile_number"])
    return by
