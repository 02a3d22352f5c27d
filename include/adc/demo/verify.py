"""make demo-check: drive the pipeline through Airflow's REST API and check what the demo promises.

Each stage triggers or waits for a DAG and checks the register; a failed check does not stop the
later stages, so one run reports everything that is wrong.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adc.demo import lineage, ropa, who_sees
from adc.demo.client import Api, environment, password_for
from adc.demo.estate import GHOST_BUCKET, UNREADABLE_BUCKET
from adc.register import LIVE, assets, findings, history, reconcile
from adc.register.db import register_engine
from adc.register.forms import REGISTER
from adc.register.store import count_current, latest_complete_run
from adc.register.tables import asset, harvest_run

if TYPE_CHECKING:  # annotations only: adc.demo.runner imports this module
    from adc.demo.runner import Demo


@dataclass
class Report:
    checks: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> bool:
        self.checks.append((bool(ok), text))
        print(f"  [{'ok' if ok else 'FAIL'}] {text}", flush=True)
        return bool(ok)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    def render(self) -> str:
        failed = [text for ok, text in self.checks if not ok]
        lines = [f"{len(self.checks) - len(failed)} of {len(self.checks)} checks passed"]
        lines += [f"  FAILED: {text}" for text in failed]
        return "\n".join(lines)


def run_pipeline(api: Api, env: dict[str, str], demo: Demo, *, timeout: float) -> Report:
    report = Report()
    print("Harvest")
    api.wait_for_dag("adc_harvest")
    run_id = api.trigger("adc_harvest")
    state = api.wait_for_run("adc_harvest", run_id, timeout)
    report.check(state == "success", f"adc_harvest {run_id} finished {state}")
    with environment(env):
        harvest_checks(report)
    reconciliation_stage(report, api, env, timeout=timeout)
    ropa.stage(report, api, env, demo, timeout=timeout)
    lineage.stage(report, api, env, demo, timeout=timeout)
    who_sees.stage(report, api, env, demo)
    return report


# datasets per service the shared harvest DAG observes: the department's and the agency's accounts (the
# sealed unit harvests its own)
HARVESTED = {"s3": 16, "glue": 9, "dynamodb": 2, "rds": 1}


def harvest_checks(report: Report) -> None:
    engine = register_engine()
    run_id = latest_complete_run(engine)
    report.check(run_id is not None, "a complete harvest run is in the register")
    report.check(count_current(engine) > 0, f"{count_current(engine)} datasets observed")
    with engine.connect() as conn:
        summary = conn.execute(select(harvest_run.c.summary).where(harvest_run.c.run_id == run_id)).scalar() or {}
    counts = {service: c["datasets"] for service, c in summary.get("services", {}).items()}
    report.check(counts == HARVESTED, f"datasets per service {counts} (expected {HARVESTED})")
    scopes = {(s["service"], s["scope"]): s for s in summary.get("coverage", {}).get("scopes", [])}
    held = scopes.get(("s3", UNREADABLE_BUCKET), {})
    report.check((held.get("status"), held.get("error_kind")) == ("failed", "AccessDenied"),
                 f"{UNREADABLE_BUCKET} is a failed scope: {held.get('error_kind')} (expected AccessDenied), "
                 "and the run went on")
    ghost = scopes.get(("s3", GHOST_BUCKET), {})
    report.check(ghost.get("status") == "absent",
                 f"{GHOST_BUCKET} (registered) is recorded absent from a complete listing: {ghost.get('status')}")


# --------------------------------------------------------------------------- reconciliation and triage (issue 4)

GLUE = "arn:aws:glue:eu-west-2:123456789012:table/"
# The planted inconsistencies of ../shared/domain/GOVERNANCE.md as reconciliation must report them:
# (kind, subject) -> (severity, text its evidence must contain).
DEMO_FINDINGS = {
    ("unregistered_dataset", "s3://dcr-analytics-sandbox-7f3a/tmp"): ("high", ("nino", "dob", "nationality")),
    ("missing_asset", "IA-0042"): ("medium", ("s3://dcr-prod-legacy-registry-index",)),
    ("classification_mismatch", "IA-0031"): ("high", ("complainant_name", "health_condition", "ethnic_origin",
                                                       "religion", "criminal_record_flag")),
    ("classification_mismatch", "IA-0011"): ("high", ("accessibility_needs", "health")),
    ("retention_mismatch", "IA-0011"): ("medium", ("dcr-prod-appointment-bookings", "RS-05")),
    ("classification_mismatch", "IA-0006"): ("high", ("union_subs_deduction", "trade_union_membership")),
    ("owner_mismatch", "IA-0006"): ("low", ("hr-systems-team", "frank")),
    ("schema_drift", GLUE + "casework_curated/applications <> files"): ("medium", ("nationality_secondary",)),
    ("unreadable_source", "s3://dcr-prod-legal-holds"): ("medium", ("AccessDenied",)),
}
SANDBOX = ("unregistered_dataset", "s3://dcr-analytics-sandbox-7f3a/tmp")


def reconciliation_checks(report: Report, engine, policy=None) -> None:
    """The register after reconciling the demo estate: every planted inconsistency, nothing unexpected."""
    with engine.connect() as conn:
        live = {(f["kind"], f["subject"]): f for f in findings.list_findings(conn, status=list(LIVE))}
        status = dict(conn.execute(asset.select().with_only_columns(asset.c.asset_id, asset.c.status)).all())
    for key, (severity, shows) in DEMO_FINDINGS.items():
        found = live.get(key)
        evidence = json.dumps(found["evidence"]) + found["summary"] if found else ""
        report.check(found is not None and found["severity"] == severity and all(t in evidence for t in shows),
                     f"{key[0]} {key[1]}: {found['severity'] if found else 'not found'} (expected {severity}, "
                     f"showing {', '.join(shows)})")
    unexpected = sorted(f"{k[0]} {k[1]}" for k, f in live.items() if k not in DEMO_FINDINGS and f["severity"] == "high")
    report.check(not unexpected, f"no unexpected high-severity finding {unexpected or ''}".rstrip())
    for key in sorted(set(live) - set(DEMO_FINDINGS)):
        print(f"  [info] also found: {key[0]} {key[1]} ({live[key]['severity']})")
    report.check(status.get("IA-0042") == "missing", f"the ghost IA-0042 is {status.get('IA-0042')} (expected missing)")
    report.check(status.get("IA-0050") == "active",
                 f"IA-0050 behind the unreadable bucket is {status.get('IA-0050')} (expected active: not missing)")
    # (first catch up with any harvest that completed since: Airflow may have run a scheduled one too)
    policy = policy or reconcile.Policy.from_sources()
    latest = reconcile.reconcile(engine, policy=policy)
    again = reconcile.reconcile(engine, policy=policy)
    report.check(not again.changed and again.harvest_run_id == latest.harvest_run_id,
                 f"reconciling the same snapshot again changes nothing {again.changes}")


def _latest_run(api: Api, dag_id: str, timeout: float) -> str:
    """The newest run of an asset-scheduled DAG, once it exists."""
    api.wait_for_dag(dag_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)["dag_runs"]
        if runs:
            return runs[0]["dag_run_id"]
        time.sleep(2)
    raise TimeoutError(f"{dag_id} did not start within {timeout:.0f} s")


def reconciliation_stage(report: Report, api: Api, env: dict[str, str], *, timeout: float) -> None:
    print("Reconciliation (adc_reconcile, after the harvest's Asset event)")
    run_id = _latest_run(api, "adc_reconcile", timeout)
    state = api.wait_for_run("adc_reconcile", run_id, timeout)
    if not report.check(state == "success", f"adc_reconcile {run_id} finished {state}"):
        return
    with environment(env):
        reconciliation_checks(report, register_engine())
    print("Triage (adc_triage, after the findings' Asset event)")
    with environment(env):
        triage_stage(report, api, timeout=timeout)


def triage_stage(report: Report, api: Api, *, timeout: float) -> None:
    """Each new high finding is a question to dana and erin; dana registers the sandbox through the REST API."""
    api.wait_for_dag("adc_triage")
    deadline = time.monotonic() + timeout
    asked: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(asked) < 4:
        # every run's questions: a scheduled harvest beside the demo's own makes a second triage run,
        # which finds everything asked already by the first
        asked = api.get("/dags/adc_triage/dagRuns/~/hitlDetails", response_received=False)["hitl_details"]
        time.sleep(2)
    subjects = sorted(d["subject"] for d in asked)
    report.check(len(asked) == 4 and all({u["id"] for u in d["assigned_users"]} == {"dana", "erin"} for d in asked),
                 f"{len(asked)} triage questions for the data protection team: {subjects}")
    # organisations are declared: a question names only its finding's number (docs/organisations.md)
    with register_engine().connect() as conn:
        number = next(f["finding_id"] for f in findings.list_findings(conn, kind=SANDBOX[0])
                      if f["subject"] == SANDBOX[1])
    sandbox = next((d for d in asked if d["subject"] == f"Triage finding {number} (high)"), None)
    if not report.check(sandbox is not None, "the sandbox bucket is asked about") or sandbox is None:
        return
    ti = sandbox["task_instance"]
    path = f"/dags/adc_triage/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/{ti['map_index']}/hitlDetails"
    answer = {"chosen_options": [REGISTER], "params_input": {
        "owner": "gita", "classification": "OFFICIAL-SENSITIVE", "personal_data": "yes", "name": "Dashboard extract",
        "location": "s3://dcr-analytics-sandbox-7f3a", "reason": "analyst's extract, kept for the dashboard"}}
    alice = Api(api.base_url, "alice", password_for("alice")).client.patch(path, json=answer)
    report.check(alice.status_code == 403,
                 f"alice, not in the data protection team, cannot answer (HTTP {alice.status_code})")
    dana = Api(api.base_url, "dana", password_for("dana")).client.patch(path, json=answer)
    report.check(dana.status_code == 200, f"dana answers: {REGISTER} (HTTP {dana.status_code})")
    engine = register_engine()
    deadline = time.monotonic() + timeout
    created: dict[str, Any] | None = None
    while time.monotonic() < deadline and created is None:
        with engine.connect() as conn:
            created = next((a for a in assets.all_assets(conn) if "s3://dcr-analytics-sandbox-7f3a" in a["locations"]),
                           None)
        time.sleep(1)
    if not report.check(created is not None, "the sandbox bucket is now a registered asset") or created is None:
        return
    with engine.connect() as conn:
        (row,) = history.of(conn, "asset", created["asset_id"])
        resolved = [f for f in findings.list_findings(conn, kind=SANDBOX[0]) if f["subject"] == SANDBOX[1]]
    report.check((row["actor"], row["cause_kind"], created["owner"]) == ("dana", "triage", "gita"),
                 f"{created['asset_id']} created by {row['actor']} ({row['cause_kind']}), owner {created['owner']}")
    report.check(bool(resolved) and resolved[0]["status"] == "resolved" and resolved[0]["resolved_by"] == "dana",
                 "the unregistered-dataset finding is resolved by dana")

