"""The audit pack on a fresh register (SQLite and PostgreSQL): as of a moment, each part is what the
register said at that moment; the checksums hold; the CLI writes the same pack."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest

from adc.demo import ropa as demo_ropa
from adc.demo.content import ROPA_CSV
from adc.register import assets, findings, reconcile
from adc.register.store import now
from adc.ropa import activities, exports
from adc.ropa.forms import CONFIRM
from adc.ropa.outcomes import Answer, record
from adc.ropa.reviews import issue
from adc.ui import audit
from adc.ui.visible import EVERYTHING
from tests.support.register_staging import bucket_scope, demo_register, demo_units, harvest, s3
from tests.support.register_staging import register as register_assets


def _pack(engine, at: datetime) -> dict[str, bytes]:
    out = io.BytesIO()
    audit.build(engine, out, at=at, generated_by="auditor", visible=EVERYTHING)
    assert audit.verify(out.getvalue()) == []
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _findings(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {str(f["finding_id"]): (f["status"], f["severity"], f["reason"], f["acknowledged_by"], f["resolved_by"])
                for f in findings.list_findings(conn)}


def _pack_findings(files: dict[str, bytes]) -> dict[str, tuple]:
    rows = csv.DictReader(io.StringIO(files["findings.csv"].decode()))
    return {r["finding_id"]: (r["status"], r["severity"], r["reason"] or None, r["acknowledged_by"] or None,
                              r["resolved_by"] or None) for r in rows}


def _by(files: dict[str, bytes], name: str, key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in csv.DictReader(io.StringIO(files[name].decode()))}


def _ropa_csv(engine) -> str:
    with engine.connect() as conn:
        return exports.to_csv(activities.all_activities(conn), adc_columns=True)


@pytest.fixture
def lived_in(register):
    """A register with a past: loaded, harvested and reconciled, then (after ``then``) changed every way
    the record changes: an import, a retirement, an acknowledgement, reviews answered, a new harvest."""
    demo_register(register)
    demo_ropa.load(register, ROPA_CSV, today=date.today())
    harvest(register, *demo_units())
    reconcile.reconcile(register)
    then = {"at": now(), "register": assets.export_text(register, "csv"), "ropa": _ropa_csv(register),
            "findings": _findings(register)}
    register_assets(register, {"asset_id": "IA-0001", "name": "Applications", "location": "s3://apps; s3://apps-archive",
                        "personal_data": "yes", "owner": "dana", "retention_schedule": "RS-01"},
             {"asset_id": "IA-0050", "name": "Legal holds", "location": "s3://legal", "personal_data": "yes",
              "status": "retired"},
             {"asset_id": "IA-0099", "name": "Sandbox", "location": "s3://sandbox", "personal_data": "yes"})
    owner_mismatch = next(k for k, v in then["findings"].items() if v[0] == "open" and v[1] == "low")
    findings.acknowledge(register, int(owner_mismatch), reason="HR owns the tag", by="dana")
    [asked] = [q for q in issue(register, dag_run_id="audit-test", team=("dana", "erin"))
               if q["review_label"].startswith("PA-004")]
    record(register, Answer(step_id=asked["step_id"], option=CONFIRM, params={"comment": "still right"},
                            responded_by="carol", responded_at=datetime.now(UTC)), team=("dana", "erin"))
    harvest(register, *demo_units(ghost=(bucket_scope("ghost"), [s3("ghost", "index", "id")])))
    reconcile.reconcile(register)
    return register, then


def test_as_of_a_past_moment_each_part_is_what_the_register_said_then(lived_in):
    engine, then = lived_in
    files = _pack(engine, then["at"])
    assert files["register.csv"].decode() == then["register"]
    assert files["ropa.csv"].decode() == then["ropa"]
    assert _pack_findings(files) == then["findings"]
    assert files["reviews.csv"].decode().count("\n") == 1 and files["review_steps.csv"].decode().count("\n") == 1
    trail = list(csv.DictReader(io.StringIO(files["history.csv"].decode())))
    assert trail and all(datetime.fromisoformat(row["at"]) < then["at"] for row in trail)
    info = json.loads(files["pack.json"])
    assert info["as_of"] == then["at"].isoformat() and info["generated_by"] == "auditor"
    assert info["rows"]["register.csv"] == 7 and info["rows"]["history.csv"] == len(trail)


def test_as_of_now_the_pack_is_the_register_as_it_is(lived_in):
    engine, then = lived_in
    files = _pack(engine, audit.cutoff(None))
    assert files["register.csv"].decode() == assets.export_text(engine, "csv")
    assert files["ropa.csv"].decode() == _ropa_csv(engine)
    assert _pack_findings(files) == _findings(engine) != then["findings"]
    review = _by(files, "reviews.csv", "activity_id")["PA-004"]
    assert (review["status"], review["outcome"]) == ("completed", "confirmed")
    step = _by(files, "review_steps.csv", "answered_by")["carol"]
    assert (step["option"], step["comment"], step["status"]) == (CONFIRM, "still right", "answered")
    evidence = files[step["evidence_file"]]
    assert hashlib.sha256(evidence).hexdigest() == step["pack_sha256"]  # the evidence as it was shown
    assert "Review of PA-004" in evidence.decode()
    readme = files["README.txt"].decode()
    assert "end of that" in readme and all(name in readme for name in audit.FILES)


def test_a_review_answered_after_the_cutoff_shows_as_pending(lived_in):
    engine, _ = lived_in
    from sqlalchemy import select

    from adc.ropa.tables import review_step

    with engine.connect() as conn:
        step = conn.execute(select(review_step).where(review_step.c.answered_by == "carol")).mappings().one()
    files = _pack(engine, step["recorded_at"] - timedelta(microseconds=1))
    row = _by(files, "review_steps.csv", "step_id")[step["step_id"]]
    assert (row["status"], row["answered_by"], row["comment"]) == ("pending", "", "")
    review = _by(files, "reviews.csv", "activity_id")["PA-004"]
    assert review["status"] == "open" and review["outcome"] == ""
    ropa = {r["Activity ID"]: r for r in csv.DictReader(io.StringIO(files["ropa.csv"].decode()))}
    assert ropa["PA-004"]["Status"] == "under_review"


def test_a_tampered_pack_is_caught():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("register.csv", "asset_id\n")
        archive.writestr("extra.txt", "x")
        archive.writestr(audit.MANIFEST, f"{'0' * 64}  register.csv\n{'1' * 64}  gone.csv\n")
    assert audit.verify(out.getvalue()) == [
        "extra.txt: not in SHA256SUMS", "gone.csv: in SHA256SUMS but not in the pack",
        "register.csv: checksum differs from SHA256SUMS"]


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2026-03-10", datetime(2026, 3, 11, tzinfo=UTC)),  # the end of the day
    ("2026-03-10T09:30:00", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
    ("2026-03-10T09:30:00+01:00", datetime(2026, 3, 10, 8, 30, tzinfo=UTC)),
    ("2999-01-01", datetime(2030, 1, 1, tzinfo=UTC)),  # the future is now
])
def test_as_of_means_the_end_of_the_day_or_the_moment(as_of, expected):
    assert audit.cutoff(as_of, now=datetime(2030, 1, 1, tzinfo=UTC)) == expected


def test_the_cli_writes_the_pack_and_names_a_bad_date(tmp_path):
    from adc.register.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'register.db'}"  # the CLI's part is the same on both databases
    register = make_engine(url)
    migrate(register)
    demo_register(register)
    output = tmp_path / "pack.zip"
    env = {"PATH": "/usr/bin:/bin", "ADC_REGISTER_URL": url, "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "adc.cli", "audit-pack", "--output", str(output), "--by", "victor"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "register.csv 7" in result.stderr and "written to" in result.stderr
    assert audit.verify(output.read_bytes()) == []
    with zipfile.ZipFile(output) as archive:
        assert archive.read("register.csv").decode() == assets.export_text(register, "csv")
    bad = subprocess.run([sys.executable, "-m", "adc.cli", "audit-pack", "--as-of", "31/12/2025", "-o",
                          str(tmp_path / "bad.zip")], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "adc: error: --as-of '31/12/2025' is not a date (YYYY-MM-DD) or an ISO 8601 timestamp"]
    assert not list(tmp_path.glob("bad.zip*"))
