"""The RoPA at scale: 2,000 processing activities over 6,000 assets, all due for review.

On a SQLite register: import the RoPA from CSV (validated, with history), list what is due, open
every review (a pack built from the register per activity: its assets, what the last harvest found
in them, the open findings), record an answer to each, and export in the ICO layout (XLSX). Each
step runs in its own process (`python -m bench.ropa worker STEP ...`), so its wall time and peak
RSS are its own. Baselines in the same run: reading the same CSV with the csv module (for the
import) and writing the same rows with openpyxl alone (for the export).

`python -m bench ropa [--quick]` writes the table to docs/benchmarks.md.
"""

from __future__ import annotations

import csv
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import OUT, measure, table

ACTIVITIES, QUICK_ACTIVITIES = 2000, 200
ASSETS_PER_ACTIVITY = 3
TEAM = ("dana", "erin")


def _register(url: str, activities: int) -> None:
    """Assets with one location, one observed dataset each, and a finding on every tenth."""
    from sqlalchemy import insert

    from adc.register.db import make_engine, migrate
    from adc.register.tables import asset, asset_location, finding, observed_dataset

    engine = make_engine(url)
    migrate(engine)
    at = datetime.now(UTC)
    count = activities * ASSETS_PER_ACTIVITY
    with engine.begin() as conn:
        conn.execute(insert(asset), [
            {"asset_id": f"IA-{i:06d}", "name": f"Asset {i}", "owner": f"owner{i % 50}", "personal_data": True,
             "status": "active", "retention_schedule": "RS-01", "created_at": at, "updated_at": at}
            for i in range(count)])
        conn.execute(insert(asset_location), [
            {"asset_id": f"IA-{i:06d}", "uri": f"s3://bench-{i:06d}", "namespace": f"s3://bench-{i:06d}", "name": ""}
            for i in range(count)])
        conn.execute(insert(observed_dataset), [
            {"namespace": f"s3://bench-{i:06d}", "name": "table", "service": "s3", "source": "bench",
             "scope": f"bench-{i:06d}", "kind": "table", "format": "parquet", "classification": "personal",
             "personal_data": True, "content_hash": "x", "record": {"tags": {}}, "first_seen_run": "r",
             "first_seen_at": at, "last_seen_run": "r", "last_seen_at": at} for i in range(count)])
        conn.execute(insert(finding), [
            {"kind": "classification_mismatch", "subject": f"IA-{i:06d}", "severity": "high", "status": "open",
             "asset_id": f"IA-{i:06d}", "summary": "health column", "first_seen_run": "r", "first_seen_at": at,
             "last_seen_run": "r", "last_seen_at": at} for i in range(0, count, 10)])
    engine.dispose()


def _ropa_csv(path: Path, activities: int) -> None:
    from adc.ropa.exports import ADC_COLUMNS
    from adc.ropa.tables import ICO_TEMPLATE

    last = (date.today() - timedelta(days=800)).isoformat()  # every activity overdue
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([h for _, _, h in ICO_TEMPLATE] + [h for _, h in ADC_COLUMNS])
        for n in range(activities):
            ico = [f"{heading.split(' (')[0]} of activity {n}" for _, _, heading in ICO_TEMPLATE]
            assets = ", ".join(f"IA-{n * ASSETS_PER_ACTIVITY + k:06d}" for k in range(ASSETS_PER_ACTIVITY))
            writer.writerow(ico + [f"PA-{n + 1:04d}", f"Activity {n}", f"owner{n % 50}", 12, "P14D", last, "",
                                   "", "dana", assets])


def worker(step: str, url: str, path: str) -> None:
    from adc.register.db import make_engine

    engine = make_engine(url)
    if step == "import":
        from adc.ropa import exports

        print(exports.import_file(engine, Path(path), actor="bench"))
    elif step == "due":
        from adc.ropa.schedule import as_of, candidates

        today, at = as_of()
        with engine.connect() as conn:
            print(len(candidates(conn, today=today, at=at)))
    elif step == "issue":
        from adc.ropa.reviews import issue

        print(len(issue(engine, dag_run_id="bench", team=TEAM)))
    elif step == "record":
        from adc.ropa.forms import CONFIRM
        from adc.ropa.outcomes import Answer, record
        from adc.ropa.reviews import questions

        with engine.connect() as conn:
            asked = questions(conn, "bench")
        for question in asked:
            owner = question["assigned_users"][0]["id"]
            record(engine, Answer(question["step_id"], CONFIRM, {}, owner, datetime.now(UTC)), team=TEAM)
        print(len(asked))
    elif step == "export":
        from adc.ropa import activities, exports

        with engine.connect() as conn:
            exports.to_xlsx(activities.all_activities(conn), Path(path))
    elif step == "baseline-read":
        with open(path, newline="", encoding="utf-8") as handle:
            print(sum(1 for _ in csv.DictReader(handle)))
    elif step == "baseline-write":
        from openpyxl import Workbook

        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        workbook = Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(Path(path).with_suffix(".baseline.xlsx"))


def run(quick: bool) -> str:
    activities = QUICK_ACTIVITIES if quick else ACTIVITIES
    work = OUT / "ropa"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    url = f"sqlite:///{work / 'register.db'}"
    source = work / "ropa.csv"
    _register(url, activities)
    _ropa_csv(source, activities)

    def step(name: str, path: Path = source):
        return measure([sys.executable, "-m", "bench.ropa", "worker", name, url, str(path)])

    baseline_read = step("baseline-read")
    imported = step("import")
    due = step("due")
    issued = step("issue")
    recorded = step("record")
    baseline_write = step("baseline-write")
    exported = step("export", work / "ropa.xlsx")
    rows = [
        ["csv module: read the file (baseline)", baseline_read.seconds, "", baseline_read.peak_rss_mb, "1.0"],
        ["adc ropa import (validated, history)", imported.seconds, imported.seconds / activities * 1000,
         imported.peak_rss_mb, f"{imported.ratio_to(baseline_read):.1f}"],
        ["adc ropa due (all overdue, 10% touched)", due.seconds, due.seconds / activities * 1000, due.peak_rss_mb, ""],
        ["open every review, with its pack", issued.seconds, issued.seconds / activities * 1000,
         issued.peak_rss_mb, ""],
        ["record a confirmation to each", recorded.seconds, recorded.seconds / activities * 1000,
         recorded.peak_rss_mb, ""],
        ["openpyxl: write the rows (baseline)", baseline_write.seconds, "", baseline_write.peak_rss_mb, "1.0"],
        ["adc ropa export --format xlsx", exported.seconds, exported.seconds / activities * 1000,
         exported.peak_rss_mb, f"{exported.ratio_to(baseline_write):.1f}"],
    ]
    intro = (f"## RoPA\n\n{activities:,} processing activities over {activities * ASSETS_PER_ACTIVITY:,} assets "
             f"(one location and one observed dataset each, a finding on every tenth), all overdue; SQLite "
             "register. Each step in its own process.\n\n")
    return intro + table(["step", "seconds", "ms per activity", "peak RSS MB", "x baseline"], rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:5])
