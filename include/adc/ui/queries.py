"""What the register UI reads: SQLAlchemy Core queries on the register, sized for 100,000 assets.

Every read takes the reader's ``Visible`` (adc.ui.visible) and adds its condition for each table it
reads, in SQL: a list, a count or a chart never holds what the reader may not see, and an item they
may not see reads as one that does not exist (docs/organisations.md).

Lists page by key (the last id of a page is where the next starts), never by OFFSET, so page 2,000
costs what page 1 costs. Searches use the register's indexes: an asset id prefix, the owner and the
marking are index lookups; a location is resolved to its dataset identity (adc.naming) and matched
by namespace and name prefix, the same rule as reconciliation (a bucket covers its prefixes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Connection, String, and_, case, cast, func, or_, select

from adc.config import Settings
from adc.errors import AdcError
from adc.naming import DatasetId, LocationError, parse_location
from adc.organisations import load_organisations
from adc.register import GSCP, KINDS, LIVE, SEVERITIES, STATUSES, history
from adc.register.findings import counts
from adc.register.findings import get as get_finding
from adc.register.tables import (
    asset,
    asset_location,
    finding,
    harvest_run,
    harvest_scope,
    observed_dataset,
    reconciliation_run,
)
from adc.register.tables import history as history_table
from adc.ropa import activities as ropa_activities
from adc.ropa.activities import all_activities
from adc.ropa.reviews import list_reviews
from adc.ropa.schedule import review_window_opens
from adc.ropa.tables import activity_asset, processing_activity, review, review_step
from adc.ui.visible import Visible

PAGE_SIZE = 50
# An asset's page lists at most so many of each thing (with the total: "and N more"), so one asset with
# a huge history or thousands of datasets costs what any other does.
MAX_DATASETS = 100  # datasets at its locations
MAX_COLUMNS = 200  # columns of each of those datasets
MAX_ROWS = 100  # locations, processing activities, findings, history rows, lineage neighbours
PERSONAL = {"yes": "holds personal data", "no": "no personal data", "special": "special category data",
            "criminal": "criminal offence data"}
ASSET_STATUSES = ("active", "missing", "retired")


class PageKeyError(AdcError):
    """An ``after`` that is not a key of the list it pages (the app answers 400)."""


@dataclass
class Page:
    """One page of a list: its rows, the key the next page starts after (None: the last page), the total."""

    rows: list[dict[str, Any]]
    next_after: str | None
    total: int


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class AssetFilter:
    """An asset search as the assets page and the API take it (every field optional)."""

    text: str = ""  # an asset id prefix, or words in the name
    location: str = ""  # a location URI: assets whose locations cover it or lie under it (else a part of a URI)
    owner: str = ""  # the Information Asset Owner, exactly
    classification: str = ""  # a GSCP marking
    personal: str = ""  # one of PERSONAL
    status: str = ""  # one of ASSET_STATUSES

    @classmethod
    def of(cls, **values: str | None) -> AssetFilter:
        """From query parameters: trimmed, and unknown choices dropped rather than failing the page."""
        clean = {k: (v or "").strip()[:500] for k, v in values.items() if k in cls.__dataclass_fields__}
        if clean.get("classification", "").upper() not in GSCP:
            clean["classification"] = ""
        else:
            clean["classification"] = clean["classification"].upper()
        if clean.get("personal") not in PERSONAL:
            clean["personal"] = ""
        if clean.get("status") not in ASSET_STATUSES:
            clean["status"] = ""
        return cls(**clean)

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def query(self, **extra: str | None) -> str:
        """The filter (and ``extra``) as a query string for links."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__} | extra
        return urlencode({k: v for k, v in values.items() if v})


def _location_condition(text: str, settings: Settings):
    """asset_location rows matching a searched location: covering it or lying under it (by identity),
    or, when the text is not a location, holding it in their URI."""
    al = asset_location
    try:
        identity = parse_location(text, region=settings.default_region, account=settings.default_account)
    except LocationError:
        return al.c.uri.contains(text, autoescape=True)
    return and_(al.c.namespace == identity.namespace,
                or_(al.c.name.in_(_prefixes(identity.name)), *_under(al.c.name, identity.name)))


def _prefixes(name: str) -> list[str]:
    """The names that cover ``name`` (DatasetId.covers): the whole namespace, each '/'-prefix, itself."""
    parts = name.split("/") if name else []
    return [""] + ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def _under(column, name: str) -> list[Any]:
    """``column`` lies strictly under ``name`` (a byte-order range, see sqlfn.covers)."""
    if not name:
        return [column != ""]
    return [and_(column > name + "/", column < name + "0")]


def asset_conditions(flt: AssetFilter, settings: Settings | None = None) -> list[Any]:
    conditions = []
    if flt.text:
        conditions.append(or_(asset.c.asset_id.istartswith(flt.text, autoescape=True),
                              asset.c.name.icontains(flt.text, autoescape=True)))
    if flt.location:
        matching = select(asset_location.c.asset_id).where(
            _location_condition(flt.location, settings or Settings.from_env()))
        conditions.append(asset.c.asset_id.in_(matching))
    if flt.owner:
        conditions.append(asset.c.owner == flt.owner)
    if flt.classification:
        conditions.append(asset.c.security_classification == flt.classification)
    if flt.status:
        conditions.append(asset.c.status == flt.status)
    if flt.personal == "yes":
        conditions.append(asset.c.personal_data.is_(True))
    elif flt.personal == "no":
        conditions.append(asset.c.personal_data.is_(False))
    elif flt.personal == "special":
        conditions.append(asset.c.special_categories.is_not(None))
    elif flt.personal == "criminal":
        conditions.append(asset.c.criminal_offence_data.is_(True))
    return conditions


def search_assets(conn: Connection, visible: Visible, flt: AssetFilter, *, after: str | None = None,
                  limit: int = PAGE_SIZE, settings: Settings | None = None) -> Page:
    """One page of the assets matching ``flt``, by asset id, each with its first locations."""
    conditions = [visible.assets, *asset_conditions(flt, settings)]
    columns = (asset.c.asset_id, asset.c.name, asset.c.owner, asset.c.security_classification,
               asset.c.personal_data, asset.c.special_categories, asset.c.criminal_offence_data, asset.c.status,
               asset.c.last_seen_at)
    query = select(*columns).where(*conditions)
    if after:
        query = query.where(asset.c.asset_id > after)
    rows = [dict(r) for r in conn.execute(query.order_by(asset.c.asset_id).limit(limit + 1)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    locations = _locations(conn, [r["asset_id"] for r in rows])
    for row in rows:
        row["locations"] = locations.get(row["asset_id"], [])
    total = conn.execute(select(func.count()).select_from(asset).where(*conditions)).scalar_one()
    return Page(rows, rows[-1]["asset_id"] if more else None, total)


def _locations(conn: Connection, asset_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if asset_ids:
        query = (select(asset_location.c.asset_id, asset_location.c.uri)
                 .where(asset_location.c.asset_id.in_(asset_ids)).order_by(asset_location.c.location_id))
        for asset_id, uri in conn.execute(query):
            found.setdefault(asset_id, []).append(uri)
    return found


# --------------------------------------------------------------------------- one asset


@dataclass
class AssetPage:
    """Everything the asset page shows: each list its first rows (see MAX_ROWS), each ``*_total`` how
    many there are in all."""

    asset: dict[str, Any]
    locations: list[dict[str, Any]]
    location_total: int
    datasets: list[dict[str, Any]]  # current datasets at its locations, each with its first columns (schema)
    dataset_total: int
    activities: list[dict[str, Any]]
    activity_total: int
    findings: list[dict[str, Any]]  # most severe first
    finding_total: int
    history: list[dict[str, Any]]  # newest first
    history_total: int
    neighbours: list[dict[str, Any]]  # lineage neighbours (see neighbours())
    neighbour_total: int


def _first(conn: Connection, query, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` rows of ``query`` (ordered) and how many rows it has in all."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    return [dict(r) for r in conn.execute(query.limit(limit)).mappings()], total


def asset_page(conn: Connection, visible: Visible, asset_id: str, limit: int = MAX_ROWS) -> AssetPage | None:
    """The asset's page, or None when there is no such asset or the reader may not see it (the same to them)."""
    row = conn.execute(select(asset).where(asset.c.asset_id == asset_id, visible.assets)).mappings().first()
    if row is None:
        return None
    al, pa, h = asset_location, processing_activity, history_table
    locations, location_total = _first(conn, select(al.c.uri, al.c.namespace, al.c.name).where(
        al.c.asset_id == asset_id).order_by(al.c.location_id), limit)
    identities = [DatasetId(loc["namespace"], loc["name"]) for loc in locations]
    datasets, dataset_total = datasets_at(conn, visible, identities)
    activities, activity_total = _first(conn, select(
        pa.c.activity_id, pa.c.name, pa.c.owner, pa.c.status, pa.c.next_review_due)
        .join(activity_asset, activity_asset.c.activity_id == pa.c.activity_id)
        .where(activity_asset.c.asset_id == asset_id, visible.activities).order_by(pa.c.activity_id), limit)
    findings, finding_total = _first(conn, select(finding).where(finding.c.asset_id == asset_id, visible.findings)
                                     .order_by(_RANK, finding.c.finding_id), limit)
    # the asset's own history: visible with the asset
    changes, history_total = _first(conn, select(h).where(h.c.entity_kind == "asset", h.c.entity_id == asset_id)
                                    .order_by(h.c.at.desc(), h.c.history_id.desc()), limit)
    related, neighbour_total = neighbours(conn, visible, asset_id, identities, datasets, limit)
    return AssetPage(
        asset=dict(row), locations=locations, location_total=location_total, datasets=datasets,
        dataset_total=dataset_total, activities=activities, activity_total=activity_total, findings=findings,
        finding_total=finding_total, history=changes, history_total=history_total, neighbours=related,
        neighbour_total=neighbour_total)


def _covered_by(identity: DatasetId):
    """observed_dataset rows at or under ``identity`` (current versions)."""
    od = observed_dataset
    return and_(od.c.namespace == identity.namespace,
                or_(od.c.name == identity.name, *_under(od.c.name, identity.name)))


def datasets_at(conn: Connection, visible: Visible, identities: list[DatasetId], limit: int = MAX_DATASETS
                ) -> tuple[list[dict[str, Any]], int]:
    """The current datasets at or under the identities (first ``limit`` by name, with their schema), and
    how many there are."""
    if not identities:
        return [], 0
    od = observed_dataset
    where = and_(od.c.valid_to.is_(None), or_(*(_covered_by(i) for i in identities)), visible.datasets)
    total = conn.execute(select(func.count()).select_from(od).where(where)).scalar_one()
    query = (select(od.c.namespace, od.c.name, od.c.service, od.c.kind, od.c.format, od.c.classification,
                    od.c.special_categories, od.c.gone, od.c.last_seen_at, od.c.symlinks, od.c.schema_status,
                    od.c.record["fields"].label("fields"), od.c.record["partition_keys"].label("partition_keys"))
             .where(where).order_by(od.c.namespace, od.c.name).limit(limit))
    datasets = []
    for row in conn.execute(query).mappings():
        item = dict(row)
        item["id"] = DatasetId(row["namespace"], row["name"])
        item["field_total"] = len(item["fields"] or [])
        item["fields"] = list(item["fields"] or [])[:MAX_COLUMNS]
        item["partition_keys"] = list(item["partition_keys"] or [])
        datasets.append(item)
    return datasets, total


def assets_covering(conn: Connection, visible: Visible, identities: Iterable[DatasetId]) -> dict[DatasetId, list[str]]:
    """identity -> the ids of the assets whose locations cover it (index lookups on each name prefix)."""
    found: dict[DatasetId, list[str]] = {}
    al = asset_location
    for identity in set(identities):
        ids = conn.execute(select(al.c.asset_id).distinct().join(asset, asset.c.asset_id == al.c.asset_id).where(
            al.c.namespace == identity.namespace, al.c.name.in_(_prefixes(identity.name)), visible.assets)
            .order_by(al.c.asset_id)).scalars().all()
        found[identity] = list(ids)
    return found


def neighbours(conn: Connection, visible: Visible, asset_id: str, identities: list[DatasetId],
               datasets: list[dict[str, Any]], limit: int = MAX_ROWS) -> tuple[list[dict[str, Any]], int]:
    """The asset's first ``limit`` lineage neighbours, each {relation, dataset, assets}, and how many
    there are:

    - "also known as": a dataset of the asset names another identity for the same data (a Glue
      table's S3 location), and which assets cover that one;
    - "catalogued as": a current dataset elsewhere names data of this asset as its own (the Glue
      table over these files);
    - "shares a location": another asset whose locations cover, or lie under, one of this asset's.

    Which assets cover a neighbour is looked up for the ones listed only. ``datasets`` are those the reader
    may see; the datasets and assets found here are filtered the same way.
    """
    result: list[dict[str, Any]] = []
    targets = [(d["id"], DatasetId(s["namespace"], s["name"])) for d in datasets for s in d["symlinks"] or []]
    total = len(targets)
    covering = assets_covering(conn, visible, [t for _, t in targets[:limit]])
    for source, target in targets[:limit]:
        result.append({"relation": "also known as", "from": source, "dataset": target, "assets": covering[target]})
    od = observed_dataset
    for namespace in sorted({i.namespace for i in identities}):
        # Glue tables are few next to files: the symlink documents are scanned, the JSON filtered in Python
        query = select(od.c.namespace, od.c.name, od.c.symlinks).where(
            od.c.valid_to.is_(None), od.c.gone.is_(False), od.c.symlinks.is_not(None),
            cast(od.c.symlinks, String).contains(f'"{namespace}"', autoescape=True), visible.datasets)
        for symlinked in conn.execute(query):
            source = DatasetId(symlinked.namespace, symlinked.name)
            for link in symlinked.symlinks:
                target = DatasetId(link["namespace"], link["name"])
                if any(i.covers(target) for i in identities) and not any(i.covers(source) for i in identities):
                    total += 1
                    if len(result) < limit:
                        result.append({"relation": "catalogued as", "from": target, "dataset": source,
                                       "assets": assets_covering(conn, visible, [source])[source]})
    al = asset_location
    for identity in identities:
        rows, found = _first(conn, select(al.c.asset_id, al.c.uri, al.c.namespace, al.c.name)
                             .join(asset, asset.c.asset_id == al.c.asset_id).where(
            al.c.namespace == identity.namespace, al.c.asset_id != asset_id,
            or_(al.c.name.in_(_prefixes(identity.name)), *_under(al.c.name, identity.name)), visible.assets)
            .order_by(al.c.asset_id), limit - len(result))
        total += found
        for row in rows:
            result.append({"relation": "shares a location", "from": identity,
                           "dataset": DatasetId(row["namespace"], row["name"]), "assets": [row["asset_id"]]})
    return result, total


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class FindingFilter:
    status: str = "open"  # a status, "live" (open, acknowledged, dismissed) or "" (all)
    kind: str = ""
    severity: str = ""
    asset: str = ""

    @classmethod
    def of(cls, **values: str | None) -> FindingFilter:
        status = (values.get("status") if values.get("status") is not None else "open") or ""
        return cls(
            status=status if status in (*STATUSES, "live", "") else "open",
            kind=kind if (kind := values.get("kind") or "") in KINDS else "",
            severity=severity if (severity := values.get("severity") or "") in SEVERITIES else "",
            asset=(values.get("asset") or "").strip()[:32],
        )

    def query(self, **extra: str | None) -> str:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__} | extra
        return urlencode({k: v for k, v in values.items() if v or k == "status"})


_RANK = case({s: i for i, s in enumerate(SEVERITIES)}, value=finding.c.severity, else_=len(SEVERITIES))


def search_findings(conn: Connection, visible: Visible, flt: FindingFilter, *, after: str | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """One page of findings, most severe first then oldest; ``after`` is "<severity rank>:<finding id>"."""
    conditions: list[ColumnElement[bool]] = [visible.findings]
    if flt.status:
        conditions.append(finding.c.status.in_(LIVE if flt.status == "live" else (flt.status,)))
    if flt.kind:
        conditions.append(finding.c.kind == flt.kind)
    if flt.severity:
        conditions.append(finding.c.severity == flt.severity)
    if flt.asset:
        conditions.append(finding.c.asset_id == flt.asset)
    query = select(finding, _RANK.label("rank")).where(*conditions)
    if after:
        # ASCII digits only (str.isdigit() also takes "²", which int() refuses), and few enough for a BIGINT
        if not re.fullmatch(r"[0-9]{1,9}:[0-9]{1,18}", after):
            raise PageKeyError(f"after={after!r} is not a place in the findings list: it is <severity rank>:"
                               "<finding id>, as next_after gives it")
        rank, _, last_id = after.partition(":")
        severity_rank = _RANK  # the SQL expression, on the left so SQLAlchemy builds the comparison
        query = query.where(or_(severity_rank > int(rank),
                                and_(severity_rank == int(rank), finding.c.finding_id > int(last_id))))
    rows = [dict(r) for r in conn.execute(query.order_by(_RANK, finding.c.finding_id).limit(limit + 1)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    total = conn.execute(select(func.count()).select_from(finding).where(*conditions)).scalar_one()
    return Page(rows, f"{rows[-1]['rank']}:{rows[-1]['finding_id']}" if more else None, total)


def finding_page(conn: Connection, visible: Visible, finding_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A finding and its history, oldest change first; FindingNotFound (404) when there is none or the
    reader may not see it (the same to them)."""
    row = get_finding(conn, finding_id, visible=visible.findings)
    return row, list(reversed(history.of(conn, "finding", str(finding_id))))


# --------------------------------------------------------------------------- the dashboard


def asset_summary(conn: Connection, visible: Visible) -> dict[str, Any]:
    """Assets by status, by marking, and by the personal data they declare."""
    special = asset.c.special_categories.is_not(None)
    query = (select(asset.c.status, asset.c.security_classification, asset.c.personal_data, special.label("special"),
                    asset.c.criminal_offence_data, func.count().label("n"))
             .where(visible.assets)
             .group_by(asset.c.status, asset.c.security_classification, asset.c.personal_data, special,
                       asset.c.criminal_offence_data))
    by_status: dict[str, int] = dict.fromkeys(ASSET_STATUSES, 0)
    by_marking: dict[str, int] = dict.fromkeys(GSCP, 0)
    personal = {"special category": 0, "criminal offence": 0, "personal (other)": 0, "no personal data": 0}
    total = 0
    for row in conn.execute(query):
        total += row.n
        by_status[row.status] = by_status.get(row.status, 0) + row.n
        marking = row.security_classification or "unmarked"
        by_marking[marking] = by_marking.get(marking, 0) + row.n
        if row.special:
            personal["special category"] += row.n
        elif row.criminal_offence_data:
            personal["criminal offence"] += row.n
        elif row.personal_data:
            personal["personal (other)"] += row.n
        else:
            personal["no personal data"] += row.n
    return {"total": total, "by_status": by_status, "by_marking": by_marking, "personal": personal}


def finding_summary(conn: Connection, visible: Visible) -> dict[str, Any]:
    """Open findings by kind and severity, and how many findings are in each status."""
    by_status: dict[str, int] = dict(
        conn.execute(select(finding.c.status, func.count()).where(visible.findings).group_by(finding.c.status)).all())
    return {"open": counts(conn, ("open",), visible=visible.findings), "by_status": by_status}


def review_summary(conn: Connection, visible: Visible, today: date) -> dict[str, Any]:
    """Activities whose review is overdue or due (its window open), reviews under way, reviews completed."""
    pa = processing_activity
    activities = [dict(r) for r in conn.execute(
        select(pa.c.activity_id, pa.c.name, pa.c.owner, pa.c.next_review_due, pa.c.response_time, pa.c.status)
        .where(pa.c.status != "retired", visible.activities)
        .order_by(pa.c.next_review_due, pa.c.activity_id)).mappings()]
    overdue = [a for a in activities if a["next_review_due"] < today]
    due = [a for a in activities if a["next_review_due"] >= today and review_window_opens(a) <= today]
    under_way: dict[str, int] = dict(conn.execute(
        select(review.c.status, func.count()).where(review.c.status != "completed", visible.reviews)
        .group_by(review.c.status)).all())
    year_ago = datetime.combine(today - timedelta(days=365), time.min, tzinfo=UTC)
    completed: dict[str, int] = dict(conn.execute(
        select(review.c.outcome, func.count())
        .where(review.c.status == "completed", review.c.closed_at >= year_ago, visible.reviews)
        .group_by(review.c.outcome)).all())
    return {"activities": len(activities), "overdue": overdue, "due": due, "under_way": under_way,
            "completed": completed, "completed_total": sum(completed.values())}


@dataclass
class CoveragePoint:
    """The register against the estate after one reconciliation."""

    at: datetime  # when the harvest behind it finished
    harvest_run_id: str
    datasets: int  # current datasets in the snapshot
    unregistered: int  # of which no asset covers (live unregistered_dataset findings)
    missing_assets: int  # assets whose datasets a complete listing no longer found
    scopes_complete: int
    scopes_failed: int

    @property
    def registered(self) -> int:
        return max(self.datasets - self.unregistered, 0)

    @property
    def share(self) -> float | None:
        return self.registered / self.datasets if self.datasets else None


def coverage_history(conn: Connection, visible: Visible, limit: int = 30) -> list[CoveragePoint]:
    """The register's coverage of the estate over the last ``limit`` reconciled harvests, oldest first.

    The estate's size at each point is counted from the dataset versions (a version is current from
    its first_seen_at until its valid_to): one pass over the versions grouped by when they began and
    ended (every version of one harvest shares its merge time), then running sums.
    """
    rr, hr = reconciliation_run, harvest_run
    runs = conn.execute(
        select(rr.c.harvest_run_id, rr.c.counts, hr.c.finished_at)
        .join(hr, hr.c.run_id == rr.c.harvest_run_id)
        .order_by(hr.c.finished_at.desc()).limit(limit)).all()
    if not runs:
        return []
    runs = sorted(runs, key=lambda r: r.finished_at)
    od = observed_dataset
    began: dict[datetime, int] = dict(conn.execute(select(od.c.first_seen_at, func.count())
                                                   .where(od.c.gone.is_(False), visible.datasets)
                                                   .group_by(od.c.first_seen_at)).all())
    ended: dict[datetime, int] = dict(conn.execute(select(od.c.valid_to, func.count())
                                                   .where(od.c.gone.is_(False), od.c.valid_to.is_not(None),
                                                          visible.datasets)
                                                   .group_by(od.c.valid_to)).all())
    scopes: dict[str, dict[str, int]] = {}
    for run_id, status, n in conn.execute(
            select(harvest_scope.c.run_id, harvest_scope.c.status, func.count())
            .where(harvest_scope.c.run_id.in_([r.harvest_run_id for r in runs]), visible.scopes)
            .group_by(harvest_scope.c.run_id, harvest_scope.c.status)):
        scopes.setdefault(run_id, {})[status] = n
    live = _live_at(conn, visible, runs)
    points = []
    for run in runs:
        at = run.finished_at
        current = sum(n for t, n in began.items() if t <= at) - sum(n for t, n in ended.items() if t <= at)
        points.append(CoveragePoint(
            at=at, harvest_run_id=run.harvest_run_id, datasets=current,
            unregistered=live[run.harvest_run_id]["unregistered_dataset"],
            missing_assets=live[run.harvest_run_id]["missing_asset"],
            scopes_complete=scopes.get(run.harvest_run_id, {}).get("complete", 0),
            scopes_failed=scopes.get(run.harvest_run_id, {}).get("failed", 0)))
    return points


_COVERAGE_KINDS = ("unregistered_dataset", "missing_asset")


def _live_at(conn: Connection, visible: Visible, runs: list[Any]) -> dict[str, dict[str, int]]:
    """harvest run id -> {kind: n}: the unregistered datasets and missing assets its reconciliation left
    open or acknowledged.

    Each reconciliation recorded these totals over everything, so only a reader who sees everything
    is shown them. For anyone else they are counted again from the findings the reader may see: those
    the harvest saw (first seen at or before it, last seen at or after it: a live finding's last_seen
    moves with each reconciled harvest), less those dismissed since.
    """
    if visible.viewer.sees_everything:
        recorded = {run.harvest_run_id: (run.counts or {}).get("findings", {}) for run in runs}
        return {run_id: {kind: sum(live.get(kind, {}).values()) for kind in _COVERAGE_KINDS}
                for run_id, live in recorded.items()}
    f = finding
    seen = conn.execute(select(f.c.kind, f.c.first_seen_at, f.c.last_seen_at).where(
        f.c.kind.in_(_COVERAGE_KINDS), f.c.status != "dismissed", visible.findings,
        f.c.first_seen_at <= runs[-1].finished_at, f.c.last_seen_at >= runs[0].finished_at)).all()
    return {run.harvest_run_id: {kind: sum(1 for s in seen if s.kind == kind
                                           and s.first_seen_at <= run.finished_at <= s.last_seen_at)
                                 for kind in _COVERAGE_KINDS}
            for run in runs}


def latest_reconciliation(conn: Connection) -> dict[str, Any] | None:
    rr = reconciliation_run
    row = conn.execute(select(rr).order_by(rr.c.finished_at.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


# --------------------------------------------------------------------------- processing activities


def activities(conn: Connection, visible: Visible, today: date) -> list[dict[str, Any]]:
    """Every processing activity with its review state: overdue, due, the review under way, the last one."""
    latest: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(review).where(visible.reviews).order_by(review.c.opened_at)).mappings():
        latest[row["activity_id"]] = dict(row)
    result = []
    for activity in all_activities(conn, visible=visible.activities):
        last = latest.get(activity["activity_id"])
        live = activity["status"] != "retired"
        result.append({
            **activity,
            "overdue": live and activity["next_review_due"] < today,
            "due": live and activity["next_review_due"] >= today and review_window_opens(activity) <= today,
            "review": last,
        })
    return result


def activity_page(conn: Connection, visible: Visible, activity_id: str) -> dict[str, Any] | None:
    """One activity: its record, linked assets (registered or not), reviews with their steps, history.
    None when there is no such activity or the reader may not see it (the same to them)."""
    pa = processing_activity
    seen = conn.execute(select(pa.c.activity_id).where(pa.c.activity_id == activity_id, visible.activities)).first()
    activity = ropa_activities.get(conn, activity_id) if seen else None
    if activity is None:
        return None
    # a linked asset the reader may not see reads as one the register does not hold: the link is the
    # activity's record, the asset is not theirs to see
    linked = {row["asset_id"]: dict(row) for row in conn.execute(
        select(asset.c.asset_id, asset.c.name, asset.c.status, asset.c.owner, asset.c.personal_data,
               asset.c.special_categories, asset.c.criminal_offence_data)
        .where(asset.c.asset_id.in_(activity["linked_assets"]), visible.assets)).mappings()}
    return {
        "activity": activity,
        "assets": [linked.get(a, {"asset_id": a, "registered": False}) for a in activity["linked_assets"]],
        "reviews": list_reviews(conn, activity_id=activity_id, visible=visible.reviews),
        "history": list(reversed(history.of(conn, "activity", activity_id))),
    }


def review_step_pack(conn: Connection, visible: Visible, step_id: str) -> dict[str, Any] | None:
    """One question's evidence: the pack the reviewer was shown, with the hash recorded when it was shown.
    None when there is no such question or the reader may not see it (the same to them)."""
    row = conn.execute(
        select(review_step, review.c.activity_id).join(review, review.c.review_id == review_step.c.review_id)
        .where(review_step.c.step_id == step_id, visible.review_steps)).mappings().first()
    return dict(row) if row else None


def counts_of(conn: Connection, visible: Visible) -> dict[str, int]:
    """How many assets (not retired), current datasets, live findings and processing activities
    ``visible`` holds: a sealed unit's counts, for the organisation above it where it shares them."""
    def count(table, *where: ColumnElement[bool]) -> int:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    return {"assets": count(asset, visible.assets, asset.c.status != "retired"),
            "datasets": count(observed_dataset, visible.datasets, observed_dataset.c.valid_to.is_(None),
                              observed_dataset.c.gone.is_(False)),
            "live findings": count(finding, visible.findings, finding.c.status.in_(LIVE)),
            "activities": count(processing_activity, visible.activities)}


def shared_counts(conn: Connection, visible: Visible) -> dict[str, dict[str, int]]:
    """The counts of each sealed organisation that shares them with one the reader sees (organisations.yaml
    ``shares_counts``), by its name: nothing else of it."""
    return {name: counts_of(conn, Visible.of(view, None))
            for name, view in load_organisations().counted(visible.viewer).items()}
