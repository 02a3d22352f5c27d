"""The findings list, a finding's page and its history, and acknowledging a finding from its form
(a change: ``require_change`` with the page's CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from adc.ui import queries
from adc.ui.auth import require_change
from adc.ui.deps import MAX_REASON, PersonDep, VisibleDep, acknowledge_finding, reader, render, url

router = APIRouter()


@router.get("/findings", response_class=HTMLResponse)
def findings_page(request: Request, visible: VisibleDep, status: str | None = None, kind: str = "",
                  severity: str = "", asset: str = "", after: str = "", done: str = ""):
    flt = queries.FindingFilter.of(status=status, kind=kind, severity=severity, asset=asset)
    with reader(request).connect() as conn:
        page = queries.search_findings(conn, visible, flt, after=after.strip()[:40] or None)
    return render(request, "findings.html", flt=flt, page=page, after=after, done=done[:20])


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(request: Request, visible: VisibleDep, finding_id: int, done: str = ""):
    with reader(request).connect() as conn:
        row, trail = queries.finding_page(conn, visible, finding_id)  # FindingNotFound: 404, as every route answers it
    return render(request, "finding.html", finding=row, history=trail, done=done[:20])


@router.post("/findings/{finding_id}/acknowledge")
def acknowledge_form(request: Request, person: PersonDep, visible: VisibleDep, finding_id: int,
                     reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
                     csrf_token: Annotated[str, Form()] = "",
                     back: Annotated[str, Form(alias="next")] = ""):
    require_change(person, request, request.app.state.csrf, csrf_token)
    acknowledge_finding(request, person, visible, finding_id, reason)
    back = _safe_next(request, back, url(request, f"/findings/{finding_id}"))
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}done=acknowledged-{finding_id}", status_code=303)


def _safe_next(request: Request, value: str | None, fallback: str) -> str:
    """Where to go after a form: a path inside this app only (never another site)."""
    root = request.scope.get("root_path", "").rstrip("/") + "/"
    if value and value.startswith(root) and not value.startswith("//") and "\\" not in value:
        return value
    return fallback
