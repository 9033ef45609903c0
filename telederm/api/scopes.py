"""SMART on FHIR scopes: parse, validate and ask what they allow. Pure logic, no database.

A scope is `context/ResourceType.permissions` (ADR 0011):

- context: `patient` (data about the patient in context: for Telederm, the token holder's own
  record), `user` (whatever the token holder may see as a person), `system` (a back-end service;
  operators only);
- resource type: a FHIR resource type name (`ServiceRequest`, `Media`, ...) or `*` for all;
- permissions in SMART v1 words (`read`, `write`, `*`) or SMART v2 letters, a non-empty selection
  of `c r u d s` written in that order (`r`, `rs`, `cud`, `cruds`).

The v1 words are their v2 equivalents: `read` = `rs`, `write` = `cud`, `*` = `cruds`. SMART v2's
finer scopes with query parameters (`patient/Observation.rs?category=...`) and non-resource scopes
(`openid`, `launch`, `offline_access`) are refused: Telederm tokens carry resource scopes only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
LETTERS = "cruds"
# What each SMART v1 permission word means in v2 letters.
V1_WORDS = {"read": "rs", "write": "cud", "*": "cruds"}
# The words `allows` takes besides v2 letters, with the letters each requires (all of them).
INTERACTIONS = {
    "read": "rs",
    "write": "cud",
    "create": "c",
    "search": "s",
    "update": "u",
    "delete": "d",
}

_SCOPE = re.compile(
    r"(?P<context>[a-z]+)/(?P<resource>\*|[A-Z][A-Za-z]*)\.(?P<permissions>read|write|\*|[a-z]+)"
)
_V2 = re.compile(r"c?r?u?d?s?")
_EXAMPLES = "e.g. patient/*.read, user/Media.rs or system/*.write"


class ScopeError(ValueError):
    """A scope that is not one Telederm understands; the message names it and says why."""


@dataclass(frozen=True)
class Scope:
    context: str
    resource_type: str
    """A FHIR resource type name, or `*` for every type."""
    permissions: frozenset[str]
    """The v2 letters this scope grants."""
    text: str
    """The scope as written."""

    def __str__(self) -> str:
        return self.text

    @property
    def canonical(self) -> str:
        """The SMART v2 form: `user/*.read` is `user/*.rs`."""
        letters = "".join(letter for letter in LETTERS if letter in self.permissions)
        return f"{self.context}/{self.resource_type}.{letters}"

    def covers(self, context: str, resource_type: str) -> bool:
        return self.context == context and self.resource_type in {"*", resource_type}


def parse_scope(text: str) -> Scope:
    """One scope, or ScopeError saying what is wrong with it."""
    if not isinstance(text, str):
        raise ScopeError(f"scope {text!r} is not text")
    if "?" in text:
        raise ScopeError(
            f"scope {text!r}: query parameters (SMART v2 finer-grained scopes) are not supported"
        )
    match = _SCOPE.fullmatch(text)
    if match is None:
        if "/" not in text:
            raise ScopeError(
                f"scope {text!r} is not a resource scope: expected context/ResourceType.permissions"
                f", {_EXAMPLES}"
            )
        raise ScopeError(
            f"scope {text!r} is malformed: expected context/ResourceType.permissions, {_EXAMPLES}"
        )
    context, resource_type, permissions = match.group("context", "resource", "permissions")
    if context not in CONTEXTS:
        raise ScopeError(
            f"scope {text!r}: unknown context {context!r}; use one of {', '.join(CONTEXTS)}"
        )
    if permissions in V1_WORDS:
        letters = V1_WORDS[permissions]
    elif permissions and _V2.fullmatch(permissions):
        letters = permissions
    else:
        raise ScopeError(
            f"scope {text!r}: permissions {permissions!r} must be read, write, * or SMART v2 "
            "letters from c, r, u, d, s, each at most once and in that order (e.g. rs, cud)"
        )
    return Scope(context, resource_type, frozenset(letters), text)


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Several scopes; each value may also hold several separated by spaces, as OAuth writes them.

    Duplicates are dropped (first one kept). Raises ScopeError on the first bad scope.
    """
    if isinstance(values, str):
        values = [values]
    seen: dict[str, Scope] = {}
    for value in values:
        for text in value.split() if isinstance(value, str) else [value]:
            scope = parse_scope(text)
            seen.setdefault(scope.text, scope)
    return tuple(seen.values())


def required_letters(interaction: str) -> frozenset[str]:
    """The v2 letters an interaction needs: a word from INTERACTIONS or letters such as `rs`."""
    letters = INTERACTIONS.get(interaction, interaction)
    if not letters or any(letter not in LETTERS for letter in letters):
        raise ValueError(
            f"unknown interaction {interaction!r}: use {', '.join(INTERACTIONS)} or letters "
            "from c, r, u, d, s"
        )
    return frozenset(letters)


def granted(scopes: Iterable[Scope | str], context: str, resource_type: str) -> frozenset[str]:
    """The v2 letters these scopes together grant on a resource type in a context."""
    letters: set[str] = set()
    for scope in scopes:
        parsed = scope if isinstance(scope, Scope) else parse_scope(scope)
        if parsed.covers(context, resource_type):
            letters |= parsed.permissions
    return frozenset(letters)


def allows(
    scopes: Iterable[Scope | str], context: str, resource_type: str, interaction: str
) -> bool:
    """Whether the scopes together grant `interaction` on `resource_type` in `context`.

    `interaction` is `read` (all of r and s, as SMART v1 means it), `write` (all of c, u and d),
    `create`, `search`, `update`, `delete`, or v2 letters (`r` to read one resource by id, `s` to
    search). Scopes add up: `user/ServiceRequest.r` with `user/*.s` allows `read`.
    """
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}; use one of {', '.join(CONTEXTS)}")
    return required_letters(interaction) <= granted(scopes, context, resource_type)
