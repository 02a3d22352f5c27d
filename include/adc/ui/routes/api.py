"""The JSON API (mounted under /api): who am I, the dashboard's numbers, asset and finding searches
with a ``limit``, an asset, and acknowledging a finding (a change: ``require_change``, the CSRF
token from a header when a browser session sends it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request

from adc.register.findings import to_json
from adc.ui import queries
from adc.ui.auth import require_change
from adc.ui.deps import MAX_REASON, PersonDep, VisibleDep, acknowledge_finding, reader

router = APIRouter()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "uri") and hasattr(value, "namespace"):
        return value.uri
    return value


@router.get("/me")
def me(person: PersonDep):
    return {"user_id": person.user_id, "name": person.name, "can_change": person.can_change}


@router.get("/dashboard")
def dashboard(request: Request, visible: VisibleDep):
    with reader(request).connect() as conn:
        return _plain({
            "assets": queries.asset_summary(conn, visible),
            "findings": queries.finding_summary(conn, visible),
            "reviews": queries.review_summary(conn, visible, request.app.state.today()),
            "coverage": [p.__dict__ | {"share": p.share} for p in queries.coverage_history(conn, visible)],
            "shared_counts": queries.shared_counts(conn, visible),
        })


@router.get("/assets")
def assets(request: Request, visible: VisibleDep, text: str = "", location: str = "", owner: str = "",
           classification: str = "", personal: str = "", status: str = "", after: str = "",
           limit: Annotated[int, Query(ge=1, le=500)] = queries.PAGE_SIZE):
    flt = queries.AssetFilter.of(text=text, location=location, owner=owner, classification=classification,
                                 personal=personal, status=status)
    with reader(request).connect() as conn:
        page = queries.search_assets(conn, visible, flt, after=after.strip()[:32] or None, limit=limit)
    return _plain({"assets": page.rows, "next_after": page.next_after, "total": page.total})


@router.get("/assets/{asset_id}")
def asset(request: Request, visible: VisibleDep, asset_id: str):
    with reader(request).connect() as conn:
        page = queries.asset_page(conn, visible, asset_id)
    if page is None:
        raise HTTPException(404, f"no asset {asset_id} in the register")
    return _plain(page.__dict__)


@router.get("/findings")
def findings(request: Request, visible: VisibleDep, status: str | None = None, kind: str = "", severity: str = "",
             asset: str = "", after: str = "", limit: Annotated[int, Query(ge=1, le=500)] = queries.PAGE_SIZE):
    flt = queries.FindingFilter.of(status=status, kind=kind, severity=severity, asset=asset)
    with reader(request).connect() as conn:
        page = queries.search_findings(conn, visible, flt, after=after.strip()[:40] or None, limit=limit)
    return {"findings": [to_json({k: v for k, v in r.items() if k != "rank"}) for r in page.rows],
            "next_after": page.next_after, "total": page.total}


@router.post("/findings/{finding_id}/acknowledge")
def acknowledge_json(request: Request, person: PersonDep, visible: VisibleDep, finding_id: int,
                     reason: Annotated[str, Body(embed=True, max_length=MAX_REASON)]):
    require_change(person, request, request.app.state.csrf, None)
    return to_json(acknowledge_finding(request, person, visible, finding_id, reason))
