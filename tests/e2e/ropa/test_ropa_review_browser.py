"""A reviewer answers a RoPA review in Airflow's UI (headless Chromium) and the outcome lands in the register;
the person who proposed a change is refused its approval there, and the DPO gives it.

This module's own copies of demo activities (tests/e2e/ropa/conftest.py), asked in its own review run:
PA-205, Equality monitoring (gita), confirmed in the browser; PA-201, Residency application casework
(alice), whose hostile purpose shows as text; PA-202, Biometric enrolment (bob), whose change bob
proposes and only the data protection team can approve; PA-209, the sealed unit's vetting (sam),
which a department analyst (nadia) must learn nothing of in Airflow, and sam reviews there.

Screenshots go to test-results/; with ADC_UPDATE_SCREENSHOTS=1 the review task page is also saved
as docs/screenshots/ropa-review-task.png (the README's picture).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from adc.demo.client import password_for
from adc.demo.who_sees import SEALED
from adc.ropa.forms import APPROVE, CHANGE, CONFIRM

pytestmark = [pytest.mark.airflow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "test-results"


@pytest.fixture(scope="module")
def review_run(start_reviews):
    return start_reviews({"PA-201": "PA-001", "PA-202": "PA-002", "PA-205": "PA-005", "PA-209": "PA-009"},
                         hostile=("PA-201",))


def _log_in(browser, base_url: str, user: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran in the page: {dialog.message}"))
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password_for(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
    return page


def _open_required_action(page, base_url: str, subject: str, option: str = CONFIRM) -> None:
    page.goto(f"{base_url}/required_actions")
    page.get_by_text(subject).first.click()
    page.get_by_role("button", name=option).wait_for(timeout=30_000)


def test_a_reviewer_confirms_in_required_actions_and_the_register_records_it(review_run, browser):
    airflow = review_run.airflow
    step = review_run.step("PA-205")
    review_run.wait_for_task(step)
    page = _log_in(browser, airflow.api_url, "gita")
    _open_required_action(page, airflow.api_url, "RoPA review of PA-205: owner")
    # the demo declares organisations: the question links to its pack in the register UI (docs/organisations.md)
    link = page.get_by_role("link", name="open it")
    assert link.get_attribute("href") == f"/adc/evidence/{step['step_id']}"
    pack = browser.new_page(storage_state=page.context.storage_state())
    pack.goto(f"{airflow.api_url}/adc/evidence/{step['step_id']}")
    assert "# Review of PA-205 Equality monitoring" in pack.inner_text("pre.pack")
    pack.close()
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / "ropa-review-task.png")
    if os.environ.get("ADC_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copy(RESULTS / "ropa-review-task.png", ROOT / "docs" / "screenshots" / "ropa-review-task.png")

    page.locator("#element_comment").fill("Survey wave 2026Q4 checked; nothing new.")
    page.get_by_role("button", name=CONFIRM).click()
    airflow.wait(lambda: review_run.review("PA-205")["status"] == "completed", timeout=240,
                 what="the PA-205 review to complete after the answer in the UI")
    answered = review_run.step("PA-205")
    assert (answered["status"], answered["answered_by"], answered["option"]) == ("answered", "gita", CONFIRM)
    assert answered["comment"] == "Survey wave 2026Q4 checked; nothing new."
    assert review_run.review("PA-205")["outcome"] == "confirmed"
    page.screenshot(path=RESULTS / "ropa-review-answered.png")
    page.close()


@pytest.mark.reliability("input")
def test_hostile_text_shows_as_text_in_the_ui(review_run, browser):
    airflow = review_run.airflow
    step = review_run.step("PA-201")
    review_run.wait_for_task(step)
    page = _log_in(browser, airflow.api_url, "alice")
    page.goto(f"{airflow.api_url}/dags/{step['dag_id']}/runs/{step['dag_run_id']}/tasks/{step['task_id']}"
              f"/mapped/{step['map_index']}/required_actions")
    page.get_by_text("RoPA review of PA-201").first.wait_for(timeout=30_000)
    assert "alert(1)" not in page.content() and review_run.secret not in page.content()  # only a link here
    page.goto(f"{airflow.api_url}/adc/evidence/{step['step_id']}")
    text = page.inner_text("pre.pack")
    assert r"Casework {{ conn.aws\_default.password }} \<script\>alert(1)\</script\>" in text
    assert review_run.secret not in page.content()
    assert page.locator("script", has_text="alert(1)").count() == 0
    page.close()


@pytest.mark.reliability("security")
def test_four_eyes_in_the_ui_the_proposer_is_refused_the_approval_and_the_dpo_gives_it(review_run, browser):
    airflow = review_run.airflow
    step = review_run.step("PA-202")
    review_run.wait_for_task(step)
    proposal = {"review_frequency_months": 3}
    assert review_run.answer("bob", step, CHANGE, comment="enrolment volumes doubled",
                             proposed_changes=proposal).status_code == 200
    approval = review_run.wait_for_step("PA-202", "approval")
    review_run.wait_for_task(approval)

    bob = _log_in(browser, airflow.api_url, "bob")  # the proposer, trying to approve his own change
    _open_required_action(bob, airflow.api_url, "RoPA review of PA-202: approval", option=APPROVE)
    bob.get_by_role("button", name=APPROVE).click()
    bob.get_by_text("You do not have permission to perform this action.").wait_for(timeout=30_000)
    RESULTS.mkdir(exist_ok=True)
    bob.screenshot(path=RESULTS / "ropa-four-eyes-refused.png")
    assert review_run.step("PA-202", "approval")["status"] == "pending"  # nothing recorded
    assert review_run.review("PA-202")["status"] == "awaiting_approval"
    bob.close()

    dana = _log_in(browser, airflow.api_url, "dana")
    _open_required_action(dana, airflow.api_url, "RoPA review of PA-202: approval", option=APPROVE)
    dana.get_by_role("button", name=APPROVE).click()
    airflow.wait(lambda: review_run.review("PA-202")["status"] == "completed", timeout=240,
                 what="the PA-202 review to complete after dana's approval in the UI")
    done = review_run.review("PA-202")
    assert (done["outcome"], done["answered_by"], done["approved_by"]) == ("changed", "bob", "dana")
    assert review_run.activity("PA-202")["review_frequency_months"] == 3
    dana.close()


def _readable_by(airflow, user: str, step) -> str:
    """Everything ``user`` may read in Airflow about the step's review run: its questions (Required
    Actions), task instances with their map-index labels and rendered fields, XCom and logs."""
    run = f"/dags/{step['dag_id']}/dagRuns/{step['dag_run_id']}"
    texts = [str(airflow.hitl_details(user, dag_id=step["dag_id"], run_id=step["dag_run_id"])),
             str(airflow.get(run, user))]
    instances = airflow.get(f"{run}/taskInstances", user, limit=1000)["task_instances"]
    texts.append(str(instances))
    for entry in airflow.get(f"{run}/taskInstances/~/xcomEntries", user, limit=1000)["xcom_entries"]:
        texts.append(str(airflow.get(f"{run}/taskInstances/{entry['task_id']}/xcomEntries/{entry['key']}", user,
                                     map_index=entry["map_index"], stringify=True)))
    for ti in instances:
        for attempt in range(1, (ti["try_number"] or 0) + 1):
            log = airflow.request(user, "GET", f"{run}/taskInstances/{ti['task_id']}/logs/{attempt}",
                                  params={"map_index": ti["map_index"]}, headers={"Accept": "application/json"})
            assert log.status_code in (200, 404), log.text[:300]  # 404: a try not started, no log yet
            texts.append(log.text if log.status_code == 200 else "")
    return "".join(texts)


@pytest.mark.reliability("security")
def test_another_organisations_reader_learns_nothing_of_the_sealed_unit_and_its_dpo_reviews_in_airflow(
        review_run, browser):
    airflow = review_run.airflow
    step = review_run.step("PA-209")
    review_run.wait_for_task(step)
    assert step["assigned_to"] == ["sam"]
    readable = _readable_by(airflow, "nadia", step)
    assert "RoPA review of PA-209: owner" in readable  # she reads the run: only an id and a link
    assert [marker for marker in SEALED if marker in readable] == []

    nadia = _log_in(browser, airflow.api_url, "nadia")
    nadia.goto(f"{airflow.api_url}/required_actions")
    nadia.get_by_text("RoPA review of PA-209: owner").first.wait_for(timeout=30_000)
    assert [marker for marker in SEALED if marker in nadia.content()] == []
    nadia.goto(f"{airflow.api_url}/adc/evidence/{step['step_id']}")
    assert nadia.get_by_role("heading", name="Not found").is_visible()  # as for a step that does not exist
    assert [marker for marker in SEALED if marker in nadia.content()] == []
    nadia.close()

    sam = _log_in(browser, airflow.api_url, "sam")
    _open_required_action(sam, airflow.api_url, "RoPA review of PA-209: owner")
    sam.goto(f"{airflow.api_url}/adc/evidence/{step['step_id']}")
    assert "psu-prod-vetting-casefiles" in sam.inner_text("pre.pack")
    _open_required_action(sam, airflow.api_url, "RoPA review of PA-209: owner")
    sam.get_by_role("button", name=CONFIRM).click()
    airflow.wait(lambda: review_run.review("PA-209")["status"] == "completed", timeout=240,
                 what="the PA-209 review to complete after sam's answer in the UI")
    assert (review_run.step("PA-209")["answered_by"], review_run.review("PA-209")["outcome"]) == ("sam", "confirmed")
    sam.close()
