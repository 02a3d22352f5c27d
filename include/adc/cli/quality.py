"""adc quality check: validate quality.yaml and say which of its rules ADC evaluates from metadata;
adc quality history: what every harvest measured of one dataset."""

from __future__ import annotations

import argparse
from typing import Any

from adc.cli import add_as_user, add_parser, print_json
from adc.errors import AdcError


def _check(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.quality.rules import load_quality, quality_path

    file, named = quality_path(args.file)
    declared = load_quality(args.file)  # a bad file is a one-line ConfigError: exit 2
    exists = named or file.exists()
    expectations: list[dict[str, Any]] = [
        {"dataset": e.dataset, "asset": e.asset,
         "rules": [{"rule": r.text, "type": r.kind, "evaluable": r.supported,
                    "reason": None if r.supported else r.reason}  # type: ignore[union-attr]
                   for r in e.ruleset]}
        for e in declared.expectations]
    if args.json:
        print_json({"file": str(file) if exists else None, "expectations": expectations})
        return 0
    if not exists:
        print(f"no {file}: no expectations are declared (ADC_QUALITY or --file names another file)")
        return 0
    rules = [r for e in expectations for r in e["rules"]]
    evaluable = sum(r["evaluable"] for r in rules)
    print(f"{file}: valid, {len(expectations)} expectation(s), {len(rules)} rule(s), "
          f"{evaluable} ADC evaluates from metadata, {len(rules) - evaluable} always unknown")
    for expectation, entry in zip(expectations, declared.expectations, strict=True):
        print(entry.target)
        width = max(len(r["rule"]) for r in expectation["rules"])
        for r in expectation["rules"]:
            verdict = "evaluated from metadata" if r["evaluable"] else f"unknown: {r['reason']}"
            print(f"  {r['rule']:<{width}}  {verdict}")
    return 0


def _history(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.quality.history import history
    from adc.register.db import register_engine

    visible = visibility.datasets(load_organisations().reader(args.as_user))
    series = history(register_engine(), args.uri, visible=visible)
    if series is None:  # unknown, or not the reader's to see: the same words either way
        raise AdcError(f"no dataset {args.uri}")
    if args.json:
        print_json(series)
        return 0
    if not series:
        print(f"{args.uri}: no harvest has recorded metrics for it yet")
        return 0
    print(args.uri)
    for m in series:
        nulls = sum(c["null_count"] for c in (m.get("columns") or {}).values())
        parts = [f"{m['at']:%Y-%m-%d %H:%M:%S}", f"objects {_n(m.get('object_count'))}",
                 f"bytes {_n(m.get('size_bytes'))}", f"rows {_n(m.get('row_count'))}",
                 f"columns {_n(m.get('column_count'))}",
                 f"nulls {nulls if m.get('columns') is not None else '-'}",
                 f"newest {m['newest']:%Y-%m-%d %H:%M:%S}" if m.get("newest") else "newest -"]
        print("  " + "  ".join(parts))
    return 0


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def add_commands(subparsers) -> None:
    quality = subparsers.add_parser(
        "quality", help="data quality: the expectations of quality.yaml",
        description="Data quality: the expectations declared in quality.yaml (ADC_QUALITY, default "
                    "include/config/quality.yaml), as DQDL rules per dataset or asset. See docs/quality.md.")
    commands = quality.add_subparsers(title="quality commands", metavar="COMMAND")
    check = add_parser(commands, "check", _check,
                       "validate quality.yaml and list each expectation's rules, saying which ADC evaluates "
                       "from metadata and why the others are always unknown")
    check.add_argument("--file", metavar="FILE",
                       help="the expectations file (default: $ADC_QUALITY, else include/config/quality.yaml)")
    check.add_argument("--json", action="store_true",
                       help="print the expectations as JSON: dataset or asset, and each rule's text, type, "
                            "whether it is evaluable and why not")
    history = add_parser(commands, "history", _history,
                         "what every harvest measured of one dataset from its metadata, oldest first: objects, "
                         "bytes, rows, columns, per-column null counts and the newest data's time (counts and "
                         "times only)")
    history.add_argument("uri", metavar="URI", help="the dataset's URI as adc datasets shows it, e.g. s3://bucket/prefix")
    history.add_argument("--json", action="store_true",
                         help="print the series as JSON: one object per harvest (at, run_id, object_count, "
                              "size_bytes, row_count, sampled_files, column_count, newest, columns)")
    add_as_user(history)
