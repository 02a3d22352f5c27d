"""The lineage stage of `make demo-check`: what the demo wrote to .demo-check/lineage/events.jsonl.

The demo sends ADC's events and Airflow's (the provider's) to the same file transport. After the
pipeline has run: every harvested dataset has a valid DatasetEvent (a Glue table with its columns
and its S3 location as a symlink), the governance DAGs' runs started and completed, their tasks
name what they read and wrote, and every event in the file passes the OpenLineage validator
(the repository's copy, tests/openlineage_spec, with ADC's custom facet schema).
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

from sqlalchemy import func, true

from adc.config import PROJECT_ROOT
from adc.demo.client import environment
from adc.organisations import load_organisations
from adc.register.db import register_engine
from adc.register.store import current_datasets
from adc.register.tables import observed_dataset

GOVERNANCE_DAGS = ("adc_harvest", "adc_reconcile")


def validation() -> ModuleType:
    """tests/openlineage_spec/validation.py (tests/ is not a package: loaded by path)."""
    path = PROJECT_ROOT / "tests" / "openlineage_spec" / "validation.py"
    spec = importlib.util.spec_from_file_location("adc_openlineage_validation", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(report, api, env: dict[str, str], demo, *, timeout: float) -> None:
    print(f"Lineage (OpenLineage events in {demo.lineage_file})")
    if not report.check(demo.lineage_file.exists(), "the demo's OpenLineage file exists"):
        return
    events = [json.loads(line) for line in demo.lineage_file.read_text().splitlines() if line.strip()]
    with environment(env):
        checks(report, events)


def checks(report, events: list[dict[str, Any]]) -> None:
    invalid = validation().invalid_events(events)
    report.check(not invalid, f"all {len(events)} events in the file pass the OpenLineage validator"
                 + (f"; first failures: {invalid[:3]}" if invalid else ""))

    latest: dict[tuple[str, str], dict] = {}
    for event in events:
        if "dataset" in event:
            latest[(event["dataset"]["namespace"], event["dataset"]["name"])] = event["dataset"]["facets"]
    # the department's transport gets every organisation's datasets but a sealed unit's (which has none)
    organisations = load_organisations()
    sealed = [org for org in organisations.by_id if organisations.sealed(org)]
    outside = func.coalesce(observed_dataset.c.organisation, organisations.root).not_in(sealed) if sealed else true()
    estate = list(current_datasets(register_engine(), visible=outside))
    described = [d for d in estate if (d["id"]["namespace"], d["id"]["name"]) in latest]
    report.check(estate and len(described) == len(estate),
                 f"{len(described)} of {len(estate)} harvested datasets outside the sealed unit have a DatasetEvent")
    glue = [d for d in described if d["service"] == "glue" and d["fields"]]
    wrong = [d["id"]["name"] for d in glue if not _matches(d, latest[(d["id"]["namespace"], d["id"]["name"])])]
    report.check(glue and not wrong, f"{len(glue) - len(wrong)} of {len(glue)} Glue tables have their columns "
                 f"as the schema and their S3 location as a symlink" + (f" (wrong: {wrong})" if wrong else ""))

    for dag_id in GOVERNANCE_DAGS:
        states = {e["eventType"] for e in events if e.get("job", {}).get("name") == dag_id}
        report.check({"START", "COMPLETE"} <= states, f"{dag_id} runs emitted START and COMPLETE ({sorted(states)})")
    units = [e for e in events if e.get("job", {}).get("name") == "adc_harvest.harvest_unit"
             and e["eventType"] == "COMPLETE"]
    read = {(d["namespace"], d["name"]) for e in units for d in e.get("inputs", [])}
    report.check(read and read <= set(latest), f"the harvest's tasks name the {len(read)} datasets they read")
    reconcile = [e for e in events if e.get("job", {}).get("name") == "adc_reconcile.reconcile"
                 and e["eventType"] == "COMPLETE"]
    report.check(any({d["name"] for d in e.get("outputs", [])} >= {"finding", "asset"} for e in reconcile),
                 "reconciliation names the register tables it wrote (finding, asset)")


def _matches(dataset: dict[str, Any], facets: dict[str, Any]) -> bool:
    """The event's schema is the Glue columns (then partition keys not among them); its symlinks are
    the table's S3 location."""
    columns = [f["name"] for f in dataset["fields"]]
    columns += [k for k in dataset.get("partition_keys") or [] if k not in columns]
    schema = [f["name"] for f in facets.get("schema", {}).get("fields", [])]
    links = sorted((s["namespace"], s["name"]) for s in facets.get("symlinks", {}).get("identifiers", []))
    return schema == columns and links == sorted((s["namespace"], s["name"]) for s in dataset["symlinks"])
