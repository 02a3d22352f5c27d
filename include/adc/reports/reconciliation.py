"""The reconciliation report: where the register and the estate disagree, as HTML and CSV.

It shows the latest reconciliation: what it found (live findings, most severe first), what it
resolved, the assets now missing, and the withheld absences waiting for a person.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, select

from adc.register import KINDS, LIVE, SEVERITIES, findings
from adc.register.store import EVERYTHING, now
from adc.register.tables import asset, finding, reconciliation_run
from adc.reports import render
from adc.tabular import csv_text

CSV_COLUMNS = ("finding_id", "kind", "severity", "status", "asset_id", "subject", "source", "summary",
               "first_seen_run", "first_seen_at", "last_seen_run", "last_seen_at", "acknowledged_by", "reason",
               "resolved_by", "evidence")

# most severe first, as findings.list_findings orders the live ones
_SEVERITY = case({s: i for i, s in enumerate(SEVERITIES)}, value=finding.c.severity,
                 else_=len(SEVERITIES))


def gather(engine: Engine, *, visible_findings: ColumnElement[bool] = EVERYTHING,
           visible_assets: ColumnElement[bool] = EVERYTHING) -> dict[str, Any]:
    """What the report shows, read in one transaction: the findings and assets the ``visible_*``
    conditions keep (adc.visibility's, for a person's view; by default every one)."""
    with engine.connect() as conn:
        run = conn.execute(select(reconciliation_run).order_by(reconciliation_run.c.finished_at.desc()).limit(1)
                           ).mappings().first()
        live = findings.list_findings(conn, status=list(LIVE), visible=visible_findings)
        # what the latest run resolved, chosen by the database: every run's resolved findings pile up
        resolved = [dict(r) for r in conn.execute(
            select(finding).where(finding.c.status == "resolved", finding.c.resolved_by == run["run_id"],
                                  visible_findings)
            .order_by(_SEVERITY, finding.c.kind, finding.c.first_seen_at, finding.c.finding_id)).mappings()
        ] if run is not None else []
        missing = [dict(r) for r in conn.execute(select(asset).where(asset.c.status == "missing", visible_assets)
                                                 .order_by(asset.c.asset_id)).mappings()]
    return {
        "run": dict(run) if run else None,
        "generated_at": now(),
        "findings": live,
        "resolved": resolved,
        "missing": missing,
        "counts": _counts(live),
        "kinds": KINDS,
        "severities": SEVERITIES,
    }


def _counts(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        table.setdefault(row["kind"], {}).setdefault(row["severity"], 0)
        table[row["kind"]][row["severity"]] += 1
    return table


def html(engine: Engine, **visible: ColumnElement[bool]) -> str:
    """The report as a page (``visible``: gather's conditions)."""
    return render("reconciliation.html", **gather(engine, **visible))


def csv(engine: Engine, **visible: ColumnElement[bool]) -> str:
    """Live findings, then those the latest run resolved: one row each, evidence as JSON (``visible``:
    gather's conditions)."""
    data = gather(engine, **visible)
    rows = [[f.get(c) if c != "evidence" else json.dumps(f["evidence"], sort_keys=True) for c in CSV_COLUMNS]
            for f in data["findings"] + data["resolved"]]
    return csv_text(CSV_COLUMNS, rows)
