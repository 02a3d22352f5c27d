"""Review packs: the Markdown a reviewer reads in the Airflow UI, built from register data.

A pack is plain text assembled here, inside a task, and handed to Airflow as an XCom value, so
Airflow never renders any of it as a template. Everything that came from AWS or from people
(names, tags, comments, dataset names) goes through ``md()``: it shows as text, never as Markdown
structure, HTML or a link (``adc.markdown``). The pack a reviewer saw is stored with its SHA-256 as
the evidence.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, or_, select

from adc.markdown import inert
from adc.model import GSCP
from adc.register.tables import asset, asset_location, observed_dataset
from adc.ropa.forms import ACKNOWLEDGE, APPROVE, CHANGE, CONFIRM, ESCALATE, REJECT, RETIRE
from adc.ropa.tables import ICO_TEMPLATE, review, review_step

MAX_VALUE = 600  # characters of one value shown in a pack
MAX_DATASETS = 15  # datasets listed per asset


def md(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as inert Markdown (``adc.markdown.inert``): one line of bounded length."""
    if isinstance(value, (list, tuple, set)):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M UTC")
    elif isinstance(value, date):
        value = value.isoformat()
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return inert(text)


def sha256(pack: str) -> str:
    return hashlib.sha256(pack.encode("utf-8")).hexdigest()


def _table(headings: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# --------------------------------------------------------------------------- register data


def assets_with_datasets(conn: Connection, asset_ids: list[str]) -> list[dict[str, Any]]:
    """Each linked asset as the register holds it, with what the last harvests found at its locations.

    An id the register does not hold comes back with ``registered`` False (the RoPA and the IAR
    are loaded independently, and a dangling link is itself worth a reviewer's attention).
    """
    result = []
    for asset_id in asset_ids:
        row = conn.execute(select(asset).where(asset.c.asset_id == asset_id)).mappings().first()
        if row is None:
            result.append({"asset_id": asset_id, "registered": False, "locations": [], "datasets": []})
            continue
        locations = [dict(r) for r in conn.execute(
            select(asset_location.c.uri, asset_location.c.namespace, asset_location.c.name)
            .where(asset_location.c.asset_id == asset_id).order_by(asset_location.c.uri)).mappings()]
        result.append({**row, "registered": True, "locations": locations,
                       "datasets": _datasets_at(conn, locations)})
    return result


def _datasets_at(conn: Connection, locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Current observed datasets at or under the locations (a bucket covers its prefixes)."""
    if not locations:
        return []
    od = observed_dataset

    def under(loc: dict[str, Any]):  # DatasetId.covers as SQL: a bucket covers its prefixes (see store.py)
        if not loc["name"]:
            return od.c.namespace == loc["namespace"]
        return and_(od.c.namespace == loc["namespace"],
                    or_(od.c.name == loc["name"], and_(od.c.name > loc["name"] + "/", od.c.name < loc["name"] + "0")))

    query = (
        select(od.c.namespace, od.c.name, od.c.format, od.c.classification, od.c.special_categories, od.c.gone,
               od.c.last_seen_at, od.c.kind, od.c.marking, od.c.covering_marking)
        .where(od.c.valid_to.is_(None), or_(*(under(loc) for loc in locations)))
        .order_by(od.c.namespace, od.c.name)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def previous_review(conn: Connection, activity_id: str) -> dict[str, Any] | None:
    """The last completed review with its owner's answer."""
    last = conn.execute(
        select(review).where(review.c.activity_id == activity_id, review.c.status == "completed")
        .order_by(review.c.closed_at.desc()).limit(1)
    ).mappings().first()
    if last is None:
        return None
    answer = conn.execute(
        select(review_step.c.option, review_step.c.comment, review_step.c.answered_at)
        .where(review_step.c.review_id == last["review_id"], review_step.c.kind == "owner",
               review_step.c.status == "answered")
        .order_by(review_step.c.attempt.desc()).limit(1)
    ).mappings().first()
    return {**last, "answer": dict(answer) if answer else None}


def earlier_attempts(conn: Connection, review_id: str) -> list[dict[str, Any]]:
    """Steps of this review that ended without a decision (refused, timed out, superseded)."""
    return [dict(r) for r in conn.execute(
        select(review_step).where(review_step.c.review_id == review_id,
                                  review_step.c.status.in_(("refused", "timed_out", "superseded")))
        .order_by(review_step.c.issued_at)).mappings()]


# --------------------------------------------------------------------------- packs


class OwnerPack(NamedTuple):
    text: str
    marking: str  # the strongest marking of what it shows: its linked assets and their datasets


def marking_of(assets: list[dict[str, Any]]) -> str:
    """The strongest GSCP marking among assets (as assets_with_datasets gives them) and their datasets."""
    markings = [a.get("security_classification") for a in assets] + [
        m for a in assets for d in a["datasets"] for m in (d["marking"], d["covering_marking"])]
    return max((m for m in markings if m in GSCP), key=GSCP.index, default=GSCP[0])


def owner_pack(
    conn: Connection, activity: dict[str, Any], *, review_id: str, reasons: list[str],
    findings: list[dict[str, Any]], deadline: datetime | None, team: tuple[str, ...],
) -> OwnerPack:
    """The pack for the owner's review of one activity, and its marking: an activity is OFFICIAL, but
    the assets it links to may be marked higher, and the pack shows them."""
    assets = assets_with_datasets(conn, activity["linked_assets"])
    lines = [f"## Review of {md(activity['activity_id'])} {md(activity['name'])}", ""]
    lines += ["**Why now:**", *[f"- {md(r)}" for r in reasons or ["a review of this activity is open"]], ""]
    if deadline is not None:
        lines += [f"**Answer by:** {md(deadline)}. Without an answer by then the review is recorded as "
                  f"escalated and goes to the data protection team ({md(', '.join(team))}).", ""]
    # what changed first, the record itself last, the instructions next to the form below the pack
    lines += _attempts_section(earlier_attempts(conn, review_id))
    lines += _findings_section(findings)
    lines += _assets_section(assets)
    lines += _previous_section(previous_review(conn, activity["activity_id"]), activity)
    lines += record_section(activity)
    lines += [
        "### What to do",
        f"- **{CONFIRM}**: the record below is still true. A comment is optional.",
        f"- **{CHANGE}**: say why in *Comment* and put the corrections in *Proposed changes* as JSON, "
        "using the field keys shown in the record, e.g. `{\"retention_schedule\": \"RS-07 (3 years)\"}`. "
        "A second person in the data protection team approves them before they apply.",
        f"- **{RETIRE}**: the processing has stopped. Say why in *Comment*; the data protection team approves.",
        f"- **{ESCALATE}**: you cannot answer. Say why in *Comment*.",
        "",
        "---",
        f"Review {md(review_id)}. ADC stores this pack and its SHA-256 as the evidence shown.",
    ]
    return OwnerPack("\n".join(lines) + "\n", marking_of(assets))


def record_section(activity: dict[str, Any]) -> list[str]:
    rows = [
        ["Owner (`owner`)", md(activity["owner"])],
        ["Status", md(activity["status"].replace("_", " "))],
        ["Last reviewed", md(activity["last_reviewed"])],
        ["Next review due", md(activity["next_review_due"])],
        ["Review every (`review_frequency_months`)", md(f"{activity['review_frequency_months']} months")],
        ["Response time (`response_time`)", md(activity["response_time"])],
        ["Signed off by", md(activity["approved_by"])],
        ["Linked assets (`linked_assets`)", md(activity["linked_assets"])],
    ]
    rows += [[f"{letter}. {md(heading)} (`{name}`)", md(activity[name])] for letter, name, heading in ICO_TEMPLATE]
    return ["### The record", "", *_table(["Field", "Value"], rows), ""]


def _assets_section(assets: list[dict[str, Any]]) -> list[str]:
    lines = [f"### Linked assets ({len(assets)})", ""]
    if not assets:
        return lines + ["No register assets are linked to this activity.", ""]
    for item in assets:
        if not item["registered"]:
            lines += [f"#### {md(item['asset_id'])}: not in the register", "",
                      "The RoPA links to an asset id the register does not hold.", ""]
            continue
        lines += [f"#### {md(item['asset_id'])} {md(item['name'])} ({md(item['status'])})", ""]
        special = ", ".join((item["special_categories"] or "none").split(","))
        lines += [f"Register: owner {md(item['owner'])}; personal data {'yes' if item['personal_data'] else 'no'}; "
                  f"special categories {md(special)}; retention {md(item['retention_schedule'])}; "
                  f"marking {md(item['security_classification'])}.", ""]
        if item["locations"]:
            lines += ["Locations: " + ", ".join(md(loc["uri"]) for loc in item["locations"]), ""]
        datasets = item["datasets"]
        if not datasets:
            lines += ["The last harvests found no dataset at these locations.", ""]
            continue
        rows = [[md(f"{d['namespace']}/{d['name']}" if d["name"] else d["namespace"]), md(d["format"]),
                 md(d["classification"]), md((d["special_categories"] or "").split(",")),
                 "gone" if d["gone"] else md(d["last_seen_at"])] for d in datasets[:MAX_DATASETS]]
        lines += ["What the last harvest found:", "",
                  *_table(["Dataset", "Format", "Classification", "Special categories", "Last seen"], rows), ""]
        if len(datasets) > MAX_DATASETS:
            lines += [f"…and {len(datasets) - MAX_DATASETS} more datasets.", ""]
    return lines


def _findings_section(findings: list[dict[str, Any]]) -> list[str]:
    lines = [f"### Open findings ({len(findings)})", ""]
    if not findings:
        return lines + ["No open findings on the linked assets.", ""]
    rows = [[md(f["severity"]), md(f["kind"]), md(f["asset_id"] or f"{f['namespace']}/{f['name']}"),
             md(f["summary"]), md(f["first_seen_at"])] for f in findings]
    return lines + [*_table(["Severity", "Kind", "Asset or dataset", "Summary", "Since"], rows), ""]


def _previous_section(previous: dict[str, Any] | None, activity: dict[str, Any]) -> list[str]:
    lines = ["### Previous review", ""]
    if previous is None:
        when = activity["last_reviewed"]
        return lines + [f"No review recorded in ADC yet{f' (last reviewed {md(when)}, outside ADC)' if when else ''}.",
                        ""]
    answer = previous["answer"] or {}
    who = md(previous["answered_by"]) if previous["answered_by"] else "nobody"
    text = f"{md(previous['closed_at'])}: **{md(previous['outcome'])}**, answered by {who}"
    if previous["approved_by"]:
        text += f", approved by {md(previous['approved_by'])}"
    lines += [text + ".", ""]
    if answer.get("comment"):
        lines += [f"Comment: {md(answer['comment'])}", ""]
    if previous["applied_changes"]:
        lines += ["Changes applied: " + "; ".join(f"{md(k)}: {md(v[0])} → {md(v[1])}"
                                                   for k, v in previous["applied_changes"].items()), ""]
    return lines


def _attempts_section(attempts: list[dict[str, Any]]) -> list[str]:
    if not attempts:
        return []
    lines = ["### Earlier in this review", ""]
    for step in attempts:
        if step["status"] == "refused":
            text = f"{md(step['answered_at'])}: the answer by {md(step['answered_by'])} was not accepted: " \
                   f"{md(step['refusal'])}"
        elif step["status"] == "timed_out":
            text = f"{md(step['deadline'])}: no answer from {md(', '.join(step['assigned_to']))}; escalated."
        else:
            text = f"{md(step['issued_at'])}: the question was lost by Airflow and asked again."
        lines.append(f"- {text}")
    return lines + [""]


def approval_pack(
    activity: dict[str, Any], *, review_id: str, option: str, answered_by: str, comment: str,
    changes: dict[str, list[Any]], owner_pack_sha256: str,
) -> str:
    """The pack for the data protection team's second approval of a change or a retirement."""
    what = "retire this activity" if option == RETIRE else "change this record"
    lines = [f"## Approve: {md(answered_by)} proposes to {what}", "",
             f"**Activity:** {md(activity['activity_id'])} {md(activity['name'])} (owner {md(activity['owner'])})", "",
             f"**Comment from {md(answered_by)}:** {md(comment)}", ""]
    if option == RETIRE:
        lines += ["If approved, the activity's status becomes **retired** (it stays in the record and its history).",
                  ""]
    else:
        rows = [[f"`{k}`", md(old), md(new)] for k, (old, new) in changes.items()]
        lines += ["### Proposed changes", "", *_table(["Field", "Now", "Proposed"], rows), ""]
    lines += [
        "### What to do",
        f"- **{APPROVE}**: apply it to the record (with history) and complete the review.",
        f"- **{REJECT}**: keep the record as it is; the review is completed as rejected. Say why in *Comment*.",
        "",
        "You cannot approve a proposal you made yourself: ADC refuses it even if the task reaches you.",
        "",
        *record_section(activity),
        "---",
        f"Review {md(review_id)}. The owner saw the pack with SHA-256 {md(owner_pack_sha256)}.",
    ]
    return "\n".join(lines) + "\n"


def escalation_pack(
    activity: dict[str, Any], *, review_id: str, owner: str, deadline: datetime | None, reason: str,
    comment: str | None,
) -> str:
    """The pack for the data protection team when an owner did not (or could not) answer."""
    lines = [f"## Escalated: review of {md(activity['activity_id'])} {md(activity['name'])}", "",
             f"**What happened:** {md(reason)}", ""]
    if comment:
        lines += [f"**Comment from {md(owner)}:** {md(comment)}", ""]
    if deadline is not None:
        lines += [f"**The owner's deadline was:** {md(deadline)}", ""]
    lines += [
        "The review stays open and is visible in `adc ropa due`; the next run of adc_ropa_review asks the "
        "owner again. Record here that the data protection team has seen it, and what it will do.",
        "",
        "### What to do",
        f"- **{ACKNOWLEDGE}**: say in *Comment* what happens next (e.g. chased the owner, reassigning).",
        "",
        *record_section(activity),
        "---",
        f"Review {md(review_id)}.",
    ]
    return "\n".join(lines) + "\n"
