"""FHIR read over HTTP: every resource type by id, ETags, the statuses of refusals, the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.interop.tests.test_fhir_read_support import URLS, bearer, parsed, token_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def get(client: Client, url: str, token: str | None = None, **headers: Any) -> Any:
    if token is not None:
        headers.update(bearer(token))
    return client.get(url, **headers)


@pytest.fixture
def sent_case(make_case: Callable[..., Case], gp: User, patient_user: User) -> Case:
    return make_case(by=gp, patient=patient_user.patient, submit=True)


def test_a_gp_reads_the_service_request_of_a_case_they_sent(
    client: Client, gp: User, sent_case: Case
) -> None:
    response = get(client, f"/fhir/ServiceRequest/{sent_case.uuid}", token_for(gp))
    assert response.status_code == 200, response.content
    resource = parsed(response)
    assert resource.id == str(sent_case.uuid)
    assert resource.status == "active"
    assert response["ETag"] == f'W/"{sent_case.version}"'
    assert resource.meta.versionId == str(sent_case.version)
    assert response["Cache-Control"] == "no-store"
    assert "Authorization" in response["Vary"]
    logged = AccessEvent.objects.get(action="fhir.servicerequest.view")
    assert logged.case_uuid == sent_case.uuid
    assert logged.basis == "sender"
