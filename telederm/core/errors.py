"""Errors a person can act on. Their message is shown as it is, so it is written for people."""

from __future__ import annotations


class UserFacingError(Exception):
    """A refusal with a message in the user's language (lazy translations welcome)."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class ChangedMeanwhile(UserFacingError):
    """Someone else changed the record after this person loaded it; nothing was overwritten."""
