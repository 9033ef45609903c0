"""What the stand-in answers when it refuses: NHN's ErrorMessage, OAuth errors."""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    """An answer in NHN's ErrorMessage shape."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        code: int = 0,
        validation_errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.validation_errors = validation_errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "errorCode": self.code,
            "validationErrors": self.validation_errors,
            "stackTrace": None,
            "requestId": str(uuid.uuid4()),
        }


class OAuthError(Exception):
    def __init__(self, error: str, description: str = "", headers: dict[str, str] | None = None):
        super().__init__(error)
        self.error = error
        self.description = description
        self.headers = headers or {}


class NonceNeeded(Exception):
    pass
