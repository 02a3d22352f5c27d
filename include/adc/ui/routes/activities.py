"""The RoPA's pages: the processing activities, an activity's page, and the evidence a review
question was asked with (checked against the hash recorded when it was asked)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from adc.ropa.packs import sha256
from adc.ropa.tables import ICO_TEMPLATE
from adc.ui import queries
from adc.ui.deps import VisibleDep, reader, render

router = APIRouter()


@router.get("/activities", response_class=HTMLResponse)
def activities_page(request: Request, visible: VisibleDep):
    with reader(request).connect() as conn:
        rows = queries.activities(conn, visible, request.app.state.today())
    return render(request, "activities.html", activities=rows)


@router.get("/activities/{activity_id}", response_class=HTMLResponse)
def activity_page(request: Request, visible: VisibleDep, activity_id: str):
    with reader(request).connect() as conn:
        page = queries.activity_page(conn, visible, activity_id)
    if page is None:
        raise HTTPException(404, f"no processing activity {activity_id}")
    return render(request, "activity.html", page=page, ico=ICO_TEMPLATE)


@router.get("/evidence/{step_id:path}", response_class=HTMLResponse)
def evidence_page(request: Request, visible: VisibleDep, step_id: str):
    with reader(request).connect() as conn:
        step = queries.review_step_pack(conn, visible, step_id)
    if step is None:
        raise HTTPException(404, f"no review question {step_id}")
    return render(request, "evidence.html", step=step, intact=sha256(step["pack"]) == step["pack_sha256"])
