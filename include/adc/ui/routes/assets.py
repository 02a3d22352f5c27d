"""The asset search and an asset's page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from adc.ui import queries
from adc.ui.deps import VisibleDep, reader, render

router = APIRouter()


@router.get("/assets", response_class=HTMLResponse)
def assets_page(request: Request, visible: VisibleDep, text: str = "", location: str = "", owner: str = "",
                classification: str = "", personal: str = "", status: str = "", after: str = ""):
    flt = queries.AssetFilter.of(text=text, location=location, owner=owner, classification=classification,
                                 personal=personal, status=status)
    with reader(request).connect() as conn:
        page = queries.search_assets(conn, visible, flt, after=after.strip()[:32] or None)
    return render(request, "assets.html", flt=flt, page=page, after=after, personal_choices=queries.PERSONAL,
                  statuses=queries.ASSET_STATUSES)


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, visible: VisibleDep, asset_id: str):
    with reader(request).connect() as conn:
        page = queries.asset_page(conn, visible, asset_id)
    if page is None:
        raise HTTPException(404, f"no asset {asset_id} in the register")
    return render(request, "asset.html", page=page)
