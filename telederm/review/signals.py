"""Events of the review that higher layers react to without the review knowing them.

`review_signed` is sent inside the signing transaction, after the case has moved on: receivers
(the interop app, which composes the Dialogmelding to the GP and the Henvisning to a hospital)
write their outbox rows in the same transaction, so the messages exist if and only if the
signature does. Arguments: `review` (signed), `case`, `by` (the signing dermatologist).
"""

from django.dispatch import Signal

review_signed = Signal()
