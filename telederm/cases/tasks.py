"""Side effects of case steps, run by `telederm worker`; a rerun after a crash re-sends a notice."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django_tasks import task

from telederm.accounts.models import User
from telederm.cases import policies
from telederm.cases.models import Case, CaseGrant, Message
from telederm.core.notify import email_person, notify_person


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


@task()
def notify_new_message(message_uuid: str) -> None:
    """Tell the other side there is a message on the case: that, and where to sign in; never who
    wrote it or what it says (e-mail and SMS are not safe channels for health data)."""
    message = Message.objects.select_related(
        "case__patient__user", "case__created_by", "case__assigned_to", "case__claimed_by"
    ).get(uuid=message_uuid)
    case = message.case
    if message.from_clinic:
        people = patient_side_recipients(case)
        path = reverse("cases:detail", args=[case.uuid])
    else:
        people = clinic_recipients(case)
        path = reverse("review:case", args=[case.uuid])
    link = f"{settings.TELEDERM_BASE_URL}{path}#messages"
    for person in people:
        if person.pk == message.author_id:
            continue
        notify_person(
            person=person,
            template="cases/email/new_message.txt",
            context={"person": person, "link": link},
        )


def clinic_recipients(case: Case) -> list[User]:
    """Who in the clinic hears of a patient's message: the assigned dermatologist, else the duty
    nurse who claimed the case, else every duty nurse on the rota."""
    if case.assigned_to is not None and case.assigned_to.is_active:
        return [case.assigned_to]
    claimed = case.claimed_by
    if claimed is not None and policies.access_basis(claimed, case) is not None:
        return [claimed]
    return list(User.objects.filter(role=User.Role.DUTY_NURSE, is_active=True).order_by("pk"))


def patient_side_recipients(case: Case) -> list[User]:
    """Who on the patient side hears of the clinic's message: the sender, and the patient too
    when someone else sent the case and the patient has written in the thread themself."""
    people = [case.created_by]
    patient_user = case.patient.user
    if (
        patient_user is not None
        and patient_user.pk != case.created_by_id
        and case.messages.filter(author=patient_user).exists()
    ):
        people.append(patient_user)
    return [person for person in people if person.is_active]
