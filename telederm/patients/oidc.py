"""Sign-in with HelseID (health personnel) and ID-porten (citizens) over OpenID Connect.

allauth's `openid_connect` provider runs the protocol (authorization code with PKCE, the ID token
checked for issuer, audience and expiry); this adapter decides who the person is, before allauth
signs anyone in (`pre_social_login`), in one transaction:

- ID-porten: only at `acr=idporten-loa-high`. The `pid` claim is the person's fødselsnummer or
  D-nummer; the Patient with that identifier is found (or registered) and its account is the one
  signed in, made first if the patient has none. Each link or creation writes one access-log entry.
- HelseID: only at security level 4 and with an HPR number. The account with that HPR number is
  signed in, whatever its role (never a patient account); without one, a referring health
  professional's account is made.

Anything else is refused with a page that says why, and nothing is written. Accounts need a unique
e-mail address; where the provider gives none (HelseID never does, ID-porten rarely), the account
gets a placeholder under the reserved `.invalid` domain (RFC 2606), which can never receive mail
and says nothing about the person (ADR 0010).

The claim rules (`claims_of`, `citizen_from_claims`, `professional_from_claims`) are pure.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from telederm.accounts.models import User
from telederm.accounts.oidc_config import (
    HELSEID,
    HELSEID_HPR_NUMBER_CLAIM,
    HELSEID_REQUIRED_SECURITY_LEVEL,
    HELSEID_SECURITY_LEVEL_CLAIM,
    IDPORTEN,
    IDPORTEN_LOA_HIGH,
)
from telederm.audit.services import record
from telederm.patients.identifiers import (
    InvalidIdentifier,
    PersonIdentifier,
    parse_person_identifier,
)
from telederm.patients.models import Patient

logger = logging.getLogger(__name__)

PROVIDER_NAMES = {HELSEID: "HelseID", IDPORTEN: "ID-porten"}
PLACEHOLDER_EMAIL_DOMAIN = "no-email.telederm.invalid"
LINK_ACTION = "patient.account.link"
HPR_NUMBER = re.compile(r"[0-9]{1,9}")


class Refusal(Exception):
    """The sign-in cannot go ahead; `message` tells the person why, in their language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Citizen:
    identifier: PersonIdentifier
    full_name: str
    email: str
    language: str


@dataclass(frozen=True)
class Professional:
    hpr_number: str
    full_name: str


def claims_of(extra_data: Mapping[str, Any]) -> dict[str, Any]:
    """One view of the claims allauth kept: userinfo, overlaid by the ID token.

    allauth stores both (`{"userinfo": ..., "id_token": ...}`) but prefers userinfo; the
    assurance claims (`acr`) are in the ID token, which allauth has checked for issuer, audience
    and expiry, so the ID token wins where both carry a claim. Both must describe the same person
    (OpenID Connect Core 5.3.2).
    """
    userinfo = extra_data.get("userinfo") or {}
    id_token = extra_data.get("id_token") or {}
    if not userinfo and not id_token:
        return dict(extra_data)  # stored by allauth before 65.11: the claims themselves
    if userinfo.get("sub") and id_token.get("sub") and userinfo["sub"] != id_token["sub"]:
        raise Refusal(_("The identity provider's answers did not match. Please try again."))
    return {**userinfo, **id_token}


def full_name_from_claims(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())[:200]
    parts = [claims.get(key) for key in ("given_name", "middle_name", "family_name")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())[:200]


def _language(claims: Mapping[str, Any]) -> str:
    """ID-porten's `locale` (nb, nn, en, se): English if chosen, otherwise bokmål."""
    return "en" if claims.get("locale") == "en" else "nb"


def _verified_email(claims: Mapping[str, Any]) -> str:
    """The e-mail address, only if the provider says it is verified and it is well formed."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email.strip().lower()


def citizen_from_claims(claims: Mapping[str, Any], *, accept_synthetic: bool) -> Citizen:
    """Who ID-porten signed in, or Refusal: the level must be high and the number valid."""
    if claims.get("acr") != IDPORTEN_LOA_HIGH:
        raise Refusal(
            _(
                "ID-porten signed you in at a lower security level than health information "
                "needs. Sign in again with BankID, Buypass ID or Commfides (security level high)."
            )
        )
    pid = claims.get("pid")
    if not isinstance(pid, str) or not pid.strip():
        raise Refusal(
            _("ID-porten did not send your national identity number, so we cannot find you.")
        )
    try:
        identifier = parse_person_identifier(pid, accept_synthetic=accept_synthetic)
    except InvalidIdentifier as exc:
        raise Refusal(
            _("ID-porten sent a national identity number Telederm cannot use: %(reason)s")
            % {"reason": exc}
        ) from exc
    return Citizen(
        identifier=identifier,
        full_name=full_name_from_claims(claims),
        email=_verified_email(claims),
        language=_language(claims),
    )


def _security_level(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        return int(value.strip())
    return None


def professional_from_claims(claims: Mapping[str, Any]) -> Professional:
    """Who HelseID signed in, or Refusal: security level 4 and an HPR number are required."""
    level = _security_level(claims.get(HELSEID_SECURITY_LEVEL_CLAIM))
    if level is None or level < HELSEID_REQUIRED_SECURITY_LEVEL:
        raise Refusal(
            _(
                "HelseID signed you in at a lower security level than working with patient "
                "data needs. Sign in again with an electronic ID at security level 4, such as "
                "BankID or Buypass ID."
            )
        )
    raw = claims.get(HELSEID_HPR_NUMBER_CLAIM)
    hpr_number = (
        str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    )
    if not HPR_NUMBER.fullmatch(hpr_number):
        raise Refusal(
            _(
                "Your HelseID sign-in has no HPR number. Telederm is for health personnel "
                "registered in the Health Personnel Register (HPR)."
            )
        )
    return Professional(hpr_number=hpr_number, full_name=full_name_from_claims(claims))


def placeholder_email() -> str:
    """A unique address that can never receive mail and says nothing about the person."""
    return f"{uuid.uuid4().hex}@{PLACEHOLDER_EMAIL_DOMAIN}"


def is_placeholder_email(address: str) -> bool:
    return address.lower().endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)


def _unused_email(email: str) -> str:
    """The given address if no account has it yet; otherwise (or if none) a placeholder.

    An address already in use is never a reason to join two accounts: a mailbox is weaker proof
    of identity than the national identity number the sign-in just proved.
    """
    if email and not User.objects.filter(email__iexact=email).exists():
        return email
    return placeholder_email()


def refusal_response(request: HttpRequest, provider_name: str, message: str) -> HttpResponse:
    return render(
        request,
        "patients/oidc_refused.html",
        {"provider_name": provider_name, "message": message},
        status=403,
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """HelseID and ID-porten prove who a person is, so they may make an account."""
        if sociallogin.account.provider in PROVIDER_NAMES:
            return True
        return super().is_open_for_signup(request, sociallogin)

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Find or make the account this identity belongs to, and link it; or refuse."""
        provider = sociallogin.account.provider
        if provider not in PROVIDER_NAMES:
            return
        try:
            process = sociallogin.state.get("process") or AuthProcess.LOGIN
            if process != AuthProcess.LOGIN:
                raise Refusal(
                    _("Sign out first, then sign in with %(provider)s.")
                    % {"provider": PROVIDER_NAMES[provider]}
                )
            claims = claims_of(sociallogin.account.extra_data)
            with transaction.atomic():
                if provider == IDPORTEN:
                    self._citizen(request, sociallogin, claims)
                else:
                    self._professional(request, sociallogin, claims)
        except IntegrityError:
            # Two first sign-ins for the same person at once: the other one won; this one
            # wrote nothing and can simply be tried again.
            logger.warning("%s sign-in raced another; refused", provider)
            response = refusal_response(
                request, PROVIDER_NAMES[provider], _("Something went wrong. Please try again.")
            )
            raise ImmediateHttpResponse(response) from None
        except Refusal as refusal:
            logger.info("%s sign-in refused: %s", provider, refusal.message)
            response = refusal_response(request, PROVIDER_NAMES[provider], refusal.message)
            raise ImmediateHttpResponse(response) from None

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        """Say in the log why a provider sign-in failed (allauth shows a page but logs nothing)."""
        logger.warning(
            "%s sign-in failed: %s%s",
            getattr(provider, "sub_id", provider),
            error or "error",
            f" ({type(exception).__name__}: {exception})" if exception else "",
        )
        super().on_authentication_error(request, provider, error, exception, extra_context)

    def _citizen(
        self, request: HttpRequest, sociallogin: SocialLogin, claims: Mapping[str, Any]
    ) -> None:
        citizen = citizen_from_claims(
            claims, accept_synthetic=settings.TELEDERM_ACCEPT_SYNTHETIC_IDS
        )
        # Locks the record (no outer join: PostgreSQL cannot lock the nullable side of one).
        patient = (
            Patient.objects.select_for_update().filter(identifier=citizen.identifier.value).first()
        )
        reason = ""
        if patient is not None and patient.user is not None:
            user = patient.user
            if not user.is_patient:
                raise Refusal(
                    _(
                        "This national identity number belongs to a staff account. "
                        "Contact Telederm's support."
                    )
                )
        else:
            full_name = citizen.full_name or (patient.full_name if patient else "")
            user = User.objects.create_user(
                _unused_email(citizen.email),
                None,
                full_name=full_name,
                role=User.Role.PATIENT,
                preferred_language=citizen.language,
            )
            if patient is not None:
                patient.user = user
                patient.save(update_fields=["user"])
                reason = "ID-porten sign-in: account made for the patient's record"
            else:
                patient = Patient.objects.create(
                    identifier=citizen.identifier.value,
                    identifier_kind=citizen.identifier.kind.value,
                    full_name=full_name,
                    birth_date=citizen.identifier.birth_date,
                    preferred_language=citizen.language,
                    user=user,
                )
                reason = "ID-porten sign-in: patient registered with an account"
        if sociallogin.is_existing:
            if sociallogin.user is None or sociallogin.user.pk != user.pk:
                raise Refusal(_mismatch("ID-porten"))
        else:
            sociallogin.connect(request, user)
            reason = reason or "ID-porten sign-in linked to the patient's account"
        if reason:
            record(
                actor=user,
                action=LINK_ACTION,
                patient=patient,
                request=request,
                reason=reason,
                basis="own",
            )

    def _professional(
        self, request: HttpRequest, sociallogin: SocialLogin, claims: Mapping[str, Any]
    ) -> None:
        professional = professional_from_claims(claims)
        matches = list(User.objects.filter(hpr_number=professional.hpr_number)[:2])
        if len(matches) > 1:
            raise Refusal(
                _(
                    "More than one Telederm account has your HPR number. Contact Telederm's "
                    "support to have this corrected."
                )
            )
        if matches:
            user = matches[0]
            if user.is_patient:
                raise Refusal(
                    _(
                        "Your HPR number belongs to a patient account, which HelseID cannot open. "
                        "Contact Telederm's support."
                    )
                )
        else:
            user = User.objects.create_user(
                placeholder_email(),
                None,
                full_name=professional.full_name,
                role=User.Role.SUBMITTER,
                hpr_number=professional.hpr_number,
            )
        if sociallogin.is_existing:
            if sociallogin.user is None or sociallogin.user.pk != user.pk:
                raise Refusal(_mismatch("HelseID"))
        else:
            sociallogin.connect(request, user)


def _mismatch(provider_name: str) -> str:
    return _(
        "Your %(provider)s identity is linked to a different Telederm account. "
        "Contact Telederm's support."
    ) % {"provider": provider_name}
