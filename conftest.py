"""Shared fixtures: the personas of DESIGN.md, a private photo store, and helpers to make cases.

Every identity number here is synthetic (month + 80): it belongs to nobody.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from django.test import Client
from PIL import Image

from telederm.accounts.models import Organisation, User
from telederm.cases import services as case_services
from telederm.cases.models import Case
from telederm.core import sms
from telederm.patients.identifiers import make_synthetic_fodselsnummer
from telederm.patients.models import Patient
from telederm.photos.services import add_photo

PASSWORD = "Correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TELEDERM_UPLOAD_DIR = tmp_path / "uploads"
    settings.STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TELEDERM_SMS_BACKEND = "telederm.core.sms.LocMemBackend"
    sms.outbox.clear()
    settings.LANGUAGE_CODE = "en"
    # Messages to GPs and hospitals: the file-drop folders of this test only.
    settings.TELEDERM_MESSAGE_FILE_OUT = tmp_path / "messages" / "out"
    settings.TELEDERM_MESSAGE_FILE_IN = tmp_path / "messages" / "in"
    # Password hashing is deliberately slow; tests need none of that strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _worker_keeps_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-django runs each test in a transaction; django-tasks-db's worker calls
    close_old_connections between tasks, which on PostgreSQL closes a connection it finds inside a
    transaction: the test's own. While a test transaction is open, the worker leaves it alone."""
    from django.db import close_old_connections, connection
    from django_tasks_db.management.commands import db_worker

    def close_unless_in_test_transaction(**kwargs: Any) -> None:
        if not connection.in_atomic_block:
            close_old_connections(**kwargs)

    monkeypatch.setattr(db_worker, "close_old_connections", close_unless_in_test_transaction)


def synthetic_number(year: int, month: int, day: int, individual: int = 100) -> str:
    for candidate in range(individual, individual + 10):
        try:
            return make_synthetic_fodselsnummer(dt.date(year, month, day), candidate)
        except ValueError:
            continue
    raise AssertionError("no valid synthetic number in ten tries")


def jpeg_bytes(
    size: tuple[int, int] = (800, 600),
    colour: tuple[int, int, int] = (200, 150, 130),
    exif: Image.Exif | None = None,
) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.save(out, format="JPEG", exif=exif or Image.Exif())
    return out.getvalue()


@pytest.fixture
def clinic(db: None) -> Organisation:
    return Organisation.objects.create(name="Telederm hudklinikk", kind="clinic", her_id=8100001)


@pytest.fixture
def gp_office(db: None) -> Organisation:
    return Organisation.objects.create(name="Nordkapp legesenter", kind="gp_office", her_id=8100002)


def _user(email: str, role: str, organisation: Organisation | None = None, **extra: Any) -> User:
    return User.objects.create_user(
        email,
        PASSWORD,
        full_name=extra.pop("full_name", email.split("@")[0].title()),
        role=role,
        organisation=organisation,
        **extra,
    )


def _patient(email: str, full_name: str, born: tuple[int, int, int]) -> User:
    """A patient with an account, as after a self-referral sign-up."""
    user = _user(email, User.Role.PATIENT, full_name=full_name)
    Patient.objects.create(
        identifier=synthetic_number(*born), identifier_kind="fnr", full_name=full_name, user=user
    )
    return user


@pytest.fixture
def patient_user(db: None) -> User:
    return _patient("kari@pasient.example", "Kari Nordmann", (1970, 5, 17))


@pytest.fixture
def other_patient_user(db: None) -> User:
    return _patient("ola@pasient.example", "Ola Hansen", (1980, 2, 3))


@pytest.fixture
def gp(gp_office: Organisation) -> User:
    return _user(
        "lege@nordkapp.example",
        User.Role.SUBMITTER,
        gp_office,
        full_name="Ingrid Lie",
        title="GP",
        hpr_number="9100021",
    )


@pytest.fixture
def other_gp(gp_office: Organisation) -> User:
    return _user("lege2@nordkapp.example", User.Role.SUBMITTER, gp_office, full_name="Knut Ås")


@pytest.fixture
def duty_nurse(clinic: Organisation) -> User:
    return _user("vakt@telederm.example", User.Role.DUTY_NURSE, clinic, full_name="Mona Berg")


@pytest.fixture
def dermatologist(clinic: Organisation) -> User:
    return _user(
        "hudlege@telederm.example", User.Role.DERMATOLOGIST, clinic, full_name="Erik Strand"
    )


@pytest.fixture
def other_dermatologist(clinic: Organisation) -> User:
    return _user("hudlege2@telederm.example", User.Role.DERMATOLOGIST, clinic, full_name="Anne Moe")


@pytest.fixture
def coordinator(clinic: Organisation) -> User:
    return _user("koordinator@telederm.example", User.Role.COORDINATOR, clinic)


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in, but with no relation to anyone's case."""
    return _user("analytiker@telederm.example", User.Role.ANALYST)


def sign_in(client: Client, user: User, *, second_factor: bool = True) -> Client:
    """Sign a test client in as this person, with a second factor where their role needs one.

    The sign-in pages themselves are tested through allauth in accounts/tests and in Chromium;
    everywhere else a test starts from a signed-in session, as allauth leaves it.
    """
    client.force_login(user)
    if second_factor and user.role != User.Role.PATIENT:
        session = client.session
        now = time.time()
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "password", "at": now, "email": user.email},
            {"method": "mfa", "at": now, "type": "totp"},
        ]
        session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
        session.save()
    return client


ANSWERS = {
    "complaint": "A mole on my back has grown darker.",
    "body_site": "back",
    "onset": "months",
    "change": "changing",
    "itch": "none",
    "pain": "mild",
    "treatments_tried": "",
}


def answer(
    case: Case,
    by: User,
    *,
    take: bool = False,
    assessment: str = "Clinical note for the GP",
    diagnosis: str = "Naevus",
    advice: str = "Keep an eye on it.",
) -> None:
    """A dermatologist answers a sent case (taking it first with take=True)."""
    from telederm.review.services import answer_case, take_for_review

    if take:
        case = take_for_review(by=by, case=case, expected_version=case.version)
    answer_case(
        by=by,
        case=case,
        expected_version=case.version,
        assessment=assessment,
        diagnosis=diagnosis,
        advice=advice,
    )


@pytest.fixture
def make_case(patient_user: User) -> Callable[..., Case]:
    """A case by a sender: draft, with photos, or sent."""

    def make(
        *,
        by: User | None = None,
        patient: Patient | None = None,
        photos: int = 1,
        submit: bool = False,
        **answers: Any,
    ) -> Case:
        sender = by or patient_user
        the_patient = patient or patient_user.patient
        merged = {**ANSWERS, **answers}
        if sender.role == User.Role.SUBMITTER:
            merged.setdefault("patient_consents", True)
        case = case_services.start_case(by=sender, patient=the_patient, answers=merged)
        for index in range(photos):
            add_photo(
                by=sender,
                case=case,
                upload=io.BytesIO(jpeg_bytes(colour=(200, 150, 130 + index))),
                process_now=True,
            )
        case.refresh_from_db()
        if submit:
            case = case_services.submit_case(by=sender, case=case, expected_version=case.version)
        return case

    return make


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # WhiteNoise warns when the collected-static folder is missing (a fresh clone); tests serve
    # static files from the apps, so an empty folder is all it needs.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']}"
