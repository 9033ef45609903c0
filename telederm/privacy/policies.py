"""Who may read the access log: the patient their own entries, the privacy officer everyone's."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from telederm.accounts.models import User

AnyUser = User | AnonymousUser


def can_see_own_access_log(user: AnyUser) -> bool:
    """A patient with a record sees who has read and changed their information."""
    return (
        isinstance(user, User) and user.is_active and user.is_patient and hasattr(user, "patient")
    )


def can_review_access_log(user: AnyUser) -> bool:
    """The privacy officer (personvernombud) reviews everyone's accesses."""
    return isinstance(user, User) and user.is_active and user.role == User.Role.PRIVACY_OFFICER
