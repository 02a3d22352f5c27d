"""Run the demo: a moto server seeded with the DCR estate, the register, and Airflow 3 standalone.

``adc demo up`` (make demo) keeps everything running until Ctrl-C; ``adc demo check``
(make demo-check) runs the same pipeline headless and exits with a summary. Every process started
here runs in its own process group and is stopped on exit, whatever the exit path.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from adc import visibility
from adc.config import PROJECT_ROOT
from adc.demo import content, estate, verify
from adc.demo.client import AUDIT_READER, USERS, Api, DemoError, environment, password_for
from adc.demo.postgres import ThrowawayDatabases, server_url
from adc.organisations import load_organisations
from adc.register.db import register_engine
from adc.register.store import current_datasets


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, *, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise DemoError(f"{what} exited with code {process.returncode} before answering at {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise DemoError(f"{what} did not answer at {url} within {timeout:.0f} s")


@dataclass
class Processes:
    """Child processes, each in its own process group, stopped together."""

    children: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = open(log, "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT,  # noqa: S603 - our own argv
                                   start_new_session=True, cwd=PROJECT_ROOT)
        self.children.append((name, process))
        return process

    def stop(self) -> None:
        for _, process in reversed(self.children):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in reversed(self.children):
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # stragglers in the group (standalone's children)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


@dataclass
class Demo:
    """Paths and settings of one demo environment (project-local, under .demo/ by default)."""

    root: Path
    moto_port: int
    api_port: int
    enforce_iam: bool = True
    metadata_url: str | None = None  # Airflow's metadata database; None: SQLite under AIRFLOW_HOME

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def adc_home(self) -> Path:
        return self.root / "adc"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def passwords_file(self) -> Path:
        return self.root / "passwords.json"

    @property
    def lineage_file(self) -> Path:
        return self.root / "lineage" / "events.jsonl"

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def fresh(self) -> None:
        """Start from nothing: the demo's estate, register and Airflow DB are rebuilt on every run."""
        for path in (self.airflow_home, self.adc_home, self.root / "lineage"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.airflow_home, self.adc_home, self.logs, self.lineage_file.parent):
            path.mkdir(parents=True, exist_ok=True)
        passwords = {**{u: password_for(u) for u in USERS}, AUDIT_READER: secrets.token_urlsafe(24)}
        self.passwords_file.write_text(json.dumps(passwords, indent=2) + "\n")
        self.passwords_file.chmod(0o600)

    def adc_env(self, aws_keys: dict[str, str]) -> dict[str, str]:
        """What ADC's own processes (CLI, tasks) need: the register, the AWS connection, lineage."""
        conn = {
            "conn_type": "aws",
            "login": aws_keys["aws_access_key_id"],
            "password": aws_keys["aws_secret_access_key"],
            "extra": {"endpoint_url": self.moto_url, "region_name": estate.REGION},
        }
        return {
            "ADC_HOME": str(self.adc_home),
            "ADC_REGISTER_URL": f"sqlite:///{self.adc_home / 'register.db'}",
            "ADC_SOURCES": str(content.SOURCES),
            "ADC_ORGANISATIONS": str(content.ORGANISATIONS),
            "ADC_DEFAULT_AWS_ACCOUNT": estate.ACCOUNT,
            "ADC_DEFAULT_AWS_REGION": estate.REGION,
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
            "OPENLINEAGE__TRANSPORT__TYPE": "file",
            "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(self.lineage_file),
            "OPENLINEAGE__TRANSPORT__APPEND": "true",
            "OPENLINEAGE_DISABLED": "false",
            # never let boto3 reach for real credentials or a real endpoint
            "AWS_ACCESS_KEY_ID": "not-used",
            "AWS_SECRET_ACCESS_KEY": "not-used",
            "AWS_DEFAULT_REGION": estate.REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def airflow_env(self, aws_keys: dict[str, str]) -> dict[str, str]:
        jwt_secret_file = self.root / "jwt_secret"
        if not jwt_secret_file.exists():
            jwt_secret_file.write_text(secrets.token_urlsafe(64))
            jwt_secret_file.chmod(0o600)
        env = {
            **os.environ,
            **self.adc_env(aws_keys),
            # standalone starts its components as `airflow ...` from PATH: this venv's first
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                [f"{u}:{r}" for u, r in USERS.items()] + [f"{AUDIT_READER}:viewer"]),
            "AIRFLOW_CONN_ADC_AIRFLOW_API": json.dumps({
                "conn_type": "http", "host": "127.0.0.1", "port": self.api_port, "schema": "http",
                "login": AUDIT_READER, "password": json.loads(self.passwords_file.read_text())[AUDIT_READER]}),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret_file.read_text(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(self.lineage_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "adc-demo",
            # no telemetry: nothing leaves 127.0.0.1
            "SCARF_ANALYTICS": "false",
            "DO_NOT_TRACK": "1",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        }
        env.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS")
        if self.metadata_url:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.metadata_url
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = self.metadata_url.replace(
                "+psycopg://", "+psycopg_async://", 1)
        return env


def start_moto(processes: Processes, demo: Demo) -> None:
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false"}
    process = processes.start(
        "moto", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(demo.moto_port)],
        env=env, log=demo.logs / "moto.log",
    )
    wait_for(f"{demo.moto_url}/moto-api/", timeout=30, what="the moto server", process=process)


def prepare_register(env: dict[str, str]) -> dict[str, Any]:
    """Create the register and load the demo's register and RoPA (steps other areas contribute)."""
    with environment(env):
        return content.load()


def harvest_sealed(env: dict[str, str], demo: Demo) -> int:
    """The sealed unit's own harvest, from a shell only its people read (docs/organisations.md); returns
    how many datasets its data protection officer now sees."""
    with open(demo.logs / "sealed-harvest.log", "ab") as log:
        subprocess.run([str(Path(sys.executable).parent / "adc"), "harvest",  # noqa: S603 - a fixed argv
                        "--source", content.SEALED_SOURCE], env=env, check=True, stdout=log, stderr=log, timeout=300)
    with environment(env):
        viewer = load_organisations().viewer(content.SEALED_DPO)
        return sum(1 for _ in current_datasets(register_engine(), visible=visibility.datasets(viewer)))


def bring_up(stack: ExitStack, demo: Demo) -> tuple[Processes, dict[str, str], Api]:
    """Moto + estate + register + Airflow, ready for a trigger: the processes, Airflow's env, an admin API."""
    say = print
    processes = Processes()
    stack.callback(processes.stop)
    demo.fresh()
    say(f"- AWS stand-in: moto on {demo.moto_url}")
    start_moto(processes, demo)
    seeded = estate.seed(demo.moto_url, enforce_iam=demo.enforce_iam)
    say(f"- seeded the DCR estate: {seeded.buckets} buckets, {seeded.objects} objects, {seeded.glue_tables} Glue "
        f"tables, {seeded.dynamodb_tables} DynamoDB tables, {seeded.rds_instances} RDS instance")
    keys = seeded.harvester or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    env = demo.airflow_env(keys)
    loaded = prepare_register(env)
    say("- register: " + ", ".join(f"{v} {k}" for k, v in loaded.items()))
    say(f"- the sealed unit harvests its own account: adc harvest --source {content.SEALED_SOURCE} "
        f"({harvest_sealed(env, demo)} datasets; the shared harvest DAG never plans it)")
    if demo.metadata_url:
        say(f"- Airflow's metadata: PostgreSQL, throwaway database {make_url(demo.metadata_url).database}")
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],  # noqa: S603 - a fixed argv
                       env=env, check=True, capture_output=True, timeout=300)
    else:
        say("- Airflow's metadata: SQLite (no PostgreSQL answered: ADC_POSTGRES_URL, default the local server)")
    say(f"- Airflow 3 standalone on {demo.api_url} (AIRFLOW_HOME={demo.airflow_home})")
    airflow = processes.start("airflow", [str(Path(sys.executable).parent / "airflow"), "standalone"], env=env,
                              log=demo.logs / "airflow.log")
    wait_for(f"{demo.api_url}/api/v2/monitor/health", timeout=180, what="Airflow", process=airflow)
    api = Api(demo.api_url, "admin", password_for("admin"))
    return processes, env, api


def demo_root() -> Path:
    return Path(os.environ.get("ADC_DEMO_DIR") or PROJECT_ROOT / ".demo")


def make_demo(stack: ExitStack, *, moto_port: int | None, api_port: int | None) -> Demo:
    """The demo's settings; Airflow's metadata in a throwaway PostgreSQL database where a server answers
    (dropped when the demo stops), else SQLite."""
    metadata = None
    if os.environ.get("ADC_DEMO_METADATA", "postgres") == "postgres" and (server := server_url()):
        databases = ThrowawayDatabases(server)
        stack.callback(databases.dispose)
        metadata = databases.create("adc_demo_airflow")
        stack.callback(databases.drop, metadata)
    return Demo(root=demo_root(), moto_port=moto_port or free_port(), api_port=api_port or free_port(),
                metadata_url=metadata)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # `kill <pid>` stops the demo as cleanly as Ctrl-C


def up(*, moto_port: int | None = None, api_port: int | None = None) -> int:
    """make demo: bring everything up, trigger the pipeline, keep running until Ctrl-C."""
    print("Starting the ADC demo (Department for Civic Registration)")
    with ExitStack() as stack:
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        # Python keeps an ignored SIGINT ignored (a parent such as a test runner's worker may ignore it):
        # Ctrl-C must stop the demo whoever started it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        demo = make_demo(stack, moto_port=moto_port, api_port=api_port or 8080)
        processes, _, api = bring_up(stack, demo)
        api.wait_for_dag("adc_harvest")
        run_id = api.trigger("adc_harvest")
        print(f"- triggered adc_harvest ({run_id}); reconciliation, lineage and reviews follow it")
        print()
        print(f"Open {demo.api_url} and log in. Passwords are in {demo.passwords_file}:")
        for user, role in USERS.items():
            print(f"    {user:<7} {password_for(user):<18} {role}")
        print()
        print("What to look at:")
        for line in WHAT_TO_LOOK_AT:
            print(f"  - {line}")
        print(f"\nLogs: {demo.logs}. Press Ctrl-C to stop everything.")
        try:
            while all(p.poll() is None for _, p in processes.children):
                time.sleep(1)
            print("adc demo: a process exited; see the logs above. Stopping.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nStopping the demo...")
    print("Stopped: nothing left running.")
    return 0


WHAT_TO_LOOK_AT = [
    "DAGs: adc_harvest runs first, then adc_reconcile (scheduled on the harvest Asset)",
    "Required Actions (as dana or erin): triage the unregistered sandbox bucket",
    "Required Actions (as carol): the overdue review of PA-004 Complaints handling",
    "Browse > ADC Register: assets, findings, reviews; download the audit pack",
    "Organisations (include/adc/demo/data/organisations.yaml): log in as nadia, a department analyst, and "
    "the sealed unit's buckets are nowhere; as sam, its DPO, they are all there is, and PA-009 waits for him",
]


def check(*, moto_port: int | None = None, api_port: int | None = None, timeout: float = 900) -> int:
    """make demo-check: the same pipeline, headless, end to end; exit 0 with a summary or 1 saying why."""
    started = time.monotonic()
    with ExitStack() as stack:
        signal.signal(signal.SIGTERM, _stop_on_sigterm)  # a CI timeout's kill leaves nothing running either
        demo = make_demo(stack, moto_port=moto_port, api_port=api_port)
        demo.root = demo.root.with_name(demo.root.name + "-check")
        _, env, api = bring_up(stack, demo)
        report = verify.run_pipeline(api, env, demo, timeout=timeout)
    print()
    print(report.render())
    print(f"\ndemo-check finished in {time.monotonic() - started:.0f} s: {'PASS' if report.ok else 'FAIL'}")
    return 0 if report.ok else 1
