"""The custom facet's committed JSON schema, the validator's teeth, and who covers a dataset."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde

from adc.lineage import facets
from adc.lineage.estate import Assets
from adc.lineage.events import dataset_event
from adc.model import SPECIAL_CATEGORIES
from adc.naming import DatasetId
from tests.openlineage_spec import validation
from tests.support import lineage_cases as cases

SCHEMA = json.loads((facets.SCHEMAS / "AdcAssetDatasetFacet.json").read_text())


def test_the_schema_is_json_schema_2020_12_extending_the_dataset_facet():
    Draft202012Validator.check_schema(SCHEMA)
    definition = SCHEMA["$defs"]["AdcAssetDatasetFacet"]
    assert definition["allOf"][0] == {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetFacet"}
    assert SCHEMA["properties"] == {facets.ADC_FACET: {"$ref": "#/$defs/AdcAssetDatasetFacet"}}


def test_the_facet_names_its_committed_schema():
    assert SCHEMA["$id"] + "#/$defs/AdcAssetDatasetFacet" == facets.ADC_FACET_SCHEMA_URL
    assert SCHEMA["$id"].endswith("/include/adc/lineage/schemas/AdcAssetDatasetFacet.json")
    assert SCHEMA["$id"].startswith("https://")


def test_the_producer_is_where_the_project_lives_at_its_version_unless_the_deployment_names_its_own(monkeypatch):
    monkeypatch.delenv("ADC_OPENLINEAGE_PRODUCER", raising=False)
    assert facets._producer() == f"https://github.com/dcr-digital/adc/tree/v{facets.__version__}"
    monkeypatch.setenv("ADC_OPENLINEAGE_PRODUCER", "https://git.dcr.example/data/adc/tree/v9")
    assert facets._producer() == "https://git.dcr.example/data/adc/tree/v9"


def test_special_categories_are_the_models_vocabulary():
    assert tuple(SCHEMA["$defs"]["SpecialCategories"]["items"]["enum"]) == SPECIAL_CATEGORIES


def event(case: str = "glue_table") -> dict:
    return json.loads(Serde.to_json(dataset_event(cases.version(cases.observed()[case]), cases.assets())))


@pytest.mark.parametrize(("path", "value", "complaint"), [
    (("adc_asset", "observed", "specialCategories"), ["biometrics"], "is not one of"),
    (("adc_asset", "registered"), "yes", "is not of type 'boolean'"),
    (("adc_asset", "assetStatus"), "archived", "is not one of"),
    (("schema", "fields"), [{"type": "string"}], "'name' is a required property"),
    (("lifecycleStateChange", "lifecycleStateChange"), "DELETE", "is not one of"),
])
def test_the_validator_catches_a_broken_facet(path, value, complaint):
    broken = copy.deepcopy(event())
    target = broken["dataset"]["facets"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(complaint in p for p in validation.problems(broken)), validation.problems(broken)


def test_the_validator_catches_a_time_without_offset_and_a_missing_field():
    broken = event()
    broken["eventTime"] = "2024-05-01T06:00:00"
    assert any("date-time" in p for p in validation.problems(broken))
    broken = event()
    del broken["dataset"]["facets"]["adc_asset"]["observed"]
    assert any("'observed' is a required property" in p for p in validation.problems(broken))


def test_covering_follows_dataset_id_covers_and_prefers_the_most_specific():
    locations = [("IA-1", "s3://b", ""), ("IA-2", "s3://b", "x"), ("IA-3", "s3://b", "x/y"),
                 ("IA-4", "arn:aws:glue:r:1", "table/db")]
    rows = [cases.asset_row(a) for a, _, _ in locations]
    assets = Assets(rows, [{"asset_id": a, "uri": f"{a}-uri", "namespace": ns, "name": n} for a, ns, n in locations],
                    [])
    probes = [DatasetId("s3://b", n) for n in ("x", "x/y", "x/y/z", "x/yz", "xy", "other/x", "")]
    probes += [DatasetId("arn:aws:glue:r:1", n) for n in ("table/db/t", "table/db", "table/dbx/t")]
    probes += [DatasetId("s3://c", "x")]
    for probe in probes:
        covering = [(a, DatasetId(ns, n)) for a, ns, n in locations if DatasetId(ns, n).covers(probe)]
        expected = max(covering, key=lambda c: len(c[1].name))[0] if covering else None
        found = assets.covering(probe)
        assert (found.asset_id if found else None) == expected, probe


def test_an_asset_in_the_past_undoes_later_changes_including_its_locations():
    rows = [cases.asset_row("IA-1", owner="alice", created_at=datetime(2024, 1, 1, tzinfo=UTC))]
    locations = [{"asset_id": "IA-1", "uri": "s3://new", "namespace": "s3://new", "name": ""}]
    moved = datetime(2024, 3, 1, tzinfo=UTC)
    history = [{"entity_id": "IA-1", "at": moved,
                "changes": {"owner": ["bob", "alice"], "location": [["s3://old"], ["s3://new"]]}}]
    assets = Assets(rows, locations, history)
    before, after = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
    assert assets.covering(DatasetId("s3://old", "t"), at=before).values["owner"] == "bob"
    assert assets.covering(DatasetId("s3://new", "t"), at=before) is None
    assert assets.covering(DatasetId("s3://new", "t"), at=after).since == moved
    assert assets.covering(DatasetId("s3://old", "t")) is None
    assert assets.state("IA-1", datetime(2023, 12, 1, tzinfo=UTC)) is None  # not yet registered
