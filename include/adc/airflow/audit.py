"""What Airflow's audit log says about a task instance: who changed its state, and when.

A task ADC asks a question with can be marked success, failed or skipped, or cleared, by any
Airflow ``user``. ADC records no answer then, and notes who did it. A task cannot read Airflow's
metadata database, so this reads the audit log over Airflow's REST API, as the service account of
the connection ``adc_airflow_api`` (an http connection: host, port, login and password of a user
allowed to read the audit log, e.g. role viewer). Without that connection ADC notes that the audit
log holds the answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from adc.connections import get_connection

AUDIT_CONN_ID = "adc_airflow_api"
# the audit log's events for a task instance's state: marked by hand, or cleared
STATE_EVENTS = ("patch_task_instance", "post_clear_task_instances", "clear_dag_run")
log = logging.getLogger(__name__)


def task_state_changes(dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict[str, Any]] | None:
    """Who changed the task instance's state by hand, oldest first; None when the log cannot be read."""
    conn = get_connection(AUDIT_CONN_ID)
    if conn is None:
        return None
    scheme = conn.schema or "http"
    base = conn.host if "://" in (conn.host or "") else f"{scheme}://{conn.host}:{conn.port or 8080}"
    try:
        with httpx.Client(base_url=base.rstrip("/"), timeout=30) as client:
            token = client.post("/auth/token", json={"username": conn.login, "password": conn.password})
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            response = client.get("/api/v2/eventLogs", headers=headers, params={
                "dag_id": dag_id, "run_id": run_id, "included_events": list(STATE_EVENTS), "order_by": "-when",
                "limit": 100})
            response.raise_for_status()
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("cannot read Airflow's audit log (%s): %s", AUDIT_CONN_ID, exc)
        return None
    return [change for entry in reversed(response.json().get("event_logs", []))
            if (change := _change(entry, task_id, map_index)) is not None]


def _change(entry: dict[str, Any], task_id: str, map_index: int) -> dict[str, Any] | None:
    if entry.get("event") not in STATE_EVENTS:
        return None
    try:
        extra = json.loads(entry.get("extra") or "{}")
    except ValueError:
        extra = {}
    if entry.get("event") == "patch_task_instance":
        if entry.get("task_id") != task_id or str(extra.get("map_index", -1)) != str(map_index):
            return None
        action = f"set to {extra.get('new_state')}" if extra.get("new_state") else "changed"
    else:  # a clear names its tasks in the body (or clears the whole run)
        task_ids = extra.get("task_ids")
        if task_ids and not any(_names(t, task_id, map_index) for t in task_ids):
            return None
        action = "cleared"
    return {"by": entry.get("owner"), "at": entry.get("when"), "action": action}


def _names(item: Any, task_id: str, map_index: int) -> bool:
    """A clear's task_ids hold ids, or [id, map_index] pairs."""
    if isinstance(item, list | tuple):
        return len(item) == 2 and item[0] == task_id and item[1] == map_index
    return item == task_id
