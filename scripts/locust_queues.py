"""Locust users for the queue benchmark: duty nurses and dermatologists at work, already signed in.

scripts/bench_queues.py writes a plan (JSON, path in BENCH_PLAN) and runs this file headless:

    locust -f scripts/locust_queues.py --headless -u 50 -r 10 -t 120s --host http://127.0.0.1:PORT

The plan holds, per role, the pages to visit (name, path or path with `{case}`, weight) and the
session cookies of signed-in clinicians (two factors done), each with the cases its queue shows.
Every simulated person takes a session of their own, looks at their queue, opens cases from it
and thinks 1-3 seconds between pages, as a clinician reading a screen does. Only GETs: the data
stays the same however long it runs. A redirect (to sign-in or to the second factor) or any
status but 200 counts as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any, ClassVar

from locust import HttpUser, between, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_PLAN"]).read_text(encoding="utf-8"))


class Clinician(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role: ClassVar[str] = ""
    _sessions: ClassVar[Any] = None

    def on_start(self) -> None:
        plan = PLAN[self.role]
        if type(self)._sessions is None:
            type(self)._sessions = itertools.cycle(plan["sessions"])
        session = next(type(self)._sessions)
        self.client.cookies.set("sessionid", session["cookie"])
        self.cases: list[str] = session["cases"]
        self.pages: list[dict[str, Any]] = plan["pages"]
        self.weights = [page["weight"] for page in self.pages]

    @task
    def visit(self) -> None:
        if not self.pages:
            return
        page = random.choices(self.pages, weights=self.weights)[0]  # noqa: S311  # not a secret
        path = page["path"]
        if "{case}" in path:
            if not self.cases:
                return
            path = path.replace("{case}", random.choice(self.cases))  # noqa: S311
        with self.client.get(
            path, name=page["name"], allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class DutyNurse(Clinician):
    role = "nurse"
    weight = int(PLAN["nurse"]["weight"])


class Dermatologist(Clinician):
    role = "dermatologist"
    weight = int(PLAN["dermatologist"]["weight"])
