"""Findings: what reconciliation found wrong between the register and the estate, and what people did.

Lifecycle (reconciliation keeps it; see reconcile/merge.py):

    open ──(cause goes)──> resolved                      resolved_by = the reconciliation run
    open ──(a person, with a reason)──> acknowledged ──(cause goes)──> resolved
    open ──(triage: dismiss, with a reason)──> dismissed ──(cause goes)──> resolved

An acknowledged or dismissed finding stays so while its cause persists; it is never recreated as
open. Every transition is a history row (entity_kind "finding") naming who or what made it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, case, func, select, update

from adc.errors import AdcError
from adc.register import SEVERITIES, history
from adc.register.db import exclusive
from adc.register.store import EVERYTHING, now
from adc.register.tables import finding


class FindingError(AdcError):
    """A transition a finding cannot make (or a finding that does not exist: FindingNotFound)."""


class FindingNotFound(FindingError):
    """No finding has this id."""


def _severity_rank():
    return case({s: i for i, s in enumerate(SEVERITIES)}, value=finding.c.severity, else_=len(SEVERITIES))


def list_findings(
    conn: Connection,
    *,
    status: str | list[str] | None = None,
    kind: str | None = None,
    severity: str | None = None,
    asset_id: str | None = None,
    visible: ColumnElement[bool] = EVERYTHING,
) -> list[dict[str, Any]]:
    """Findings ``visible`` keeps (adc.visibility.findings for a person's view; by default every one),
    most severe first, then by kind and age."""
    query = select(finding).where(visible)
    if status:
        query = query.where(finding.c.status.in_([status] if isinstance(status, str) else status))
    if kind:
        query = query.where(finding.c.kind == kind)
    if severity:
        query = query.where(finding.c.severity == severity)
    if asset_id:
        query = query.where(finding.c.asset_id == asset_id)
    query = query.order_by(_severity_rank(), finding.c.kind, finding.c.first_seen_at, finding.c.finding_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def get(conn: Connection, finding_id: int, *, visible: ColumnElement[bool] = EVERYTHING) -> dict[str, Any]:
    """One finding; FindingNotFound when there is none, or when ``visible`` (adc.visibility.findings for
    a person's view) hides it: a hidden finding answers exactly as a missing one."""
    row = conn.execute(select(finding).where(finding.c.finding_id == finding_id, visible)).mappings().first()
    if row is None:
        raise FindingNotFound(f"no finding {finding_id}")
    return dict(row)


def counts(conn: Connection, statuses: tuple[str, ...] = ("open", "acknowledged"), *,
           visible: ColumnElement[bool] = EVERYTHING) -> dict[str, dict[str, int]]:
    """{kind: {severity: n}} over findings in ``statuses`` that ``visible`` keeps (by default every one)."""
    query = (
        select(finding.c.kind, finding.c.severity, func.count())
        .where(finding.c.status.in_(statuses), visible)
        .group_by(finding.c.kind, finding.c.severity)
        .order_by(finding.c.kind, finding.c.severity)
    )
    result: dict[str, dict[str, int]] = {}
    for kind, severity, n in conn.execute(query):
        result.setdefault(kind, {})[severity] = n
    return result


def _require(text: str | None, what: str) -> str:
    if not text or not text.strip():
        raise FindingError(f"{what} is required")
    return text.strip()


def set_status(
    conn: Connection,
    finding_id: int,
    status: str,
    *,
    by: str,
    reason: str,
    cause_kind: str,
    cause: str | None = None,
    allowed_from: tuple[str, ...] = ("open",),
) -> dict[str, Any]:
    """A person moves a live finding to acknowledged, dismissed or resolved (inside the caller's transaction)."""
    by, reason = _require(by, "the person (--by)"), _require(reason, "a reason")
    current = get(conn, finding_id)
    if current["status"] not in allowed_from:
        raise FindingError(f"finding {finding_id} is {current['status']}: only a finding that is "
                           f"{' or '.join(allowed_from)} can become {status}")
    at = now()
    values: dict[str, Any] = {"status": status, "reason": reason}
    if status in ("acknowledged", "dismissed"):
        values.update(acknowledged_by=by, acknowledged_at=at)
    if status == "resolved":
        values.update(resolved_by=by, resolved_at=at)
    conn.execute(update(finding).where(finding.c.finding_id == finding_id).values(**values))
    history.record(conn, entity_kind="finding", entity_id=str(finding_id), action=status, actor=by,
                   cause_kind=cause_kind, cause=cause, at=at,
                   changes={"status": [current["status"], status], "reason": [current["reason"], reason]})
    return {**current, **values}


def acknowledge(engine: Engine, finding_id: int, *, reason: str, by: str, cause_kind: str = "cli") -> dict[str, Any]:
    """A person accepts an open finding with a reason: it stays acknowledged while its cause persists."""
    with engine.begin() as conn:
        exclusive(conn, "register")
        return set_status(conn, finding_id, "acknowledged", by=by, reason=reason, cause_kind=cause_kind)


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    """A finding as plain JSON values (timestamps ISO 8601)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
