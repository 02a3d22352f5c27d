"""A reviewer uses the register in Airflow's UI (headless Chromium): logs in, opens it from the menu,
searches, opens an asset, acknowledges a finding, downloads the RoPA; no console errors, and hostile
text from AWS and people shows as text (no script runs, no template is evaluated).

Screenshots go to test-results/; with ADC_UPDATE_SCREENSHOTS=1 the main pages are also saved in
docs/screenshots/ (the README's pictures).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from adc.demo.client import password_for
from adc.register import assets
from adc.register.tables import finding
from adc.ropa.tables import ICO_HEADINGS

pytestmark = [pytest.mark.airflow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "test-results"
HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"


class Session:
    """One logged-in browser page, failing the test on any dialog (a script that ran) and keeping every
    console error and uncaught exception of the page and its frames."""

    def __init__(self, browser, base_url: str, user: str) -> None:
        self.base_url = base_url
        self.page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        self.errors: list[str] = []
        self.page.on("dialog", lambda dialog: pytest.fail(f"a script ran in the page: {dialog.message}"))
        self.page.goto(f"{base_url}/")
        self.page.get_by_label("Username").fill(user)
        self.page.get_by_label("Password").fill(password_for(user))
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
        # from here on, nothing may go wrong in the console (Airflow's login page has its own 401 probes)
        self.page.on("console", lambda m: self.errors.append(f"{m.text} ({m.location.get('url')})")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def shot(self, name: str, *, full_page: bool = True) -> None:
        RESULTS.mkdir(exist_ok=True)
        self.page.screenshot(path=RESULTS / f"{name}.png", full_page=full_page)
        if os.environ.get("ADC_UPDATE_SCREENSHOTS") == "1":
            (ROOT / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
            shutil.copy(RESULTS / f"{name}.png", ROOT / "docs" / "screenshots" / f"{name}.png")


@pytest.fixture
def plant_hostile(airflow):
    """An asset whose name and description are hostile (as a careless import could make them)."""
    record, problems = assets.validate({"asset_id": "IA-0901", "name": f"Hostile {HOSTILE}", "description": HOSTILE,
                                        "owner": "alice", "classification": "OFFICIAL", "personal_data": "no"})
    assert not problems
    assets.import_records(airflow.engine, [record], actor="e2e", cause="browser test")


def test_a_reviewer_works_in_the_register_from_the_airflow_menu(airflow, reconciled, browser, plant_hostile):
    session = Session(browser, airflow.api_url, "alice")
    page = session.page
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="ADC Register").click()
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="The register at a glance").wait_for(timeout=30_000)
    frame.get_by_text("Classification mismatch").first.wait_for()
    session.shot("ui-dashboard", full_page=False)

    frame.get_by_role("navigation", name="Register").get_by_role("link", name="Assets").click()
    frame.get_by_label("Id or name").fill("complaints")
    frame.get_by_role("button", name="Search").click()
    frame.get_by_role("link", name="IA-0031").click()
    frame.get_by_role("heading", name="IA-0031 Complaints intake").wait_for()
    frame.get_by_text("complainant_name").first.wait_for(state="attached")

    frame.get_by_role("navigation", name="Register").get_by_role("link", name="Findings").click()
    with airflow.engine.connect() as conn:
        held = conn.execute(select(finding.c.finding_id).where(
            finding.c.kind == "unreadable_source", finding.c.subject == "s3://dcr-prod-legal-holds",
            finding.c.status == "open")).scalar_one()
    reason = f"Legal holds are read by the records team only {HOSTILE}"
    frame.locator(f"#reason-{held}").fill(reason)
    frame.locator(f"#finding-{held}").get_by_role("button", name="Acknowledge").click()
    frame.get_by_role("status").get_by_text(f"Finding {held} acknowledged").wait_for()
    with airflow.engine.connect() as conn:
        row = conn.execute(select(finding).where(finding.c.finding_id == held)).mappings().one()
    assert (row["status"], row["acknowledged_by"], row["reason"]) == ("acknowledged", "alice", reason)

    frame.get_by_role("navigation", name="Register").get_by_role("link", name="Downloads").click()
    ropa = frame.get_by_role("row", name="Record of Processing Activities")
    with page.expect_download() as download:
        ropa.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.startswith("ropa-")
    workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    assert [c.value for c in next(workbook["Template"].iter_rows(max_row=1))] == list(ICO_HEADINGS)

    assert session.errors == []
    page.close()


@pytest.mark.reliability("input")
def test_hostile_text_shows_as_text_and_the_main_pages_render(airflow, reconciled, browser, plant_hostile):
    session = Session(browser, airflow.api_url, "dana")
    page = session.page
    page.goto(f"{airflow.api_url}/adc/assets?text=Hostile")
    page.get_by_role("link", name="IA-0901").click()
    assert f"IA-0901 Hostile {HOSTILE}" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("script").count() == 0 and "Hostile <script>alert(1)</script> 49" not in page.content()
    for name, path in (("ui-assets", "/adc/assets"), ("ui-asset", "/adc/assets/IA-0031"),
                       ("ui-findings", "/adc/findings"), ("ui-activity", "/adc/activities/PA-004"),
                       ("ui-downloads", "/adc/downloads")):
        page.goto(f"{airflow.api_url}{path}")
        page.get_by_role("heading", level=1).wait_for()
        assert page.locator("script").count() == 0
        session.shot(name)
    assert session.errors == []
    page.close()
