"""Property-based fuzzing of /fhir/: whatever arrives (search parameters and prefixes, ids, headers,
arbitrary and malformed JSON, near-valid referral Bundles, updates), the answer is never a server
error, and every refusal is an OperationOutcome that parses with fhir.resources R4B.

Two generators: hypothesis strategies written here (mostly wrong input, on purpose), and
schemathesis over an OpenAPI description generated from the same registry that fhir.search and the
CapabilityStatement use (so it covers every advertised type and parameter, with well-typed values).
Bounded (max_examples) so that the whole file runs in well under a minute.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.http import HttpResponse
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.interop.fhir import search
from telederm.interop.tests.test_fhir_write_support import referral_bundle, token_for

pytestmark = pytest.mark.django_db

# More examples for a longer hunt: TELEDERM_FUZZ_EXAMPLES=1000 pytest telederm/interop/tests/...
EXAMPLES = int(os.environ.get("TELEDERM_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # Nothing written into the checkout.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # The world is shared on purpose: reads find data.
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

TYPES = sorted(search.REGISTRY)
COMMON_PARAMS = ["_id", "_count", "_sort", "_include", "_lastUpdated", "_format", "_total"]
PREFIXES = ["", "eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap"]
# Text a URL or a header can carry, with the odd control character; no lone surrogates (they
# cannot be encoded at all, so no client can send them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


class World:
    def __init__(self, client: Client, bearer: str, case: Case) -> None:
        self.client = client
        self.bearer = bearer
        self.case = case
        self.ids = [str(case.uuid), str(case.patient.uuid), str(case.photos.get().uuid)]


@pytest.fixture
def world(gp: User, make_case: Callable[..., Case]) -> World:
    case = make_case(by=gp, patient=User.objects.get(email="kari@pasient.example").patient)
    from telederm.cases import services as case_services

    case = case_services.submit_case(by=gp, case=case, expected_version=case.version)
    return World(Client(), f"Bearer {token_for(gp)}", case)


def check(response: HttpResponse) -> None:
    """No server error; a refusal is an OperationOutcome, anything else a FHIR resource."""
    assert response.status_code < 500, (response.status_code, response.content[:600])
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = json.loads(response.content)
    if response.status_code >= 400:
        OperationOutcome.model_validate(body)
    else:
        get_fhir_model_class(body["resourceType"]).model_validate(body)


# -- strategies ---------------------------------------------------------------------------------

resource_types = st.one_of(
    st.sampled_from(TYPES), st.from_regex(r"[A-Z][A-Za-z]{1,12}", fullmatch=True)
)
ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True),
    st.uuids().map(str),
)


@st.composite
def param_names(draw: st.DrawFn, resource_type: str) -> str:
    known = (
        list(search.advertised_params(resource_type)) if resource_type in search.REGISTRY else []
    )
    names = st.sampled_from(known + COMMON_PARAMS)
    modifiers = st.sampled_from(["exact", "missing", "not", "contains", "identifier", "x"])
    choice: str = draw(st.one_of(names, st.tuples(names, modifiers).map(":".join), TEXT))
    return choice


param_values = st.one_of(
    TEXT,
    st.tuples(st.sampled_from(PREFIXES), st.dates().map(str)).map("".join),
    st.tuples(st.sampled_from(PREFIXES), st.datetimes().map(lambda d: d.isoformat())).map("".join),
    st.tuples(TEXT, TEXT).map("|".join),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(
        [
            "urn:oid:2.16.578.1.12.4.1.4.1|",
            "|12345678901",
            "Patient/",
            "ServiceRequest:patient",
            "Media:subject",
            "*",
            "-_lastUpdated,authored",
            "\x00",
            "%",
            "active,completed",
        ]
    ),
)
accepts = st.one_of(
    st.sampled_from(
        ["", "application/fhir+json", "application/fhir+xml", "text/html", "*/*", "application/*"]
    ),
    HEADER_TEXT,
)


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        TEXT,
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document (dict keys and list indexes), to mutate one."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


TEMPLATE = referral_bundle(photos=1, photo_size=(16, 12))
# The photo's base64 is a leaf like any other; its many characters are not mutated one by one.
TEMPLATE_PATHS = list(_paths(TEMPLATE))


@st.composite
def near_valid_bundles(draw: st.DrawFn) -> dict[str, Any]:
    """A valid referral with one to three changes: an element removed, replaced or duplicated."""
    bundle = copy.deepcopy(TEMPLATE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(TEMPLATE_PATHS))
        parent: Any = bundle
        try:
            for step in where[:-1]:
                parent = parent[step]
            last = where[-1]
            action = draw(st.sampled_from(["delete", "replace", "duplicate", "type"]))
            if action == "delete":
                del parent[last]
            elif action == "replace":
                parent[last] = draw(json_values(8))
            elif action == "duplicate" and isinstance(parent, list):
                parent.append(copy.deepcopy(parent[last]))
            else:
                parent[last] = draw(
                    st.sampled_from([None, "", 0, [], {}, "urn:uuid:nowhere", True, 1.5])
                )
        except (KeyError, IndexError, TypeError):
            continue  # An earlier change removed this place: fine, the bundle is broken anyway.
    return bundle


# -- search and read ----------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_searches_never_fail_on_the_server(world: World, data: st.DataObject) -> None:
    resource_type = data.draw(resource_types)
    pairs = data.draw(st.lists(st.tuples(param_names(resource_type), param_values), max_size=4))
    headers = {"Authorization": world.bearer}
    accept = data.draw(accepts)
    if accept:
        headers["Accept"] = accept
    prefer = data.draw(
        st.one_of(st.sampled_from(["", "handling=lenient", "handling=strict"]), HEADER_TEXT)
    )
    if prefer:
        headers["Prefer"] = prefer
    query = urlencode(pairs)
    response = world.client.get(f"/fhir/{quote(resource_type)}?{query}", headers=headers)
    check(response)


@FUZZ
@given(data=st.data())
def test_reads_never_fail_on_the_server(world: World, data: st.DataObject) -> None:
    resource_type = data.draw(resource_types)
    resource_id = data.draw(st.one_of(ids, st.sampled_from(world.ids)))
    credentials = data.draw(
        st.sampled_from([world.bearer, "", "Bearer", "Bearer tdm_x_y", "Basic Zm9vOmJhcg=="])
    )
    headers = {"Authorization": credentials} if credentials else {}
    response = world.client.get(f"/fhir/{resource_type}/{resource_id}", headers=headers)
    check(response)


# -- writes -------------------------------------------------------------------------------------


def post_bundle(world: World, body: bytes, content_type: str) -> HttpResponse:
    return world.client.post(
        "/fhir/",
        data=body,
        content_type=content_type,
        headers={"Authorization": world.bearer},
    )


@FUZZ
@given(
    body=st.one_of(
        json_values().map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        st.dictionaries(TEXT, json_values(6), max_size=4).map(
            lambda d: json.dumps({"resourceType": "Bundle", "type": "transaction", **d}).encode()
        ),
    ),
    content_type=st.sampled_from(["application/fhir+json", "application/json", "text/plain"]),
)
def test_arbitrary_bodies_posted_never_fail_on_the_server(
    world: World, body: bytes, content_type: str
) -> None:
    check(post_bundle(world, body, content_type))


@FUZZ
@given(bundle=near_valid_bundles())
def test_near_valid_bundles_never_fail_on_the_server(world: World, bundle: dict[str, Any]) -> None:
    response = post_bundle(world, json.dumps(bundle).encode(), "application/fhir+json")
    check(response)
    if response.status_code == 200:
        assert json.loads(response.content)["type"] == "transaction-response"


@FUZZ
@given(
    resource_type=resource_types,
    resource_id=st.one_of(ids, st.just("")),
    if_match=st.one_of(st.none(), HEADER_TEXT, st.integers(0, 9).map(lambda n: f'W/"{n}"')),
    body=st.one_of(
        json_values(10),
        st.fixed_dictionaries(
            {"resourceType": st.just("ServiceRequest")},
            optional={
                "status": st.sampled_from(["revoked", "active", "draft", "x"]),
                "intent": st.sampled_from(["order", "plan", ""]),
                "priority": st.sampled_from(["routine", "urgent", "stat", "?"]),
                "id": ids,
                "subject": json_values(4),
            },
        ),
    ),
)
def test_updates_never_fail_on_the_server(
    world: World, resource_type: str, resource_id: str, if_match: str | None, body: Any
) -> None:
    headers = {"Authorization": world.bearer}
    if if_match is not None:
        headers["If-Match"] = if_match
    target = resource_id or str(world.case.uuid)
    response = world.client.put(
        f"/fhir/{resource_type}/{target}",
        data=json.dumps(body),
        content_type="application/fhir+json",
        headers=headers,
    )
    check(response)


# -- schemathesis over the advertised API ---------------------------------------------------------


def openapi() -> dict[str, Any]:
    """An OpenAPI 3 description of /fhir/'s reads and searches, from fhir.search's registry."""
    paths: dict[str, Any] = {}
    for name in TYPES:
        params = [
            {"name": param, "in": "query", "required": False, "schema": {"type": "string"}}
            for param in sorted(search.advertised_params(name))
        ]
        params.append({"name": "_count", "in": "query", "schema": {"type": "integer"}})
        params.append(
            {
                "name": "_sort",
                "in": "query",
                "schema": {"enum": search.advertised_sorts(name) or ["_lastUpdated"]},
            }
        )
        includes = search.advertised_includes(name)
        if includes:
            params.append({"name": "_include", "in": "query", "schema": {"enum": includes}})
        responses = {"default": {"description": "A FHIR resource or an OperationOutcome"}}
        paths[f"/fhir/{name}"] = {"get": {"parameters": params, "responses": responses}}
        paths[f"/fhir/{name}/{{id}}"] = {
            "get": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"},
                    }
                ],
                "responses": responses,
            }
        }
    return {"openapi": "3.0.3", "info": {"title": "Telederm FHIR", "version": "1"}, "paths": paths}


OPERATIONS = [
    result.ok() for result in schemathesis.openapi.from_dict(openapi()).get_all_operations()
]


@settings(FUZZ, max_examples=EXAMPLES * 3 // 2)
@given(case=st.one_of([operation.as_strategy() for operation in OPERATIONS]))
def test_schemathesis_over_every_advertised_search_and_read(world: World, case: Any) -> None:
    query = urlencode([(key, str(value)) for key, value in (case.query or {}).items()])
    response = world.client.get(
        f"{case.formatted_path}?{query}", headers={"Authorization": world.bearer}
    )
    check(response)
