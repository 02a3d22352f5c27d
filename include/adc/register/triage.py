"""Triage: each new high-severity finding becomes a question to the data protection team, and the
answer is applied to the register with a history row naming the person who gave it.

``requests()`` picks the open high-severity findings nobody has been asked about yet, records that
they were asked, and builds each question (subject, Markdown body, options, pre-filled form) from
register data. The DAG passes them through XCom to human-in-the-loop tasks, so Airflow never
renders any of this text as a template. ``apply()`` takes a person's answer: it validates every
field first, then applies it in one transaction; an answer that does not validate is recorded as
refused (TriageRefused) and changes nothing else.

Nothing here imports Airflow: the DAG (dags/adc_triage.py) turns PARAMS into Airflow Params.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, String, cast, exists, select

from adc.config import Settings, load_sources
from adc.errors import AdcError
from adc.markdown import inert
from adc.naming import DatasetId, LocationError, parse_location
from adc.organisations import DataProtectionTeams, Team
from adc.register import assets, findings, history
from adc.register.db import exclusive
from adc.register.forms import (
    ACKNOWLEDGE,
    ADD,
    DISMISS,
    KIND_TITLES,
    OPTIONS,
    OTHER_OPTIONS,
    REGISTER,
    REQUESTED,
    RETIRE,
    UPDATE,
)
from adc.register.questions import AssignedUser, link_body, only_a_link
from adc.register.store import now
from adc.register.tables import asset, finding, observed_dataset
from adc.register.tables import history as history_table


class TriageRefused(AdcError):
    """An answer that cannot be applied as given; it is recorded and nothing else changes."""


class Question(TypedDict):
    """One finding's question: the keyword arguments of one mapped triage task (an XCom value)."""

    finding_id: int
    subject: str
    body: str
    options: list[str]
    params: dict[str, str]  # the form, pre-filled
    assigned_users: list[AssignedUser]


# --------------------------------------------------------------------------- asking


def requests(engine: Engine, *, asked_by_run: str, team: Team | None = None) -> list[Question]:
    """The triage questions to ask now: one per open high-severity finding not asked about before.

    Records a history row per finding (action triage_requested, cause = the asking run) in the same
    transaction, so a finding is asked about once. Each question is the keyword arguments of one
    mapped HITL task: finding_id, subject, body, options, params (pre-filled) and assigned_users.
    """
    teams = DataProtectionTeams.given(team) if team is not None else DataProtectionTeams.from_env()
    asked = exists().where(history_table.c.entity_kind == "finding",
                           history_table.c.entity_id == cast(finding.c.finding_id, String),
                           history_table.c.action == REQUESTED)
    with engine.begin() as conn:
        exclusive(conn, "register")
        rows = [dict(row) for row in conn.execute(
            select(finding).where(finding.c.status == "open", finding.c.severity == "high", ~asked)
            .order_by(finding.c.finding_id)).mappings()]
        questions = [question(conn, row, teams.of(organisation(conn, row))) for row in rows]
        history.record_many(conn, [
            {"at": now(), "entity_kind": "finding", "entity_id": str(q["finding_id"]), "action": REQUESTED,
             "actor": history.SYSTEM_ACTOR, "cause_kind": "triage", "cause": asked_by_run,
             "changes": {"assigned_to": [None, [u["id"] for u in q["assigned_users"]]]}}
            for q in questions])
    return questions


def organisation(conn: Connection, row: Mapping[str, Any]) -> str | None:
    """Whose a finding is, for its data protection team: its asset's organisation, else its dataset's,
    else its source's (a finding about a whole source). None: the department."""
    if row["asset_id"]:
        return conn.execute(select(asset.c.organisation).where(asset.c.asset_id == row["asset_id"])).scalar()
    if row["namespace"] is not None:
        return conn.execute(select(observed_dataset.c.organisation).where(
            observed_dataset.c.namespace == row["namespace"], observed_dataset.c.name == row["name"],
            observed_dataset.c.valid_to.is_(None))).scalar()
    sources = {s.name: s.organisation for s in load_sources().sources}
    return sources.get(row["source"]) if row["source"] else None


def question(conn: Connection, row: dict[str, Any], team: tuple[str, ...]) -> Question:
    kind, evidence = row["kind"], row["evidence"] or {}
    prefill: dict[str, str] = {}
    if kind == "unregistered_dataset":
        known = evidence.get("schema_status") in ("inferred", "catalogue")
        holds = evidence.get("classification") not in (None, "none")
        prefill = {"location": evidence.get("dataset") or "",
                   "personal_data": "yes" if holds else "no" if known else "",
                   "special_categories": evidence.get("special_categories") or "",
                   "criminal_offence_data": "yes" if evidence.get("criminal_offence_data") else "no",
                   "name": _dataset_name(row)}
    elif kind == "classification_mismatch" and row["asset_id"]:
        prefill = _observed_classification(conn, row["asset_id"], evidence)
    elif row["asset_id"]:
        prefill = {"asset_id": row["asset_id"]}
    linked = only_a_link()
    if linked:  # the form's values show in Required Actions too: only an opaque asset id stays
        prefill = {key: value for key, value in prefill.items() if key == "asset_id"}
    return {
        "finding_id": row["finding_id"],
        "subject": f"Triage finding {row['finding_id']} ({row['severity']})" if linked else
        f"{KIND_TITLES.get(kind, kind)} ({row['severity']}): {row['subject']}"[:200],
        "body": link_body("The finding", f"/adc/findings/{row['finding_id']}") if linked else body(row),
        "options": OPTIONS.get(kind, OTHER_OPTIONS),
        "params": prefill,
        "assigned_users": [{"id": user, "name": user} for user in team],
    }


def _dataset_name(row: dict[str, Any]) -> str:
    """A starting name for a new asset: the dataset's last path part (or its bucket)."""
    return (row["name"] or row["namespace"] or row["subject"]).rsplit("/", 1)[-1]


def _observed_classification(conn: Connection, asset_id: str, evidence: dict[str, Any]) -> dict[str, str]:
    """The form for an asset's classification: what it declares plus what its content shows."""
    current = assets.get(conn, asset_id) or {}
    categories = set(filter(None, (current.get("special_categories") or "").split(",")))
    criminal = bool(current.get("criminal_offence_data"))
    personal = bool(current.get("personal_data"))
    for dataset in evidence.get("datasets") or []:
        for column in dataset.get("columns", []) if isinstance(dataset, dict) else []:
            personal = True
            if column.get("classification") == "special_category" and column.get("category"):
                categories.add(column["category"])
            if column.get("classification") == "criminal_offence":
                criminal = True
    if evidence.get("datasets") and all(isinstance(d, str) for d in evidence["datasets"]):
        personal = False  # the reverse mismatch: the content shows no personal data
    return {"asset_id": asset_id, "personal_data": "yes" if personal else "no",
            "special_categories": assets.parse_categories(",".join(categories)) or "",
            "criminal_offence_data": "yes" if criminal else "no"}


# --------------------------------------------------------------------------- Markdown


def md(text: Any) -> str:
    """Text from AWS or people, safe in Markdown (``adc.markdown.inert``): a tag can neither format nor
    link (a [label](url) shows as typed)."""
    return inert(str(text))


def _evidence_lines(value: Any, depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if item in (None, "", [], {}):
                continue
            if isinstance(item, (dict, list)):
                lines.append(f"{pad}- {md(key)}:")
                lines += _evidence_lines(item, depth + 1)
            else:
                lines.append(f"{pad}- {md(key)}: {md(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict) and {"name", "classification"} <= set(item):
                detail = ", ".join(md(x) for x in (item.get("classification"), item.get("category"), item.get("reason"))
                                   if x)
                lines.append(f"{pad}- **{md(item['name'])}** ({detail})")
            elif isinstance(item, (dict, list)):
                lines += _evidence_lines(item, depth)
            else:
                lines.append(f"{pad}- {md(item)}")
        return lines
    return [f"{pad}- {md(value)}"]


OPTION_HELP = {
    REGISTER: "adds a new asset with this location (fill owner, classification and personal data; name, "
              "asset id, special categories, criminal offence data and retention schedule as known)",
    ADD: "adds this location to the asset named in *Asset id*",
    UPDATE: "sets the asset's personal data, special categories and criminal offence data to the form's "
            "values (pre-filled with what the content shows)",
    RETIRE: "retires the asset (it no longer exists); give the reason",
    ACKNOWLEDGE: "keeps the finding, acknowledged, while its cause persists; give the reason",
    DISMISS: "closes it as not a problem while its cause persists; give the reason",
}


def body(row: dict[str, Any]) -> str:
    """The Markdown question: what was found, the evidence, and what each option does."""
    kind = row["kind"]
    lines = [
        f"**{md(KIND_TITLES.get(kind, kind))}**, severity **{md(row['severity'])}** (finding {row['finding_id']}, "
        f"first seen in harvest run {md(row['first_seen_run'])})",
        "",
        md(row["summary"]),
        "",
        "**Evidence**",
        "",
        *_evidence_lines(row["evidence"] or {}),
        "",
        "**Your answer**",
        "",
        *(f"- *{option}* {OPTION_HELP[option]}" for option in OPTIONS.get(kind, OTHER_OPTIONS)),
        "",
        "ADC checks the answer before changing anything; an answer it cannot apply is recorded as refused "
        "and you are asked again.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- answering


@dataclass
class Answer:
    finding_id: int
    option: str
    params: dict[str, Any]
    by: str
    asked_by_run: str | None = None  # the triage run that asked (checked: it asked about this finding)

    @classmethod
    def from_event(cls, finding_id: int, event: dict[str, Any], *, asked_by_run: str | None = None) -> Answer:
        """From the event a triage task resumes with (Airflow's HITL record of the response)."""
        chosen = event.get("chosen_options") or []
        user = event.get("responded_by_user") or {}
        return cls(int(finding_id), chosen[0] if len(chosen) == 1 else json.dumps(chosen),
                   dict(event.get("params_input") or {}), str(user.get("id") or ""), asked_by_run)


def apply(engine: Engine, answer: Answer, settings: Settings | None = None, *,
          team: Team | None = None) -> dict[str, Any]:
    """Validate, then apply the answer in one transaction; TriageRefused (recorded) if it cannot be.
    Only the finding's organisation's data protection team may answer (``team``: docs/organisations.md)."""
    settings = settings or Settings.from_env()
    teams = DataProtectionTeams.given(team) if team is not None else DataProtectionTeams.from_env()
    try:
        with engine.begin() as conn:
            exclusive(conn, "register")
            return _apply(conn, answer, settings, teams)
    except (TriageRefused, findings.FindingError, assets.AssetError) as exc:
        refusal = str(exc)
    with engine.begin() as conn:
        history.record(conn, entity_kind="finding", entity_id=str(answer.finding_id), action="triage_refused",
                       actor=answer.by or "unknown", cause_kind="triage", cause=f"finding {answer.finding_id}",
                       changes={"option": [None, answer.option], "refused": [None, refusal]})
    raise TriageRefused(f"answer to finding {answer.finding_id} refused, nothing changed: {refusal}")


class _Cause(TypedDict):
    """Who and what caused a change to the register, for its history."""

    actor: str
    cause_kind: str
    cause: str


def _apply(conn: Connection, answer: Answer, settings: Settings, teams: DataProtectionTeams) -> dict[str, Any]:
    if not answer.by:
        raise TriageRefused("the answer names no person")
    row = findings.get(conn, answer.finding_id)
    owner = organisation(conn, row)  # whose the finding is: its team answers, and an asset it registers is theirs
    team = teams.of(owner)
    if answer.by not in team:
        raise TriageRefused(f"{answer.by} is not in the data protection team ({', '.join(team) or 'empty'})")
    if answer.asked_by_run is not None and not _asked(conn, answer.finding_id, answer.asked_by_run):
        raise TriageRefused(f"{answer.asked_by_run} did not ask about finding {answer.finding_id}")
    if row["status"] != "open":
        raise TriageRefused(f"finding {answer.finding_id} is already {row['status']}")
    allowed = OPTIONS.get(row["kind"], OTHER_OPTIONS)
    if answer.option not in allowed:
        raise TriageRefused(f"{answer.option!r} is not an answer to a {row['kind']} finding ({', '.join(allowed)})")
    params = {k: (v.strip() if isinstance(v, str) else v) for k, v in answer.params.items()}
    reason = params.get("reason") or None
    cause = f"finding {answer.finding_id}"
    common = _Cause(actor=answer.by, cause_kind="triage", cause=cause)

    if answer.option in (ACKNOWLEDGE, DISMISS):
        status = "acknowledged" if answer.option == ACKNOWLEDGE else "dismissed"
        if not reason:
            raise TriageRefused(f"{answer.option}: give a reason")
        findings.set_status(conn, answer.finding_id, status, by=answer.by, reason=reason, cause_kind="triage")
        return {"finding_id": answer.finding_id, "outcome": status, "by": answer.by}

    if answer.option == REGISTER:
        location = _location(params, row, settings)
        cells = {**{k: params.get(k) for k in ("owner", "classification", "personal_data", "special_categories",
                                                "criminal_offence_data", "retention_schedule")},
                 "name": params.get("name") or _dataset_name(row),
                 "asset_id": params.get("asset_id") or assets.next_asset_id(conn), "location": location,
                 # the new asset is its dataset's organisation's: registering never moves data out of a seal
                 "organisation": owner}
        record, problems = assets.validate(cells, settings)
        if record is None:  # a record, or the problems
            raise TriageRefused("; ".join(problems))
        if assets.get(conn, record.asset_id) is not None:
            raise TriageRefused(f"asset_id: {record.asset_id} already exists (use {ADD!r})")
        assets.create(conn, record, **common)
        done = f"registered as {record.asset_id}"
    elif answer.option == ADD:
        current = _live_asset(conn, params.get("asset_id"))
        location = _location(params, row, settings)
        added = assets.parse_locations(location, region=settings.default_region, account=settings.default_account)
        locations = assets.parse_locations(";".join([*current["locations"], location]),
                                           region=settings.default_region, account=settings.default_account)
        assets.change(conn, current["asset_id"], locations=locations, current=current, reason=reason, **common)
        done = f"added {added[0][0]} to {current['asset_id']}"
    elif answer.option == UPDATE:
        current = _live_asset(conn, row["asset_id"])
        try:
            values = {"personal_data": _required_bool(params, "personal_data"),
                      "special_categories": assets.parse_categories(params.get("special_categories")),
                      "criminal_offence_data": bool(assets.parse_bool(params.get("criminal_offence_data")))}
        except ValueError as exc:
            raise TriageRefused(str(exc)) from None
        if not values["personal_data"] and (values["special_categories"] or values["criminal_offence_data"]):
            raise TriageRefused("personal_data: 'no', yet special categories or criminal offence data are given")
        changes = assets.change(conn, current["asset_id"], values=values, current=current, reason=reason, **common)
        done = f"updated {current['asset_id']}'s classification" if changes else "the asset already said so"
    else:  # RETIRE
        if not reason:
            raise TriageRefused(f"{RETIRE}: give a reason")
        current = _live_asset(conn, row["asset_id"])
        assets.change(conn, current["asset_id"], status="retired", current=current, reason=reason, **common)
        done = f"retired {current['asset_id']}"
    findings.set_status(conn, answer.finding_id, "resolved", by=answer.by, reason=reason or done,
                        cause_kind="triage", cause=cause)
    return {"finding_id": answer.finding_id, "outcome": done, "by": answer.by}


def _asked(conn: Connection, finding_id: int, run: str) -> bool:
    return conn.execute(select(history_table.c.entity_id).where(
        history_table.c.entity_kind == "finding", history_table.c.entity_id == str(finding_id),
        history_table.c.action == REQUESTED, history_table.c.cause == run)).first() is not None


def _live_asset(conn: Connection, asset_id: str | None) -> dict[str, Any]:
    if not asset_id:
        raise TriageRefused("asset_id: required")
    current = assets.get(conn, asset_id)
    if current is None:
        raise TriageRefused(f"asset_id: no asset {asset_id!r} in the register")
    if current["status"] == "retired":
        raise TriageRefused(f"asset_id: {asset_id} is retired")
    return current


def _required_bool(params: dict[str, Any], key: str) -> bool:
    value = assets.parse_bool(params.get(key))
    if value is None:
        raise ValueError(f"{key}: required (yes or no)")
    return value


def _location(params: dict[str, Any], row: dict[str, Any], settings: Settings) -> str:
    """The location to register: the form's, which must contain the finding's dataset."""
    dataset = DatasetId(row["namespace"] or "", row["name"] or "")
    text = params.get("location") or dataset.uri
    if ";" in text:
        raise TriageRefused("location: give one location")
    try:
        identity = parse_location(text, region=settings.default_region, account=settings.default_account)
    except LocationError as exc:
        raise TriageRefused(f"location: {exc}") from None
    if row["namespace"] is not None and not identity.covers(dataset):
        raise TriageRefused(f"location: {text} does not contain the dataset {dataset.uri}")
    return text
