"""Events of every kind ADC emits: exact bytes against golden files, and valid against the spec.

Regenerate the golden files after a deliberate change with
    ADC_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/lineage
and review the diff: it is the change consumers will see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openlineage.client.serde import Serde

from adc.lineage.events import dataset_event, run_events
from adc.naming import DatasetId
from tests.openlineage_spec import validation
from tests.support import lineage_cases as cases
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden"


def serialised(event) -> str:
    return Serde.to_json(event)


def golden(name: str, events: list) -> None:
    """The events, one JSON line each (what the file transport writes), equal the golden file."""
    text = "".join(serialised(e) + "\n" for e in events)
    assert_golden(GOLDEN / f"{name}.jsonl", text)
    assert validation.invalid_events([json.loads(line) for line in text.splitlines()]) == []


@pytest.mark.parametrize("case", sorted(cases.observed()))
def test_a_new_dataset_of_every_service(case):
    event = dataset_event(cases.version(cases.observed()[case]), cases.assets())
    golden(f"create_{case}", [event])


def test_a_glue_table_has_its_schema_and_its_s3_location_as_a_symlink():
    event = dataset_event(cases.version(cases.observed()["glue_table"]), cases.assets())
    facets = json.loads(serialised(event))["dataset"]["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]] == ["application_id", "name", "nationality", "year",
                                                               "month", "day"]
    assert facets["symlinks"]["identifiers"] == [
        {"namespace": "s3://dcr-prod-applications-curated", "name": "applications", "type": "LOCATION"}]
    assert facets["storage"] == {**facets["storage"], "storageLayer": "default", "fileFormat": "parquet"}
    # registered through its symlink: the curated bucket's asset covers the table over it
    assert facets["adc_asset"]["assetId"] == "IA-0010"
    assert facets["ownership"]["owners"] == [{"name": "user:alice", "type": "INFORMATION_ASSET_OWNER"}]


def test_partition_keys_that_are_not_columns_join_the_schema():
    facets = json.loads(serialised(dataset_event(cases.version(cases.observed()["s3_jsonl_partitioned"]),
                                                 cases.assets())))["dataset"]["facets"]
    assert [(f["name"], f.get("description")) for f in facets["schema"]["fields"]][-2:] == [
        ("source", "partition key"), ("ingest_date", "partition key")]


def test_unregistered_personal_data_says_so():
    facets = json.loads(serialised(dataset_event(cases.version(cases.observed()["s3_unregistered"]),
                                                 cases.assets())))["dataset"]["facets"]
    assert facets["adc_asset"]["registered"] is False
    assert facets["adc_asset"]["observed"]["personalData"] is True
    assert "ownership" not in facets


def test_changed_gone_and_returning_datasets():
    dataset = cases.observed()["s3_jsonl_partitioned"]
    assets = cases.assets()
    events = [
        dataset_event(cases.version(dataset, at=cases.T1, previous_gone=False, content_hash="beef"), assets),
        dataset_event(cases.version(dataset, at=cases.T1, gone=True, previous_gone=False), assets),
        dataset_event(cases.version(dataset, at=cases.T1, previous_gone=True, content_hash="beef"), assets),
    ]
    golden("lifecycle_alter_drop_return", events)
    changes = [json.loads(serialised(e))["dataset"]["facets"]["lifecycleStateChange"]["lifecycleStateChange"]
               for e in events]
    assert changes == ["ALTER", "DROP", "CREATE"]
    dropped = json.loads(serialised(events[1]))["dataset"]["facets"]
    assert "schema" not in dropped and dropped["adc_asset"]["assetId"] == "IA-0001"


def test_a_reconstructed_event_shows_the_owner_of_the_time():
    dataset = cases.observed()["s3_jsonl_partitioned"]
    assets = cases.assets()
    before = dataset_event(cases.version(dataset), assets, at=datetime(2024, 5, 2, tzinfo=UTC), reconstructed=True)
    after = dataset_event(cases.version(dataset), assets, at=datetime(2024, 5, 3, tzinfo=UTC), reconstructed=True)
    golden("reconstructed_before_and_after_an_owner_change", [before, after])
    b, a = (json.loads(serialised(e)) for e in (before, after))
    assert b["dataset"]["facets"]["ownership"]["owners"][0]["name"] == "user:bob"
    assert a["dataset"]["facets"]["ownership"]["owners"][0]["name"] == "user:alice"
    # each event is dated when the state it describes began: the harvest, then the owner's change
    assert (b["eventTime"], a["eventTime"]) == ("2024-05-01T06:00:00+00:00", "2024-05-02T09:30:00+00:00")
    assert b["dataset"]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"
    assert "lifecycleStateChange" not in a["dataset"]["facets"]  # the dataset did not change then
    assert b["dataset"]["facets"]["adc_asset"]["reconstructed"] is True


def test_an_asset_registered_later_covers_nothing_before():
    bookings = cases.version(cases.observed()["dynamodb"])
    assets = cases.assets()
    early = json.loads(serialised(dataset_event(bookings, assets, at=datetime(2024, 5, 2, tzinfo=UTC))))
    late = json.loads(serialised(dataset_event(bookings, assets, at=datetime(2024, 5, 3, tzinfo=UTC))))
    assert early["dataset"]["facets"]["adc_asset"]["registered"] is False
    assert late["dataset"]["facets"]["adc_asset"]["assetId"] == "IA-0030"


def test_the_same_inputs_give_the_same_bytes_and_ids_follow_the_version():
    dataset = cases.observed()["glue_table"]
    first = serialised(dataset_event(cases.version(dataset), cases.assets()))
    assert serialised(dataset_event(cases.version(dataset), cases.assets())) == first
    other = serialised(dataset_event(cases.version(dataset, content_hash="other"), cases.assets()))
    version = json.loads(first)["dataset"]["facets"]["version"]["datasetVersion"]
    assert version != json.loads(other)["dataset"]["facets"]["version"]["datasetVersion"]


def test_run_events_of_a_shell_harvest():
    common = {"namespace": "adc", "job": "adc_harvest", "run_key": "cli-2024-05-01", "started_at": cases.T0,
              "inputs": [DatasetId("s3://dcr-prod-applications-raw", "applications")],
              "outputs": [DatasetId("postgres://db:5432", "adc.public.observed_dataset")]}
    done = run_events(**common, finished_at=cases.T1, failed=False)
    failed = run_events(**common, finished_at=cases.T1, failed=True, error="AccessDenied on dcr-prod-legal-holds")
    golden("run_events_complete_and_fail", done + failed)
    assert [e.eventType.value for e in done + failed] == ["START", "COMPLETE", "START", "FAIL"]
    assert len({e.run.runId for e in done + failed}) == 1  # the same run, retried: one run id
    assert run_events(**common, finished_at=None, failed=False)[0].run.runId == done[0].run.runId
