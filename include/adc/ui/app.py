"""The register UI: a FastAPI app of server-rendered pages, downloads and a small JSON API.

``create_app(identify=..., csrf_secret=...)`` takes the authentication as a FastAPI dependency
returning a ``Person`` (Airflow's login in the plugin, a test user in tests) and applies it to
every route, pages, downloads, API and stylesheet alike: nothing here answers without a login, and
nothing but 403 to a login without ``Person.can_read`` (Airflow's permission to read DAGs).
Changing the register (acknowledging a finding) also needs ``Person.can_change`` and, from a
browser session, the page's CSRF token (adc.ui.auth); each change is a history row naming the
person (cause_kind "ui").

Pages are rendered by ADC's sandboxed, autoescaping Jinja2 environment (adc.reports.sandboxed):
values from AWS and people are context, never template source, and the Content-Security-Policy
allows no script at all and nothing from anywhere but this app.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import PackageLoader
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from adc.errors import AdcError
from adc.register import KINDS, SEVERITIES, STATUSES
from adc.register.findings import FindingError, FindingNotFound, acknowledge, to_json
from adc.register.forms import KIND_TITLES
from adc.ui import charts, queries
from adc.ui.auth import CSRF_FIELD, Csrf, Person, require_change

MAX_REASON = 2000
AUDIT_PACK_RETRY_AFTER = 30  # seconds a person asking for a second pack while one builds is told to wait
SECURITY_HEADERS = {
    # no script at all, nothing from anywhere but this app; framed only by Airflow's own pages
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # the register is OFFICIAL-SENSITIVE: no copies in shared caches
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    from adc.reports import sandboxed

    env = sandboxed(PackageLoader("adc.ui", "templates"))
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else ("" if n is None else n)
    env.filters["day"] = lambda d: d.strftime("%Y-%m-%d") if d else ""
    env.filters["yesno"] = lambda b: "yes" if b else "no"
    env.globals.update(kind_titles=KIND_TITLES, severities=SEVERITIES, statuses=STATUSES, kinds=KINDS)
    return env


def _today() -> date:
    return datetime.now(UTC).date()


def create_app(
    *,
    identify: Callable[..., Any],
    csrf_secret: bytes,
    reader: Callable[[], Engine] | None = None,
    writer: Callable[[], Engine] | None = None,
    login_url: str | None = None,
    today: Callable[[], date] = _today,
) -> FastAPI:
    """The register UI.

    ``identify``: a FastAPI dependency returning the logged-in ``Person`` (raising 401 without a login).
    ``reader`` / ``writer``: the register's engines (default: adc.register.db.register_reader / register_engine).
    ``login_url``: where a page without a login sends the person (Airflow's login page).
    """
    from adc.register import db

    # (a default, not an annotation: the annotations of this module are strings, and ``identify`` is local)
    async def authenticate(request: Request, person: Person = Depends(identify)) -> None:  # noqa: B008
        if not person.can_read:
            raise HTTPException(403, f"{person.user_id} may not read the register: that needs Airflow's "
                                     "permission to read DAGs (role viewer or above)")
        request.state.person = person

    app = FastAPI(title="ADC register", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(authenticate)])
    app.state.csrf = Csrf(csrf_secret)
    app.state.reader = reader or db.register_reader
    app.state.writer = writer or db.register_engine
    app.state.today = today
    app.state.login_url = login_url
    app.state.audit_packs = _Builds()

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        response = _error(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. 429's Retry-After
        return response

    @app.exception_handler(AdcError)
    async def adc_error(request: Request, exc: AdcError):
        status = 404 if isinstance(exc, FindingNotFound) else 409 if isinstance(exc, FindingError) else 400
        return _error(request, status, str(exc))

    app.include_router(_pages())
    app.include_router(_downloads())
    app.include_router(_api(), prefix="/api")
    return app


# --------------------------------------------------------------------------- helpers


def person_of(request: Request) -> Person:
    return request.state.person


PersonDep = Annotated[Person, Depends(person_of)]


def url(request: Request, path: str = "/", **params: Any) -> str:
    """A link inside the app, wherever Airflow mounts it (the request's root path)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return request.scope.get("root_path", "").rstrip("/") + path + (f"?{query}" if query else "")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    person = getattr(request.state, "person", None)
    csrf = request.app.state.csrf.token(person) if person and person.can_change else None
    body = environment().get_template(template).render(
        request_path=request.url.path, person=person, csrf=csrf, csrf_field=CSRF_FIELD,
        url=lambda path="/", **params: url(request, path, **params), today=request.app.state.today(), **context)
    return HTMLResponse(body, status_code=status_code)


def _wants_json(request: Request) -> bool:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _error(request: Request, status_code: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    login = request.app.state.login_url if status_code == 401 else None
    return render(request, "error.html", status_code=status_code, status=status_code, message=message,
                  login_url=login)


def _reader(request: Request) -> Engine:
    return request.app.state.reader()


class _Builds:
    """Who has an audit pack building now: one each at a time (a pack reads the whole register), so
    a second request while the first builds answers 429 rather than queue another full read."""

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


def _safe_next(request: Request, value: str | None, fallback: str) -> str:
    """Where to go after a form: a path inside this app only (never another site)."""
    root = request.scope.get("root_path", "").rstrip("/") + "/"
    if value and value.startswith(root) and not value.startswith("//") and "\\" not in value:
        return value
    return fallback


# --------------------------------------------------------------------------- pages


def _pages():
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def dashboard(request: Request):
        today = request.app.state.today()
        with _reader(request).connect() as conn:
            summary = queries.asset_summary(conn)
            findings = queries.finding_summary(conn)
            reviews = queries.review_summary(conn, today)
            coverage = queries.coverage_history(conn)
            latest = queries.latest_reconciliation(conn)
        open_by_kind = sorted(findings["open"].items(),
                              key=lambda item: [-item[1].get(s, 0) for s in SEVERITIES] + [item[0]])
        return render(
            request, "dashboard.html", summary=summary, findings=findings, reviews=reviews, latest=latest,
            coverage=coverage[-1] if coverage else None,
            charts={
                "status": charts.single(list(summary["by_status"].items()),
                                        {"active": "ok", "missing": "bad", "retired": "muted"},
                                        hrefs={s: url(request, "/assets", status=s) for s in summary["by_status"]}),
                "marking": charts.single(list(summary["by_marking"].items()), "bar",
                                         hrefs={m: url(request, "/assets", classification=m)
                                                for m in summary["by_marking"]}),
                "personal": charts.single(list(summary["personal"].items()),
                                          {"special category": "bad", "criminal offence": "bad",
                                           "personal (other)": "warn", "no personal data": "muted"}),
                "findings": charts.bars([(KIND_TITLES.get(k, k), v) for k, v in open_by_kind],
                                        [(s, f"sev-{s}") for s in SEVERITIES],
                                        hrefs={KIND_TITLES.get(k, k): url(request, "/findings", kind=k)
                                               for k, _ in open_by_kind}),
                "reviews": charts.single(
                    [("overdue", len(reviews["overdue"])), ("due", len(reviews["due"])),
                     ("under way", sum(reviews["under_way"].values())),
                     ("completed (12 months)", reviews["completed_total"])],
                    {"overdue": "bad", "due": "warn", "under way": "bar", "completed (12 months)": "ok"}),
                "coverage": charts.coverage(coverage),
            })

    @router.get("/assets", response_class=HTMLResponse)
    def assets_page(request: Request, text: str = "", location: str = "", owner: str = "", classification: str = "",
                    personal: str = "", status: str = "", after: str = ""):
        flt = queries.AssetFilter.of(text=text, location=location, owner=owner, classification=classification,
                                     personal=personal, status=status)
        with _reader(request).connect() as conn:
            page = queries.search_assets(conn, flt, after=after.strip()[:32] or None)
        return render(request, "assets.html", flt=flt, page=page, after=after, personal_choices=queries.PERSONAL,
                      statuses=queries.ASSET_STATUSES)

    @router.get("/assets/{asset_id}", response_class=HTMLResponse)
    def asset_page(request: Request, asset_id: str):
        with _reader(request).connect() as conn:
            page = queries.asset_page(conn, asset_id)
        if page is None:
            raise HTTPException(404, f"no asset {asset_id} in the register")
        return render(request, "asset.html", page=page)

    @router.get("/findings", response_class=HTMLResponse)
    def findings_page(request: Request, status: str | None = None, kind: str = "", severity: str = "",
                      asset: str = "", after: str = "", done: str = ""):
        flt = queries.FindingFilter.of(status=status, kind=kind, severity=severity, asset=asset)
        with _reader(request).connect() as conn:
            page = queries.search_findings(conn, flt, after=after.strip()[:40] or None)
        return render(request, "findings.html", flt=flt, page=page, after=after, done=done[:20])

    @router.get("/findings/{finding_id}", response_class=HTMLResponse)
    def finding_page(request: Request, finding_id: int, done: str = ""):
        from adc.register.findings import get

        with _reader(request).connect() as conn:
            row = get(conn, finding_id)  # FindingNotFound: 404, as every route answers it
            trail = queries.finding_history(conn, finding_id)
        return render(request, "finding.html", finding=row, history=trail, done=done[:20])

    @router.post("/findings/{finding_id}/acknowledge")
    def acknowledge_form(request: Request, person: PersonDep, finding_id: int,
                         reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
                         csrf_token: Annotated[str, Form()] = "",
                         back: Annotated[str, Form(alias="next")] = ""):
        require_change(person, request, request.app.state.csrf, csrf_token)
        _acknowledge(request, person, finding_id, reason)
        back = _safe_next(request, back, url(request, f"/findings/{finding_id}"))
        joiner = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{joiner}done=acknowledged-{finding_id}", status_code=303)

    @router.get("/activities", response_class=HTMLResponse)
    def activities_page(request: Request):
        with _reader(request).connect() as conn:
            rows = queries.activities(conn, request.app.state.today())
        return render(request, "activities.html", activities=rows)

    @router.get("/activities/{activity_id}", response_class=HTMLResponse)
    def activity_page(request: Request, activity_id: str):
        from adc.ropa.tables import ICO_TEMPLATE

        with _reader(request).connect() as conn:
            page = queries.activity_page(conn, activity_id)
        if page is None:
            raise HTTPException(404, f"no processing activity {activity_id}")
        return render(request, "activity.html", page=page, ico=ICO_TEMPLATE)

    @router.get("/evidence/{step_id:path}", response_class=HTMLResponse)
    def evidence_page(request: Request, step_id: str):
        from adc.ropa.packs import sha256

        with _reader(request).connect() as conn:
            step = queries.review_step_pack(conn, step_id)
        if step is None:
            raise HTTPException(404, f"no review question {step_id}")
        return render(request, "evidence.html", step=step, intact=sha256(step["pack"]) == step["pack_sha256"])

    @router.get("/downloads", response_class=HTMLResponse)
    def downloads_page(request: Request):
        return render(request, "downloads.html")

    @router.get("/static/adc.css")
    def stylesheet():
        css = resources.files("adc.ui").joinpath("static/adc.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"Cache-Control": "private, max-age=3600"})

    return router


def _acknowledge(request: Request, person: Person, finding_id: int, reason: str) -> dict[str, Any]:
    """The person accepts an open finding with a reason (history: actor the person, cause_kind "ui")."""
    if not reason.strip():
        raise HTTPException(400, "say why the finding is acknowledged: a reason is required")
    return acknowledge(request.app.state.writer(), finding_id, reason=reason, by=person.user_id, cause_kind="ui")


# --------------------------------------------------------------------------- downloads


def _downloads():
    from fastapi import APIRouter

    router = APIRouter(prefix="/download")

    @router.get("/register.{fmt}")
    def register_file(request: Request, fmt: str):
        from adc.register import assets

        if fmt not in ("csv", "xlsx"):
            raise HTTPException(404, "the register downloads as register.csv or register.xlsx")
        stamp = request.app.state.today().isoformat()
        if fmt == "csv":
            out = io.StringIO()
            assets.export(_reader(request), "csv", out)
            return _attachment(out.getvalue(), f"register-{stamp}.csv", "text/csv; charset=utf-8")
        out = io.BytesIO()
        assets.export(_reader(request), "xlsx", out)
        return _attachment(out.getvalue(), f"register-{stamp}.xlsx", XLSX)

    @router.get("/ropa.{fmt}")
    def ropa_file(request: Request, fmt: str):
        from adc.ropa import activities, exports

        if fmt not in ("csv", "xlsx"):
            raise HTTPException(404, "the RoPA downloads as ropa.xlsx or ropa.csv")
        with _reader(request).connect() as conn:
            records = activities.all_activities(conn)
        stamp = request.app.state.today().isoformat()
        if fmt == "csv":
            return _attachment(exports.to_csv(records), f"ropa-{stamp}.csv", "text/csv; charset=utf-8")
        out = io.BytesIO()
        exports.to_xlsx(records, out)
        return _attachment(out.getvalue(), f"ropa-{stamp}.xlsx", XLSX)

    @router.get("/reconciliation.{fmt}")
    def reconciliation_report(request: Request, fmt: str):
        from adc.reports import reconciliation

        if fmt not in ("html", "csv"):
            raise HTTPException(404, "the reconciliation report downloads as reconciliation.html or .csv")
        stamp = request.app.state.today().isoformat()
        if fmt == "csv":
            return _attachment(reconciliation.csv(_reader(request)), f"reconciliation-{stamp}.csv",
                               "text/csv; charset=utf-8")
        return _attachment(reconciliation.html(_reader(request)), f"reconciliation-{stamp}.html",
                           "text/html; charset=utf-8")

    @router.get("/audit-pack.zip")
    def audit_pack(request: Request, person: PersonDep, as_of: str = ""):
        from adc.ui import audit

        at = audit.cutoff(as_of or None)  # 400 for a bad date, a line break too (as_of names the file)
        as_of = as_of.strip()
        with request.app.state.audit_packs.one_for(person.user_id):
            spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - closed by the stream
            audit.build(_reader(request), spool, at=at, generated_by=person.user_id, requested=as_of or None)
        spool.seek(0)

        def chunks() -> Iterator[bytes]:
            with spool:
                while chunk := spool.read(1024 * 1024):
                    yield chunk

        name = f"adc-audit-pack-{(as_of or at.date().isoformat())[:10]}.zip"
        return StreamingResponse(chunks(), media_type="application/zip",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return router


# --------------------------------------------------------------------------- the JSON API


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


def _api():
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/me")
    def me(person: PersonDep):
        return {"user_id": person.user_id, "name": person.name, "can_change": person.can_change}

    @router.get("/dashboard")
    def dashboard(request: Request):
        with _reader(request).connect() as conn:
            return _plain({
                "assets": queries.asset_summary(conn),
                "findings": queries.finding_summary(conn),
                "reviews": queries.review_summary(conn, request.app.state.today()),
                "coverage": [p.__dict__ | {"share": p.share} for p in queries.coverage_history(conn)],
            })

    @router.get("/assets")
    def assets(request: Request, text: str = "", location: str = "", owner: str = "", classification: str = "",
               personal: str = "", status: str = "", after: str = "",
               limit: Annotated[int, Query(ge=1, le=500)] = queries.PAGE_SIZE):
        flt = queries.AssetFilter.of(text=text, location=location, owner=owner, classification=classification,
                                     personal=personal, status=status)
        with _reader(request).connect() as conn:
            page = queries.search_assets(conn, flt, after=after.strip()[:32] or None, limit=limit)
        return _plain({"assets": page.rows, "next_after": page.next_after, "total": page.total})

    @router.get("/assets/{asset_id}")
    def asset(request: Request, asset_id: str):
        with _reader(request).connect() as conn:
            page = queries.asset_page(conn, asset_id)
        if page is None:
            raise HTTPException(404, f"no asset {asset_id} in the register")
        return _plain(page.__dict__)

    @router.get("/findings")
    def findings(request: Request, status: str | None = None, kind: str = "", severity: str = "", asset: str = "",
                 after: str = "", limit: Annotated[int, Query(ge=1, le=500)] = queries.PAGE_SIZE):
        flt = queries.FindingFilter.of(status=status, kind=kind, severity=severity, asset=asset)
        with _reader(request).connect() as conn:
            page = queries.search_findings(conn, flt, after=after.strip()[:40] or None, limit=limit)
        return {"findings": [to_json({k: v for k, v in r.items() if k != "rank"}) for r in page.rows],
                "next_after": page.next_after, "total": page.total}

    @router.post("/findings/{finding_id}/acknowledge")
    def acknowledge_json(request: Request, person: PersonDep, finding_id: int,
                         reason: Annotated[str, Body(embed=True, max_length=MAX_REASON)]):
        require_change(person, request, request.app.state.csrf, None)
        return to_json(_acknowledge(request, person, finding_id, reason))

    return router
