"""Shared fixtures: a real moto server over HTTP, and the register on SQLite and PostgreSQL.

Nothing here patches boto3 or moto: AWS traffic goes to a moto server process on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# Tests never reach a real cloud or a user's config, and never send telemetry.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
        "ADC_DEFAULT_AWS_ACCOUNT": "123456789012",
        "ADC_DEFAULT_AWS_REGION": "eu-west-2",
    }
)
# Airflow, wherever a test imports it, uses a throwaway home with this project's DAGs and plugins,
# never the user's ~/airflow.
os.environ.update(
    {
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="adc-test-airflow-"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }
)
os.environ.pop("ADC_REGISTER_URL", None)
os.environ.pop("ADC_SOURCES", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


def pytest_addoption(parser) -> None:
    parser.addoption("--reliability-report", metavar="FILE", default=None,
                     help="write the results of the reliability cases (-m reliability) into FILE, "
                          "e.g. docs/reliability.md (see tests/support/reliability_report.py)")
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files instead of comparing with them (tests/support/golden.py)")


def pytest_configure(config) -> None:
    from tests.support import golden

    golden.UPDATE = config.getoption("--update-golden")
    if config.getoption("--reliability-report"):
        from tests.support.reliability_report import ReliabilityReport

        config.pluginmanager.register(ReliabilityReport(Path(config.getoption("--reliability-report"))),
                                      "reliability-report")


# make test runs two xdist workers: every test that starts Airflow or a browser runs on one of them,
# in file order, and the other takes the rest. Two Airflows at once on two cores would starve each
# other. (xdist's own --dist loadgroup cannot do this on pytest 9.2: pytest-dev/pytest-xdist#1386.)
AIRFLOW_TESTS = ("tests/e2e/", "tests/dags/test_harvest_dag.py", "tests/integration/lineage/test_lineage_dag.py")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if (item.get_closest_marker("airflow") or item.get_closest_marker("browser")) \
                and not item.nodeid.startswith(AIRFLOW_TESTS):
            raise pytest.UsageError(f"{item.nodeid} starts Airflow or a browser: add its file to AIRFLOW_TESTS "
                                    "in tests/conftest.py, so parallel runs keep it apart")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # xdist loads this hook only when it is installed

    class AirflowTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "airflow" if nodeid.startswith(AIRFLOW_TESTS) else nodeid

    return AirflowTestsTogether(config, log)


def free_port() -> int:
    from adc.demo.runner import free_port as _free_port

    return _free_port()


class MotoServer:
    """A moto server process; ``reset()`` empties it between tests."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto server did not start on {self.url}")

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()
        # IAM enforcement off again (a test may have switched it on)
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"inf", headers={"Content-Type": "text/plain"},
                   timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch) -> MotoServer:
    """An empty moto server for this test; boto3's default chain points at it."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    return moto_server


@pytest.fixture(scope="session")
def dcr_estate(tmp_path_factory) -> Iterator[MotoServer]:
    """A moto server of its own holding the seeded DCR demo estate (read-only for tests)."""
    from adc.demo import estate

    server = MotoServer(tmp_path_factory.mktemp("moto-dcr") / "moto.log")
    estate.seed(server.url)
    yield server
    server.stop()


# --------------------------------------------------------------------------- the register


def postgres_server_url() -> str | None:
    """ADC_TEST_POSTGRES_URL, else the local server if one answers; None when there is none."""
    from adc.demo.postgres import server_url

    return server_url("ADC_TEST_POSTGRES_URL")


_POSTGRES = postgres_server_url()
NO_POSTGRES = (
    "no PostgreSQL reachable (set ADC_TEST_POSTGRES_URL, default "
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres): the register's PostgreSQL variant is skipped"
)


@pytest.fixture(scope="session")
def postgres_databases():
    """Throwaway databases on the PostgreSQL server (adc.demo.postgres.ThrowawayDatabases), or None."""
    from adc.demo.postgres import ThrowawayDatabases

    if _POSTGRES is None:
        yield None
        return
    databases = ThrowawayDatabases(_POSTGRES)
    yield databases
    databases.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def register_url(request, tmp_path, postgres_databases) -> Iterator[str]:
    """A fresh, empty register URL: every register test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.db'}"
        return
    if postgres_databases is None:
        pytest.skip(NO_POSTGRES)
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)  # WITH (FORCE): connections left in pools are ended


@pytest.fixture
def sqlite_register(tmp_path, monkeypatch):
    """A SQLite register, for tests about what the harvest sees rather than how the register keeps it
    (those use ``register``, on SQLite and PostgreSQL)."""
    from adc.register.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'register.db'}"
    monkeypatch.setenv("ADC_REGISTER_URL", url)
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def register(register_url, monkeypatch):
    """The register's engine, migrated, and ADC_REGISTER_URL pointing at it."""
    from adc.register.db import make_engine, migrate

    monkeypatch.setenv("ADC_REGISTER_URL", register_url)
    engine = make_engine(register_url)
    migrate(engine)
    yield engine
    engine.dispose()
