"""Lineage for past intervals: the estate as it was, rebuilt from the register's history.

The adc_lineage DAG runs once per daily data interval [start, end); ``adc lineage backfill --from
D1 --to D2`` runs the same intervals from the shell, one per day from D1 to D2 inclusive, as
``airflow backfill create --from-date D1 --to-date D2`` does. Each interval sends every dataset
version valid at some time in it (a dataset dropped in it as DROP), with its asset as it was at
the interval's end, marked ``reconstructed``. Event times are historical and ids deterministic,
so re-running an interval, or the next day's run repeating an unchanged dataset, sends identical
events that a consumer deduplicates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from openlineage.client import OpenLineageClient
from sqlalchemy import Engine

from adc.errors import AdcError
from adc.lineage.emit import Sent, lineage_client, routes, send
from adc.lineage.estate import Assets
from adc.lineage.events import Recent, interval_events


def daily_intervals(first: date, last: date) -> list[tuple[datetime, datetime]]:
    """[day 00:00 UTC, next day 00:00 UTC) for every day from ``first`` to ``last`` inclusive."""
    if last < first:
        raise AdcError(f"--to {last} is before --from {first}")
    starts = [datetime.combine(first + timedelta(days=i), time(), UTC) for i in range((last - first).days + 1)]
    return [(start, start + timedelta(days=1)) for start in starts]


def emit_interval(engine: Engine, start: datetime, end: datetime, client: OpenLineageClient | None = None,
                  assets: Assets | None = None, recent: Recent | None = None) -> Sent:
    """Send the estate as it was in [start, end) (``recent``: the previous interval's events, to reuse)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise AdcError(f"interval {start} - {end} has no time zone: lineage times are UTC")
    start, end = (datetime.fromtimestamp(t.timestamp(), UTC) for t in (start, end))  # plain UTC (not pendulum)
    with lineage_client(client) as client, engine.connect() as conn, routes(conn, client) as routed:
        return send(interval_events(conn, start, end, assets or Assets.load(conn), recent), client, routed)


def backfill(engine: Engine, first: date, last: date, client: OpenLineageClient | None = None) -> dict:
    """Send every daily interval from ``first`` to ``last``, oldest first; a summary per interval."""
    intervals = daily_intervals(first, last)
    with engine.connect() as conn:
        assets = Assets.load(conn)
    recent = Recent()
    with lineage_client(client) as client:
        total = Sent(transport=client.transport.kind)
        days = []
        for start, end in intervals:
            sent = emit_interval(engine, start, end, client, assets, recent)
            total.merge(sent)
            days.append({"interval_start": start.isoformat(), "events": sent.events})
    return {**total.to_dict(), "intervals": days}
