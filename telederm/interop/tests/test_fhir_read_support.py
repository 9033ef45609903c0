"""Helpers for the FHIR read and search tests: the URL map with /fhir/, tokens, re-parsing.

`URLS` is this module's dotted name: tests use `pytest.mark.urls(URLS)` so that /fhir/ is routed
whether or not the site's telederm/urls.py mounts it (the site's routes come along, so the photo
and PDF routes the resources point at resolve too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, include, path
from fhir.resources.R4B import get_fhir_model_class

import telederm.urls
from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.cases.models import Case, Message
from telederm.patients.models import Patient
from telederm.photos.models import Photo
from telederm.review.models import Review

URLS = __name__

_MOUNTED = any(
    getattr(pattern, "namespace", None) == "fhir" for pattern in telederm.urls.urlpatterns
)
urlpatterns: list[URLPattern | URLResolver] = [
    *([] if _MOUNTED else [path("fhir/", include("telederm.interop.fhir.urls"))]),
    *telederm.urls.urlpatterns,
]


def token_for(user: User, *scopes: str) -> str:
    return issue_token(user=user, scopes=scopes or ("user/*.read",))[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def parsed(response: Any) -> Any:
    """The body re-parsed with fhir.resources.R4B as the type it says it is (fails if invalid)."""
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    model = get_fhir_model_class(body["resourceType"])
    return model.model_validate(body)


@dataclass
class World:
    """A GP's referral, answered by a dermatologist with codes, a prescription and a referral."""

    case: Case
    review: Review
    photo: Photo
    message: Message
    patient: Patient


def answered_referral(make_case: Callable[..., Case], gp: User, dermatologist: User) -> World:
    """A case the GP sent, taken and signed by the dermatologist with the referral outcome."""
    from telederm.cases.messaging import send_message
    from telederm.review import services as review_services

    patient_user = User.objects.get(email="kari@pasient.example")
    case = make_case(by=gp, patient=patient_user.patient, submit=True)
    case = review_services.take_for_review(
        by=dermatologist, case=case, expected_version=case.version
    )
    message = send_message(by=dermatologist, case=case, body="Does it itch at night?")
    case.refresh_from_db()
    review = review_services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        assessment="Atypical naevus, dermoscopy advised.",
        advice="You will be called in to the skin clinic.",
        diagnosis="Atypical mole",
        outcome="referral",
        diagnoses=[
            review_services.DiagnosisChoice(system="icd10", code="D22.5", is_primary=True),
            review_services.DiagnosisChoice(system="icpc2", code="S82"),
        ],
        prescriptions=[
            review_services.PrescriptionLine(drug="Hydrokortison", dosage="Twice daily")
        ],
        referral=review_services.ReferralDetails(
            priority="urgent",
            receiver="Hudavdelingen, UNN Tromsø",
            reason="Suspected melanoma",
            pathway="pk_melanoma",
        ),
    )
    case.refresh_from_db()
    return World(
        case=case,
        review=review,
        photo=case.photos.get(),
        message=message,
        patient=patient_user.patient,
    )
