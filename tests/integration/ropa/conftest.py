"""The demo RoPA in a fresh register (SQLite and PostgreSQL), and helpers to plant what reconciliation finds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from adc.demo.content import ROPA_CSV
from adc.register.tables import finding, observed_dataset

TEAM = ("dana", "erin")


@pytest.fixture
def ropa(register):
    """The register with the demo RoPA loaded as of today (PA-004 overdue, the others not yet due)."""
    from adc.demo import ropa as demo_ropa

    demo_ropa.load(register, ROPA_CSV, today=date.today())
    return register


def add_finding(engine, kind: str, *, asset_id: str | None = None, namespace: str | None = None,
                name: str | None = None, summary: str = "planted by a test", status: str = "open",
                first_seen_at: datetime | None = None) -> int:
    at = first_seen_at or datetime.now(UTC)
    with engine.begin() as conn:
        return conn.execute(insert(finding).values(
            kind=kind, subject=f"{asset_id or namespace}/{name or ''}/{kind}", severity="high", status=status,
            asset_id=asset_id, namespace=namespace, name=name, summary=summary, first_seen_run="test",
            first_seen_at=at, last_seen_run="test", last_seen_at=at,
        )).inserted_primary_key[0]


def add_dataset(engine, namespace: str, name: str, *, tags: dict[str, str], **record: Any) -> None:
    at = datetime.now(UTC)
    full = {"id": {"namespace": namespace, "name": name}, "tags": tags, "fields": [], **record}
    with engine.begin() as conn:
        conn.execute(insert(observed_dataset).values(
            namespace=namespace, name=name, service="s3", source="test", scope=namespace, kind="table",
            format="csv", classification="personal", personal_data=True, content_hash="test", record=full,
            first_seen_run="test", first_seen_at=at, last_seen_run="test", last_seen_at=at,
        ))
