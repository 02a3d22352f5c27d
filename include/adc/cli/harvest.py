"""adc harvest and adc datasets: harvest the estate from a shell, and list what the last harvests saw."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from adc.cli import add_as_user, add_parser, print_json
from adc.model import Service

# What `adc datasets --json` prints of each dataset, in this order (see docs/harvest.md).
DATASET_KEYS = (
    "service", "source", "region", "scope", "kind", "format", "location", "partition_keys", "fields",
    "schema_status", "object_count", "size_bytes", "first_modified", "last_modified", "tags", "classification",
    "personal_data", "special_categories", "properties", "symlinks", "problems", "organisation", "marking",
)


def _harvest(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.config import load_sources
    from adc.harvest import runner
    from adc.lineage.emit import emit_after_harvest
    from adc.register.db import register_engine

    config = load_sources(args.config)
    for name in args.source or ():
        config.source(name)  # an unknown name is a one-line error before anything runs
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = register_engine()
    summary = runner.harvest(engine, config, sources=args.source, workers=args.workers)
    summary["lineage"] = emit_after_harvest(engine, summary["run_id"])  # OpenLineage, when configured
    if args.json:
        print_json(summary)
    else:
        print(render_summary(summary))
        lineage = summary["lineage"]
        print(f"  lineage: {lineage['events']} OpenLineage event(s) sent ({lineage['transport']} transport)"
              if "events" in lineage else "  lineage: not sent, no OpenLineage transport is configured")
    return 0


def render_summary(summary: dict[str, Any]) -> str:
    coverage = summary["coverage"]
    lines = [f"harvest {summary['run_id']}: {summary['status']}, {summary['datasets']} dataset(s) from "
             f"{len(coverage['scopes'])} scope(s) of {', '.join(summary['sources'])}"]
    for service, counts in sorted(summary["services"].items()):
        states = ", ".join(f"{counts[k]} {k}" for k in ("complete", "partial", "failed", "absent") if counts[k])
        lines.append(f"  {service:<9} {counts['scopes']:>5} scope(s) {counts['datasets']:>7} dataset(s)  ({states})")
    for scope in coverage["scopes"]:
        if scope["status"] != "complete":
            lines.append(f"  {scope['status']}: {scope['source']} {scope['service']} {scope['region']} "
                         f"{scope['scope']}: {scope['error']}")
    for error in summary["errors"]:
        if error.get("scope") is None:
            lines.append(f"  listing failed: {error['source']} {error['service']} {error['region']}: {error['error']}")
    if summary["unreadable"]:
        lines.append(f"  {summary['unreadable']} unreadable file(s) or table(s): "
                     "see --json (coverage.scopes[].unreadable)")
    merge = summary["merge"]
    lines.append(f"  register: {merge['added']} added, {merge['changed']} changed, {merge['unchanged']} unchanged, "
                 f"{merge['gone']} gone")
    return "\n".join(lines)


def _datasets(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.register.db import register_engine
    from adc.register.store import current_datasets

    visible = visibility.datasets(load_organisations().reader(args.as_user))
    rows = [
        {"namespace": d["id"]["namespace"], "name": d["id"]["name"], **{k: d.get(k) for k in DATASET_KEYS},
         "harvest_run": d["harvest_run"]}
        for d in current_datasets(register_engine(), visible=visible)
        if (not args.service or d["service"] == args.service) and (not args.source or d["source"] == args.source)
    ]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        marks = row["classification"] if row["classification"] != "none" else ""
        identity = f"{row['namespace']}/{row['name']}" if not row["namespace"].startswith("arn:") else (
            f"{row['namespace']}:{row['name']}")
        fields = len(row["fields"] or [])
        print(f"{identity}  {row['service']}  {row['format'] or '-'}  {fields} field(s)  {marks}".rstrip())
    print(f"{len(rows)} dataset(s)", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    harvest = add_parser(subparsers, "harvest", _harvest,
                         "harvest the AWS estate named in sources.yaml into the register, and print the run summary")
    harvest.add_argument("--config", metavar="FILE",
                         help="sources file (default: $ADC_SOURCES, else include/config/sources.yaml)")
    harvest.add_argument("--source", metavar="NAME", action="append",
                         help="harvest only this source (repeat for several; default: all)")
    harvest.add_argument("--json", action="store_true",
                         help="print the run summary as JSON: run id, per-service counts, coverage, errors, merge")
    harvest.add_argument("--workers", type=int, default=4, metavar="N", help="units harvested at once (default 4)")
    harvest.add_argument("-v", "--verbose", action="store_true", help="log each scope as it is harvested")

    datasets = add_parser(subparsers, "datasets", _datasets,
                          "list the datasets the latest harvests observed (the current estate)")
    datasets.add_argument("--json", action="store_true", help="print them as JSON, with fields and classifications")
    datasets.add_argument("--service", choices=[str(s) for s in Service], help="only this service")
    datasets.add_argument("--source", metavar="NAME", help="only datasets of this source")
    add_as_user(datasets)
