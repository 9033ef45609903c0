"""Side effects of a review, run by `telederm worker`."""

from __future__ import annotations

from django_tasks import task

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.core.notify import notify_person


def _patient_side(case: Case) -> list[User]:
    """The sender and, if they have an account, the patient: each once."""
    people = {case.created_by}
    if case.patient.user is not None:
        people.add(case.patient.user)
    return sorted(people, key=lambda p: p.pk)


@task()
def notify_answer(case_uuid: str) -> None:
    """Tell the patient and the sender that the answer is ready (no clinical content)."""
    case = Case.objects.select_related("patient__user", "created_by").get(uuid=case_uuid)
    for person in _patient_side(case):
        notify_person(
            person=person,
            template="review/email/answer_ready.txt",
            context={"case": case, "person": person},
        )


@task()
def notify_info_request(case_uuid: str) -> None:
    """Tell the patient side that the clinic needs more from them (the question is in the app)."""
    case = Case.objects.select_related("patient__user", "created_by").get(uuid=case_uuid)
    for person in _patient_side(case):
        notify_person(
            person=person,
            template="review/email/info_requested.txt",
            context={"case": case, "person": person},
        )
