"""Access beyond the everyday rules: grants to outside professionals, and breaking the glass.

Both are time-boxed, both are written to the case history the patient reads and to the access
log the privacy officer reviews.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies
from telederm.cases.models import BreakGlassAccess, Case, CaseEvent, CaseGrant
from telederm.cases.tasks import tell_grantee
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError

HPR_NUMBER = re.compile(r"^[0-9]{4,9}$")
MIN_REASON_LENGTH = 10


@transaction.atomic
def grant_access(
    *,
    by: User,
    case: Case,
    hpr_number: str,
    email: str,
    full_name: str,
    purpose: str,
    days: int,
    request: HttpRequest | None = None,
) -> CaseGrant:
    """Let a health professional outside the case see it, for `days` days and one purpose.

    The grantee is found by e-mail, or gets an account of their own (role: outside health
    professional, no password yet; they set one through "Forgot your password?" and must set up
    two-factor authentication before they see the case).
    """
    if not policies.can_grant_access(by, case):
        raise PermissionDenied
    hpr_number = hpr_number.strip()
    if not HPR_NUMBER.match(hpr_number):
        raise UserFacingError(_("An HPR number is 4 to 9 digits."))
    if not 1 <= days <= settings.TELEDERM_GRANT_MAX_DAYS:
        raise UserFacingError(
            _("Access can be given for 1 to %(days)d days.")
            % {"days": settings.TELEDERM_GRANT_MAX_DAYS}
        )
    grantee = _grantee(email=email.strip().lower(), full_name=full_name.strip(), hpr=hpr_number)
    if grantee.pk == by.pk:
        raise UserFacingError(_("You already have access to this case."))
    now = clock.now()
    grant = CaseGrant.objects.create(
        case=case,
        grantee=grantee,
        granted_by=by,
        purpose=purpose.strip(),
        starts_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    CaseEvent.objects.create(case=case, at=now, actor=by, action=CaseEvent.Action.ACCESS_GRANTED)
    record(
        actor=by,
        action="case.grant",
        patient=case.patient,
        case=case,
        obj=grant,
        request=request,
        reason=grant.purpose,
        basis=policies.access_basis(by, case) or "",
    )
    outbox.enqueue(tell_grantee, grant_uuid=str(grant.uuid))
    return grant


def _grantee(*, email: str, full_name: str, hpr: str) -> User:
    person = User.objects.select_for_update().filter(email=email).first()
    if person is None:
        if not full_name:
            raise UserFacingError(_("Give the person's full name."))
        person = User.objects.create_user(
            email, None, full_name=full_name, role=User.Role.EXTERNAL, hpr_number=hpr
        )
        return person
    if person.is_patient:
        raise UserFacingError(_("This e-mail address belongs to a patient account."))
    if person.hpr_number and person.hpr_number != hpr:
        raise UserFacingError(_("This e-mail address belongs to a person with another HPR number."))
    if not person.hpr_number:
        person.hpr_number = hpr
        person.save(update_fields=["hpr_number"])
    return person


@transaction.atomic
def revoke_grant(*, by: User, grant: CaseGrant, request: HttpRequest | None = None) -> CaseGrant:
    """End a grant now; the grantee loses the case at their next click."""
    grant = CaseGrant.objects.select_for_update().select_related("case__patient").get(pk=grant.pk)
    if not policies.can_revoke_grant(by, grant):
        raise PermissionDenied
    if grant.revoked_at is None:
        now = clock.now()
        grant.revoked_at = now
        grant.revoked_by = by
        grant.save(update_fields=["revoked_at", "revoked_by"])
        CaseEvent.objects.create(
            case=grant.case, at=now, actor=by, action=CaseEvent.Action.ACCESS_REVOKED
        )
        record(
            actor=by,
            action="case.grant.revoke",
            patient=grant.case.patient,
            case=grant.case,
            obj=grant,
            request=request,
        )
    return grant


@transaction.atomic
def break_glass(
    *, by: User, case: Case, reason: str, request: HttpRequest | None = None
) -> BreakGlassAccess:
    """Open a case outside one's rights for a short time, with a reason that is reviewed."""
    if not policies.can_break_glass(by, case):
        raise PermissionDenied
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH:
        raise UserFacingError(_("Say why you need to open this case (at least a short sentence)."))
    now = clock.now()
    access = BreakGlassAccess.objects.create(
        case=case,
        user=by,
        reason=reason,
        starts_at=now,
        expires_at=now + dt.timedelta(minutes=settings.TELEDERM_BREAK_GLASS_MINUTES),
    )
    record(
        actor=by,
        action="case.break_glass",
        patient=case.patient,
        case=case,
        obj=access,
        request=request,
        reason=reason,
        basis=policies.Basis.BREAK_GLASS,
    )
    return access


def break_glass_reason(user: User, case: Case) -> str:
    """The reason given for the break-glass access in force, for the access log."""
    access = BreakGlassAccess.objects.active().filter(case=case, user=user).order_by("-pk").first()
    return access.reason if access else ""


def access_for_log(user: User, case: Case) -> tuple[str, str] | None:
    """Why this person may open this case and the reason they gave, for the access log entry;
    None when they may not open it."""
    basis = policies.access_basis(user, case)
    if basis is None:
        return None
    return basis, break_glass_reason(user, case) if basis == policies.Basis.BREAK_GLASS else ""
