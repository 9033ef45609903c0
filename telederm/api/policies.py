"""What an API token may read: its scopes AND what its owner may see (cases.policies).

A scope never widens access: a `user/*.read` token of a GP still reads only the GP's cases. It
narrows it: a token without a scope for the resource reads nothing, and one whose only covering
scope is `patient/...` reads only the holder's own record (SMART's patient in context), even where
the person could see more through the web pages.

A teledermatology case is a FHIR ServiceRequest (the FHIR issue maps the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

from telederm.accounts.models import User
from telederm.api import scopes as scope_rules
from telederm.api.models import ApiToken
from telederm.api.tokens import scopes_of
from telederm.cases.models import Case, CaseQuerySet
from telederm.cases.policies import Basis, access_basis, cases_visible_to

CASE_RESOURCE = "ServiceRequest"
# Contexts in which a person's name may be shown with the data: the patient's own record, and a
# person reading what they may see. A system scope is for back-end services: no names.
_NAMED_CONTEXTS = frozenset({"patient", "user"})


@dataclass(frozen=True)
class ScopeCheck:
    """The result of asking a token's scopes about one interaction with one resource type."""

    contexts: frozenset[str]
    """The contexts whose scopes grant the interaction; empty when none does."""
    required: str
    """The least scopes that would have granted it, for the 403 answer (space-separated)."""

    @property
    def allowed(self) -> bool:
        return bool(self.contexts)

    @property
    def patient_in_context_only(self) -> bool:
        """Only a patient/ scope grants it: the token reads the holder's own record and no other."""
        return self.contexts == frozenset({"patient"})

    @property
    def shows_patient_name(self) -> bool:
        return bool(self.contexts & _NAMED_CONTEXTS)


def check_scope(token: ApiToken, resource_type: str, interaction: str) -> ScopeCheck:
    """Which of the token's contexts grant `interaction` (a `scopes.allows` word or letters)."""
    held = scopes_of(token)
    contexts = frozenset(
        context
        for context in scope_rules.CONTEXTS
        if scope_rules.allows(held, context, resource_type, interaction)
    )
    letters = "".join(
        letter
        for letter in scope_rules.LETTERS
        if letter in scope_rules.required_letters(interaction)
    )
    required = " ".join(
        f"{context}/{resource_type}.{letters}" for context in _contexts_for_role(token.user)
    )
    return ScopeCheck(contexts=contexts, required=required)


def can_read_own_profile(token: ApiToken) -> bool:
    """Any token in force may say whose it is and what it may do: that is not patient data."""
    return token.user.is_active and not token.is_revoked and not token.is_expired()


def cases_readable_with(token: ApiToken, check: ScopeCheck) -> CaseQuerySet:
    """The cases this token may list: the owner's visible cases, narrowed by the scope's context."""
    if not check.allowed:
        return Case.objects.none()
    cases = cases_visible_to(token.user, include_break_glass=False)
    if check.patient_in_context_only:
        cases = cases.filter(patient__user=token.user)
    return cases


def can_read_case(token: ApiToken, check: ScopeCheck, case: Case) -> bool:
    """Whether this token may read this case: scope, the case policy, and the patient in context."""
    # Break-glass is for the person at the screen, in the moment: never through a token.
    basis = access_basis(token.user, case)
    if not check.allowed or basis is None or basis == Basis.BREAK_GLASS:
        return False
    return not check.patient_in_context_only or case.patient.user_id == token.user_id


def basis_for_log(token: ApiToken, case: Case) -> str:
    """Why the token's owner may see this case (own, sender, grant...), for the access log."""
    return access_basis(token.user, case) or ""


def _contexts_for_role(user: User) -> tuple[str, ...]:
    """The contexts a person's tokens may hold (tokens.check_scopes_for), most specific first."""
    if user.role == User.Role.PATIENT:
        return ("patient", "user")
    if user.role == User.Role.OPERATOR:
        return ("user", "system")
    return ("user",)
