"""Who may work with the message outbox."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from telederm.accounts.models import User

AnyUser = User | AnonymousUser


def can_operate_messages(user: AnyUser) -> bool:
    """The operator watches the message traffic, resends and cancels; nobody else sees it."""
    return isinstance(user, User) and user.is_active and user.role == User.Role.OPERATOR
