"""Side effects of an answer, run by `telederm worker`."""

from __future__ import annotations

from django_tasks import task

from telederm.cases.models import Case
from telederm.core.notify import email_person


@task()
def notify_answer(case_uuid: str) -> None:
    """Tell the patient (if they have an account) and the sender that the answer is ready."""
    case = Case.objects.select_related("patient__user", "created_by").get(uuid=case_uuid)
    people = {case.created_by}
    if case.patient.user is not None:
        people.add(case.patient.user)
    for person in sorted(people, key=lambda p: p.pk):
        email_person(
            to=person.email,
            language=person.preferred_language,
            template="review/email/answer_ready.txt",
            context={"case": case, "person": person},
        )
