"""Real Airflow for end-to-end tests, started once per test session.

The ``airflow`` fixture brings up what ``make demo`` runs, through the demo's own launcher
(adc.demo.runner.bring_up): a moto server seeded with the DCR estate, a fresh register (SQLite, in
the session's temporary directory) with the demo content loaded, and Airflow 3 standalone
(scheduler, dag-processor, api-server, triggerer; LocalExecutor) on a temporary AIRFLOW_HOME with
this project's dags/ and plugins/ and the demo users with their roles (never all-admins).

Tests share this one Airflow and its register: create the data you need under ids of your own,
find the tasks you answer by their step or subject rather than by position, and never assume a
DAG has no other runs. ``AirflowStack`` carries the helpers most tests need (log in as a demo
user, trigger, wait, read and answer human-in-the-loop tasks, the register's engine, the logs).
``browser`` is headless Debian Chromium through Playwright, shared by the browser tests.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from adc.demo.client import Api, password_for
from adc.demo.runner import Demo, Processes, bring_up, free_port

T = TypeVar("T")

# The test session's own settings must not leak into the Airflow it starts.
_TEST_ONLY_ENV = ("AIRFLOW__CORE__UNIT_TEST_MODE",)


@dataclass
class AirflowStack:
    """One running Airflow (+ moto + register) and the helpers to drive it as the demo users."""

    demo: Demo
    env: dict[str, str]
    processes: Processes
    _apis: dict[str, Api] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.demo.api_url

    @property
    def moto_url(self) -> str:
        return self.demo.moto_url

    @property
    def register_url(self) -> str:
        return self.env["ADC_REGISTER_URL"]

    @cached_property
    def engine(self):
        """The register's engine (the one Airflow's tasks write to)."""
        from adc.register.db import make_engine

        return make_engine(self.register_url)

    def api(self, user: str = "admin") -> Api:
        """Airflow's REST API logged in as a demo user (password from the demo's passwords file)."""
        if user not in self._apis:
            self._apis[user] = Api(self.api_url, user, password_for(user))
        return self._apis[user]

    def token(self, user: str) -> str:
        return self.api(user).client.headers["Authorization"].removeprefix("Bearer ")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, *, timeout: float = 120) -> str:
        """Trigger a DAG (as admin) once it is parsed; returns the run id."""
        api = self.api("admin")
        api.wait_for_dag(dag_id, timeout=timeout)
        return api.trigger(dag_id, conf)

    def wait(self, probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 1.0) -> T:
        """Poll ``probe`` until it returns something truthy; fail naming ``what`` and the logs to read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(every)
        pytest.fail(f"waited {timeout:.0f} s for {what}; Airflow's log: {self.demo.logs / 'airflow.log'}; "
                    f"its last errors and retries (CI keeps no log files):\n{self.troubles()}")

    def request(self, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One REST call as ``user``, repeated (up to 4 times) while Airflow answers 500/503.

        Under load, Airflow's own SQLite metadata database can stay locked past its busy timeout and
        the API server answers 500 for that request (nothing written); the same request succeeds a
        moment later. Any other status is returned as it is, for the test to judge.
        """
        for attempt in range(4):
            response = self.api(user).client.request(method, path, **kwargs)
            if response.status_code not in (500, 503):
                return response
            time.sleep(2 * (attempt + 1))
        return response

    def get(self, path: str, user: str = "admin", **params: Any) -> Any:
        response = self.request(user, "GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def task_instances(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """All task instances of one task in a run (every map index)."""
        data = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return [ti for ti in data["task_instances"] if ti["task_id"] == task_id]

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...], *,
                      timeout: float = 180) -> list[dict[str, Any]]:
        """Wait until every instance of a task is in one of ``states`` (and there is at least one)."""
        def probe():
            tis = self.task_instances(dag_id, run_id, task_id)
            return tis if tis and all(ti["state"] in states for ti in tis) else None

        return self.wait(probe, timeout=timeout, what=f"{dag_id}.{task_id} in {run_id} to be {'/'.join(states)}")

    def hitl_details(self, user: str = "admin", *, dag_id: str = "~", run_id: str = "~",
                     **params: Any) -> list[dict[str, Any]]:
        """Human-in-the-loop requests visible to ``user`` (e.g. response_received=False)."""
        data = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/hitlDetails", user, limit=1000, **params)
        return data["hitl_details"]

    def answer(self, user: str, *, dag_id: str, run_id: str, task_id: str, map_index: int,
               options: list[str], params: dict[str, Any] | None = None) -> httpx.Response:
        """Answer a human-in-the-loop task through the REST API as ``user`` (the response, unchecked)."""
        return self.request(user, "PATCH",
                            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
                            json={"chosen_options": options, "params_input": params or {}})

    def forge(self, user: str, *, dag_id: str, run_id: str, task_id: str, map_index: int, value: Any,
              state: str = "success") -> tuple[int, int]:
        """What any Airflow ``user`` can do to a question's task over REST: write its return value (XCom)
        and set its state by hand. Returns both HTTP statuses (Airflow accepts both)."""
        task = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        xcom = self.request(user, "POST", f"{task}/xcomEntries",
                            json={"key": "return_value", "value": value, "map_index": map_index})
        patch = self.request(user, "PATCH", task + (f"/{map_index}" if map_index >= 0 else ""),
                             json={"new_state": state})
        return xcom.status_code, patch.status_code

    def clear(self, user: str, *, dag_id: str, run_id: str, task_id: str, map_index: int) -> int:
        """Clear one task instance as ``user`` (Airflow runs it again); the HTTP status."""
        return self.request(user, "POST", f"/dags/{dag_id}/clearTaskInstances", json={
            "dry_run": False, "dag_run_id": run_id, "task_ids": [[task_id, map_index]], "only_failed": False,
            "include_downstream": False}).status_code

    def log_tail(self, name: str = "airflow.log", lines: int = 60) -> str:
        return _tail(self.demo.logs / name, lines)

    def troubles(self, lines: int = 25) -> str:
        """The last lines of Airflow's log that say something went wrong (errors, retries, state races)."""
        path = self.demo.logs / "airflow.log"
        signs = ("[error", "UP_FOR_RETRY", "state mismatch", "Traceback", "Unhandled request")
        found = [line[:400] for line in path.read_text(errors="replace").splitlines()
                 if any(sign in line for sign in signs)] if path.exists() else []
        return "\n".join(found[-lines:]) or "(none)"


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the flags that work on this kind of machine (see ../shared/notes/airflow-3.3.md)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright, one for the session (Playwright's sync API allows
    one at a time); skipped, saying why, where either is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: apt-get install -y chromium chromium-driver (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def airflow(tmp_path_factory, postgres_databases) -> Iterator[AirflowStack]:
    """Airflow 3 standalone + moto (the DCR estate) + a register with the demo content, for the session.

    Airflow's metadata lives in a throwaway PostgreSQL database where a server answers: on SQLite,
    Airflow's API answers 500 when its database stays locked under load."""
    root: Path = tmp_path_factory.mktemp("airflow-e2e")
    metadata = postgres_databases.create("adc_e2e_airflow") if postgres_databases else None
    demo = Demo(root=root, moto_port=free_port(), api_port=free_port(), metadata_url=metadata)
    with ExitStack() as stack:
        if metadata:
            stack.callback(postgres_databases.drop, metadata)
        saved = {key: os.environ.pop(key) for key in _TEST_ONLY_ENV if key in os.environ}
        try:
            processes, env, _ = bring_up(stack, demo)
        except Exception as exc:  # noqa: BLE001 - show why Airflow did not come up
            pytest.fail(f"Airflow did not start: {exc}\n{_tail(demo.logs / 'airflow.log', 40)}")
        finally:
            os.environ.update(saved)
        stack_ = AirflowStack(demo=demo, env=env, processes=processes)
        yield stack_
        if "engine" in stack_.__dict__:
            stack_.engine.dispose()


def _tail(path: Path, lines: int) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
