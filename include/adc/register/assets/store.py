"""Assets in the register: reading them with their locations, creating and changing them with history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from adc.errors import AdcError
from adc.naming import DatasetId
from adc.register import history, markings
from adc.register.assets.columns import VALUE_COLUMNS, AssetRecord
from adc.register.store import EVERYTHING, now
from adc.register.tables import asset, asset_location


def _locations_by_asset(conn: Connection, asset_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    query = select(asset_location.c.asset_id, asset_location.c.uri).order_by(
        asset_location.c.asset_id, asset_location.c.location_id)
    if asset_ids is not None:
        query = query.where(asset_location.c.asset_id.in_(list(asset_ids)))
    result: dict[str, list[str]] = {}
    for row in conn.execute(query):
        result.setdefault(row.asset_id, []).append(row.uri)
    return result


def get(conn: Connection, asset_id: str) -> dict[str, Any] | None:
    """One asset as a dict (with its ``locations``), or None."""
    row = conn.execute(select(asset).where(asset.c.asset_id == asset_id)).mappings().first()
    if row is None:
        return None
    return {**row, "locations": _locations_by_asset(conn, [asset_id]).get(asset_id, [])}


def all_assets(conn: Connection, *, visible: ColumnElement[bool] = EVERYTHING) -> list[dict[str, Any]]:
    """Every asset ``visible`` keeps, ordered by id, each with its ``locations`` (URIs as written).
    ``visible`` comes from adc.visibility.assets: a reader's view; by default everything (ADC's own)."""
    locations = _locations_by_asset(conn)
    rows = conn.execute(select(asset).where(visible).order_by(asset.c.asset_id)).mappings()
    return [{**row, "locations": locations.get(row["asset_id"], [])} for row in rows]


def by_id(conn: Connection, asset_ids: list[str], batch: int = 500) -> dict[str, dict[str, Any]]:
    """The assets among ``asset_ids`` that exist, with their locations."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(asset_ids), batch):
        ids = asset_ids[start:start + batch]
        locations = _locations_by_asset(conn, ids)
        for row in conn.execute(select(asset).where(asset.c.asset_id.in_(ids))).mappings():
            found[row["asset_id"]] = {**row, "locations": locations.get(row["asset_id"], [])}
    return found


def next_asset_id(conn: Connection, prefix: str = "IA-") -> str:
    """The next free id in the IA-nnnn series."""
    ids = conn.execute(select(asset.c.asset_id).where(asset.c.asset_id.like(f"{prefix}%"))).scalars()
    numbers = [int(i[len(prefix):]) for i in ids if i[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


class AssetError(AdcError):
    """A change to an asset that cannot be made (unknown id, already exists, retired...)."""


def _identities(conn: Connection, asset_id: str) -> list[DatasetId]:
    return [DatasetId(row.namespace, row.name) for row in conn.execute(
        select(asset_location.c.namespace, asset_location.c.name).where(asset_location.c.asset_id == asset_id))]


def _marked_under(conn: Connection, locations: Iterable[DatasetId], stale: set[DatasetId] | None) -> None:
    """The datasets under ``locations`` take their covering assets' marking again (adc.register.markings):
    now, or, given ``stale``, when the caller refreshes what it collected there (an import, once)."""
    if stale is None:
        markings.refresh(conn, under=set(locations))
    else:
        stale.update(locations)


def create(conn: Connection, record: AssetRecord, *, actor: str, cause_kind: str, cause: str | None,
           stale: set[DatasetId] | None = None) -> None:
    """Add a new asset and its locations, with a "created" history row (inside the caller's transaction).
    The datasets under its locations take its classification (``stale``: see ``_marked_under``)."""
    at = now()
    status = "retired" if record.status == "retired" else "active"
    conn.execute(insert(asset).values(asset_id=record.asset_id, **record.values, status=status,
                                      created_at=at, updated_at=at))
    _insert_locations(conn, record.asset_id, record.locations)
    if record.values.get("security_classification") is not None:
        _marked_under(conn, (identity for _, identity in record.locations), stale)
    changes = history.diff({}, record.values)
    if record.locations:
        changes["location"] = [None, record.uris]
    if status != "active":
        changes["status"] = [None, status]
    history.record(conn, entity_kind="asset", entity_id=record.asset_id, action="created", actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)


def _insert_locations(conn: Connection, asset_id: str, locations: list[tuple[str, DatasetId]]) -> None:
    if locations:
        conn.execute(insert(asset_location), [
            {"asset_id": asset_id, "uri": uri, "namespace": identity.namespace, "name": identity.name}
            for uri, identity in locations
        ])


def change(
    conn: Connection,
    asset_id: str,
    *,
    values: Mapping[str, Any] | None = None,
    locations: list[tuple[str, DatasetId]] | None = None,
    status: str | None = None,
    actor: str,
    cause_kind: str,
    cause: str | None,
    reason: str | None = None,
    current: Mapping[str, Any] | None = None,
    stale: set[DatasetId] | None = None,
) -> dict[str, list[Any]]:
    """Apply what differs from the asset as it is; one history row naming the actor and cause.

    ``locations`` replaces the asset's locations (None keeps them); ``status`` "retired" retires,
    "active" reinstates a retired asset, anything else keeps the status (missing belongs to
    reconciliation). A new classification or new locations change the marking of the datasets under
    its locations, before and after (``stale``: see ``_marked_under``). Returns the changes ({} when
    there were none: nothing is written).
    """
    before = current if current is not None else get(conn, asset_id)
    if before is None:
        raise AssetError(f"no asset {asset_id!r} in the register")
    changes = history.diff(before, dict(values or {}))
    if locations is not None and [uri for uri, _ in locations] != list(before["locations"]):
        changes["location"] = [list(before["locations"]), [uri for uri, _ in locations]]
    new_status = before["status"]
    if status == "retired" and before["status"] != "retired":
        new_status = "retired"
    elif status in ("active", "missing") and before["status"] == "retired":
        new_status = "active"  # reinstated; reconciliation decides whether it is missing
    if new_status != before["status"]:
        changes["status"] = [before["status"], new_status]
    if not changes:
        return {}
    at = now()
    row = {k: v[1] for k, v in changes.items() if k in VALUE_COLUMNS}
    for key in row:  # history holds plain values; the table wants dates
        row[key] = values[key]  # type: ignore[index]
    if new_status != before["status"]:
        row["status"] = new_status
        if new_status == "active":
            row["missing_since"] = None
    # an unclassified asset marks nothing, wherever it is
    remarked = "security_classification" in changes or (
        "location" in changes and before.get("security_classification") is not None)
    was_under = _identities(conn, asset_id) if remarked else []
    conn.execute(update(asset).where(asset.c.asset_id == asset_id).values(**row, updated_at=at))
    if "location" in changes:
        conn.execute(delete(asset_location).where(asset_location.c.asset_id == asset_id))
        _insert_locations(conn, asset_id, locations or [])
    if remarked:
        _marked_under(conn, [*was_under, *(identity for _, identity in locations or [])], stale)
    action = {"retired": "retired", "active": "reinstated"}.get(new_status, "updated") if "status" in changes \
        else "updated"
    if reason:
        changes["reason"] = [None, reason]
    history.record(conn, entity_kind="asset", entity_id=asset_id, action=action, actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)
    return changes
