"""Lineage from a real register (SQLite and PostgreSQL) through real transports: what a harvest
changed, the whole estate, backfills of past days, and a transport that is down."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from adc.lineage.backfill import backfill, daily_intervals
from adc.lineage.emit import LineageTransportError, emit_current, emit_harvest
from adc.register.tables import harvest_run, observed_dataset
from tests.openlineage_spec import validation
from tests.support.lineage import (
    change_asset,
    day,
    glue_table,
    http_transport,
    register_asset,
    s3_dataset,
    start_receiver,
    two_harvests,
)


def changes(events: list[dict]) -> dict[str, str]:
    """dataset name -> its lifecycle change (or 'state')."""
    facets = {e["dataset"]["name"]: e["dataset"]["facets"] for e in events if "dataset" in e}
    return {name: f.get("lifecycleStateChange", {}).get("lifecycleStateChange", "state") for name, f in facets.items()}


def test_after_a_harvest_its_new_changed_and_gone_datasets_are_sent(register, harvest, lineage_file):
    harvest("h1", day(1), {"b": [s3_dataset("b", "applications", "name"), s3_dataset("b", "staff", "email")]})
    first = emit_harvest(register)
    assert first.kinds == {"dataset CREATE": 2, "run START": 1, "run COMPLETE": 1}
    harvest("h2", day(3), {"b": [s3_dataset("b", "applications", "name", "status"), s3_dataset("b", "visits", "x")]})
    lineage_file.write_text("")
    emit_harvest(register)  # the latest run
    events = validation.read_jsonl(lineage_file)
    assert changes(events) == {"applications": "ALTER", "staff": "DROP", "visits": "CREATE"}
    assert validation.invalid_events(events) == []
    run_complete = next(e for e in events if e.get("eventType") == "COMPLETE")
    assert [d["name"] for d in run_complete["inputs"]] == ["applications", "visits"]  # what the run read
    assert run_complete["outputs"][0]["name"].endswith("observed_dataset")  # and the register it wrote
    assert all(e["eventTime"].endswith("+00:00") for e in events)


def test_a_harvest_inside_airflow_leaves_its_run_events_to_the_provider(register, harvest, lineage_file):
    harvest("h1", day(1), {"b": [s3_dataset("b", "applications", "name")]}, triggered_by="scheduled__2024-05-01")
    assert emit_harvest(register, "h1").kinds == {"dataset CREATE": 1}


def test_all_sends_the_current_state_of_every_dataset(register, lineage_file, monkeypatch):
    two_harvests(register, monkeypatch)
    register_asset(register, "IA-0001", "s3://b/applications", day(4), owner="alice")
    sent = emit_current(register)
    events = validation.read_jsonl(lineage_file)
    assert sent.events == 3 and validation.invalid_events(events) == []
    assert changes(events) == {"applications": "state", "staff": "DROP", "visits": "CREATE"}
    applications = next(e for e in events if e["dataset"]["name"] == "applications")
    # registered after its last change: the event is the registration's, no lifecycle change then
    assert applications["eventTime"] == "2024-05-04T06:00:00+00:00"
    assert applications["dataset"]["facets"]["adc_asset"]["assetId"] == "IA-0001"
    assert applications["dataset"]["facets"]["adc_asset"]["reconstructed"] is False


def test_a_dataset_belongs_to_its_assets_as_reconciliation_says(register, harvest, lineage_file):
    """Directly, through its symlink, or as the symlink target of a registered dataset; never a
    retired asset's."""
    raw, curated, legacy = (s3_dataset("b", "raw", "name"), s3_dataset("c", "curated", "name"),
                            s3_dataset("d", "legacy", "name"))
    harvest("h1", day(1), {"b": [raw], "c": [curated], "d": [legacy],
                           "glue/mi": [glue_table("mi", "raw", raw, "name"), glue_table("mi", "curated", curated)]})
    register_asset(register, "IA-0001", "s3://b", day(1, 1))  # the bucket: the Glue table over it too
    register_asset(register, "IA-0002", "glue://mi/curated", day(1, 1))  # the table: its S3 data too
    register_asset(register, "IA-0003", "s3://d", day(1, 1), status="retired")
    emit_current(register)
    owners = {e["dataset"]["name"]: e["dataset"]["facets"]["adc_asset"].get("assetId")
              for e in validation.read_jsonl(lineage_file)}
    assert owners == {"raw": "IA-0001", "table/mi/raw": "IA-0001", "table/mi/curated": "IA-0002",
                      "curated": "IA-0002", "legacy": None}


def test_a_backfill_shows_each_day_as_it_was_and_twice_gives_the_same_bytes(register, lineage_file, monkeypatch):
    two_harvests(register, monkeypatch)
    register_asset(register, "IA-0001", "s3://b", day(2, 12), owner="bob")
    change_asset(register, "IA-0001", day(5, 9, 30), owner="carol")
    result = backfill(register, date(2024, 5, 1), date(2024, 5, 7))
    first = lineage_file.read_bytes()
    lineage_file.write_text("")
    assert backfill(register, date(2024, 5, 1), date(2024, 5, 7)) == result
    assert lineage_file.read_bytes() == first

    events = validation.read_jsonl(lineage_file)
    assert validation.invalid_events(events) == []
    per_day = [d["events"] for d in result["intervals"]]
    # day 1: two datasets; day 2: the same; day 3: applications old and new, staff and its DROP, visits;
    # then applications and visits (staff's DROP is not repeated every day)
    assert per_day == [2, 2, 5, 2, 2, 2, 2]
    assert all(e["dataset"]["facets"]["adc_asset"]["reconstructed"] for e in events)
    owners = {(e["eventTime"], e["dataset"]["facets"].get("ownership", {}).get("owners", [{}])[0].get("name"))
              for e in events if e["dataset"]["name"] == "visits"}
    # unregistered until day 2 noon (visits appears on day 3: owned by bob), then carol from day 5 09:30
    assert owners == {("2024-05-03T06:00:00+00:00", "user:bob"), ("2024-05-05T09:30:00+00:00", "user:carol")}
    # an unchanged dataset gives the same event every day: a consumer deduplicates the repeats
    assert len({json.dumps(e, sort_keys=True) for e in events}) < len(events)


def test_the_cli_backfill_and_the_dag_use_the_same_intervals():
    assert [s.isoformat() for s, _ in daily_intervals(date(2024, 5, 1), date(2024, 5, 3))] == [
        "2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00", "2024-05-03T00:00:00+00:00"]


def test_http_transport_sends_the_same_events_as_the_file_transport(register, lineage_file, receiver, monkeypatch):
    two_harvests(register, monkeypatch)
    emit_current(register)
    http_transport(monkeypatch, receiver.url)
    emit_current(register)
    assert receiver.events() == validation.read_jsonl(lineage_file)


@pytest.mark.reliability("faults")
def test_a_transport_that_is_down_fails_clearly_and_a_retry_sends_everything(register, monkeypatch):
    two_harvests(register, monkeypatch)
    down = start_receiver()
    url = down.url
    down.stop()  # nothing listens there now
    http_transport(monkeypatch, url)
    with register.connect() as conn:
        before = [list(conn.execute(select(t).order_by(*t.primary_key.columns)))
                  for t in (harvest_run, observed_dataset)]
    with pytest.raises(LineageTransportError) as failure:
        emit_harvest(register)
    message = str(failure.value)
    assert "http transport refused event 1" in message and "ConnectionError" in message and "run it again" in message
    with register.connect() as conn:  # nothing recorded anywhere
        after = [list(conn.execute(select(t).order_by(*t.primary_key.columns)))
                 for t in (harvest_run, observed_dataset)]
    assert after == before

    back = start_receiver()
    try:
        http_transport(monkeypatch, back.url)
        sent = emit_harvest(register)
        assert len(back.bodies) == sent.events == 5  # START, COMPLETE, ALTER, DROP, CREATE
        emit_harvest(register)
        assert back.bodies[:5] == back.bodies[5:]  # a second send is identical: the consumer deduplicates
    finally:
        back.stop()
