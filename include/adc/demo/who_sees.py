"""make demo-check: what each demo person can and cannot see (docs/organisations.md).

The department analyst nadia (cleared to OFFICIAL-SENSITIVE) must not learn from any page, API,
download, CLI command, lineage event or Airflow object that the sealed unit's buckets exist; the
agency's SECRET bucket is beyond her clearance; its OFFICIAL-SENSITIVE one is hers to see. The sealed
unit's DPO sam sees his unit and nothing of the department around it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from adc.demo.client import Api, password_for

if TYPE_CHECKING:  # annotations only: adc.demo.runner imports adc.demo.verify, which imports this module
    from adc.demo.runner import Demo
    from adc.demo.verify import Report

ANALYST, SEALED_DPO, AGENCY_OWNER = "nadia", "sam", "kemi"
# What would tell an outsider that the sealed unit's buckets exist: their names, its source, its name,
# its assets' ids.
SEALED = ("psu-prod-vetting-casefiles", "psu-prod-protective-monitoring", "psu-prod", "Protective Security",
          "IA-0201", "IA-0202")
# the agency's SECRET bucket, above the analyst's clearance (a bucket's name, not a password)
AGENCY_SECRET = "cra-prod-fraud-referrals"  # noqa: S105
AGENCY_SENSITIVE = "cra-prod-civil-records"  # OFFICIAL-SENSITIVE: the analyst sees it

PAGES = ["/adc/", "/adc/assets", "/adc/findings", "/adc/activities", "/adc/downloads", "/adc/api/dashboard",
         "/adc/api/assets", "/adc/api/findings", "/adc/download/register.csv", "/adc/download/ropa.csv",
         "/adc/download/reconciliation.csv", "/adc/download/reconciliation.html"]
CLI = [["datasets", "--json"], ["findings", "--json"], ["register", "export", "--format", "json"],
       ["ropa", "export", "--format", "csv"]]
# The DAGs whose objects every Airflow user who may read them sees: runs, task instances (their
# rendered fields and map-index labels), XCom, logs, and the questions in Required Actions.
DAGS = ("adc_harvest", "adc_reconcile", "adc_triage", "adc_ropa_review", "adc_lineage")


def stage(report: Report, api: Api, env: dict[str, str], demo: Demo) -> None:
    print("Who sees what (organisations.yaml: the department, its agency, a sealed unit)")
    ui = {user: _ui(api.base_url, user) for user in (ANALYST, SEALED_DPO, "dana")}
    _register_ui(report, ui)
    _cli(report, demo, env)
    _airflow_objects(report, api, Api(api.base_url, ANALYST, password_for(ANALYST)))
    lineage = demo.lineage_file.read_text() if demo.lineage_file.exists() else ""
    report.check(AGENCY_SENSITIVE in lineage and not _leaks(lineage),
                 f"the lineage the department's transport received names the agency's datasets and nothing of "
                 f"the sealed unit {_leaks(lineage) or ''}".rstrip())


def _ui(base_url: str, user: str) -> httpx.Client:
    token = httpx.post(f"{base_url}/auth/token", json={"username": user, "password": password_for(user)},
                       timeout=30).json()["access_token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _leaks(text: str, markers: tuple[str, ...] = SEALED) -> list[str]:
    return [marker for marker in markers if marker in text]


def _register_ui(report: Report, ui: dict[str, httpx.Client]) -> None:
    nadia = ui[ANALYST]
    seen = "".join(nadia.get(path).text for path in PAGES)
    pack = nadia.get("/adc/download/audit-pack.zip")
    seen += _unzipped(pack.content) if pack.status_code == 200 else ""
    report.check(pack.status_code == 200 and AGENCY_SENSITIVE in seen and not _leaks(seen, (*SEALED, AGENCY_SECRET)),
                 f"{ANALYST}'s register pages, JSON API, downloads and audit pack show the agency's "
                 f"OFFICIAL-SENSITIVE bucket and neither the sealed unit nor the agency's SECRET bucket "
                 f"{_leaks(seen, (*SEALED, AGENCY_SECRET)) or ''}".rstrip())
    expected = {
        (ANALYST, "/adc/assets/IA-0101"): 200, (ANALYST, "/adc/assets/IA-0102"): 404,
        (ANALYST, "/adc/assets/IA-0201"): 404, (ANALYST, "/adc/activities/PA-009"): 404,
        (ANALYST, "/adc/assets/IA-9999"): 404,  # one that does not exist answers the same
        ("dana", "/adc/assets/IA-0102"): 200, ("dana", "/adc/assets/IA-0201"): 404,
        (SEALED_DPO, "/adc/assets/IA-0201"): 200, (SEALED_DPO, "/adc/activities/PA-009"): 200,
        (SEALED_DPO, "/adc/assets/IA-0001"): 404,
    }
    got = {key: ui[key[0]].get(key[1]).status_code for key in expected}
    wrong = {f"{user} {path}": status for (user, path), status in got.items() if status != expected[(user, path)]}
    report.check(not wrong, f"pages answer by who asks: {ANALYST} and dana get 404 for the sealed unit's asset "
                 f"exactly as for one that does not exist, {ANALYST} for the agency's SECRET asset, {SEALED_DPO} "
                 f"sees his unit only {wrong or ''}".rstrip())


def _unzipped(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as pack:
        return "".join(pack.read(name).decode("utf-8", "replace") for name in pack.namelist())


def _cli(report: Report, demo: Demo, env: dict[str, str]) -> None:
    def run(argv: list[str]) -> str:
        done = subprocess.run([str(Path(sys.executable).parent / "adc"), *argv],  # noqa: S603 - a fixed argv
                              env=env, capture_output=True, text=True, timeout=300)
        return done.stdout if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]}"

    seen = {" ".join(argv): run([*argv, "--as", ANALYST]) for argv in CLI}
    pack = demo.root / f"audit-pack-{ANALYST}.zip"
    seen["audit-pack"] = run(["audit-pack", "--output", str(pack), "--as", ANALYST])
    seen["audit-pack"] += _unzipped(pack.read_bytes()) if pack.exists() else "no pack"
    leaking = {command: _leaks(text, (*SEALED, AGENCY_SECRET)) for command, text in seen.items()}
    leaking = {command: found for command, found in leaking.items() if found or seen[command].startswith("exit")}
    report.check(not leaking, f"adc datasets, findings, register export, ropa export and audit-pack --as {ANALYST} "
                 f"hold nothing of the sealed unit or the agency's SECRET bucket {leaking or ''}".rstrip())
    sam = run(["datasets", "--json", "--as", SEALED_DPO])
    report.check("psu-prod-vetting-casefiles" in sam and "dcr-prod" not in sam,
                 f"adc datasets --as {SEALED_DPO} lists the sealed unit's datasets and none of the department's")


def _airflow_objects(report: Report, admin: Api, nadia: Api) -> None:
    """Everything nadia may read in Airflow about ADC's DAGs, searched for the sealed unit."""
    texts: list[str] = [nadia.client.get("/dags/~/dagRuns/~/hitlDetails", params={"limit": 1000}).text]
    reads = 1
    for dag_id in DAGS:
        runs = nadia.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]
        texts.append(str(runs))
        for run in runs:
            base = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
            tis = nadia.get(f"{base}/taskInstances", limit=1000)["task_instances"]
            texts.append(str(tis))
            xcoms = nadia.get(f"{base}/taskInstances/~/xcomEntries", limit=1000)["xcom_entries"]
            for entry in xcoms:
                texts.append(nadia.client.get(f"{base}/taskInstances/{entry['task_id']}/xcomEntries/{entry['key']}",
                                              params={"map_index": entry["map_index"], "stringify": True}).text)
            for ti in tis:
                for attempt in range(1, (ti.get("try_number") or 0) + 1):
                    texts.append(_log(nadia, f"{base}/taskInstances/{ti['task_id']}/logs/{attempt}", ti["map_index"]))
            reads += 2 + len(xcoms) + sum(ti.get("try_number") or 0 for ti in tis)
    found = _leaks("".join(texts), (*SEALED, "unreadable log"))
    report.check(not found, f"{reads} of Airflow's objects {ANALYST} may read (Required Actions' questions, runs "
                 f"and their conf, task instances and map-index labels, XCom, logs) name nothing of the sealed "
                 f"unit {found or ''}".rstrip())
    sams = [d for d in admin.get("/dags/~/dagRuns/~/hitlDetails", limit=1000)["hitl_details"]
            if {u["id"] for u in d["assigned_users"]} == {SEALED_DPO}]
    report.check(bool(sams) and all(d.get("response_received") for d in sams),
                 f"{SEALED_DPO}, the sealed unit's DPO, answered his unit's review in Required Actions "
                 f"({len(sams)} question(s))")


def _log(api: Api, path: str, map_index: int) -> str:
    for attempt in range(3):  # an API server under load may answer 500 for a moment (tests/e2e/conftest.py)
        response = api.client.get(path, params={"map_index": map_index, "full_content": True},
                                  headers={"Accept": "application/json"})
        if response.status_code < 500:
            break
        time.sleep(2 * (attempt + 1))
    if response.status_code == 404:  # a try that has not written its log yet (queued, just started)
        return ""
    return response.text if response.status_code == 200 else f"unreadable log: HTTP {response.status_code}"

