"""Validate OpenLineage events with the repository's copy of the spec and validator (see SOURCE.txt),
with ADC's custom facet schemas registered so the custom facet is checked against its schema too.

Used by the lineage tests and by the lineage stage of `make demo-check` (loaded by path: tests/ is
not a package).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPEC_DIR = HERE / "openlineage-spec"
ADC_SCHEMAS = ROOT / "include" / "adc" / "lineage" / "schemas"


@cache
def validator():
    """The copied validate_openlineage.py as a module."""
    spec = importlib.util.spec_from_file_location("validate_openlineage", HERE / "tools" / "validate_openlineage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@cache
def spec():
    """The official spec plus ADC's custom facet schemas, resolvable offline."""
    from referencing import Resource
    from referencing.jsonschema import DRAFT202012

    v = validator()
    loaded = v.load_spec(SPEC_DIR)
    for path in sorted(ADC_SCHEMAS.glob("*.json")):
        contents = json.loads(path.read_text())
        schema = v.SchemaFile(path, contents["$id"], contents, v._facet_keys(contents))
        loaded.by_name[path.name] = schema
        loaded.registry = loaded.registry.with_resource(
            schema.uri, Resource.from_contents(contents, default_specification=DRAFT202012)
        ).crawl()
    return loaded


def problems(event: Any, *, strict: bool = True) -> list[str]:
    """Every way the event breaks the spec (or a facet schema); empty when it is valid."""
    _, found = validator().check_event(spec(), event, strict)
    return [f"{p.path}: {p.message}" for p in found]


def invalid_events(events: list[Any], *, strict: bool = True) -> list[str]:
    """One line per invalid event: its position, type and first problems."""
    lines = []
    for number, event in enumerate(events, 1):
        if found := problems(event, strict=strict):
            kind = validator().event_type_of(event) if isinstance(event, dict) else "?"
            lines.append(f"event {number} ({kind}): " + "; ".join(found[:3]))
    return lines


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
