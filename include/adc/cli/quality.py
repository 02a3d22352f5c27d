"""adc quality check: validate quality.yaml and say which of its rules ADC evaluates from metadata."""

from __future__ import annotations

import argparse
from typing import Any

from adc.cli import add_parser, print_json


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
