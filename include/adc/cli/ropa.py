"""adc ropa: the Record of Processing Activities and its reviews."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from adc.cli import add_as_user, add_parser, print_json
from adc.errors import AdcError


def _engine():
    # imported when the command runs: keeps adc --help fast
    from adc.register.db import register_engine

    return register_engine()


def _import(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.ropa import exports

    counts = exports.import_file(_engine(), Path(args.file), actor=args.actor or _login_name())
    print(f"imported {args.file}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def _export(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.ropa import activities, exports

    visible = visibility.activities(load_organisations().reader(args.as_user))
    with _engine().connect() as conn:
        records = activities.all_activities(conn, include_retired=not args.without_retired, visible=visible)
    if args.format == "xlsx":
        output = Path(args.output or "ropa.xlsx")
        exports.to_xlsx(records, output)
        print(f"wrote {len(records)} activities to {output} (sheet 'Template': the ICO columns A..AD; sheet 'ADC': "
              "owner, organisation, review dates, status, linked assets)", file=sys.stderr)
        return 0
    text = exports.to_csv(records, adc_columns=args.adc_columns)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(records)} activities to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _today(args: argparse.Namespace):
    # imported when the command runs: keeps adc --help fast
    from adc.ropa.schedule import as_of

    if args.on:
        return as_of(datetime.combine(args.on, time(12), tzinfo=UTC))
    return as_of()


def _due(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.organisations import load_organisations
    from adc.ropa.schedule import activity_tag_key, candidates

    today, at = _today(args)
    viewer = load_organisations().reader(args.as_user)
    with _engine().connect() as conn:
        items = [c.to_dict() for c in candidates(conn, today=today, at=at, tag_key=activity_tag_key())
                 if viewer.may_see(c.activity["organisation"], None)]
    if args.json:
        print_json(items)
        return 0
    if not items:
        print(f"nothing due on {today.isoformat()}: no activity is due, overdue, touched by findings or in review")
        return 0
    print(f"{'ACTIVITY':<8} {'OWNER':<10} {'DUE':<11} {'REVIEW':<18} {'WAITING ON':<24} WHY")
    for item in items:
        waiting = item["waiting_on"]
        waiting_text = f"{waiting['kind']}: {','.join(waiting['assigned_to'])}" if waiting else "-"
        state = item["review_status"] or "not opened"
        why = "; ".join(item["reasons"]) or "-"
        print(f"{item['activity_id']:<8} {item['owner']:<10} {item['next_review_due'].isoformat():<11} "
              f"{state:<18} {waiting_text:<24} {why}")
    return 0


def _reviews(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc import visibility
    from adc.organisations import load_organisations
    from adc.ropa.reviews import list_reviews

    visible = visibility.reviews(load_organisations().reader(args.as_user))
    with _engine().connect() as conn:
        items = list_reviews(conn, activity_id=args.activity, unfinished=args.open, visible=visible)
    if args.json:
        print_json(items)
        return 0
    for item in items:
        outcome = item["outcome"] or "-"
        print(f"{item['review_id']:<24} {item['status']:<18} outcome {outcome:<17} owner answer "
              f"{item['answered_by'] or '-':<8} approved {item['approved_by'] or '-'}")
        for step in item["steps"]:
            who = step["answered_by"] or ",".join(step["assigned_to"])
            detail = step["refusal"] or step["option"] or ""
            print(f"    {step['step_id']:<34} {step['status']:<10} {who:<12} {detail}")
    if not items:
        print("no reviews")
    return 0


def _show(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.register import history
    from adc.ropa.exports import HEADING_OF_FIELD
    from adc.ropa.reviews import list_reviews

    with _engine().connect() as conn:
        activity = _visible_activity(conn, args)
        data: dict[str, Any] = {"activity": activity, "history": history.of(conn, "activity", args.activity),
                "reviews": list_reviews(conn, activity_id=args.activity)}
    if args.json:
        print_json(data)
        return 0
    for key, value in activity.items():
        print(f"{HEADING_OF_FIELD.get(key, key)}: {', '.join(value) if isinstance(value, list) else value}")
    print(f"\nhistory ({len(data['history'])} changes):")
    for row in data["history"]:
        print(f"  {row['at']:%Y-%m-%d %H:%M} {row['action']:<14} by {row['actor']:<8} ({row['cause_kind']} "
              f"{row['cause'] or ''}) {', '.join(row['changes'] or {})}")
    return 0


def _pack(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.organisations import DataProtectionTeams, load_organisations
    from adc.ropa import packs
    from adc.ropa.schedule import activity_tag_key, candidates

    today, at = _today(args)
    with _engine().connect() as conn:
        activity = _visible_activity(conn, args)
        found = {c.activity_id: c for c in candidates(conn, today=today, at=at, tag_key=activity_tag_key())}
        item = found.get(args.activity)
        findings = item.findings if item else []
        review_id = item.review["review_id"] if item and item.review else "(not opened)"
        pack = packs.owner_pack(conn, activity, review_id=review_id, reasons=item.reasons if item else [],
                                findings=findings, deadline=None,
                                team=DataProtectionTeams.from_env().of(activity["organisation"]))
    if not load_organisations().reader(args.as_user).may_see(activity["organisation"], pack.marking):
        # the assets it links to are marked above the reader's clearance, and the pack shows them
        raise AdcError(f"the review pack of {args.activity} is marked {pack.marking}: above what "
                       f"{args.as_user} may read")
    sys.stdout.write(pack.text)
    return 0


def _visible_activity(conn, args: argparse.Namespace) -> dict[str, Any]:
    """The activity ``args.activity``, if ``--as`` may see it: a hidden one reads as one that does not exist."""
    # imported when the command runs: keeps adc --help fast
    from adc.organisations import load_organisations
    from adc.ropa import activities

    activity = activities.get(conn, args.activity)
    if activity is None or not load_organisations().reader(args.as_user).may_see(activity["organisation"], None):
        raise AdcError(f"no processing activity {args.activity}")
    return activity


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (e.g. a container's arbitrary uid)
        return "cli"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_commands(subparsers) -> None:
    ropa = subparsers.add_parser(
        "ropa", help="the Record of Processing Activities and its reviews",
        description="The Record of Processing Activities (UK GDPR Art 30): import and export in the ICO template's "
        "layout, what is due for review, and the reviews' outcomes and evidence.")
    commands = ropa.add_subparsers(title="ropa commands", metavar="COMMAND")

    parser = add_parser(commands, "import", _import,
                        "import activities from a CSV or XLSX file in the ICO layout (all or nothing: every problem "
                        "is reported with its row and column, and nothing is applied unless there are none)")
    parser.add_argument("file", help="a .csv (headings in row 1) or .xlsx (sheet 'Template', plus sheet 'ADC')")
    parser.add_argument("--as", dest="actor",
                        help="who the history records as making the change (default: your login name)")

    parser = add_parser(commands, "export", _export,
                        "export the record with exactly the ICO controller template's headings in its order")
    parser.add_argument("--format", choices=("xlsx", "csv"), required=True, help="xlsx or csv")
    parser.add_argument("--output", "-o", help="file to write (default: ropa.xlsx; CSV goes to stdout)")
    parser.add_argument("--adc-columns", action="store_true",
                        help="CSV: add ADC's columns (activity id, owner, organisation, review dates, status, "
                        "linked assets) after column AD, which makes the file importable (XLSX always has them on "
                        "sheet 'ADC')")
    parser.add_argument("--without-retired", action="store_true", help="leave retired activities out")
    add_as_user(parser)

    parser = add_parser(commands, "due", _due,
                        "list activities that are due or overdue for review, touched by new findings, or in a "
                        "review that is still open (with who it is waiting on)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--on", type=_date, help="judge as of this date (YYYY-MM-DD) instead of today")
    add_as_user(parser)

    parser = add_parser(commands, "reviews", _reviews,
                        "list reviews with each question asked, who answered, the option, refusals and the hash of "
                        "the evidence shown")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--activity", help="only this activity (PA-nnn)")
    parser.add_argument("--open", action="store_true", help="only reviews that are not completed")
    add_as_user(parser)

    parser = add_parser(commands, "show", _show, "show one activity: its record and its history of changes")
    parser.add_argument("activity", help="the activity id, PA-nnn")
    parser.add_argument("--json", action="store_true", help="machine-readable output (with its reviews)")
    add_as_user(parser)

    parser = add_parser(commands, "pack", _pack,
                        "print the Markdown review pack the owner of an activity would be shown now")
    parser.add_argument("activity", help="the activity id, PA-nnn")
    parser.add_argument("--on", type=_date, help="judge as of this date (YYYY-MM-DD) instead of today")
    add_as_user(parser)
