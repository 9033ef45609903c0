"""Deployment checks (`telederm check --deploy`): fine on a laptop, wrong in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[Warning]:
    warnings = []
    if settings.SECRET_KEY.startswith("telederm-development-key"):
        warnings.append(
            Warning(
                "TELEDERM_SECRET_KEY is not set: the development key is in use.", id="telederm.W001"
            )
        )
    if settings.TELEDERM_ACCEPT_SYNTHETIC_IDS:
        warnings.append(
            Warning(
                "Synthetic test identifiers are accepted; set TELEDERM_ACCEPT_SYNTHETIC_IDS=false "
                "in production.",
                id="telederm.W002",
            )
        )
    return warnings
