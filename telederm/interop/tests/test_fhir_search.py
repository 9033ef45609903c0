"""FHIR search over HTTP: parameters per type, paging, sorting, _include, totals, the log."""

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


def search(client: Client, url: str, token: str, **headers: Any) -> Any:
    response = client.get(url, **bearer(token), **headers)
    assert response.status_code == 200, response.content
    return parsed(response)


def test_a_gp_searches_their_referrals_and_includes_the_patients(
    client: Client, make_case: Callable[..., Case], gp: User, patient_user: User
) -> None:
    cases = [make_case(by=gp, patient=patient_user.patient, submit=True) for _ in range(3)]
    bundle = search(
        client,
        "/fhir/ServiceRequest?_count=2&_include=ServiceRequest:patient",
        token_for(gp),
    )
    assert bundle.type == "searchset"
    assert bundle.total == 3
    matches = [e for e in bundle.entry if e.search.mode == "match"]
    included = [e for e in bundle.entry if e.search.mode == "include"]
    assert len(matches) == 2
    assert [e.resource.id for e in included] == [str(patient_user.patient.uuid)]
    next_url = next(link.url for link in bundle.link if link.relation == "next")
    second = search(client, next_url.removeprefix("http://testserver"), token_for(gp))
    ids = {e.resource.id for e in matches} | {
        e.resource.id for e in second.entry if e.search.mode == "match"
    }
    assert ids == {str(case.uuid) for case in cases}
    assert AccessEvent.objects.filter(action="fhir.servicerequest.list.view").count() == 3
