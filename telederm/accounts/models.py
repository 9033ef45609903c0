"""People who sign in, the role each plays, and the organisations they work for."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """A GP office, nursing home, offshore installation, prison health service or the clinic itself.

    Addressed in the national message network by its HER-id (Adresseregisteret).
    """

    class Kind(models.TextChoices):
        CLINIC = "clinic", _("Teledermatology clinic")
        GP_OFFICE = "gp_office", _("GP office")
        NURSING_HOME = "nursing_home", _("Nursing home")
        OFFSHORE = "offshore", _("Offshore installation")
        PRISON = "prison", _("Prison health service")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    her_id = models.PositiveIntegerField(_("HER-id"), unique=True, null=True, blank=True)
    organisation_number = models.CharField(_("organisation number"), max_length=9, blank=True)
    municipality = models.CharField(_("municipality"), max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", User.Role.OPERATOR)
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. One role each: what a person may see follows from it (policies)."""

    class Role(models.TextChoices):
        PATIENT = "patient", _("Patient")
        SUBMITTER = "submitter", _("Referring health professional")
        DUTY_NURSE = "duty_nurse", _("Duty nurse")
        DERMATOLOGIST = "dermatologist", _("Dermatologist")
        COORDINATOR = "coordinator", _("Coordinator")
        ANALYST = "analyst", _("Analyst")
        OPERATOR = "operator", _("Operator")
        PRIVACY_OFFICER = "privacy_officer", _("Privacy officer")
        EXTERNAL = "external", _("Outside health professional")

    CLINICAL_STAFF: ClassVar[frozenset[str]] = frozenset({Role.DUTY_NURSE, Role.DERMATOLOGIST})

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    title = models.CharField(
        _("title"),
        max_length=100,
        blank=True,
        help_text=_("For example GP, nurse, offshore medic."),
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    hpr_number = models.CharField(_("HPR number"), max_length=9, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, default="nb")
    # For notifications by SMS (they say only that there is news). E.164, e.g. +4791234567.
    mobile_number = models.CharField(_("mobile number"), max_length=16, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hpr_number="") | models.Q(hpr_number__regex=r"^[0-9]{1,9}$"),
                name="user_hpr_number_digits",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def is_submitter(self) -> bool:
        return self.role == self.Role.SUBMITTER

    @property
    def needs_second_factor(self) -> bool:
        """Everyone who may see other people's health data signs in with two factors."""
        return self.role != self.Role.PATIENT

    @property
    def is_clinical_staff(self) -> bool:
        return self.role in self.CLINICAL_STAFF

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email
