"""`adc harvest` and `adc datasets` from a shell, against the moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from adc.demo.files import encode
from tests.support.harvest import bucket

ROWS = [{"employee_id": "E1", "ni_number": "QQ123456A", "union_subs_deduction": "12.50"}]


def adc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adc.cli", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env})


def setup(tmp_path, moto) -> dict[str, str]:
    (tmp_path / "sources.yaml").write_text("sources:\n  - name: hr\n    region: eu-west-2\n    services: [s3]\n")
    bucket(moto, "hr-payroll", {"payroll/period=2024-05/p.csv": encode(ROWS, "csv")})
    return {"ADC_REGISTER_URL": f"sqlite:///{tmp_path / 'register.db'}", "ADC_SOURCES": str(tmp_path / "sources.yaml")}


def test_harvest_json_then_datasets_json(tmp_path, moto):
    env = setup(tmp_path, moto)
    done = adc("harvest", "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["run_id"].startswith("cli__") and summary["status"] == "complete"
    assert summary["services"]["s3"] == {"scopes": 1, "datasets": 1, "complete": 1, "partial": 0, "failed": 0,
                                         "absent": 0}
    assert summary["coverage"]["scopes"][0]["scope"] == "hr-payroll" and summary["errors"] == []
    assert summary["merge"] == {"added": 1, "changed": 0, "unchanged": 0, "gone": 0}

    listed = adc("datasets", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    (dataset,) = json.loads(listed.stdout)
    assert {"namespace", "name", "service", "format", "partition_keys", "fields", "object_count", "size_bytes",
            "tags", "source", "harvest_run"} <= set(dataset)
    assert (dataset["namespace"], dataset["name"], dataset["format"]) == ("s3://hr-payroll", "payroll", "csv")
    assert dataset["harvest_run"] == summary["run_id"] and dataset["source"] == "hr"
    assert {f["name"]: f["classification"] for f in dataset["fields"]} == {
        "employee_id": "personal", "ni_number": "personal", "union_subs_deduction": "special_category"}
    assert "QQ123456A" not in listed.stdout


def test_the_text_summary(tmp_path, moto):
    env = setup(tmp_path, moto)
    done = adc("harvest", "--source", "hr", env=env)
    assert done.returncode == 0, done.stderr
    assert "complete, 1 dataset(s) from 1 scope(s) of hr" in done.stdout
    assert "register: 1 added" in done.stdout
    listed = adc("datasets", "--service", "s3", env=env)
    assert listed.stdout.startswith("s3://hr-payroll/payroll  s3  csv  3 field(s)  special_category")


def test_errors_are_one_line_and_exit_2(tmp_path, moto):
    env = setup(tmp_path, moto)
    (tmp_path / "bad.yaml").write_text("sources:\n  - name: hr\n    region: eu-west-2\n    services: [s4]\n")
    for args in (["harvest", "--config", str(tmp_path / "bad.yaml")], ["harvest", "--source", "nope"]):
        done = adc(*args, env=env)
        assert done.returncode == 2
        assert done.stderr.startswith("adc: error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "bad.yaml: sources[0].services[0]: " in adc("harvest", "--config", str(tmp_path / "bad.yaml"),
                                                      env=env).stderr


def test_an_unreachable_endpoint_is_reported_not_a_crash(tmp_path, moto):
    env = {**setup(tmp_path, moto), "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "ADC_AWS_MAX_ATTEMPTS": "1"}
    done = adc("harvest", "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "complete" and summary["datasets"] == 0
    assert summary["errors"][0]["error_kind"] == "EndpointUnreachable"
