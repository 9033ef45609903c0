"""Registering patients. The only code that creates or changes a Patient."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.patients import policies
from telederm.patients.identifiers import PersonIdentifier, parse_person_identifier
from telederm.patients.models import Patient


def parse_identifier(text: str) -> PersonIdentifier:
    """Validate a typed identifier with the operator's rule on synthetic numbers."""
    return parse_person_identifier(text, accept_synthetic=settings.TELEDERM_ACCEPT_SYNTHETIC_IDS)


@transaction.atomic
def find_or_register_patient(*, by: User, identifier: PersonIdentifier, full_name: str) -> Patient:
    """The patient with this identifier, registered first if the service has not met them."""
    if not policies.can_register_patient(by):
        raise PermissionDenied
    patient, created = Patient.objects.get_or_create(
        identifier=identifier.value,
        defaults={
            "identifier_kind": identifier.kind.value,
            "full_name": full_name.strip(),
            "birth_date": identifier.birth_date,
            "gp_office": by.organisation if by.is_submitter else None,
        },
    )
    record(actor=by, action="patient.register" if created else "patient.lookup", patient=patient)
    return patient
