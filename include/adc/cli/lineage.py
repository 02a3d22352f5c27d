"""adc lineage: send the estate to an OpenLineage consumer (Marquez, DataHub...), now or as it was.

Events go where the openlineage-python client is configured to send them, the same as the DAGs'
(see docs/lineage.md): openlineage.yml, OPENLINEAGE_CONFIG, OPENLINEAGE__TRANSPORT__*,
OPENLINEAGE_URL, or Airflow's [openlineage] section.
"""

from __future__ import annotations

import argparse
from datetime import date

from adc.cli import add_parser, print_json


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _report(result: dict, args: argparse.Namespace, what: str) -> int:
    if args.json:
        print_json(result)
        return 0
    kinds = ", ".join(f"{n} {kind}" for kind, n in result["by_kind"].items()) or "nothing to send"
    print(f"sent {result['events']} OpenLineage event(s) for {what} "
          f"through the {result['transport']} transport: {kinds}")
    return 0


def _emit(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.lineage.emit import emit_current, emit_harvest
    from adc.register.db import register_engine

    engine = register_engine()
    if args.all:
        return _report(emit_current(engine).to_dict(), args, "every dataset in the register")
    sent = emit_harvest(engine, args.run)
    return _report(sent.to_dict(), args, f"harvest run {args.run}" if args.run else "the latest harvest run")


def _backfill(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.lineage.backfill import backfill
    from adc.register.db import register_engine

    result = backfill(register_engine(), args.start, args.end)
    return _report(result, args, f"{len(result['intervals'])} day(s) from {args.start} to {args.end}")


def add_commands(subparsers) -> None:
    lineage = subparsers.add_parser("lineage", help="emit OpenLineage events for the estate", description=__doc__)
    commands = lineage.add_subparsers(title="lineage commands", metavar="COMMAND")
    emit = add_parser(
        commands, "emit", _emit,
        "send a DatasetEvent for each dataset the latest harvest added, changed or found gone "
        "(and the harvest's run events when it ran outside Airflow); --all sends every dataset",
    )
    emit.add_argument("--all", action="store_true", help="every dataset's current state, not only the changes")
    emit.add_argument("--run", metavar="RUN_ID", help="the harvest run whose changes to send (default: the latest)")
    emit.add_argument("--json", action="store_true", help="print the summary as JSON")
    backfill = add_parser(
        commands, "backfill", _backfill,
        "send the estate as it was on each day from --from to --to (inclusive), rebuilt from the register's "
        "history: the same events as `airflow backfill create --dag-id adc_lineage` for those days",
    )
    backfill.add_argument("--from", dest="start", type=_day, required=True, metavar="DATE",
                          help="first day, YYYY-MM-DD")
    backfill.add_argument("--to", dest="end", type=_day, required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    backfill.add_argument("--json", action="store_true", help="print the summary as JSON (with one line per day)")
