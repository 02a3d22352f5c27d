"""Throwaway PostgreSQL databases on a local server: Airflow's metadata for the demo and the e2e
tests (SQLite's locks fail Airflow's API under load), and registers for the tests.

The server is ADC_POSTGRES_URL (default: the local one, as these machines run it); where none
answers, callers fall back to SQLite and say so.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url(*variables: str) -> str | None:
    """The first of ``variables`` set (else ADC_POSTGRES_URL, else the local server) if it answers."""
    url = next((os.environ[v] for v in (*variables, "ADC_POSTGRES_URL") if os.environ.get(v)), DEFAULT_SERVER)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return url
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return None
    finally:
        engine.dispose()


class ThrowawayDatabases:
    """Creates databases on a PostgreSQL server and drops them (with their connections) afterwards."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")

    def create(self, prefix: str = "adc_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        self.admin.dispose()
