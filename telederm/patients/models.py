"""Patients: who a case is about, identified by a Norwegian person identifier."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import Organisation
from telederm.core import clock
from telederm.patients.identifiers import IdentifierKind


class Patient(models.Model):
    """A person cared for, with an account (self-referral) or without (referred on their behalf)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    identifier_kind = models.CharField(
        max_length=3, choices=[(kind.value, kind.name) for kind in IdentifierKind]
    )
    identifier = models.CharField(_("national identity number"), max_length=11, unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, default="nb")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
    )
    gp_office = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="listed_patients",
        verbose_name=_("GP office"),
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(identifier__regex=r"^[0-9]{11}$"),
                name="patient_identifier_11_digits",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name
