"""The audit pack: one ZIP with the register, the RoPA, the review history and the findings as they
stood at a chosen moment, a README saying what each file is, and SHA-256 checksums of every file.

"As of" is a cutoff instant: a date means the end of that day (UTC), so everything recorded on
that date is in. Each part is rebuilt from what the register keeps:

- assets, processing activities, reviews and findings: their rows as they are now, minus those
  created after the cutoff, with every change recorded in ``history`` at or after the cutoff undone
  (history holds {field: [old, new]} for every change, whoever made it), so each value is the one it
  had at the cutoff;
- review questions (``review_step``): those issued before the cutoff; an answer recorded after it is
  left out (the question shows as pending), and the evidence pack each reviewer was shown is
  included as it was stored, so its checksum in the manifest equals the SHA-256 recorded when it was
  shown;
- history: every row before the cutoff, the audit trail itself.

What history does not version is said in the README: a finding's summary and evidence are its
latest (reconciliation refreshes them in place while the cause persists), and when a finding was
last seen is left out.

A pack is made for one reader (``Visible``): it holds only what they may see under organisations.yaml,
in every file, and its README and pack.json say whom it was prepared for and what it holds.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from sqlalchemy import Connection, Date, Engine, MappingResult, Table, select
from typing_extensions import Buffer

from adc import tabular
from adc.errors import AdcError
from adc.register import assets
from adc.register.tables import asset, finding, history
from adc.register.types import UTCDateTime
from adc.ropa import exports
from adc.ropa.activities import all_activities
from adc.ropa.tables import processing_activity, review, review_step
from adc.ui.visible import Visible

MANIFEST = "SHA256SUMS"

# What each file is (the README inside the pack, and docs/ui.md, say this).
FILES: dict[str, str] = {
    "README.txt": "this file: what the pack holds and what 'as of' means for each part",
    "pack.json": "when, by whom and for whom the pack was made, what it holds, the cutoff, and how many rows each "
                 "file holds",
    "register.csv": "the Information Asset Register as of the cutoff, in the columns of `adc register export` "
                    "(and `adc register import`)",
    "ropa.xlsx": "the Record of Processing Activities as of the cutoff in the ICO controller template's layout: "
                 "sheet 'Template' (columns A..AD, the ICO's headings), sheet 'ADC' (owner, review dates, status, "
                 "linked assets)",
    "ropa.csv": "the same RoPA as CSV: the ICO headings, then ADC's columns (importable with `adc ropa import`)",
    "reviews.csv": "every RoPA review cycle opened before the cutoff, with its status and outcome at the cutoff",
    "review_steps.csv": "every question put to a person in those reviews (owner review, DPO approval, escalation): "
                        "who was asked, when, the answer recorded before the cutoff, and the evidence file",
    "evidence/": "the review pack each person was shown, one Markdown file per question, exactly as stored; its "
                 "SHA-256 below equals the pack_sha256 recorded when it was shown",
    "findings.csv": "every finding reconciliation had raised by the cutoff, with its status, severity, reason, "
                    "acknowledgement and resolution at the cutoff",
    "history.csv": "the audit trail: every change to assets, findings, activities and reviews recorded before the "
                   "cutoff (who or what made it, why, and the fields changed as [old, new])",
    MANIFEST: "the SHA-256 checksum of every other file (check with `sha256sum -c SHA256SUMS`)",
}


class AuditPackError(AdcError):
    """An audit pack that cannot be made as asked (e.g. a date that is not a date)."""


def cutoff(as_of: str | date | datetime | None, *, now: datetime | None = None) -> datetime:
    """The instant "as of" means: the end of a date (UTC), a timestamp as given (UTC if it names no
    zone), or now. A cutoff in the future is now: nothing after now has happened."""
    now = now or datetime.now(UTC)
    if as_of is None or as_of == "":
        return now
    if isinstance(as_of, str):
        text = as_of.strip()
        problem = AuditPackError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD) or an ISO 8601 timestamp")
        if not (as_of.isascii() and as_of.isprintable()):  # a line break would reach the download's name
            raise problem
        try:
            as_of = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise problem from None
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    else:
        moment = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    return min(moment.astimezone(UTC), now)


# --------------------------------------------------------------------------- the state at the cutoff


def _changes_since(conn: Connection, entity_kind: str, at: datetime) -> list[dict[str, Any]]:
    """History rows of one kind at or after ``at``, newest first: the changes to undo."""
    query = (select(history.c.entity_id, history.c.changes).where(history.c.entity_kind == entity_kind,
                                                                  history.c.at >= at)
             .order_by(history.c.at.desc(), history.c.history_id.desc()))
    return [dict(r) for r in conn.execute(query).mappings()]


def _typed(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """History holds dates and times as ISO text: give undone values their column's type again."""
    for column in table.c:
        value = row.get(column.name)
        if isinstance(value, str):
            if isinstance(column.type, Date):
                row[column.name] = date.fromisoformat(value)
            elif isinstance(column.type, UTCDateTime):
                row[column.name] = datetime.fromisoformat(value)
    return row


def as_of(rows: Iterable[dict[str, Any]], key: str, changes: list[dict[str, Any]], table: Table,
          renames: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """``rows`` (current, each a dict) as they were before ``changes`` (newest first) were made."""
    by_id = {str(row[key]): row for row in rows}
    for change in changes:
        row = by_id.get(change["entity_id"])
        if row is None:
            continue
        for name, values in (change["changes"] or {}).items():
            name = (renames or {}).get(name, name)
            if name in row and isinstance(values, list) and len(values) == 2:
                row[name] = values[0]
    return [_typed(table, row) for row in by_id.values()]


def register_as_of(conn: Connection, at: datetime, visible: Visible) -> list[dict[str, Any]]:
    """Assets as ``assets.all_assets`` gives them, as they were at ``at``."""
    rows = [row for row in assets.all_assets(conn, visible=visible.assets) if row["created_at"] < at]
    return as_of(rows, "asset_id", _changes_since(conn, "asset", at), asset, renames={"location": "locations"})


def ropa_as_of(conn: Connection, at: datetime, visible: Visible) -> list[dict[str, Any]]:
    rows = [row for row in all_activities(conn, visible=visible.activities) if row["created_at"] < at]
    return as_of(rows, "activity_id", _changes_since(conn, "activity", at), processing_activity)


def reviews_as_of(conn: Connection, at: datetime, visible: Visible) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(select(review).where(review.c.opened_at < at, visible.reviews)
                                          .order_by(review.c.opened_at, review.c.review_id)).mappings()]
    return as_of(rows, "review_id", _changes_since(conn, "review", at), review)


ANSWER = ("answered_by", "answered_at", "option", "comment", "proposed_changes", "refusal", "recorded_at")


def review_steps_as_of(conn: Connection, at: datetime, visible: Visible) -> list[dict[str, Any]]:
    """Questions issued before ``at``; an answer recorded after it is left out (pending then). A question
    superseded by one issued after ``at`` was still pending at ``at``."""
    rows = [dict(r) for r in conn.execute(select(review_step).where(review_step.c.issued_at < at, visible.review_steps)
                                          .order_by(review_step.c.issued_at, review_step.c.step_id)).mappings()]
    issued = {(r["review_id"], r["kind"], r["attempt"]): r["issued_at"] for r in rows}
    for row in rows:
        if row["recorded_at"] is not None and row["recorded_at"] >= at:
            row.update(dict.fromkeys(ANSWER), status="pending")
        if row["status"] == "superseded" and (row["review_id"], row["kind"], row["attempt"] + 1) not in issued:
            row["status"] = "pending"
    return rows


def findings_as_of(conn: Connection, at: datetime, visible: Visible) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(select(finding).where(finding.c.first_seen_at < at, visible.findings)
                                          .order_by(finding.c.finding_id)).mappings()]
    result = []
    for row in as_of(rows, "finding_id", _changes_since(conn, "finding", at), finding):
        if row["status"] is None:
            continue  # opened by a reconciliation after the cutoff
        for prefix in ("acknowledged", "resolved"):
            if row[f"{prefix}_at"] is not None and row[f"{prefix}_at"] >= at:
                row[f"{prefix}_at"] = row[f"{prefix}_by"] = None
        result.append(row)
    return result


# --------------------------------------------------------------------------- writing the pack


def _cell(value: Any) -> Any:
    """Structures (history's changes, a finding's evidence) as JSON; adc.tabular writes the rest."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


@dataclass
class _Pack:
    """A ZIP being written: every file's SHA-256 and row count as it goes in."""

    archive: zipfile.ZipFile
    stamp: tuple[int, int, int, int, int, int]
    sums: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, data: bytes, rows: int | None = None) -> None:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(info, data)
        self.sums[name] = hashlib.sha256(data).hexdigest()
        if rows is not None:
            self.rows[name] = rows

    @contextmanager
    def text(self, name: str) -> Iterator[io.TextIOWrapper]:
        """A text file written straight into the archive (history can be long), hashed on the way."""
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        with self.archive.open(info, "w", force_zip64=True) as raw:
            hashing = io.BufferedWriter(_Hashing(raw, digest))
            with io.TextIOWrapper(hashing, encoding="utf-8", newline="") as handle:
                yield handle
        self.sums[name] = digest.hexdigest()

    def table(self, name: str, columns: list[str], rows: Iterable[Mapping[str, Any]] | MappingResult) -> None:
        with self.text(name) as handle:
            self.rows[name] = tabular.write_csv(handle, columns, ([_cell(row.get(c)) for c in columns] for row in rows))


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes what passes through it."""

    def __init__(self, raw: IO[bytes], digest: hashlib._Hash) -> None:
        self._raw, self._digest = raw, digest

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        self._digest.update(data)
        return self._raw.write(data)


REVIEW_COLUMNS = ["review_id", "activity_id", "cycle_due", "status", "opened_at", "closed_at", "outcome",
                  "answered_by", "approved_by", "reasons", "proposed_changes", "applied_changes", "note"]
STEP_COLUMNS = ["step_id", "review_id", "kind", "attempt", "follows", "assigned_to", "subject", "issued_at",
                "deadline", "status", "answered_by", "answered_at", "option", "comment", "proposed_changes",
                "refusal", "recorded_at", "pack_sha256", "evidence_file", "dag_id", "dag_run_id", "task_id",
                "map_index"]
FINDING_COLUMNS = ["finding_id", "kind", "subject", "severity", "status", "asset_id", "source", "namespace", "name",
                   "first_seen_at", "first_seen_run", "acknowledged_by", "acknowledged_at", "reason", "resolved_by",
                   "resolved_at", "summary", "evidence"]
HISTORY_COLUMNS = ["history_id", "at", "entity_kind", "entity_id", "action", "actor", "cause_kind", "cause",
                   "changes"]


def evidence_file(step_id: str) -> str:
    """Where a question's pack goes: evidence/<review>/<kind>-<attempt>.md (step ids are review/kind/attempt)."""
    review_id, kind, attempt = step_id.rsplit("/", 2)
    return f"evidence/{review_id}/{kind}-{attempt}.md"


def build(engine: Engine, out: IO[bytes], *, at: datetime, generated_by: str, visible: Visible,
          requested: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Write the audit pack as of ``at`` (see ``cutoff``) to ``out``, holding what ``visible`` lets its
    reader see; returns what pack.json says, and each file's checksum under "files".

    Everything is read in one transaction (on PostgreSQL a repeatable-read snapshot; on SQLite the
    transaction's own), so the files agree with each other.
    """
    generated_at = now or datetime.now(UTC)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            pack = _Pack(archive, generated_at.timetuple()[:6])
            rows = _write_parts(conn, pack, at, visible)
            info = {
                "as_of": at.isoformat(),
                "as_of_requested": requested or at.isoformat(),
                "generated_at": generated_at.isoformat(),
                "generated_by": generated_by,
                "prepared_for": visible.reader,  # null: the register's operator
                "holds": visible.holds,
                "register_database": conn.dialect.name,
                "rows": dict(sorted(pack.rows.items())),
                "evidence_files": rows,
            }
            pack.add("pack.json", (json.dumps(info, indent=2) + "\n").encode("utf-8"))
            pack.add("README.txt", readme(info).encode("utf-8"))
            archive.writestr(zipfile.ZipInfo(MANIFEST, date_time=pack.stamp),
                             "".join(f"{digest}  {name}\n" for name, digest in sorted(pack.sums.items())))
    return {**info, "files": dict(sorted(pack.sums.items()))}


def _write_parts(conn: Connection, pack: _Pack, at: datetime, visible: Visible) -> int:
    """The register, the RoPA, the reviews with their evidence, the findings and the history, as of ``at``
    and as far as ``visible`` lets its reader see; returns how many evidence files went in."""
    with pack.text("register.csv") as handle:
        pack.rows["register.csv"] = assets.write_csv_rows(assets.rows_of(register_as_of(conn, at, visible)), handle)
    ropa = ropa_as_of(conn, at, visible)
    workbook = io.BytesIO()
    exports.to_xlsx(ropa, workbook)
    pack.add("ropa.xlsx", workbook.getvalue(), rows=len(ropa))
    pack.add("ropa.csv", exports.to_csv(ropa, adc_columns=True).encode("utf-8"), rows=len(ropa))
    pack.table("reviews.csv", REVIEW_COLUMNS, reviews_as_of(conn, at, visible))
    steps = review_steps_as_of(conn, at, visible)
    for step in steps:
        step["evidence_file"] = evidence_file(step["step_id"])
    pack.table("review_steps.csv", STEP_COLUMNS, steps)
    for step in steps:
        pack.add(step["evidence_file"], step["pack"].encode("utf-8"))
    pack.table("findings.csv", FINDING_COLUMNS, findings_as_of(conn, at, visible))
    trail = select(history).where(history.c.at < at, visible.history).order_by(history.c.at, history.c.history_id)
    pack.table("history.csv", HISTORY_COLUMNS, conn.execute(trail.execution_options(yield_per=2000)).mappings())
    return len(steps)


def readme(info: Mapping[str, Any]) -> str:
    reader = info["prepared_for"] or "the register's operator"
    lines = [
        "ADC audit pack",
        "==============",
        "",
        f"As of:        {info['as_of']} (asked for: {info['as_of_requested']})",
        f"Generated:    {info['generated_at']} by {info['generated_by']}",
        "",
        f"Prepared for {reader}: it holds {info['holds']}.",
        "What its reader may not see is left out of every file, history and evidence included, as if it did",
        "not exist; an item's organisation and marking as they are now decide who may see it",
        "(docs/organisations.md).",
        "",
        "Everything here is the register as it stood at the cutoff above. A date means the end of that",
        "day in UTC: everything recorded on that date is included. Rows created after the cutoff are left",
        "out, and every change the register's history records at or after the cutoff is undone, so each",
        "value is the one it had then. Review answers recorded after the cutoff are left out (the question",
        "shows as pending). Not versioned by the history, and so shown as they are now: a finding's summary",
        "and evidence (reconciliation refreshes them while the cause persists). When a finding was last seen",
        "is not included.",
        "",
        "Files",
        "-----",
    ]
    for name, text in FILES.items():
        lines.append(f"{name:<18} {text}")
    lines += ["", "Rows per file: " + ", ".join(f"{name} {n}" for name, n in info["rows"].items()),
              f"Evidence files: {info['evidence_files']}", ""]
    return "\n".join(lines)


def verify(data: bytes) -> list[str]:
    """Problems with a pack: files whose checksum differs from the manifest, files missing from it.
    An empty list means every file matches."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist()) - {MANIFEST}
        listed = {}
        for line in archive.read(MANIFEST).decode("utf-8").splitlines():
            digest, _, name = line.partition("  ")
            listed[name] = digest
        for name in sorted(names | set(listed)):
            if name not in listed:
                problems.append(f"{name}: not in {MANIFEST}")
            elif name not in names:
                problems.append(f"{name}: in {MANIFEST} but not in the pack")
            elif hashlib.sha256(archive.read(name)).hexdigest() != listed[name]:
                problems.append(f"{name}: checksum differs from {MANIFEST}")
    return problems
