"""The messages that follow a signed answer: the Dialogmelding to the GP, the Henvisning onwards.

`review_signed` is sent inside the signing transaction (telederm/review/services.py `_sign`), so
the outbox rows written here exist if and only if the signature does (ADR 0024).

A message that cannot be composed (the register lacks the receiver, the photo store is down, the
document does not validate) must not undo the dermatologist's signature: the patient's answer
matters more than its copy to the GP. It must not be lost silently either. Each message is
composed in a savepoint; when that fails the signature stands and a `failed` outbox row with the
reason (and no payload: nothing invalid may ever leave) shows on the operator's page and in the
workspace, and the error is logged. A patient whose GP office is not in the register gets no
message: the workspace says so ("No message went to the GP"), and the log has it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.interop import addresses, compose, outbox
from telederm.interop.models import OutgoingMessage
from telederm.review.models import Referral, Review
from telederm.review.signals import review_signed

logger = logging.getLogger(__name__)

# Outcomes whose answer goes to the GP (a request for more information is not signed).
TO_GP = frozenset(
    {Review.Outcome.ADVICE, Review.Outcome.REFERRAL, Review.Outcome.VIDEO, Review.Outcome.CLOSE}
)


@receiver(review_signed, dispatch_uid="interop.messages_for_signed_review")
def _on_review_signed(sender: Any, *, review: Review, case: Case, by: User, **_: Any) -> None:
    queue_answer_messages(by=by, review=review, case=case)


def queue_answer_messages(*, by: User, review: Review, case: Case) -> list[OutgoingMessage]:
    """Queue the Dialogmelding to the GP and, for a referral with a HER-id, the Henvisning."""
    queued = []
    if review.outcome in TO_GP:
        entry = addresses.answer_receiver(case)
        if entry is None:
            logger.info(
                "No Dialogmelding for case %s: the patient's GP office is not in the address "
                "register",
                case.uuid,
            )
        else:
            queued.append(
                _queue(
                    by=by,
                    case=case,
                    kind=OutgoingMessage.Kind.DIALOGMELDING,
                    msg_type=compose.dialogmelding.MSG_TYPE,
                    receiver=entry.her_id,
                    receiver_name=entry.name,
                    build=lambda: compose.dialogmelding_for(review),
                )
            )
    referral = Referral.objects.filter(review=review).first()
    if review.outcome == Review.Outcome.REFERRAL and referral is not None:
        her_id = referral_her_id(referral)
        if her_id is not None:
            target = addresses.find(her_id)
            queued.append(
                _queue(
                    by=by,
                    case=case,
                    kind=OutgoingMessage.Kind.HENVISNING,
                    msg_type=compose.henvisning.MSG_TYPE,
                    receiver=her_id,
                    receiver_name=target.name if target is not None else referral.receiver,
                    build=lambda: compose.henvisning_for(review),
                )
            )
    return queued


def referral_her_id(referral: Referral) -> int | None:
    """The referral's receiver HER-id: as saved, or the one picked from the register in the
    review form ("Name (HER-id N)", `addresses.receiver_label`), which is then kept on it."""
    if referral.receiver_her_id is None:
        picked = addresses.her_id_in(referral.receiver)
        if picked is None:
            return None
        referral.receiver_her_id = picked
        referral.save(update_fields=["receiver_her_id"])
    return referral.receiver_her_id


def _queue(
    *,
    by: User,
    case: Case,
    kind: str,
    msg_type: str,
    receiver: int,
    receiver_name: str,
    build: Callable[[], tuple[str, bytes]],
) -> OutgoingMessage:
    try:
        with transaction.atomic():
            msg_id, payload = build()
            return outbox.queue_message(
                by=by,
                kind=kind,
                msg_id=msg_id,
                msg_type=msg_type,
                receiver_her_id=receiver,
                receiver_name=receiver_name[:200],
                payload=payload,
                case=case,
            )
    except Exception as exc:
        # Any failure to compose or store: the signature stands, the operator sees why.
        logger.exception("Could not compose the %s for case %s", kind, case.uuid)
        return OutgoingMessage.objects.create(
            msg_id=uuid.uuid4(),
            kind=kind,
            msg_type=msg_type,
            case=case,
            receiver_her_id=receiver,
            receiver_name=receiver_name[:200],
            payload=b"",
            status=OutgoingMessage.Status.FAILED,
            last_error=f"Could not be composed: {exc}"[:2000],
            created_by=by,
        )
