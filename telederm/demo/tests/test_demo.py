"""`telederm demo` loads synthetic data once, through the services, and changes nothing on a rerun."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.patients.identifiers import parse_person_identifier
from telederm.patients.models import Patient
from telederm.photos.models import Photo

pytestmark = pytest.mark.django_db


def test_demo_data_spans_the_states_and_a_rerun_duplicates_nothing() -> None:
    call_command("demo", stdout=io.StringIO())
    counts = (
        User.objects.count(),
        Patient.objects.count(),
        Case.objects.count(),
        Photo.objects.count(),
        AccessEvent.objects.count(),
    )
    assert Case.objects.count() == 20
    assert set(Case.objects.values_list("status", flat=True)) == {
        "draft",
        "submitted",
        "in_review",
        "answered",
        "withdrawn",
    }
    call_command("demo", stdout=io.StringIO())
    assert counts == (
        User.objects.count(),
        Patient.objects.count(),
        Case.objects.count(),
        Photo.objects.count(),
        AccessEvent.objects.count(),
    )


def test_every_demo_identity_number_is_synthetic() -> None:
    call_command("demo", stdout=io.StringIO())
    for number in Patient.objects.values_list("identifier", flat=True):
        assert parse_person_identifier(number, accept_synthetic=True).is_synthetic
