"""Queue side effects (e-mails, messages) in the same transaction as the change that causes them.

The task queue lives in the same database (django-tasks-db), so a task row written inside the
transaction *is* an outbox row: it commits with the state change or vanishes with its rollback,
and the worker only sees it once committed. See docs/adr/0003-task-queue-and-outbox.md.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tasks.base import Task


def enqueue(task: Task[Any, Any], **kwargs: Any) -> None:
    """Queue `task` to run after the surrounding transaction commits, and only if it does."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox.enqueue must be called inside the transaction of the change")
    task.enqueue(**kwargs)
