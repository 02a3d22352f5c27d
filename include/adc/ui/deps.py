"""What every router of the register UI shares: who is asking and what they may see, the register's
engines, the pages' templates and links inside the app.

The routers (adc.ui.routes) and the app factory (adc.ui.app) import this module; it imports
neither, so a new router needs only this and adc.ui.auth. The login itself is applied once, by
``create_app``, to every route: by the time a route runs, ``request.state.person`` is a person
allowed to read the register.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import PackageLoader
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Engine

from adc.errors import ConfigError
from adc.organisations import load_organisations
from adc.register import KINDS, SEVERITIES, STATUSES, findings
from adc.register.forms import KIND_TITLES
from adc.reports import sandboxed
from adc.ui.auth import CSRF_FIELD, Person
from adc.ui.visible import Visible

MAX_REASON = 2000  # characters of the reason a person gives for acknowledging a finding


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = sandboxed(PackageLoader("adc.ui", "templates"))
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else ("" if n is None else n)
    env.filters["day"] = lambda d: d.strftime("%Y-%m-%d") if d else ""
    env.filters["yesno"] = lambda b: "yes" if b else "no"
    env.globals.update(kind_titles=KIND_TITLES, severities=SEVERITIES, statuses=STATUSES, kinds=KINDS)
    return env


def person_of(request: Request) -> Person:
    return request.state.person


PersonDep = Annotated[Person, Depends(person_of)]


def visible_to(request: Request) -> Visible:
    """What the person may see (docs/organisations.md). organisations.yaml is read for each request
    that reads the register (it is small), so a change to it applies from the next page on; a file
    that is wrong answers 503 with its one-line error, and shows nothing."""
    person = person_of(request)
    try:
        return Visible.of(load_organisations().viewer(person.user_id, person.groups), person.user_id)
    except ConfigError as exc:
        raise HTTPException(503, f"the register cannot tell what you may see until this is corrected: {exc}"
                            ) from None


VisibleDep = Annotated[Visible, Depends(visible_to)]


def reader(request: Request) -> Engine:
    """The register's read-only engine."""
    return request.app.state.reader()


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


def acknowledge_finding(request: Request, person: Person, visible: Visible, finding_id: int,
                        reason: str) -> dict[str, Any]:
    """The person accepts an open finding they may see with a reason (history: actor the person,
    cause_kind "ui"), from the page's form or the JSON API alike; the caller has checked ``require_change``.
    A finding they may not see answers 404, as one that does not exist."""
    if not reason.strip():
        raise HTTPException(400, "say why the finding is acknowledged: a reason is required")
    with reader(request).connect() as conn:
        findings.get(conn, finding_id, visible=visible.findings)
    return findings.acknowledge(request.app.state.writer(), finding_id, reason=reason, by=person.user_id,
                                cause_kind="ui")
