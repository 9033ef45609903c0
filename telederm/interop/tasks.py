"""Message traffic, run by `telederm worker`.

`deliver_messages` is queued by every `queue_message` (after its transaction commits) and by
`fetch_messages`, which the worker also queues periodically (TELEDERM_PERIODIC_TASKS): it fetches
what came in, then delivers what is due, retries included. Both are safe to run in any number of
workers at once: delivery claims each row in its own transaction (ADR 0024).
"""

from __future__ import annotations

from importlib import import_module

from django_tasks import task


@task()
def deliver_messages() -> int:
    """Deliver the messages that are due; recover interrupted ones."""
    from telederm.interop import outbox

    return outbox.deliver_due()


@task()
def fetch_messages() -> int:
    """Fetch and handle incoming messages, then deliver what is due (AppRecs included)."""
    from telederm.interop import outbox

    # The inbox is imported when used: it parses every message kind we take.
    inbox = import_module("telederm.interop.inbox")
    received = int(inbox.receive_all())
    outbox.deliver_due()
    return received
