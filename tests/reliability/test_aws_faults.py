"""AWS misbehaving under a harvest: throttling, errors, dropped and slow connections, an endpoint that
goes away, a harvest killed part-way. Every fault crosses a real socket (tests/support/faults.py)
between boto3 and the moto server holding the DCR estate.

The promise (../shared/DESIGN.md): the harvest ends with the result it has without faults, or it
fails the affected scopes and says so; a failed or killed run changes nothing in the register, and a
run after it converges on the state a clean harvest gives.
"""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest
from sqlalchemy import text

from adc.config import SourcesFile
from adc.harvest import runner
from adc.register import reconcile
from tests.reliability.conftest import QUICK_VERDICT, adc, start_adc
from tests.support.faults import DROP, ERROR, SLOW, THROTTLE, Rule
from tests.support.harvest import GOLDEN, estate_projection, scopes
from tests.support.processes import kill_when
from tests.support.register_staging import state

pytestmark = pytest.mark.reliability("faults")

CONFIG = SourcesFile.model_validate({"sources": [{"name": "dcr-prod", "region": "eu-west-2"}]})
PAYROLL = "dcr-prod-payroll-extracts"


def _harvest(engine) -> dict:
    return runner.harvest(engine, CONFIG)


def _golden() -> list[dict]:
    return json.loads(GOLDEN.read_text())


def _clean(summary: dict) -> None:
    assert summary["status"] == "complete" and summary["errors"] == []
    assert all(s["status"] in ("complete", "absent") for s in summary["coverage"]["scopes"])


def test_throttling_on_a_share_of_requests_gives_the_same_result(proxy, sqlite_register):
    # S3's 503 SlowDown on a tenth of its calls; ThrottlingException (Glue, DynamoDB) on a quarter;
    # Throttling (STS, RDS, Redshift: few calls) on every other one
    proxy.add(Rule(THROTTLE, match=lambda r: r.protocol == "rest", every=10),
              Rule(THROTTLE, match=lambda r: r.protocol == "json", every=4),
              Rule(THROTTLE, match=lambda r: r.protocol == "query", every=2))
    summary = _harvest(sqlite_register)
    _clean(summary)
    assert estate_projection(sqlite_register) == _golden()
    assert proxy.injected(THROTTLE) >= 10 and proxy.protocols(THROTTLE) == {"rest", "json", "query"}, proxy.stats


def test_server_errors_and_dropped_connections_give_the_same_result(proxy, sqlite_register):
    proxy.add(Rule(ERROR, every=7), Rule(DROP, every=9))
    summary = _harvest(sqlite_register)
    _clean(summary)
    assert estate_projection(sqlite_register) == _golden()
    assert proxy.injected(ERROR) >= 10 and proxy.injected(DROP) >= 5, proxy.stats


def test_slow_responses_give_the_same_result(proxy, sqlite_register):
    proxy.add(Rule(SLOW, every=3, delay=0.5))
    summary = _harvest(sqlite_register)
    _clean(summary)
    assert estate_projection(sqlite_register) == _golden()
    assert proxy.injected(SLOW) >= 20, proxy.stats


@pytest.mark.parametrize("kind", [ERROR, pytest.param(THROTTLE, marks=pytest.mark.slow),
                                  pytest.param(SLOW, marks=pytest.mark.slow)])
def test_a_bucket_that_keeps_failing_fails_alone_and_marks_nothing_missing(proxy, demo_register, sources_file,
                                                                          kind):
    """Every call for the payroll bucket fails (or outlasts the read timeout) after the listing of
    buckets: that scope is failed with why, the rest of the estate is harvested, nothing is missing."""
    proxy.add(Rule(kind, match=lambda r: r.bucket == PAYROLL and "location" not in r.path, delay=7))
    result = adc("harvest", "--config", str(sources_file), "--json", env=QUICK_VERDICT)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    payroll = scopes(summary)[("s3", PAYROLL)]
    assert payroll["status"] == "failed" and payroll["datasets"] == 0
    assert payroll["error_kind"] == {ERROR: "InternalError", THROTTLE: "Throttling", SLOW: "ReadTimeoutError"}[kind]
    others = [s for s in summary["coverage"]["scopes"] if s["scope"] != PAYROLL]
    assert others and all(s["status"] in ("complete", "absent") for s in others)
    assert {d["dataset"] for d in estate_projection(demo_register)} == {
        d["dataset"] for d in _golden() if not d["dataset"].startswith(f"s3://{PAYROLL}")}

    outcome = reconcile.reconcile(demo_register, policy=reconcile.Policy.from_sources(CONFIG))
    with demo_register.connect() as conn:
        payroll = {"ns": f"s3://{PAYROLL}"}
        payroll_asset = conn.execute(text(
            "SELECT a.status FROM asset a JOIN asset_location l ON l.asset_id = a.asset_id "
            "WHERE l.namespace = :ns"), payroll).scalar()
        kinds = {row[0] for row in conn.execute(text(
            "SELECT kind FROM finding WHERE namespace = :ns OR asset_id IN "
            "(SELECT asset_id FROM asset_location WHERE namespace = :ns)"), payroll)}
    assert payroll_asset == "active" and outcome.changes["missing"] == 1  # only the planted ghost asset
    assert "unreadable_source" in kinds and "missing_asset" not in kinds


def test_the_endpoint_vanishing_mid_harvest_changes_nothing_and_a_rerun_converges(
        proxy, dcr_estate, demo_register, sources_file, monkeypatch):
    policy = reconcile.Policy.from_sources(CONFIG)
    monkeypatch.setenv("AWS_ENDPOINT_URL", dcr_estate.url)
    _clean(_harvest(demo_register))
    reconcile.reconcile(demo_register, policy=policy)
    before = state(demo_register)

    proxy.vanish_after = 60  # of about 125 calls: the plan gets through, the endpoint goes while units run
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    result = adc("harvest", "--config", str(sources_file), "--json", env=QUICK_VERDICT)
    assert result.returncode == 0, result.stderr  # the run completes, the scopes it lost recorded as failed
    summary = json.loads(result.stdout)
    statuses = Counter(s["status"] for s in summary["coverage"]["scopes"])
    failed = [s for s in summary["coverage"]["scopes"] if s["status"] == "failed"]
    assert statuses["complete"] and failed, statuses
    assert {s["error_kind"] for s in failed} <= {"EndpointUnreachable", "ConnectionClosedError"}, failed
    assert proxy.forwarded >= 60  # (calls in flight when it went are answered)
    assert _record(state(demo_register)) == _record(before)
    assert _gone(demo_register) == set()  # a scope it could not finish proves nothing absent
    reconcile.reconcile(demo_register, policy=policy)
    assert _record(state(demo_register)) == _record(before)  # nothing missing, no asset changed
    assert {kind for kind, _, _ in _live_findings(state(demo_register)) - _live_findings(before)} == {
        "unreadable_source"}  # what it could not reach is reported as such

    monkeypatch.setenv("AWS_ENDPOINT_URL", dcr_estate.url)  # the endpoint is back
    _clean(_harvest(demo_register))
    reconcile.reconcile(demo_register, policy=policy)
    assert estate_projection(demo_register) == _golden()
    assert _live_findings(state(demo_register)) == _live_findings(before)


def test_a_harvest_killed_part_way_changes_nothing_and_a_rerun_converges(proxy, demo_register, sources_file):
    before = state(demo_register)
    proxy.add(Rule(SLOW, delay=0.05))  # every call, so the run is surely in the middle when it dies
    process = start_adc("harvest", "--config", str(sources_file))
    kill_when(process, lambda: proxy.forwarded >= 40, what="the harvest in full flight")
    assert process.returncode == -signal.SIGKILL
    assert state(demo_register) == before
    with demo_register.connect() as conn:
        assert conn.exec_driver_sql("SELECT status FROM harvest_run").scalars().all() == ["running"]
    with pytest.raises(Exception, match="no harvest run has completed"):
        reconcile.reconcile(demo_register)  # the killed run is never taken for a finished one

    proxy.clear()
    assert adc("harvest", "--config", str(sources_file)).returncode == 0
    assert estate_projection(demo_register) == _golden()


def _record(snapshot: dict) -> dict:
    """The assets as a person keeps them (all but when a harvest last saw them), their locations and
    their history."""
    from adc.register.tables import asset, history

    seen = [c.name for c in asset.columns].index("last_seen_at")
    kind = [c.name for c in history.columns].index("entity_kind")
    return {"asset": [row[:seen] + row[seen + 1:] for row in snapshot["asset"]],
            "asset_location": snapshot["asset_location"],
            "history": [row for row in snapshot["history"] if row[kind] == "asset"]}


def _gone(engine) -> set[tuple]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.exec_driver_sql(
            "SELECT namespace, name FROM observed_dataset WHERE valid_to IS NULL AND gone")}


def _live_findings(snapshot: dict) -> set[tuple]:
    from adc.register.tables import finding

    names = [c.name for c in finding.columns]
    rows = [dict(zip(names, row, strict=True)) for row in snapshot["finding"]]
    return {(r["kind"], r["subject"], r["severity"]) for r in rows if r["status"] in ("open", "acknowledged")}
