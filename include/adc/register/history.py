"""The audit trail: every change to the record, who or what made it, and why.

Writers call ``record`` inside the same transaction as the change, so a change and its history
row land together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from adc.register.store import now
from adc.register.tables import history

SYSTEM_ACTOR = "adc"  # automation (harvest merges, reconciliation) acts under this name


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields of ``after`` whose value differs from ``before``."""
    return {
        key: [_plain(before.get(key)), _plain(value)]
        for key, value in after.items()
        if _plain(before.get(key)) != _plain(value)
    }


def record(
    conn: Connection,
    *,
    entity_kind: str,
    entity_id: str,
    action: str,
    actor: str,
    cause_kind: str,
    cause: str | None = None,
    changes: Mapping[str, list[Any]] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one history row (inside the caller's transaction)."""
    conn.execute(
        insert(history).values(
            at=at or now(),
            entity_kind=entity_kind,
            entity_id=entity_id,
            action=action,
            actor=actor,
            cause_kind=cause_kind,
            cause=cause,
            changes=dict(changes) if changes else None,
        )
    )


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append many history rows at once (set-based writers such as reconciliation)."""
    if rows:
        conn.execute(insert(history), rows)


def of(conn: Connection, entity_kind: str, entity_id: str) -> list[dict[str, Any]]:
    """The history of one entity, oldest first."""
    query = (
        select(history)
        .where(history.c.entity_kind == entity_kind, history.c.entity_id == entity_id)
        .order_by(history.c.at, history.c.history_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
