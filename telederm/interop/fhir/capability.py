"""The CapabilityStatement, generated from the registry the router reads (search.REGISTRY).

Nothing here is written by hand per resource: the types, their search parameters, `_include`s
and `_sort` keys come from `search.py`, so the statement cannot claim what the router refuses.
Writes (the referral transaction, update) are listed when `fhir.write` provides them.
"""

from __future__ import annotations

import importlib
from functools import cache

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from telederm.interop.fhir import search
from telederm.interop.fhir.mapping import build

FHIR_VERSION = "4.0.1"
SOFTWARE = "Telederm"
RESULT_PARAMS_DOC = (
    "Result parameters: _count (default {default}, at most {most}), _sort ({sorts}; - for "
    "descending), _include ({includes}), _total (none, estimate, accurate). Paging follows the "
    "Bundle's next/previous links."
)

# `_totalMethod` (fhirpy's count() sends it) is accepted and ignored: see search.IGNORED_PARAMS.
# The types whose entry in the referral transaction (POST /fhir/) honours ifNoneExist.
CONDITIONAL_CREATE_TYPES = frozenset({"ServiceRequest"})
CONDITIONAL_CREATE_DOC = (
    "Created only inside the referral transaction (POST /fhir/), whose ServiceRequest entry may "
    "carry ifNoneExist: identifier=system|value; a bundle with an identifier this user has sent "
    "before creates nothing and is answered with the first referral's locations."
)


# The types fhir.write updates when it does not say (it may export UPDATABLE_TYPES).
DEFAULT_UPDATABLE = frozenset({"ServiceRequest"})


def _write_interactions() -> tuple[bool, frozenset[str]]:
    """Whether fhir.write serves the transaction, and the types it updates."""
    try:
        module = importlib.import_module("telederm.interop.fhir.write")
    except ModuleNotFoundError:
        return False, frozenset()
    if not hasattr(module, "update"):
        return hasattr(module, "transaction"), frozenset()
    return hasattr(module, "transaction"), frozenset(
        getattr(module, "UPDATABLE_TYPES", DEFAULT_UPDATABLE)
    )


def updatable_types() -> frozenset[str]:
    return _write_interactions()[1]


@cache
def _resources(updatable: frozenset[str], transaction: bool = False) -> list[dict[str, object]]:
    resources: list[dict[str, object]] = []
    for name, kind in search.REGISTRY.items():
        params = search.advertised_params(name)
        includes = search.advertised_includes(name)
        sorts = search.advertised_sorts(name)
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if name in updatable:
            interactions.append({"code": "update"})
        conditional_create = transaction and name in CONDITIONAL_CREATE_TYPES
        resources.append(
            {
                "type": name,
                "documentation": " ".join(
                    part
                    for part in (
                        kind.documentation,
                        CONDITIONAL_CREATE_DOC if conditional_create else "",
                        RESULT_PARAMS_DOC.format(
                            default=search.DEFAULT_COUNT,
                            most=search.MAX_COUNT,
                            sorts=", ".join(sorts),
                            includes=", ".join(includes) or "none",
                        ),
                    )
                    if part
                ),
                "interaction": interactions,
                # R4 ResourceVersionPolicy: every resource carries meta.versionId and its read an
                # ETag ("versioned"); an update must name the version it read in If-Match
                # ("versioned-update"). Neither claims vread or history, which are not served
                # (no such interaction is listed, and readHistory is false).
                "versioning": "versioned-update" if name in updatable else "versioned",
                "readHistory": False,
                "updateCreate": False,
                "conditionalCreate": conditional_create,
                "conditionalUpdate": False,
                "conditionalDelete": "not-supported",
                "searchInclude": includes or None,
                "searchParam": [
                    {
                        "name": param.name,
                        "type": param.type,
                        "documentation": param.documentation,
                    }
                    for param in params.values()
                ],
            }
        )
    return resources


def statement(base_url: str) -> CapabilityStatement:
    """What this server does, for `GET /fhir/metadata`."""
    transaction, updatable = _write_interactions()
    rest: dict[str, object] = {
        "mode": "server",
        "documentation": (
            "Bearer tokens with SMART scopes (patient/, user/, system/ <Type>.read or v2 "
            "letters); see docs/fhir.md. JSON only."
        ),
        "security": {
            "cors": False,
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ]
                }
            ],
            "description": "Authorization: Bearer <Telederm API token> (ADR 0011).",
        },
        "resource": _resources(updatable, transaction),
    }
    if transaction:
        rest["interaction"] = [{"code": "transaction"}]
    return build(
        CapabilityStatement,
        status="active",
        date="2026-11-22",
        kind="instance",
        software={"name": SOFTWARE},
        implementation={"description": "Telederm FHIR R4 API", "url": base_url},
        fhirVersion=FHIR_VERSION,
        format=["application/fhir+json", "json"],
        rest=[rest],
    )
