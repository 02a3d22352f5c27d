"""The register's engine and its migrations.

SQLite is the embedded default (WAL, a busy timeout so concurrent Airflow tasks wait rather than
fail); PostgreSQL is the production store. Alembic keeps its own version table
(adc_alembic_version) so the register can share a database with anything, Airflow included.
The migrations ship inside the package, so any install (editable or not) can migrate.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from adc.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "adc_alembic_version"


def _normalise(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, *, reader: bool = False) -> Engine:
    """An engine for the register at ``url`` (default: the settings' register URL).

    ``reader``: for code that only reads (the register UI). On SQLite its transactions begin
    deferred: a consistent snapshot of the WAL that never waits for a writer, so a page does not
    queue behind a long reconciliation. On PostgreSQL it is the same engine.
    """
    url = _normalise(url or Settings.from_env().register_url)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # NullPool: each task or request opens its own connection; SQLite connections are cheap
        # and must not cross the forks Airflow's executors make.
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # IMMEDIATE takes the write lock at the start, so two writers queue instead of one
            # failing half-way with "database is locked" on its first write.
            conn.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(engine: Engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the register's schema to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


@lru_cache(maxsize=8)
def _ready_engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


def register_engine(url: str | None = None) -> Engine:
    """The register's engine, migrated to head once per process."""
    return _ready_engine(_normalise(url or Settings.from_env().register_url))


@lru_cache(maxsize=8)
def _ready_reader(url: str) -> Engine:
    _ready_engine(url)  # migrated first
    return make_engine(url, reader=True)


def register_reader(url: str | None = None) -> Engine:
    """A read-only engine on the migrated register (see make_engine's ``reader``)."""
    return _ready_reader(_normalise(url or Settings.from_env().register_url))


def exclusive(conn, name: str) -> None:
    """Serialise whole-register writers (merging a harvest, reconciling) inside a transaction.

    PostgreSQL: a transaction-scoped advisory lock, so a second writer waits for the first.
    SQLite: BEGIN IMMEDIATE (see make_engine) already gives the transaction the only write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"adc:{name}".encode())})
