"""What lineage reads from the register: dataset versions, and the assets that cover them, in time.

A dataset version (observed_dataset) is valid from ``first_seen_at`` until ``valid_to``; a gone
version says the dataset was absent from a complete listing. An asset's state at a past time is
its current row with the later changes of its history undone (history rows hold {field: [old,
new]}), so ownership and classification are shown as they were, not as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from adc.config import Settings
from adc.lineage.facets import ASSET_FIELDS
from adc.naming import DatasetId, LocationError, database_table, parse_location
from adc.register.tables import asset, asset_location, history, observation, observed_dataset


@dataclass(frozen=True)
class Version:
    """One version of one dataset, as the register holds it."""

    id: DatasetId
    record: dict[str, Any]  # ObservedDataset.to_dict(); its statistics are refreshed in place, never shown
    content_hash: str
    first_seen_at: datetime
    gone: bool
    previous_gone: bool | None  # the version before it: None when this is the dataset's first

    @property
    def change(self) -> str:
        """DROP for a dataset found gone; ALTER for a changed one; CREATE for a new or returning one."""
        if self.gone:
            return "DROP"
        return "ALTER" if self.previous_gone is False else "CREATE"

    @property
    def symlinks(self) -> list[DatasetId]:
        return [DatasetId(s["namespace"], s["name"]) for s in self.record.get("symlinks") or []]


def _versions(conn: Connection, where) -> Iterator[Version]:
    """Versions matching ``where(columns)``, in (namespace, name, time) order, each knowing its predecessor
    (the version it replaced ends where it begins: one lookup on the (namespace, name, valid_to) index)."""
    od, before = observed_dataset, observed_dataset.alias("before")
    previous_gone = (
        select(before.c.gone)
        .where(before.c.namespace == od.c.namespace, before.c.name == od.c.name,
               before.c.valid_to == od.c.first_seen_at)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(od.c.namespace, od.c.name, od.c.record, od.c.content_hash, od.c.first_seen_at, od.c.gone,
               previous_gone.label("previous_gone"))
        .where(where(od.c))
        .order_by(od.c.namespace, od.c.name, od.c.first_seen_at)
    )
    for row in conn.execution_options(yield_per=500).execute(query):
        yield Version(
            id=DatasetId(row.namespace, row.name),
            record=row.record,
            content_hash=row.content_hash,
            first_seen_at=row.first_seen_at,
            gone=bool(row.gone),
            previous_gone=None if row.previous_gone is None else bool(row.previous_gone),
        )


def versions_of_run(conn: Connection, run_id: str) -> Iterator[Version]:
    """The versions a harvest run made: its new, changed and gone datasets."""
    return _versions(conn, lambda c: c.first_seen_run == run_id)


def current(c) -> Any:
    """Current versions (of the columns ``c``): the estate as last harvested."""
    return c.valid_to.is_(None)


def current_versions(conn: Connection) -> Iterator[Version]:
    """The current version of every dataset the register knows, gone ones included."""
    return _versions(conn, current)


def during(start: datetime, end: datetime):
    """Versions valid at some time in [start, end); of the gone ones, those that began in it."""
    return lambda c: ((c.first_seen_at < end) & or_(c.valid_to.is_(None), c.valid_to > start)
                      & or_(c.gone.is_(False), c.first_seen_at >= start))


def versions_during(conn: Connection, start: datetime, end: datetime) -> Iterator[Version]:
    """The estate as it was in [start, end): every version valid at some time in it, and the DROP of
    each dataset found gone in it (a dataset gone before is not repeated every day)."""
    return _versions(conn, during(start, end))


def linked_from(conn: Connection, where=current) -> dict[DatasetId, list[DatasetId]]:
    """identity -> the datasets (not gone, matching ``where``) that name it as a symlink: the S3 data
    behind a Glue table belongs to the table's asset, as reconciliation matches it."""
    od = observed_dataset
    query = select(od.c.namespace, od.c.name, od.c.symlinks).where(
        where(od.c), od.c.gone.is_(False), od.c.symlinks.is_not(None))
    links: dict[DatasetId, set[DatasetId]] = {}
    for row in conn.execute(query):
        for link in row.symlinks or []:
            links.setdefault(DatasetId(link["namespace"], link["name"]), set()).add(DatasetId(row.namespace, row.name))
    return {target: sorted(sources) for target, sources in links.items()}


def datasets_seen(conn: Connection, run_id: str, units: list[str] | None = None) -> list[DatasetId]:
    """The datasets a harvest read: some units' staged observations, or a merged run's datasets."""
    if units is not None:
        query = select(observation.c.namespace, observation.c.name).where(
            observation.c.run_id == run_id, observation.c.unit.in_(units)
        )
    else:
        od = observed_dataset
        query = select(od.c.namespace, od.c.name).where(od.c.last_seen_run == run_id, od.c.gone.is_(False))
    return sorted(DatasetId(ns, name) for ns, name in conn.execute(query))


def register_tables(conn_or_engine, *tables: str) -> list[DatasetId]:
    """Tables of the register as datasets (what ADC's runs read and write), named from its URL."""
    url = conn_or_engine.engine.url.render_as_string(hide_password=True)
    return [database_table(url, table) for table in tables]


# --------------------------------------------------------------------------- assets in time


@dataclass(frozen=True)
class AssetState:
    """An asset as it was at some time: its lineage-relevant fields, and since when they held."""

    asset_id: str
    values: dict[str, Any]  # ASSET_FIELDS (dates as ISO strings) and "location": the URIs as written
    since: datetime

    def as_facet_input(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, **self.values}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class Assets:
    """The register's assets, their locations and their history: answers "who covered this, then?".

    An asset at time t is its current row with the changes recorded at or after t undone, its
    locations included (history holds them as the URIs a person wrote; the register resolves the
    current ones, earlier ones are resolved here with the same adc.naming.parse_location).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], locations: Iterable[Mapping[str, Any]],
                 changes: Iterable[Mapping[str, Any]]) -> None:
        self._rows = {row["asset_id"]: row for row in rows}
        self._uris: dict[str, list[str]] = {}
        self._identity: dict[str, DatasetId] = {}
        for loc in locations:
            self._uris.setdefault(loc["asset_id"], []).append(loc["uri"])
            self._identity[loc["uri"]] = DatasetId(loc["namespace"], loc["name"])
        self._changes: dict[str, list[Mapping[str, Any]]] = {}
        for change in changes:  # oldest first
            self._changes.setdefault(change["entity_id"], []).append(change)
        self._states: dict[tuple[str, datetime | None], AssetState | None] = {}
        self._indexes: dict[datetime | None, dict[str, dict[str, list[str]]]] = {}

    @classmethod
    def load(cls, conn: Connection) -> Assets:
        rows = [dict(r) for r in conn.execute(select(asset)).mappings()]
        locations = [dict(r) for r in conn.execute(
            select(asset_location.c.asset_id, asset_location.c.uri, asset_location.c.namespace,
                   asset_location.c.name).order_by(asset_location.c.location_id)).mappings()]
        changes = [
            dict(r) for r in conn.execute(
                select(history.c.entity_id, history.c.at, history.c.changes)
                .where(history.c.entity_kind == "asset")
                .order_by(history.c.at, history.c.history_id)
            ).mappings()
        ]
        return cls(rows, locations, changes)

    def state(self, asset_id: str, at: datetime | None = None) -> AssetState | None:
        """The asset as it was just before ``at`` (None: as it is now); None if it did not exist yet."""
        key = (asset_id, at)
        if key not in self._states:
            self._states[key] = self._state(asset_id, at)
        return self._states[key]

    def _state(self, asset_id: str, at: datetime | None) -> AssetState | None:
        row = self._rows[asset_id]
        if at is not None and row["created_at"] >= at:
            return None
        values = {field: _plain(row[field]) for field in ASSET_FIELDS}
        values["location"] = list(self._uris.get(asset_id, []))
        since = row["created_at"]
        for change in reversed(self._changes.get(asset_id, [])):
            relevant = {f: v for f, v in (change["changes"] or {}).items() if f in values}
            if not relevant:
                continue
            if at is not None and change["at"] >= at:
                values.update({f: old for f, (old, _new) in relevant.items()})
            else:
                since = max(since, change["at"])
                break
        return AssetState(asset_id, values, since)

    def _index(self, at: datetime | None) -> dict[str, dict[str, list[str]]]:
        """namespace -> location name -> asset ids, for the assets as they were at ``at``."""
        if at not in self._indexes:
            settings = Settings.from_env()
            index: dict[str, dict[str, list[str]]] = {}
            for asset_id in sorted(self._rows):
                state = self.state(asset_id, at)
                if state is None or state.values["status"] == "retired":
                    continue  # retired assets match nothing, as in reconciliation
                for uri in state.values["location"] or []:
                    identity = self._identity.get(uri)
                    if identity is None:
                        try:
                            identity = parse_location(uri, region=settings.default_region,
                                                      account=settings.default_account)
                        except LocationError:
                            continue  # a location the register no longer resolves names nothing
                    index.setdefault(identity.namespace, {}).setdefault(identity.name, []).append(asset_id)
            self._indexes[at] = index
        return self._indexes[at]

    def covering(self, dataset: DatasetId, symlinks: Iterable[DatasetId] = (), at: datetime | None = None,
                 linked_from: Iterable[DatasetId] = ()) -> AssetState | None:
        """The asset a dataset belongs to at that time: the most specific one covering the dataset,
        else one of its symlinks, else a dataset that names it as a symlink (reconciliation's rule).

        Walks each name's prefixes from the longest: the rule of DatasetId.covers, without a scan
        of every location per dataset.
        """
        index = self._index(at)
        for identity in (dataset, *symlinks, *linked_from):
            locations = index.get(identity.namespace)
            if not locations:
                continue
            parts = identity.name.split("/")
            for depth in range(len(parts), -1, -1):
                if asset_ids := locations.get("/".join(parts[:depth])):
                    return self.state(asset_ids[0], at)
        return None
