"""adc register, adc reconcile, adc findings: the Information Asset Register from the shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adc.cli import add_as_user, add_parser, print_json
from adc.errors import AdcError
from adc.register import KINDS, SEVERITIES, STATUSES


def _engine():
    # imported when the command runs: keeps adc --help fast
    from adc.register.db import register_engine

    return register_engine()


# --------------------------------------------------------------------------- adc register


def _import(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.register import assets

    result = assets.import_file(_engine(), args.file, actor=args.by)
    print(f"{args.file}: {result.created} created, {result.updated} updated, {result.retired} retired, "
          f"{result.unchanged} unchanged")
    return 0


def _export(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.register import assets

    engine = _engine()
    visible = visibility.assets(load_organisations().reader(args.as_user))
    if args.format == "xlsx":
        if not args.output:
            raise AdcError("--format xlsx needs --output FILE (a workbook is not text)")
        n = assets.export(engine, "xlsx", args.output, visible=visible)
    elif args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            n = assets.export(engine, args.format, out, visible=visible)
    else:
        n = assets.export(engine, args.format, sys.stdout, visible=visible)
    if args.output:
        print(f"{n} assets written to {args.output}", file=sys.stderr)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from alembic.migration import MigrationContext

    from adc.config import Settings
    from adc.register.db import VERSION_TABLE, make_engine, migrate

    engine = make_engine(Settings.from_env().register_url)
    migrate(engine)
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    print(f"register at {engine.url.render_as_string(hide_password=True)} is at revision {revision}")
    return 0


# --------------------------------------------------------------------------- adc reconcile


def _reconcile(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.register import reconcile

    engine = _engine()
    decision = None
    if args.approve_absence or args.reject_absence:
        if not args.by:
            raise AdcError("--approve-absence/--reject-absence need --by USER: who decided")
        with engine.connect() as conn:
            snapshot = reconcile.latest_snapshot(conn)
        if snapshot:
            decision = reconcile.AbsenceDecision(snapshot[0], bool(args.approve_absence), args.by)
    result = reconcile.reconcile(engine, policy=reconcile.Policy.from_sources(), decision=decision)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"{result.run_id}: {result.status}")
    changed = ", ".join(f"{n} {what}" for what, n in result.changes.items() if n) or "nothing changed"
    print(f"  this run: {changed}")
    for kind, severities in result.findings.items():
        print(f"  {kind}: " + ", ".join(f"{n} {s}" for s, n in severities.items()))
    for source, info in result.absence.items():
        print(f"  withheld: {info['missing']} of {info['assets']} assets of {source} look missing "
              f"({info['share']:.0%} > {info['threshold']:.0%}); {info['decision']}"
              + (f" by {info['decided_by']}" if info["decided_by"] else
                 ": approve with `adc reconcile --approve-absence --by USER`"))
    return 0


def _report(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.reports import reconciliation

    text = (reconciliation.html if args.format == "html" else reconciliation.csv)(_engine())
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------- adc findings


def _findings(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.register import findings

    visible = visibility.findings(load_organisations().reader(args.as_user))
    with _engine().connect() as conn:
        rows = findings.list_findings(conn, status=args.status, kind=args.kind, severity=args.severity,
                                      asset_id=args.asset, visible=visible)
    if args.json:
        print_json([findings.to_json(r) for r in rows])
        return 0
    for r in rows:
        print(f"{r['finding_id']:>6}  {r['severity']:<6}  {r['status']:<12}  {r['kind']:<24}  "
              f"{r['asset_id'] or '-':<10}  {r['summary']}")
    print(f"{len(rows)} finding(s)", file=sys.stderr)
    return 0


def _acknowledge(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.register import findings

    row = findings.acknowledge(_engine(), args.finding_id, reason=args.reason, by=args.by)
    print(f"finding {row['finding_id']} acknowledged by {row['acknowledged_by']}: {row['reason']}")
    return 0


def add_commands(subparsers) -> None:
    register = subparsers.add_parser(
        "register", help="the Information Asset Register: import, export, migrate",
        description="The Information Asset Register (IAR): import and export it, and create or migrate its "
                    "database (ADC_REGISTER_URL or the Airflow connection adc_register). See docs/register.md.")
    commands = register.add_subparsers(title="register commands", metavar="COMMAND")
    p = add_parser(commands, "import", _import,
                   "validate every row of a register file (CSV or XLSX), then apply it all or nothing")
    p.add_argument("file", help="a .csv or .xlsx file with the columns in docs/register.md")
    p.add_argument("--by", default="adc", help="who is importing (recorded in the history; default: adc)")
    p = add_parser(commands, "export", _export, "write the register in the import file's columns (or JSON)")
    p.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv", help="output format (default csv)")
    p.add_argument("--output", "-o", help="file to write (default: standard output; required for xlsx)")
    add_as_user(p)
    add_parser(commands, "migrate", _migrate, "create the register's tables or bring them to the latest revision")

    reconcile = add_parser(
        subparsers, "reconcile", _reconcile,
        "compare the latest harvest with the register and update findings and asset status (set-based, atomic)")
    reconcile.add_argument("--json", action="store_true", help="print the result as JSON")
    decision = reconcile.add_mutually_exclusive_group()
    decision.add_argument("--approve-absence", action="store_true",
                          help="mark the assets of a withheld mass absence missing (with --by)")
    decision.add_argument("--reject-absence", action="store_true",
                          help="keep the assets of a withheld mass absence as they are (with --by)")
    reconcile.add_argument("--by", help="who approves or rejects the absence")
    reports = reconcile.add_subparsers(title="reconcile commands", metavar="COMMAND")
    p = add_parser(reports, "report", _report, "the reconciliation report: live findings, missing assets, resolved")
    p.add_argument("--format", choices=("html", "csv"), default="html", help="report format (default html)")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")

    listing = add_parser(subparsers, "findings", _findings,
                         "list findings, most severe first (see `adc findings acknowledge` to accept one)")
    listing.add_argument("--status", choices=STATUSES, help="only findings with this status")
    listing.add_argument("--kind", choices=tuple(KINDS), help="only findings of this kind")
    listing.add_argument("--severity", choices=SEVERITIES, help="only findings of this severity")
    listing.add_argument("--asset", help="only findings about this asset id")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add_as_user(listing)
    actions = listing.add_subparsers(title="findings commands", metavar="COMMAND")
    p = add_parser(actions, "acknowledge", _acknowledge,
                   "accept an open finding with a reason: it stays acknowledged while its cause persists")
    p.add_argument("finding_id", type=int, help="the finding's id (see `adc findings`)")
    p.add_argument("--reason", required=True, help="why it is accepted (recorded)")
    p.add_argument("--by", required=True, help="who accepts it (recorded)")
