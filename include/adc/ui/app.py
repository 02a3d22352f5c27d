"""The register UI: a FastAPI app of server-rendered pages, downloads and a small JSON API.

``create_app(identify=..., csrf_secret=...)`` takes the authentication as a FastAPI dependency
returning a ``Person`` (Airflow's login in the plugin, a test user in tests) and applies it to
every route, pages, downloads, API and stylesheet alike: nothing here answers without a login, and
nothing but 403 to a login without ``Person.can_read`` (Airflow's permission to read DAGs).
Changing the register (acknowledging a finding) also needs ``Person.can_change`` and, from a
browser session, the page's CSRF token (adc.ui.auth); each change is a history row naming the
person (cause_kind "ui"). What the person may see is organisations.yaml's rule: every route that
reads the register depends on ``deps.VisibleDep`` (adc.ui.visible) and reads through it, so a hidden
item is left out of every list and count and answers 404 like one that does not exist.

Pages are rendered by ADC's sandboxed, autoescaping Jinja2 environment (adc.reports.sandboxed):
values from AWS and people are context, never template source, and the Content-Security-Policy
allows no script at all and nothing from anywhere but this app.

This module is the app's frame: the factory, the login every route depends on, the error pages
and the security headers. The routes are routers, one per area, in adc.ui.routes; what they share
(the person, the engines, the templates) is adc.ui.deps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from adc.errors import AdcError
from adc.register import db
from adc.register.findings import FindingError, FindingNotFound
from adc.ui.auth import Csrf, Person
from adc.ui.deps import render
from adc.ui.routes import activities, api, assets, dashboard, downloads, findings

SECURITY_HEADERS = {
    # no script at all, nothing from anywhere but this app; framed only by Airflow's own pages
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # the register is OFFICIAL-SENSITIVE: no copies in shared caches
}


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
    app.state.audit_packs = downloads.Builds()

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

    for area in (dashboard, assets, findings, activities, downloads):
        app.include_router(area.router)
    app.include_router(api.router, prefix="/api")
    return app


# --------------------------------------------------------------------------- errors


def _wants_json(request: Request) -> bool:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _error(request: Request, status_code: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    login = request.app.state.login_url if status_code == 401 else None
    return render(request, "error.html", status_code=status_code, status=status_code, message=message,
                  login_url=login)
