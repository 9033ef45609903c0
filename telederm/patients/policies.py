"""Who may do what with patient records."""

from __future__ import annotations

from telederm.accounts.models import User


def can_register_patient(user: User) -> bool:
    """Referring professionals register the patients they refer; patients register themselves."""
    return user.is_authenticated and user.is_active and user.role == User.Role.SUBMITTER
