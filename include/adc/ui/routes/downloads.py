"""The downloads page and the files it offers: the register, the RoPA, the reconciliation report and
the audit pack (a read of the whole register: one at a time for each person, see ``Builds``). Each
holds only what the person may see (adc.ui.visible)."""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from adc.register import assets
from adc.reports import reconciliation
from adc.ropa import activities, exports
from adc.ui import audit
from adc.ui.deps import PersonDep, VisibleDep, reader, render

AUDIT_PACK_RETRY_AFTER = 30  # seconds a person asking for a second pack while one builds is told to wait
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter()


class Builds:
    """Who has an audit pack building now: one each at a time (a pack reads the whole register), so
    a second request while the first builds answers 429 rather than queue another full read.
    One per app (``app.state.audit_packs``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._building: set[str] = set()

    @contextmanager
    def one_for(self, user_id: str) -> Iterator[None]:
        with self._lock:
            if user_id in self._building:
                raise HTTPException(429, "an audit pack you asked for is still being built: wait for it, then try "
                                         "again", headers={"Retry-After": str(AUDIT_PACK_RETRY_AFTER)})
            self._building.add(user_id)
        try:
            yield
        finally:
            with self._lock:
                self._building.discard(user_id)


def _attachment(content: bytes | str, filename: str, media_type: str) -> Response:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/downloads", response_class=HTMLResponse)
def downloads_page(request: Request):
    return render(request, "downloads.html")


@router.get("/download/register.{fmt}")
def register_file(request: Request, visible: VisibleDep, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "the register downloads as register.csv or register.xlsx")
    stamp = request.app.state.today().isoformat()
    if fmt == "csv":
        text = io.StringIO()
        assets.export(reader(request), "csv", text, visible=visible.assets)
        return _attachment(text.getvalue(), f"register-{stamp}.csv", "text/csv; charset=utf-8")
    book = io.BytesIO()
    assets.export(reader(request), "xlsx", book, visible=visible.assets)
    return _attachment(book.getvalue(), f"register-{stamp}.xlsx", XLSX)


@router.get("/download/ropa.{fmt}")
def ropa_file(request: Request, visible: VisibleDep, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "the RoPA downloads as ropa.xlsx or ropa.csv")
    with reader(request).connect() as conn:
        records = activities.all_activities(conn, visible=visible.activities)
    stamp = request.app.state.today().isoformat()
    if fmt == "csv":
        return _attachment(exports.to_csv(records), f"ropa-{stamp}.csv", "text/csv; charset=utf-8")
    out = io.BytesIO()
    exports.to_xlsx(records, out)
    return _attachment(out.getvalue(), f"ropa-{stamp}.xlsx", XLSX)


@router.get("/download/reconciliation.{fmt}")
def reconciliation_report(request: Request, visible: VisibleDep, fmt: str):
    if fmt not in ("html", "csv"):
        raise HTTPException(404, "the reconciliation report downloads as reconciliation.html or .csv")
    stamp = request.app.state.today().isoformat()
    report = reconciliation.csv if fmt == "csv" else reconciliation.html
    text = report(reader(request), visible_findings=visible.findings, visible_assets=visible.assets)
    media_type = "text/csv; charset=utf-8" if fmt == "csv" else "text/html; charset=utf-8"
    return _attachment(text, f"reconciliation-{stamp}.{fmt}", media_type)


@router.get("/download/audit-pack.zip")
def audit_pack(request: Request, person: PersonDep, visible: VisibleDep, as_of: str = ""):
    at = audit.cutoff(as_of or None)  # 400 for a bad date, a line break too (as_of names the file)
    as_of = as_of.strip()
    with request.app.state.audit_packs.one_for(person.user_id):
        spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - closed by the stream
        audit.build(reader(request), spool, at=at, generated_by=person.user_id, visible=visible,
                    requested=as_of or None)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1024 * 1024):
                yield chunk

    name = f"adc-audit-pack-{(as_of or at.date().isoformat())[:10]}.zip"
    return StreamingResponse(chunks(), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
