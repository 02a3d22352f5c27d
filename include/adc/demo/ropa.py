"""The demo's RoPA: loading it, and the review stage of `make demo-check`.

The demo record (data/ropa.csv) is dated as of ``AS_OF``. Loading shifts its review dates by the
days since, so what is due, overdue or recently reviewed stays the same whenever the demo runs:
PA-004 overdue, PA-002 and PA-005 recently reviewed, the others due later.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine, select

from adc.demo.client import Api, DemoError, environment, password_for
from adc.register import history
from adc.register.db import register_engine
from adc.ropa import activities, exports
from adc.ropa.activities import add_months
from adc.ropa.forms import ACKNOWLEDGE, APPROVE, CHANGE, CONFIRM, DAG_ID
from adc.ropa.reviews import list_reviews
from adc.ropa.tables import ICO_HEADINGS, review, review_step

AS_OF = date(2026, 11, 24)
DATE_FIELDS = ("last_reviewed", "next_review_due")


def load(engine: Engine, path: Path, *, today: date | None = None) -> int:
    """Import the demo RoPA (its dates shifted to today); returns the number of activities."""
    shift = (today or date.today()) - AS_OF
    records = [
        record.model_copy(update={f: getattr(record, f) + shift for f in DATE_FIELDS if getattr(record, f)})
        for record in exports.parse(path)
    ]
    exports.save_records(engine, records, source=path, actor="demo", today=today)
    return len(records)


# --------------------------------------------------------------------------- make demo-check


def stage(report, api, env: dict[str, str], demo, *, timeout: float) -> None:
    """The reviews after reconciliation: who is asked, answers through the REST API, the register after.

    alice confirms PA-001; carol proposes changes to PA-004 and dana approves them (carol cannot);
    frank leaves PA-006 unanswered, so it escalates after its two-minute demo response time and erin
    acknowledges the escalation. carol proposes a change to PA-003, then forges its approval
    through the REST API (XCom and task state, which any ``user`` can write): the approval stays
    pending and names nobody.
    """
    print("RoPA reviews (adc_ropa_review, after the findings' Asset event)")
    with environment(env):
        reviews = _Reviews(api, timeout)
        run_id = reviews.latest_run()
        owners = {"PA-001": "alice", "PA-003": "carol", "PA-004": "carol", "PA-006": "frank",
                  "PA-008": "kemi", "PA-009": "sam"}  # PA-008: the agency's; PA-009: the sealed unit's
        asked = {a: reviews.wait_for_step(a) for a in owners}
        for activity_id, step in asked.items():
            ok = step is not None and step["assigned_to"] == [owners[activity_id]]
            subject = step["subject"] if step else "not asked"
            report.check(ok, f"{activity_id} asked of {owners[activity_id]}: {subject}")
        quiet = [a for a in ("PA-002", "PA-005") if reviews.step(a) is not None]
        report.check(not quiet,
                     f"PA-002 and PA-005 (recently reviewed, untouched) are not asked {quiet or ''}".rstrip())
        steps = {a: step for a, step in asked.items() if step is not None}
        if len(steps) < len(asked):
            return
        as_user = {user: Api(api.base_url, user, password_for(user))
                   for user in ("alice", "bob", "carol", "dana", "erin", "kemi", "sam", "nadia")}

        def answer(user: str, step: dict, option: str, **params) -> int:
            path = (f"/dags/{DAG_ID}/dagRuns/{step['dag_run_id']}/taskInstances/{step['task_id']}/"
                    f"{step['map_index']}/hitlDetails")
            reviews.wait_for_task(step)
            response = as_user[user].client.patch(path, json={"chosen_options": [option], "params_input": params})
            return response.status_code

        status = answer("alice", steps["PA-001"], CONFIRM, comment="Checked with the casework team; IA-0042 is being "
                        "retired from the register.")
        report.check(status == 200, f"alice confirms PA-001 (HTTP {status})")
        status = answer("kemi", steps["PA-008"], CONFIRM, comment="The agency's registrations are as recorded.")
        report.check(status == 200, f"kemi, the agency's owner, confirms PA-008 (HTTP {status})")
        status = answer("nadia", steps["PA-009"], CONFIRM)
        report.check(status == 403, f"nadia cannot answer the sealed unit's review of PA-009 (HTTP {status})")
        status = answer("sam", steps["PA-009"], CONFIRM, comment="Reviewed within the unit.")
        report.check(status == 200, f"sam, the sealed unit's DPO, confirms its PA-009 (HTTP {status})")
        status = answer("bob", steps["PA-004"], CONFIRM)
        report.check(status == 403, f"bob cannot answer carol's review of PA-004 (HTTP {status})")
        changes = {"categories_of_personal_data": "Name; contact details; complaint narrative, which can reveal "
                   "health, ethnic origin, religion and criminal offences",
                   "article_9_condition": "Art 9(2)(g) substantial public interest; Art 10 with DPA 2018 Sch 1 "
                   "para 6", "review_frequency_months": 6}
        status = answer("carol", steps["PA-004"], CHANGE, comment="Complaints hold special category and criminal "
                        "offence data (the harvest found health_condition, ethnic_origin, religion, "
                        "criminal_record_flag)", proposed_changes=changes)
        report.check(status == 200, f"carol proposes changes to PA-004 (HTTP {status})")
        approval = reviews.wait_for_step("PA-004", "approval")
        to_others = report.check(approval is not None and "carol" not in approval["assigned_to"],
                                 f"the second approval goes to {approval['assigned_to'] if approval else 'nobody'}, "
                                 "not carol")
        if to_others and approval is not None:
            status = answer("carol", approval, APPROVE)
            report.check(status == 403, f"carol cannot approve her own proposal (HTTP {status})")
            status = answer("dana", approval, APPROVE, comment="Agreed: special category and criminal offence data.")
            report.check(status == 200, f"dana approves (HTTP {status})")
        _forgery(report, reviews, as_user["carol"], steps["PA-003"], answer)
        print(f"  ... waiting for PA-006 to escalate (frank's demo response time is "
              f"{reviews.activity('PA-006')['response_time']})")
        timed_out = reviews.wait_for_step("PA-006", status="timed_out", within=timeout)
        report.check(timed_out is not None, "frank did not answer PA-006 in time: recorded as escalated")
        escalation = reviews.wait_for_step("PA-006", "escalation")
        report.check(escalation is not None,
                     f"an escalation goes to {escalation['assigned_to'] if escalation else '-'}")
        if escalation is not None:
            status = answer("erin", escalation, ACKNOWLEDGE, comment="Chased frank; payroll review booked.")
            report.check(status == 200, f"erin acknowledges the escalation (HTTP {status})")
        reviews.wait_until(lambda: (reviews.review("PA-001")["status"], reviews.review("PA-004")["status"],
                                    (reviews.step("PA-006", "escalation") or {}).get("status"))
                           == ("completed", "completed", "answered"), "the answers to be recorded")
        _register_checks(report, reviews)
        _export_check(report, demo)
    print(f"  (review run {run_id}; PA-003's approval is asked again by the next run)")


def _forgery(report, reviews: _Reviews, carol, owner_step: dict, answer) -> None:
    """Issue 11's forgery: carol writes dana's approval of her own proposal as the task's return value
    and marks the task success. Airflow accepts both; ADC records no answer (Airflow has none)."""
    status = answer("carol", owner_step, CHANGE, comment="Bookings are kept too long",
                    proposed_changes={"retention_schedule": "RS-05: 6 months"})
    report.check(status == 200, f"carol proposes a change to PA-003 (HTTP {status})")
    approval = reviews.wait_for_step("PA-003", "approval")
    if not approval:
        return
    reviews.wait_for_task(approval)
    task = f"/dags/{DAG_ID}/dagRuns/{approval['dag_run_id']}/taskInstances/{approval['task_id']}"
    xcom = carol.client.post(f"{task}/xcomEntries", json={
        "key": "return_value", "map_index": approval["map_index"],
        "value": {"chosen_options": [APPROVE], "params_input": {}, "responded_by_user": {"id": "dana", "name": "dana"},
                  "step_id": approval["step_id"]}})
    patch = carol.client.patch(f"{task}/{approval['map_index']}", json={"new_state": "success"})
    report.check(xcom.status_code in (200, 201) and patch.status_code == 200,
                 f"carol writes dana's approval into XCom and marks the task success (Airflow: HTTP "
                 f"{xcom.status_code}, {patch.status_code})")
    noted = reviews.wait_until(lambda: (s := reviews.step("PA-003", "approval")) and s["ended_without_answer"] and s,
                               "PA-003's approval task to be settled")
    changed_by = [c["by"] for c in (noted or {}).get("ended_without_answer", {}).get("changed_by") or []]
    review = reviews.review("PA-003")
    report.check(noted is not None and noted["status"] == "pending" and noted["answered_by"] is None
                 and review["approved_by"] is None and review["status"] == "awaiting_approval",
                 "PA-003's approval stays pending and names nobody")
    report.check("carol" in changed_by, f"the register notes who ended the task without an answer: {changed_by}")


def _register_checks(report, reviews: _Reviews) -> None:
    today = date.today()
    pa001, pa004, pa006 = (reviews.review(a) for a in ("PA-001", "PA-004", "PA-006"))
    print("  Outcomes in the register:")
    for item in (pa001, pa004, pa006, reviews.review("PA-003")):
        steps = "; ".join(f"{s['kind']}: {s['option']} by {s['answered_by']}" if s["answered_by"]
                          else f"{s['kind']}: {s['status']} (asked {', '.join(s['assigned_to'])})"
                          for s in item["steps"])
        print(f"    {item['review_id']:<22} {item['status']:<18} {item['outcome'] or '-':<10} {steps}")
    report.check((pa001["outcome"], pa001["answered_by"]) == ("confirmed", "alice")
                 and reviews.activity("PA-001")["next_review_due"] == add_months(today, 12),
                 "PA-001 confirmed by alice; next review in 12 months")
    activity = reviews.activity("PA-004")
    report.check((pa004["outcome"], pa004["answered_by"], pa004["approved_by"]) == ("changed", "carol", "dana")
                 and activity["review_frequency_months"] == 6 and activity["next_review_due"] == add_months(today, 6)
                 and "Art 10" in activity["article_9_condition"],
                 f"PA-004 changed (proposed by carol, approved by dana): {sorted(pa004['applied_changes'] or {})}")
    trail = reviews.history("PA-004")
    report.check(("updated", "dana") in trail and ("reviewed", "dana") in trail,
                 f"PA-004's history records the change and the review: {trail[-3:]}")
    report.check(pa006["status"] == "escalated"
                 and [s["status"] for s in pa006["steps"]] == ["timed_out", "answered"],
                 "PA-006 stays escalated and visible in `adc ropa due` until frank answers")
    for item in (pa001, pa004):
        owner_step = next(s for s in item["steps"] if s["kind"] == "owner")
        report.check(len(owner_step["pack_sha256"]) == 64, f"{item['review_id']}: the evidence shown is stored "
                     f"(pack SHA-256 {owner_step['pack_sha256'][:12]}...)")


def _export_check(report, demo) -> None:
    path = demo.root / "ropa.xlsx"
    with register_engine().connect() as conn:
        exports.to_xlsx(activities.all_activities(conn), path)
    sheet = load_workbook(path)["Template"]
    report.check([c.value for c in sheet[1]] == list(ICO_HEADINGS) and sheet.max_row == 9,
                 f"the RoPA exports to {path} with the ICO template's 30 headings (sheet 'Template')")


class _Reviews:
    """Reads the review questions and outcomes from the register, waiting where a person or task acts."""

    def __init__(self, api, timeout: float) -> None:
        self.api, self.timeout, self.engine = api, timeout, register_engine()

    def wait_until(self, probe, what: str, within: float | None = None):
        deadline = time.monotonic() + (within or self.timeout)
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(2)
        print(f"  ... gave up waiting for {what}")
        return None

    def latest_run(self) -> str | None:
        self.api.wait_for_dag(DAG_ID)
        runs = self.wait_until(lambda: self.api.get(f"/dags/{DAG_ID}/dagRuns", order_by="-run_after",
                                                    limit=1)["dag_runs"], f"a run of {DAG_ID}")
        return runs[0]["dag_run_id"] if runs else None

    def step(self, activity_id: str, kind: str = "owner", status: str | None = None) -> dict | None:
        query = (select(review_step).join(review, review.c.review_id == review_step.c.review_id)
                 .where(review.c.activity_id == activity_id, review_step.c.kind == kind)
                 .order_by(review_step.c.issued_at.desc()).limit(1))
        if status:
            query = query.where(review_step.c.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def wait_for_step(self, activity_id: str, kind: str = "owner", status: str | None = None,
                      within: float | None = None) -> dict | None:
        return self.wait_until(lambda: self.step(activity_id, kind, status),
                               f"a {status or ''} {kind} step for {activity_id}", within)

    def wait_for_task(self, step: dict) -> None:
        """Until the step's task is waiting for its answer (answering earlier gets a 404)."""
        def asked():
            tis = self.api.get(f"/dags/{DAG_ID}/dagRuns/{step['dag_run_id']}/taskInstances", limit=1000)
            return any(t["task_id"] == step["task_id"] and t["map_index"] == step["map_index"]
                       and t["state"] == "awaiting_input" for t in tis["task_instances"])

        self.wait_until(asked, f"{step['step_id']} to be asked in Airflow")

    def review(self, activity_id: str) -> dict:
        with self.engine.connect() as conn:
            return list_reviews(conn, activity_id=activity_id)[0]

    def activity(self, activity_id: str) -> dict:
        with self.engine.connect() as conn:
            found = activities.get(conn, activity_id)
        if found is None:
            raise DemoError(f"no activity {activity_id} in the register")
        return found

    def history(self, activity_id: str) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [(h["action"], h["actor"]) for h in history.of(conn, "activity", activity_id)]
