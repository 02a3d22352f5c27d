"""The register UI through the real plugin in real Airflow: Airflow's login in front of every route,
roles on actions, the CSRF guard on the session, and the planted inconsistencies on the findings page."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select

from adc.demo.verify import DEMO_FINDINGS
from adc.register import history
from adc.register.tables import finding

pytestmark = pytest.mark.airflow

ROUTES = ["/adc/", "/adc/assets", "/adc/assets/IA-0031", "/adc/findings", "/adc/findings/1", "/adc/activities",
          "/adc/activities/PA-004", "/adc/evidence/PA-004/x/owner/1", "/adc/downloads", "/adc/static/adc.css",
          "/adc/download/register.csv", "/adc/download/register.xlsx", "/adc/download/ropa.xlsx",
          "/adc/download/ropa.csv", "/adc/download/reconciliation.html", "/adc/download/reconciliation.csv",
          "/adc/download/audit-pack.zip", "/adc/api/me", "/adc/api/dashboard", "/adc/api/assets",
          "/adc/api/assets/IA-0031", "/adc/api/findings"]


def _client(airflow, user: str | None = None, *, cookie: bool = False) -> httpx.Client:
    """As ``user`` with a Bearer token, or with the UI's session cookie (the same JWT), or anonymous."""
    client = httpx.Client(base_url=airflow.api_url, timeout=60)
    if user and cookie:
        client.cookies.set("_token", airflow.token(user))
    elif user:
        client.headers["Authorization"] = f"Bearer {airflow.token(user)}"
    return client


def _finding(airflow, kind: str, subject: str) -> int:
    with airflow.engine.connect() as conn:
        return conn.execute(select(finding.c.finding_id).where(
            finding.c.kind == kind, finding.c.subject == subject, finding.c.status == "open")).scalar_one()


def test_without_a_login_every_route_is_401(airflow):
    anonymous = _client(airflow)
    for path in ROUTES:
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.post("/adc/findings/1/acknowledge", data={"reason": "x"}).status_code == 401
    assert anonymous.post("/adc/api/findings/1/acknowledge", json={"reason": "x"}).status_code == 401
    forged = httpx.get(f"{airflow.api_url}/adc/api/me", headers={"Authorization": "Bearer not-a-token"},
                       timeout=60)
    assert forged.status_code in (401, 403)


def test_the_plugin_adds_the_register_under_browse(airflow):
    plugins = airflow.get("/plugins", "victor")["plugins"]
    [ours] = [p for p in plugins if p["name"] == "adc_register_ui"]
    assert {"name": "ADC Register", "href": "/adc/", "destination": "nav", "category": "browse",
            "url_route": "adc-register"}.items() <= ours["external_views"][0].items()
    assert ours["fastapi_apps"][0]["url_prefix"] == "/adc"


@pytest.mark.reliability("security")
def test_roles_a_viewer_reads_a_user_acknowledges(airflow, reconciled):
    victor, alice = _client(airflow, "victor"), _client(airflow, "alice")
    assert victor.get("/adc/api/me").json() == {"user_id": "victor", "name": "victor", "can_change": False}
    assert alice.get("/adc/api/me").json()["can_change"] is True
    assert _client(airflow, "dana").get("/adc/api/me").json()["can_change"] is True  # op is above user
    finding_id = _finding(airflow, "owner_mismatch", "IA-0006")
    path = f"/adc/api/findings/{finding_id}/acknowledge"
    refused = victor.post(path, json={"reason": "auditors cannot"})
    assert refused.status_code == 403 and "needs Airflow's role user" in refused.json()["detail"]
    accepted = alice.post(path, json={"reason": "HR confirm frank owns payroll; the tag is legacy"})
    assert accepted.status_code == 200 and accepted.json()["acknowledged_by"] == "alice"
    with airflow.engine.connect() as conn:
        last = history.of(conn, "finding", str(finding_id))[-1]
    assert (last["actor"], last["cause_kind"], last["action"]) == ("alice", "ui", "acknowledged")


def test_the_session_cookie_needs_the_pages_csrf_token(airflow, reconciled):
    alice = _client(airflow, "alice", cookie=True)
    finding_id = _finding(airflow, "retention_mismatch", "IA-0011")
    path = f"/adc/findings/{finding_id}/acknowledge"
    assert alice.post(path, data={"reason": "no token"}).status_code == 403
    page = alice.get("/adc/findings", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert alice.post(path, data={"reason": "from another site", "csrf_token": token},
                      headers={"Origin": "http://evil.example"}).status_code == 403
    done = alice.post(path, data={"reason": "TTL switch-on is scheduled", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith(f"done=acknowledged-{finding_id}")


def test_the_planted_inconsistencies_are_on_the_findings_page(airflow, reconciled):
    page = _client(airflow, "victor").get("/adc/findings", params={"status": "live"},
                                          headers={"Accept": "text/html"}).text
    for kind, subject in DEMO_FINDINGS:
        assert html.escape(subject, quote=False) in page, (kind, subject)
    assert "<script" not in page
