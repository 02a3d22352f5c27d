"""Reconciliation on SQLite and PostgreSQL: every finding kind, coverage before absence, the finding
lifecycle, history, idempotence, atomicity (a failure or a kill part-way) and concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adc.errors import AdcError
from adc.register import findings, history, reconcile
from adc.register.reconcile import AbsenceDecision, Policy, Reconciliation
from adc.register.tables import finding, reconciliation_run
from adc.register.tables import history as history_table
from tests.support.processes import kill_when
from tests.support.register_staging import (
    asset_row,
    bucket_scope,
    demo_register,
    demo_units,
    glue,
    glue_scope,
    harvest,
    live,
    register,
    s3,
    state,
)

HERE = Path(__file__).parent


@pytest.fixture
def demo(register):
    demo_register(register)
    harvest(register, *demo_units())
    return register


def test_every_planted_inconsistency_is_found_with_its_kind_and_severity(demo):
    result = reconcile.reconcile(demo)
    found = {(kind, subject): f["severity"] for (kind, subject), f in live(demo).items()}
    assert found == {
        ("unregistered_dataset", "s3://sandbox/tmp"): "high",
        ("missing_asset", "IA-0042"): "medium",
        ("classification_mismatch", "IA-0031"): "high",
        ("classification_mismatch", "IA-0011"): "high",
        ("classification_mismatch", "IA-0006"): "high",
        ("owner_mismatch", "IA-0006"): "low",
        ("retention_mismatch", "IA-0011"): "medium",
        ("schema_drift", "arn:aws:glue:eu-west-2:123456789012:table/cur/applications <> files"): "medium",
        ("unreadable_source", "s3://legal"): "medium",
    }
    assert result.findings["unregistered_dataset"] == {"high": 1}
    assert result.status == "complete" and result.changes["opened"] == 9
    by_key = live(demo)
    complaints = by_key[("classification_mismatch", "IA-0031")]["evidence"]
    columns = {c["name"] for d in complaints["datasets"] for c in d["columns"]}
    assert columns == {"complainant_name", "health_condition", "ethnic_origin", "criminal_record_flag"}
    assert {d["dataset"] for d in complaints["datasets"]} == {
        "s3://complaints/intake", "arn:aws:glue:eu-west-2:123456789012:table/mi/complaints_raw"}
    bookings = by_key[("classification_mismatch", "IA-0011")]["evidence"]["datasets"][0]["columns"]
    assert [(c["name"], c["category"]) for c in bookings] == [("accessibility_needs", "health")]  # name, phone declared
    payroll = by_key[("owner_mismatch", "IA-0006")]
    assert payroll["evidence"]["datasets"][0]["tags"] == [{"tag": "iar:owner", "value": "hr-systems-team"}]
    assert "frank" in payroll["summary"]
    drift = by_key[("schema_drift", "arn:aws:glue:eu-west-2:123456789012:table/cur/applications <> files")]
    assert drift["evidence"]["added"] == ["nationality_secondary"] and drift["asset_id"] == "IA-0002"
    assert by_key[("unreadable_source", "s3://legal")]["asset_id"] == "IA-0050"
    assert by_key[("unreadable_source", "s3://legal")]["evidence"]["error_kind"] == "AccessDenied"


@pytest.mark.reliability("faults")
def test_an_unreadable_bucket_marks_nothing_missing(demo):
    reconcile.reconcile(demo)
    assert asset_row(demo, "IA-0050")["status"] == "active"
    ghost = asset_row(demo, "IA-0042")
    assert ghost["status"] == "missing" and ghost["missing_since"] is not None
    assert asset_row(demo, "IA-0001")["status"] == "active" and asset_row(demo, "IA-0001")["last_seen_at"]


def test_a_location_no_harvest_listed_is_not_missing(register):
    register_rows = [{"asset_id": "IA-0100", "name": "Elsewhere", "location": "s3://never-harvested"}]
    from tests.support.register_staging import register as add

    add(register, *register_rows)
    harvest(register, (bucket_scope("other"), [s3("other", "x", "id")]))
    reconcile.reconcile(register)
    assert asset_row(register, "IA-0100")["status"] == "active"
    assert ("missing_asset", "IA-0100") not in live(register)


def test_reconciling_the_same_snapshot_again_changes_nothing(demo):
    reconcile.reconcile(demo)
    before = state(demo)
    again = reconcile.reconcile(demo)
    assert not again.changed
    assert state(demo) == before  # no new rows, no history, no timestamps touched


def test_history_records_every_change_and_its_cause(demo):
    result = reconcile.reconcile(demo)
    with demo.connect() as conn:
        ghost = history.of(conn, "asset", "IA-0042")
        opened = conn.execute(select(func.count()).select_from(history_table).where(
            history_table.c.entity_kind == "finding", history_table.c.action == "opened")).scalar_one()
    assert [h["action"] for h in ghost] == ["created", "missing"]
    missing = ghost[-1]
    assert (missing["actor"], missing["cause_kind"], missing["cause"]) == ("adc", "reconcile", result.run_id)
    assert missing["changes"]["status"] == ["active", "missing"]
    assert opened == 9


def test_findings_resolve_when_the_cause_goes_and_assets_come_back(demo):
    first = reconcile.reconcile(demo)
    # the ghost appears, the sandbox is registered, the bookings TTL is switched on
    register(demo, {"asset_id": "IA-0099", "name": "Sandbox", "location": "s3://sandbox", "personal_data": "yes"})
    harvest(demo, *demo_units(
        ghost=(bucket_scope("ghost"), [s3("ghost", "index", "id")]),
        bookings=(bucket_scope("bookings"), [s3("bookings", "bookings", "booking_id", "name", "phone",
                                                "accessibility_needs")])))
    second = reconcile.reconcile(demo)
    assert second.run_id != first.run_id
    assert second.changes["reappeared"] == 1 and second.changes["resolved"] == 3
    assert asset_row(demo, "IA-0042")["status"] == "active" and asset_row(demo, "IA-0042")["missing_since"] is None
    with demo.connect() as conn:
        resolved = {(f["kind"], f["subject"]): f for f in findings.list_findings(conn, status="resolved")}
        assert [h["action"] for h in history.of(conn, "asset", "IA-0042")] == ["created", "missing", "reappeared"]
    assert set(resolved) == {("unregistered_dataset", "s3://sandbox/tmp"), ("missing_asset", "IA-0042"),
                             ("retention_mismatch", "IA-0011")}
    assert all(f["resolved_by"] == second.run_id for f in resolved.values())
    # the sandbox dataset now belongs to IA-0099, whose declaration covers it: no new finding about it
    assert not [k for k in live(demo) if "IA-0099" in k[1] or "sandbox" in k[1]]
    kept = live(demo)[("classification_mismatch", "IA-0031")]
    assert kept["first_seen_run"] == first.harvest_run_id and kept["last_seen_run"] == second.harvest_run_id


def test_acknowledged_and_dismissed_findings_stay_so_while_the_cause_persists(demo):
    reconcile.reconcile(demo)
    by_key = live(demo)
    ack = by_key[("owner_mismatch", "IA-0006")]["finding_id"]
    dismissed = by_key[("unregistered_dataset", "s3://sandbox/tmp")]["finding_id"]
    findings.acknowledge(demo, ack, reason="the tag names the team that runs it", by="dana")
    with demo.begin() as conn:
        findings.set_status(conn, dismissed, "dismissed", by="erin", reason="test data", cause_kind="triage")
    harvest(demo, *demo_units())
    reconcile.reconcile(demo)
    after = live(demo)
    assert after[("owner_mismatch", "IA-0006")]["status"] == "acknowledged"
    assert after[("unregistered_dataset", "s3://sandbox/tmp")]["status"] == "dismissed"  # not recreated as open
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(finding).where(
            finding.c.kind == "unregistered_dataset")).scalar_one() == 1
    # the causes go: both resolve
    harvest(demo, *demo_units(sandbox=(bucket_scope("sandbox"), []),
                              payroll=(bucket_scope("payroll"), [s3("payroll", "payroll", "employee_id", "ni_number",
                                                                    "union_subs", tags={"iar:owner": "frank"})])))
    result = reconcile.reconcile(demo)
    with demo.connect() as conn:
        assert findings.get(conn, ack)["status"] == "resolved"
        assert findings.get(conn, dismissed)["status"] == "resolved"
        assert [h["action"] for h in history.of(conn, "finding", str(ack))] == ["opened", "acknowledged", "resolved"]
        assert history.of(conn, "finding", str(dismissed))[-1]["cause"] == result.run_id


def test_a_retired_asset_matches_nothing(demo):
    from adc.register import assets

    with demo.begin() as conn:
        assets.change(conn, "IA-0001", status="retired", actor="alice", cause_kind="cli", cause=None,
                      reason="moved to the archive")
    reconcile.reconcile(demo)
    assert ("unregistered_dataset", "s3://apps/applications") in live(demo)
    assert asset_row(demo, "IA-0001")["status"] == "retired"


def test_symlinks_tie_a_catalogue_table_and_its_files_to_the_same_asset(register):
    register_rows = [{"asset_id": "IA-0201", "name": "Files only", "location": "s3://lake/sales",
                      "personal_data": "yes"},
                     {"asset_id": "IA-0202", "name": "Table only", "location": "glue://crm/contacts",
                      "personal_data": "yes"}]
    from tests.support.register_staging import register as add

    add(register, *register_rows)
    harvest(register,
            (bucket_scope("lake"), [s3("lake", "sales", "id", "email"), s3("lake", "contacts", "id", "email")]),
            (glue_scope("crm"), [glue("crm", "sales", "id", "email", location="s3://lake/sales"),
                                 glue("crm", "contacts", "id", "email", location="s3://lake/contacts")]))
    reconcile.reconcile(register)
    assert not [k for k in live(register) if k[0] == "unregistered_dataset"]


def test_schema_drift_against_the_previous_version(register):
    from tests.support.register_staging import register as add

    add(register, {"asset_id": "IA-0300", "name": "Lake", "location": "s3://lake", "personal_data": "yes"})
    harvest(register, (bucket_scope("lake"), [s3("lake", "people", "id", "email", "score")]))
    reconcile.reconcile(register)
    assert not [k for k in live(register) if k[0] == "schema_drift"]
    changed = s3("lake", "people", "id", "email", "health_notes")
    changed.fields[0].type = "bigint"
    harvest(register, (bucket_scope("lake"), [changed]))
    reconcile.reconcile(register)
    drift = live(register)[("schema_drift", "s3://lake/people")]
    assert drift["severity"] == "medium"  # an added column holds special category data
    assert drift["evidence"]["added"] == ["health_notes"] and drift["evidence"]["removed"] == ["score"]
    assert drift["evidence"]["retyped"] == [{"column": "id", "was": "string", "now": "bigint"}]


def test_the_reverse_classification_mismatch_is_low(register):
    from tests.support.register_staging import register as add

    add(register, {"asset_id": "IA-0400", "name": "Stats", "location": "s3://stats", "personal_data": "yes"})
    harvest(register, (bucket_scope("stats"), [s3("stats", "q", "period", "count")]))
    reconcile.reconcile(register)
    mismatch = live(register)[("classification_mismatch", "IA-0400")]
    assert mismatch["severity"] == "low" and mismatch["evidence"]["datasets"] == ["s3://stats/q"]


def test_retention_is_judged_where_the_data_is_held(register):
    from tests.support.register_staging import register as add

    add(register, {"asset_id": "IA-0500", "name": "Logs", "location": "s3://logs; glue://logs_db",
                   "retention_schedule": "RS-10"},
        {"asset_id": "IA-0501", "name": "Archive", "location": "s3://archive", "retention_schedule": "RS-PUB",
         "disposal_action": "transfer"})
    glue_entry = glue("logs_db", "alb", "ts", location="s3://logs/alb")
    glue_entry.properties["retention_control"] = {"kind": "none", "active": False}  # as the Glue harvest says
    harvest(register,
            (bucket_scope("logs"), [s3("logs", "alb", "ts", retention={"kind": "none", "active": False})]),
            (glue_scope("logs_db"), [glue_entry]),
            (bucket_scope("archive"), [s3("archive", "a", "ts", retention={"kind": "none", "active": False})]))
    reconcile.reconcile(register)
    retention = live(register)[("retention_mismatch", "IA-0500")]
    assert [d["dataset"] for d in retention["evidence"]["datasets"]] == ["s3://logs/alb"]
    assert ("retention_mismatch", "IA-0501") not in live(register)  # transferred, not destroyed


def test_unreadable_files_in_a_complete_scope(register):
    harvest(register, (bucket_scope("b", unreadable=["x/part-1.parquet: truncated footer"]), [s3("b", "x", "id")]))
    reconcile.reconcile(register)
    found = live(register)[("unreadable_source", "s3://b (files)")]
    assert found["severity"] == "low"
    assert found["evidence"]["unreadable"] == ["x/part-1.parquet: truncated footer"]


# --------------------------------------------------------------------------- mass absence


def mass_absence(engine) -> str:
    from tests.support.register_staging import register as add

    add(engine, *({"asset_id": f"IA-06{i:02d}", "name": f"Bucket {i}", "location": f"s3://bucket-{i}"}
                  for i in range(4)))
    harvest(engine, *((bucket_scope(f"bucket-{i}"), [s3(f"bucket-{i}", "data", "id")]) for i in range(4)))
    reconcile.reconcile(engine)
    # a listing "completes" with three of four buckets empty: 75% > the 25% threshold
    return harvest(engine, (bucket_scope("bucket-0"), [s3("bucket-0", "data", "id")]),
                   *((bucket_scope(f"bucket-{i}"), []) for i in range(1, 4)))


@pytest.mark.reliability("faults")
def test_a_mass_absence_is_withheld_until_a_person_approves(register):
    run = mass_absence(register)
    waiting = reconcile.reconcile(register)
    assert waiting.status == "awaiting_approval" and waiting.approval_needed
    assert waiting.absence["src"]["missing"] == 3 and waiting.absence["src"]["decision"] == "pending"
    assert all(asset_row(register, f"IA-06{i:02d}")["status"] == "active" for i in range(4))
    withheld = live(register)[("absence_withheld", "src")]
    assert withheld["evidence"]["asset_ids"] == ["IA-0601", "IA-0602", "IA-0603"]
    assert not [k for k in live(register) if k[0] == "missing_asset"]

    approved = reconcile.reconcile(register, decision=AbsenceDecision(run, True, "dana"))
    assert approved.status == "complete" and approved.changes["missing"] == 3
    assert [asset_row(register, f"IA-06{i:02d}")["status"] for i in range(4)] == ["active"] + ["missing"] * 3
    assert ("absence_withheld", "src") not in live(register)
    with register.connect() as conn:
        row = conn.execute(
            select(reconciliation_run).where(reconciliation_run.c.run_id == approved.run_id)
        ).mappings().one()
    assert (row["absence_decision"], row["absence_decided_by"]) == ("approved", "dana")
    with register.connect() as conn:
        missing = [h["actor"] for i in range(1, 4) for h in history.of(conn, "asset", f"IA-06{i:02d}")
                   if h["action"] == "missing"]
    assert missing == ["dana"] * 3  # the approver made the change, not the reconciliation


def _approval_event(option: str, by: str | None) -> dict:
    return {"chosen_options": [option], "params_input": {}, "responded_at": datetime.now(UTC),
            "responded_by_user": {"id": by, "name": by} if by else None, "timedout": by is None}


@pytest.mark.reliability("security")
@pytest.mark.parametrize(("option", "by", "statuses", "decided"), [
    ("Approve", "dana", ["active"] + ["missing"] * 3, ("approved", "dana")),
    ("Reject", "erin", ["active"] * 4, ("rejected", "erin")),
    ("Reject", None, ["active"] * 4, ("rejected", "nobody (no answer in time)")),
    ("Approve", "carol", ["active"] * 4, ("pending", None)),  # not in the team: refused, still withheld
])
def test_the_absence_approval_task_applies_what_airflow_recorded(register, monkeypatch, option, by, statuses, decided):
    from adc.airflow.operators import AbsenceApproval

    monkeypatch.setenv("ADC_DATA_PROTECTION_TEAM", "dana,erin")
    mass_absence(register)
    waiting = reconcile.reconcile(register)
    task = AbsenceApproval(task_id="approve_absence", subject="s", body="b", result="(an XComArg in the DAG)")
    task.result = waiting.to_dict()
    task.execute_complete(context={}, event=_approval_event(option, by))
    assert [asset_row(register, f"IA-06{i:02d}")["status"] for i in range(4)] == statuses
    with register.connect() as conn:
        row = conn.execute(select(reconciliation_run).order_by(reconciliation_run.c.started_at.desc())
                           .limit(1)).mappings().one()
    assert (row["absence_decision"], row["absence_decided_by"]) == decided


def test_a_rejected_mass_absence_keeps_the_assets_and_says_who(register):
    run = mass_absence(register)
    rejected = reconcile.reconcile(register, decision=AbsenceDecision(run, False, "erin"))
    assert rejected.status == "complete" and rejected.absence["src"]["decided_by"] == "erin"
    assert all(asset_row(register, f"IA-06{i:02d}")["status"] == "active" for i in range(4))
    assert "erin" in live(register)[("absence_withheld", "src")]["summary"]


def test_an_approval_for_another_snapshot_is_not_used(register):
    mass_absence(register)
    stale = reconcile.reconcile(register, decision=AbsenceDecision("an-older-harvest", True, "dana"))
    assert stale.status == "awaiting_approval"


def test_a_higher_threshold_lets_the_absence_through(register):
    mass_absence(register)
    result = reconcile.reconcile(register, policy=Policy({"src": 0.9}))
    assert result.status == "complete" and result.changes["missing"] == 3


# --------------------------------------------------------------------------- atomicity and concurrency


def test_nothing_to_reconcile_before_a_harvest(register):
    with pytest.raises(AdcError, match="no harvest run has completed"):
        reconcile.reconcile(register)


@pytest.mark.reliability("faults")
def test_a_failure_part_way_leaves_the_register_as_it_was(demo, monkeypatch):
    before = state(demo)

    def fail(self):
        raise RuntimeError("injected after findings were merged")

    monkeypatch.setattr(Reconciliation, "update_assets", fail)
    with pytest.raises(RuntimeError, match="injected"):
        reconcile.reconcile(demo)
    assert state(demo) == before
    monkeypatch.undo()
    assert reconcile.reconcile(demo).changes["opened"] == 9  # and the next run works


KILLABLE = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from adc.register.db import make_engine
from adc.register import reconcile

ready = Path(sys.argv[2])
def hang(self):
    ready.write_text("inside")
    time.sleep(600)
reconcile.Reconciliation.update_assets = hang
reconcile.reconcile(make_engine(sys.argv[1]))
"""


@pytest.mark.reliability("faults")
def test_a_killed_reconciliation_leaves_the_register_as_it_was(demo, register_url, tmp_path):
    before = state(demo)
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, register_url, str(ready)],
                               env={**os.environ}, stderr=subprocess.PIPE)
    kill_when(process, ready.exists, what="the reconciliation reaching its last step")
    assert state(demo) == before
    assert reconcile.reconcile(demo).changes["opened"] == 9  # the lock went with the process


@pytest.mark.reliability("faults")
def test_two_concurrent_reconciliations_write_each_finding_once(demo):
    results, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(reconcile.reconcile(demo))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert sorted(r.changes["opened"] for r in results) == [0, 9]  # one did the work, the other found it done
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(finding)).scalar_one() == 9
        assert conn.execute(select(func.count()).select_from(history_table).where(
            history_table.c.entity_kind == "finding")).scalar_one() == 9
        assert conn.execute(select(func.count()).select_from(history_table).where(
            history_table.c.action == "missing")).scalar_one() == 1
