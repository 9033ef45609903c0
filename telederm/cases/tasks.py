"""Side effects of case steps, run by `telederm worker`; a rerun after a crash re-sends a notice."""

from __future__ import annotations

from django_tasks import task

from telederm.cases.models import Case, CaseGrant
from telederm.core.notify import email_person


@task()
def send_receipt(case_uuid: str) -> None:
    """Tell the sender the case has arrived and by when the clinic answers."""
    case = Case.objects.select_related("created_by").get(uuid=case_uuid)
    sender = case.created_by
    email_person(
        to=sender.email,
        language=sender.preferred_language,
        template="cases/email/receipt.txt",
        context={"case": case, "person": sender},
    )


@task()
def tell_grantee(grant_uuid: str) -> None:
    """Tell an outside professional they may open a case, and until when; nothing clinical."""
    grant = CaseGrant.objects.select_related("grantee", "granted_by").get(uuid=grant_uuid)
    email_person(
        to=grant.grantee.email,
        language=grant.grantee.preferred_language,
        template="cases/email/grant.txt",
        context={"grant": grant, "person": grant.grantee},
    )
