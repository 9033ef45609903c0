"""API tokens: the credential a program presents as `Authorization: Bearer tdm_<prefix>_<secret>`.

Only the SHA-256 of the secret is stored; the whole token is shown once, when it is made
(`tokens.issue_token`, `telederm token create`). The prefix is public: it finds the row, names the
token in lists and in the access log, and is how an operator revokes it (ADR 0011).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from telederm.core import clock


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    # SHA-256 of the secret part, in hex. The secret itself is never stored.
    sha256 = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="api_token_secret_is_a_sha256",
            ),
        ]

    def __str__(self) -> str:
        return f"API token {self.prefix}"

    def is_expired(self, at: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or clock.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_usable(self, at: dt.datetime | None = None) -> bool:
        """Neither revoked nor expired, and its owner may still sign in."""
        return not self.is_revoked and not self.is_expired(at) and self.user.is_active
