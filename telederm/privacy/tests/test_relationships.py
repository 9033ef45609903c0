"""Who counts as having a relationship with a patient, for the "no recorded relationship" sign."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.privacy.services import related_pairs

pytestmark = pytest.mark.django_db


def test_the_duty_nurse_who_claimed_a_case_is_related_and_a_colleague_is_not(
    make_case: Callable[..., Case], duty_nurse: User, dermatologist: User
) -> None:
    case = make_case(submit=True)
    patient = case.patient.uuid
    wanted = {(duty_nurse.pk, patient), (dermatologist.pk, patient)}
    assert related_pairs(wanted) == set()
    Case.objects.filter(pk=case.pk).update(claimed_by=duty_nurse)
    assert related_pairs(wanted) == {(duty_nurse.pk, patient)}
