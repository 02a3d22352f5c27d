"""The `adc` command for operators. Each area adds its commands from its own module.

Errors a person can act on print as one line and exit 2; --debug shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from adc import __version__
from adc.errors import AdcError

# modules that add subcommands: each has add_commands(subparsers)
COMMAND_MODULES = ("harvest", "register", "quality", "lineage", "ropa", "audit", "demo")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def add_parser(subparsers, name: str, handler: Callable[[argparse.Namespace], int | None], help: str, **kw):
    """A subcommand whose --help shows its own help text; ``handler(args)`` returns the exit code."""
    parser = subparsers.add_parser(name, help=help, description=help, **kw)
    parser.set_defaults(handler=handler)
    return parser


def add_as_user(parser: argparse.ArgumentParser) -> None:
    """``--as USER`` on a read command: what that person may see (docs/organisations.md)."""
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="show only what this Airflow user may see "
                             "(default: everything, as the register's operator)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adc",
        description="ADC, the Augmented Data Catalogue: harvest the AWS estate, keep the Information Asset "
        "Register true to it, emit OpenLineage, and run RoPA reviews.",
    )
    parser.add_argument("--version", action="version", version=f"adc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"adc.cli.{name}").add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except AdcError as exc:
        if args.debug:
            raise
        print(f"adc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one readable line, the traceback behind --debug
        if args.debug:
            raise
        print(f"adc: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
