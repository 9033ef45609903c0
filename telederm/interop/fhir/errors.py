"""FHIR errors: an OperationOutcome with the right HTTP status, never an HTML page.

`outcome(status, code, text)` is what every refusal of the FHIR API returns (the write helper's
too). `code` is an IssueType code of FHIR R4 (`not-found`, `not-supported`, `invalid`, `login`,
`forbidden`, `conflict`, `processing`, `exception`, …); severity is `error`, or `information`
for a note that does not refuse (see `note`).
"""

from __future__ import annotations

from django.http import HttpResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome

from telederm.interop.fhir.mapping import build

FHIR_JSON = "application/fhir+json; charset=utf-8"
REALM = "telederm"


class FhirError(Exception):
    """A refusal raised deep in the search code and turned into an OperationOutcome by the view."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text


def operation_outcome(code: str, text: str, *, severity: str = "error") -> OperationOutcome:
    return build(
        OperationOutcome,
        issue=[{"severity": severity, "code": code, "diagnostics": text}],
    )


def outcome(status: int, code: str, text: str) -> HttpResponse:
    """An OperationOutcome response with one issue, as application/fhir+json."""
    response = HttpResponse(
        operation_outcome(code, text).model_dump_json(),
        status=status,
        content_type=FHIR_JSON,
    )
    response["Cache-Control"] = "no-store"
    return response


def unauthorised(text: str) -> HttpResponse:
    """401 with the Bearer challenge RFC 6750 asks for."""
    response = outcome(401, "login", text)
    response["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return response


def insufficient_scope(required: str) -> HttpResponse:
    """403 naming the scopes that would have been enough (RFC 6750 §3.1)."""
    response = outcome(403, "forbidden", f"this needs one of the scopes {required} (or wider)")
    response["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{required}"'
    )
    return response


def from_error(error: FhirError) -> HttpResponse:
    return outcome(error.status, error.code, error.text)
