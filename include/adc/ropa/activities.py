"""Processing activities: the validated record, and writing it with its history.

``ActivityRecord`` is the one definition of a valid activity: an import row, an approved change
and an export all go through it. Every write lands with a history row (adc.register.history) in
the same transaction, saying who changed what and why.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, field_validator
from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from adc.register import history
from adc.register.store import EVERYTHING, now
from adc.ropa.tables import ICO_TEMPLATE, activity_asset, processing_activity

ACTIVITY_ID = r"^PA-\d{3,}$"
ASSET_ID = re.compile(r"^IA-\d{4,}$")
# Airflow user ids as the auth managers issue them (simple auth manager user names, FAB ids, SSO subjects)
USER_ID = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$"
MAX_TEXT = 4000
MAX_RESPONSE_TIME = timedelta(days=366)
_DURATION = TypeAdapter(timedelta)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    return day + relativedelta(months=months)


def parse_response_time(value: str) -> timedelta:
    """An ISO 8601 duration (P14D, PT48H, PT2M) as a timedelta; ValueError if it is not one."""
    if not isinstance(value, str) or not value.strip().upper().startswith("P"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P14D (14 days) or PT48H (48 hours)")
    try:
        duration = _DURATION.validate_python(value.strip().upper())
    except ValidationError:
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P14D (14 days) or PT48H (48 hours)") from None
    if not timedelta(seconds=1) <= duration <= MAX_RESPONSE_TIME:
        raise ValueError(f"{value!r} must be between one second and {MAX_RESPONSE_TIME.days} days")
    return duration


class _ActivityBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    activity_id: str = Field(..., pattern=ACTIVITY_ID, description="The activity's id, PA-nnn.")
    name: str = Field(..., min_length=1, max_length=300, description="A short name people recognise.")
    owner: str = Field(..., pattern=USER_ID, description="The Airflow user id of the person who reviews it.")
    review_frequency_months: int = Field(
        12, ge=1, le=60, description="Months between reviews: 12 is common, 6 for high-risk processing."
    )
    response_time: str = Field(
        "P14D",
        description="How long the owner has to answer a review before it escalates to the data protection "
        "team (ISO 8601 duration: P14D, PT48H).",
    )
    last_reviewed: date | None = Field(None, description="When the record was last reviewed.")
    next_review_due: date | None = Field(
        None, description="When the next review is due; by default last_reviewed + frequency, or today."
    )
    status: Literal["active", "under_review", "retired"] | None = Field(
        None, description="active, under_review or retired; blank keeps the current status (new activities: active)."
    )
    approved_by: str | None = Field(None, max_length=200, description="Who last signed the record off.")
    # checked against organisations.yaml where a file sets it (exports.parse); a review cannot change it
    organisation: str | None = Field(
        None, max_length=40, description="The organisation in organisations.yaml whose activity it is; blank: the "
        "department."
    )
    linked_assets: list[str] = Field(
        default_factory=list, description="Register asset ids (IA-nnnn) whose data the activity processes."
    )

    @field_validator("response_time")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_response_time(value)
        return value.strip().upper()

    @field_validator("linked_assets", mode="before")
    @classmethod
    def _asset_list(cls, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = [part for part in re.split(r"[,;\s]+", value) if part]
        if not isinstance(value, list):
            raise ValueError("expected a list of asset ids such as IA-0001")
        bad = [str(v) for v in value if not isinstance(v, str) or not ASSET_ID.match(v.strip())]
        if bad:
            raise ValueError(f"not an asset id (IA-nnnn): {', '.join(bad)}")
        return sorted({v.strip() for v in value})


# The thirty ICO template columns, each described by its exact heading.
_ICO_FIELDS: dict[str, Any] = {
    name: (str | None, Field(None, max_length=MAX_TEXT, description=f"ICO column {letter}: {heading}"))
    for letter, name, heading in ICO_TEMPLATE
}
ActivityRecord = create_model(
    "ActivityRecord",
    __base__=_ActivityBase,
    __doc__="One processing activity: the ICO controller template's columns and what its review needs.",
    **_ICO_FIELDS,
)

# What an owner may propose to change in a review (status has its own option: Retire activity)
EDITABLE = (
    "name", "owner", "review_frequency_months", "response_time", "linked_assets", *(n for _, n, _ in ICO_TEMPLATE)
)
_COLUMNS = [c.name for c in processing_activity.c if c.name not in ("created_at", "updated_at")]


def validate(data: dict[str, Any]):
    """An ActivityRecord from plain data (ValidationError names the field)."""
    blanks_to_none = {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}
    return ActivityRecord.model_validate(blanks_to_none)


def revised(activity: dict[str, Any], values: dict[str, Any]):
    """The activity with ``values`` changed, validated as a whole record (ValidationError otherwise)."""
    return validate({**{k: activity[k] for k in (*_COLUMNS, "linked_assets")}, **values})


def _row(record, today: date) -> dict[str, Any]:
    row = record.model_dump(exclude={"linked_assets"})
    if row["next_review_due"] is None:
        row["next_review_due"] = (
            add_months(record.last_reviewed, record.review_frequency_months) if record.last_reviewed else today
        )
    return row


def get(conn: Connection, activity_id: str) -> dict[str, Any] | None:
    """One activity as a dict of its columns plus ``linked_assets``, or None."""
    row = conn.execute(
        select(processing_activity).where(processing_activity.c.activity_id == activity_id)
    ).mappings().first()
    if row is None:
        return None
    return {**row, "linked_assets": linked_assets(conn, activity_id)}


def all_activities(conn: Connection, *, include_retired: bool = True,
                   visible: ColumnElement[bool] = EVERYTHING) -> list[dict[str, Any]]:
    """The activities ``visible`` keeps (adc.visibility.activities for a person's view; by default every
    one), by id, each with its ``linked_assets``."""
    query = select(processing_activity).where(visible).order_by(processing_activity.c.activity_id)
    if not include_retired:
        query = query.where(processing_activity.c.status != "retired")
    links: dict[str, list[str]] = {}
    for activity_id, asset_id in conn.execute(
        select(activity_asset.c.activity_id, activity_asset.c.asset_id).order_by(activity_asset.c.asset_id)
    ):
        links.setdefault(activity_id, []).append(asset_id)
    return [{**row, "linked_assets": links.get(row["activity_id"], [])} for row in conn.execute(query).mappings()]


def linked_assets(conn: Connection, activity_id: str) -> list[str]:
    return list(
        conn.execute(
            select(activity_asset.c.asset_id)
            .where(activity_asset.c.activity_id == activity_id)
            .order_by(activity_asset.c.asset_id)
        ).scalars()
    )


def save(conn: Connection, record, *, actor: str, cause_kind: str, cause: str | None, today: date) -> str:
    """Create or update one activity with its history; returns created, updated or unchanged."""
    row = _row(record, today)
    before = get(conn, record.activity_id)
    if row["status"] is None:
        row["status"] = before["status"] if before else "active"
    at = now()
    if before is None:
        conn.execute(insert(processing_activity).values(**row, created_at=at, updated_at=at))
        _replace_links(conn, record.activity_id, record.linked_assets)
        history.record(conn, entity_kind="activity", entity_id=record.activity_id, action="created", actor=actor,
                       cause_kind=cause_kind, cause=cause,
                       changes=history.diff({}, {**row, "linked_assets": record.linked_assets}), at=at)
        return "created"
    changes = history.diff(before, {**row, "linked_assets": record.linked_assets})
    if not changes:
        return "unchanged"
    update_row(conn, record.activity_id, {k: v for k, v in row.items() if k in changes}, at=at)
    if "linked_assets" in changes:
        _replace_links(conn, record.activity_id, record.linked_assets)
    history.record(conn, entity_kind="activity", entity_id=record.activity_id, action="updated", actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)
    return "updated"


def change(
    conn: Connection, activity_id: str, values: dict[str, Any], *, action: str, actor: str, cause_kind: str,
    cause: str | None,
) -> dict[str, list[Any]]:
    """Change some fields of an existing activity (validated as a whole record) with history.

    Returns {field: [old, new]} for what actually changed; raises ValueError when the result is
    not a valid record (nothing is written then).
    """
    before = get(conn, activity_id)
    if before is None:
        raise ValueError(f"no processing activity {activity_id}")
    try:
        record = revised(before, values)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None
    after = record.model_dump()
    changes = history.diff(before, {k: after[k] for k in values})
    if not changes:
        return {}
    columns = {k: after[k] for k in changes if k != "linked_assets"}
    at = now()
    update_row(conn, activity_id, columns, at=at)
    if "linked_assets" in changes:
        _replace_links(conn, activity_id, after["linked_assets"])
    history.record(conn, entity_kind="activity", entity_id=activity_id, action=action, actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)
    return changes


def update_row(conn: Connection, activity_id: str, columns: dict[str, Any], *, at=None) -> None:
    conn.execute(
        update(processing_activity)
        .where(processing_activity.c.activity_id == activity_id)
        .values(**columns, updated_at=at or now())
    )


def _replace_links(conn: Connection, activity_id: str, asset_ids: list[str]) -> None:
    conn.execute(delete(activity_asset).where(activity_asset.c.activity_id == activity_id))
    if asset_ids:
        conn.execute(insert(activity_asset), [{"activity_id": activity_id, "asset_id": a} for a in asset_ids])


def field_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors as (field, problem) pairs in plain words."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "(record)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "not a field of a processing activity"
        parts.append((field, message))
    return parts


def describe_errors(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {message}" for field, message in field_errors(exc))
