"""Helpers for the API tests: an operator, and tokens issued for the personas of conftest.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telederm.accounts.models import User
from telederm.api.tokens import issue_token


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user(
        "drift@telederm.example", "Correct-horse-battery-9", full_name="Per Drift", role="operator"
    )


@pytest.fixture
def token_for() -> Callable[..., str]:
    """Issue a token and return its plain text, as a program would hold it."""

    def issue(user: User, *scopes: str, expires_days: int | None = None) -> str:
        _, plain = issue_token(user=user, scopes=scopes, expires_days=expires_days)
        return plain

    return issue


def bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}
