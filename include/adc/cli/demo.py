"""adc demo: the Department for Civic Registration on a local AWS stand-in and Airflow standalone."""

from __future__ import annotations

import argparse
import os

from adc.cli import add_parser


def _port(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def _up(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.demo import runner

    return runner.up(moto_port=args.moto_port, api_port=args.api_port)


def _check(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.demo import runner

    return runner.check(moto_port=args.moto_port, api_port=args.api_port, timeout=args.timeout)


def _seed(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.demo import estate

    result = estate.seed(args.endpoint_url, enforce_iam=args.enforce_iam)
    print(f"seeded {result.buckets} buckets, {result.objects} objects, {result.glue_tables} Glue tables, "
          f"{result.dynamodb_tables} DynamoDB tables, {result.rds_instances} RDS instance into {args.endpoint_url}")
    if result.harvester:
        print(f"harvester access key: {result.harvester['aws_access_key_id']} (secret in the moto server only)")
    return 0


def add_commands(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="run the demo estate locally", description=__doc__)
    demo_commands = demo.add_subparsers(title="demo commands", metavar="COMMAND")
    for name, handler, text in (
        ("up", _up, "start moto, seed the estate, run Airflow standalone and the pipeline; Ctrl-C stops it all"),
        ("check", _check, "run the same pipeline headless, end to end, and report (exit 1 if a check fails)"),
    ):
        parser = add_parser(demo_commands, name, handler, text)
        parser.add_argument("--moto-port", type=int, default=_port("MOTO_PORT"),
                            help="port for the moto server (default: $MOTO_PORT or a free port)")
        parser.add_argument("--api-port", type=int, default=_port("AIRFLOW_PORT"),
                            help="port for Airflow's UI and API (default: $AIRFLOW_PORT, 8080 for up, free for check)")
        if name == "check":
            parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for each DAG run")
    seed = add_parser(demo_commands, "seed", _seed, "seed the DCR estate into a running AWS endpoint (moto)")
    seed.add_argument("endpoint_url", help="e.g. http://127.0.0.1:5000")
    seed.add_argument("--enforce-iam", action="store_true",
                      help="then enforce IAM, with a least-privilege harvester user (printed)")
