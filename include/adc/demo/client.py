"""The demo's people and a small client for Airflow's REST API, shared by the launcher and its checks.

Plain values and httpx: importing this module starts nothing.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from adc.errors import AdcError

# Demo people: Airflow users with their roles. Passwords are fixed and written to passwords.json.
USERS = {
    "admin": "admin",
    "alice": "user",  # Head of Casework Operations: PA-001 owner, IAO for casework assets
    "bob": "user",  # Head of Biometrics: PA-002
    "carol": "user",  # Customer Services Manager: PA-003, PA-004
    "frank": "user",  # HR Director: PA-006
    "gita": "user",  # Chief Statistician: PA-005
    "dana": "op",  # Data Protection Officer
    "erin": "op",  # Deputy DPO: the second pair of eyes
    "victor": "viewer",  # internal auditor, read only
    "nadia": "user",  # a department analyst, cleared to OFFICIAL-SENSITIVE only
    "kemi": "user",  # the Civic Registration Agency's asset owner: PA-008
    "sam": "user",  # the Protective Security Unit's data protection officer: PA-009 (a sealed unit)
}
# Where each works, how far they are cleared and who protects data where: data/organisations.yaml.
# ADC's own account, read only: it reads Airflow's audit log (who ended a review task by hand) through
# the connection adc_airflow_api. Its password is random, in the passwords file and that connection.
AUDIT_READER = "adc-audit"


def password_for(user: str) -> str:
    return f"{user}-dcr-demo"


class DemoError(AdcError):
    pass


class Api:
    """A small client for Airflow's REST API, logged in as one user."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url
        token = httpx.post(f"{base_url}/auth/token", json={"username": user, "password": password}, timeout=30)
        if token.status_code >= 300:
            raise DemoError(f"cannot log in to Airflow as {user}: HTTP {token.status_code} {token.text[:200]}")
        self.client = httpx.Client(
            base_url=f"{base_url}/api/v2",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call, repeated (up to 4 times) while Airflow answers 500/503: under load its metadata
        database can stay locked past its busy timeout, and the same request succeeds a moment later.
        Every write ADC makes is idempotent (a repeat gets 409), so repeating one is safe."""
        for attempt in range(4):
            response = self.client.request(method, path, **kwargs)
            if response.status_code not in (500, 503):
                return response
            time.sleep(2 * (attempt + 1))
        return response

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.get(f"/dags/{dag_id}").status_code == 200:
                return
            time.sleep(1)
        errors = self.client.get("/importErrors").json().get("import_errors", [])
        detail = "; ".join(f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in errors)
        raise DemoError(f"DAG {dag_id} was not parsed within {timeout:.0f} s {detail}")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a run with an id of ADC's own, so a repeat after a lost answer is a 409, not a second run."""
        now = datetime.now(UTC)
        run_id = f"manual__{now.isoformat()}__{uuid.uuid4().hex[:8]}"
        response = self.request("POST", f"/dags/{dag_id}/dagRuns", json={
            "dag_run_id": run_id, "logical_date": now.isoformat(), "conf": conf or {}})
        if response.status_code == 409 and self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}").status_code == 200:
            return run_id  # an earlier try of this call created it
        if response.status_code >= 300:
            raise DemoError(f"cannot trigger {dag_id}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Wait until a DAG run finishes; returns its state."""
        deadline = time.monotonic() + timeout
        state = "queued"
        while time.monotonic() < deadline:
            state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise DemoError(f"{dag_id} run {run_id} still {state} after {timeout:.0f} s")


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Temporarily apply environment variables in this process (for in-process steps)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
