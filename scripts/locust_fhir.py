"""Locust users for the FHIR benchmark: programs reading the FHIR API with bearer tokens.

scripts/bench_fhir.py writes a plan (JSON, path in BENCH_PLAN) and runs this file headless:

    locust -f scripts/locust_fhir.py --headless -u 32 -r 32 -t 60s --host http://127.0.0.1:PORT

The plan holds the bearer tokens (dermatologists' `user/*.read`, the privacy officer's for the
access log) and the request kinds, each with a weight and the concrete requests of its kind:
(token, path) pairs where the path is one that token may read (its own cases, their patients,
photos, diagnoses...). Every simulated client sends requests back to back, without thinking time:
a fixed number of requests in flight (closed loop), which measures how many the server answers per
second at that concurrency. Each request draws a kind by weight, then one of its requests. Only
GETs: the data (but for the access log that the reads append to) stays the same however long it
runs. Any status but 200, or a body that is not FHIR JSON, counts as a failure.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_PLAN"]).read_text(encoding="utf-8"))


KINDS = [kind for kind in PLAN["kinds"] if kind["requests"]]
WEIGHTS = [kind["weight"] for kind in KINDS]
HEADERS = [
    {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    for token in PLAN["tokens"]
]


class FhirClient(FastHttpUser):
    wait_time = constant(0)

    @task
    def request(self) -> None:
        kind = random.choices(KINDS, weights=WEIGHTS)[0]  # noqa: S311  # not a secret
        token, path = random.choice(kind["requests"])  # noqa: S311
        with self.client.get(
            path, name=kind["name"], headers=HEADERS[token], catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif not (response.headers.get("Content-Type") or "").startswith(
                "application/fhir+json"
            ):
                response.failure(f"Content-Type {response.headers.get('Content-Type')}")
