"""A dataset's metrics history: what every harvest measured of it (dataset_metrics), oldest first.

The harvest writes one row per dataset and complete run (adc.register.store); this reads them back as
:class:`adc.quality.evaluate.Metrics` snapshots, through the visibility rule: ``visible`` is the
condition ``adc.visibility.datasets(viewer)`` builds over observed_dataset (a layer above this one, so
the caller passes it). A dataset the reader may not see reads exactly as one never harvested.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, exists, or_, select

from adc.quality.evaluate import ColumnMetrics, Metrics
from adc.register.tables import dataset_metrics, observed_dataset


def identities(uri: str) -> list[tuple[str, str]]:
    """The (namespace, name) pairs whose DatasetId.uri is ``uri``: ARN namespaces join their name with
    ':', others with '/', and a namespace alone has an empty name."""
    separator = ":" if uri.startswith("arn:") else "/"
    pairs = [(uri[:i], uri[i + 1:]) for i, c in enumerate(uri) if c == separator and 0 < i < len(uri) - 1]
    return [*pairs, (uri, "")]


def history(engine: Engine, uri: str, *, visible: ColumnElement[bool]) -> list[Metrics] | None:
    """The dataset's snapshots, oldest first; None when no dataset ``visible`` keeps has that URI."""
    od, dm = observed_dataset, dataset_metrics
    same = or_(*(and_(od.c.namespace == namespace, od.c.name == name) for namespace, name in identities(uri)))
    with engine.connect() as conn:
        found = conn.execute(
            select(od.c.namespace, od.c.name).where(same, od.c.valid_to.is_(None), visible).limit(1)).first()
        if found is None:
            return None
        rows = conn.execute(
            select(dm).where(dm.c.namespace == found.namespace, dm.c.name == found.name,
                             # the dataset's current version is visible (checked above, in the same read)
                             exists().where(od.c.namespace == dm.c.namespace, od.c.name == dm.c.name,
                                            od.c.valid_to.is_(None), visible))
            .order_by(dm.c.at, dm.c.run_id)
        ).mappings().all()
    return [snapshot(row) for row in rows]


def snapshot(row: Any) -> Metrics:
    """One dataset_metrics row as Metrics."""
    columns: dict[str, ColumnMetrics] | None = None
    if row["columns"] is not None:
        columns = {name: ColumnMetrics(null_count=int(c["null_count"]), rows=int(c["rows"]))
                   for name, c in row["columns"].items()}
    return Metrics(at=row["at"], run_id=row["run_id"], sampled_files=row["sampled_files"], row_count=row["row_count"],
                   object_count=row["object_count"],
                   size_bytes=row["size_bytes"], column_count=row["column_count"], columns=columns,
                   newest=row["newest"])
