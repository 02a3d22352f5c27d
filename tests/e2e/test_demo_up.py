"""`make demo` end to end: everything comes up, a demo reviewer can log in, Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adc.demo.client import password_for
from adc.demo.runner import free_port

pytestmark = pytest.mark.airflow


def _processes_mentioning(marker: str) -> list[int]:
    """PIDs whose command line or environment mentions ``marker`` (the demo's own directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in text:
            found.append(int(entry.name))
    return found


def test_demo_up_serves_the_ui_to_reviewers_and_ctrl_c_stops_everything(tmp_path):
    demo_dir = tmp_path / "demo"
    api_port = free_port()
    env = {**os.environ, "ADC_DEMO_DIR": str(demo_dir), "AIRFLOW_PORT": str(api_port)}
    process = subprocess.Popen([sys.executable, "-m", "adc.cli", "demo", "up"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        assert f"http://127.0.0.1:{api_port}" in text
        assert "alice" in text and "passwords.json" in text

        # The api-server answers its first requests while the scheduler and DAG processor start beside it on
        # two cores: a slow answer is not a fault here, so wait for it as a person would.
        http = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=120)
        token = http.post("/auth/token", json={"username": "alice", "password": password_for("alice")})
        assert token.status_code == 201
        dags = http.get("/api/v2/dags", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert dags.status_code == 200
        assert "adc_harvest" in {d["dag_id"] for d in dags.json()["dags"]}
        wrong = http.post("/auth/token", json={"username": "alice", "password": "admin"})
        assert wrong.status_code == 401
        assert _processes_mentioning(str(demo_dir)), "the demo's processes should be running"
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=90)
    assert process.returncode == 0, rest
    assert "nothing left running" in rest
    time.sleep(1)
    assert _processes_mentioning(str(demo_dir)) == []
