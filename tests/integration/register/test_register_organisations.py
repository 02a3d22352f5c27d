"""Every asset belongs to an organisation: the register file's `organisation` column (all or nothing on
import, written on export), and `adc register export --as` / `adc findings --as` show each person only
what the one visibility rule lets them see (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from adc.cli import main
from adc.errors import ImportFileError
from adc.register import assets, history
from adc.register.tables import asset, finding, observed_dataset
from adc.register.tables import history as history_table
from tests.support.organisations import declare, organisations_yaml, undeclare

ORGANISATIONS = organisations_yaml(
    "{user: victor, organisations: [dept], clearance: OFFICIAL-SENSITIVE}",
    "{user: rita, organisations: [cra]}",
    "{user: sam, organisations: [psu], clearance: TOP SECRET}",
)
HEADER = "asset_id,name,owner,classification,personal_data,organisation,location\n"
ROWS = [
    "IA-0001,Casework,alice,OFFICIAL,yes,,s3://dept-casework\n",  # empty: the department
    "IA-0002,Appeals,alice,OFFICIAL-SENSITIVE,yes,dept,s3://dept-appeals\n",
    "IA-0003,Watch list,alice,SECRET,yes,dept,s3://dept-watch\n",
    "IA-0004,Agency registrations,rita,OFFICIAL,yes,cra,s3://cra-registrations\n",
    "IA-0005,Protective operations,sam,OFFICIAL,no,psu,s3://psu-operations\n",
]
SEEN = {  # who sees which of ROWS: their organisations and below (psu is sealed), up to their clearance
    None: ["IA-0001", "IA-0002", "IA-0003", "IA-0004", "IA-0005"],
    "victor": ["IA-0001", "IA-0002", "IA-0004"],
    "rita": ["IA-0004"],
    "sam": ["IA-0005"],
    "mallory": [],  # not in the file: nothing
}


def declare_organisations(tmp_path, monkeypatch) -> None:
    """The department, its agency and its sealed unit (organisations.yaml through ADC_ORGANISATIONS)."""
    declare(tmp_path, monkeypatch, ORGANISATIONS)


@pytest.fixture
def organised(register, tmp_path, monkeypatch):
    """The register with ROWS imported under the organisations above."""
    declare_organisations(tmp_path, monkeypatch)
    assets.import_file(register, write(tmp_path, *ROWS), actor="dana")
    return register


def write(tmp_path, *rows: str, name: str = "register.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_organisation_is_stored_exported_and_imports_back_unchanged(organised, tmp_path, capsys):
    with organised.connect() as conn:
        stored = {a["asset_id"]: a["organisation"] for a in assets.all_assets(conn)}
    assert stored == {"IA-0001": None, "IA-0002": "dept", "IA-0003": "dept", "IA-0004": "cra", "IA-0005": "psu"}

    code, out, _ = run(capsys, "register", "export", "--format", "csv")
    exported = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["asset_id"]: r["organisation"] for r in exported} == {
        "IA-0001": "", "IA-0002": "dept", "IA-0003": "dept", "IA-0004": "cra", "IA-0005": "psu"}
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"export.{fmt}"
        assert run(capsys, "register", "export", "--format", fmt, "-o", str(path))[0] == 0
        assert assets.import_file(organised, path).to_dict() == {"created": 0, "updated": 0, "unchanged": 5,
                                                                 "retired": 0}


def test_a_changed_organisation_is_a_history_row_like_any_other_field(organised, tmp_path):
    moved = ROWS[3].replace(",cra,", ",psu,")
    assert assets.import_file(organised, write(tmp_path, moved, name="moved.csv"), actor="erin").updated == 1
    with organised.connect() as conn:
        created, update = history.of(conn, "asset", "IA-0004")
    assert created["changes"]["organisation"] == [None, "cra"]
    assert (update["actor"], update["cause"], update["changes"]) == ("erin", "moved.csv",
                                                                     {"organisation": ["cra", "psu"]})


def test_an_unknown_organisation_imports_nothing_and_names_row_and_column(register, tmp_path, monkeypatch, capsys):
    declare_organisations(tmp_path, monkeypatch)
    path = write(tmp_path, ROWS[0], ROWS[1].replace(",dept,", ",nowhere,"), *ROWS[2:])
    with pytest.raises(ImportFileError) as caught:
        assets.import_file(register, path)
    assert caught.value.problems == ["row 3, column organisation: unknown organisation 'nowhere' "
                                     "(have: dept, cra, psu)"]
    assert count(register, asset) == 0 and count(register, history_table) == 0

    code, _, err = run(capsys, "register", "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nothing imported: row 3, column organisation: unknown organisation 'nowhere'" in err
    assert count(register, asset) == 0


def test_without_organisations_yaml_naming_any_organisation_is_refused(register, tmp_path, monkeypatch):
    undeclare(tmp_path, monkeypatch)
    with pytest.raises(ImportFileError) as caught:
        assets.import_file(register, write(tmp_path, *ROWS))
    assert caught.value.problems[0] == ("row 3, column organisation: unknown organisation 'dept' "
                                        "(have: none: there is no organisations.yaml)")
    assert len(caught.value.problems) == 4 and count(register, asset) == 0
    assert assets.import_file(register, write(tmp_path, ROWS[0])).created == 1  # empty: the department


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_as_a_person_holds_only_the_assets_they_may_see(organised, capsys, fmt):
    for user, expected in SEEN.items():
        code, out, _ = run(capsys, "register", "export", "--format", fmt, *(("--as", user) if user else ()))
        rows = json.loads(out) if fmt == "json" else list(csv.DictReader(io.StringIO(out)))
        assert code == 0 and [r["asset_id"] for r in rows] == expected, user
    code, out, _ = run(capsys, "register", "export", "--as", "victor")
    assert code == 0 and "psu" not in out and "SECRET" not in out


def test_an_xlsx_export_as_a_person_holds_only_theirs(organised, tmp_path, capsys):
    path = tmp_path / "victor.xlsx"
    code, _, err = run(capsys, "register", "export", "--format", "xlsx", "-o", str(path), "--as", "victor")
    assert code == 0 and err.startswith("3 assets written")
    assert assets.import_file(organised, path).to_dict() == {"created": 0, "updated": 0, "unchanged": 3,
                                                             "retired": 0}


def _finding(engine, kind: str, *, asset_id: str | None = None, namespace: str | None = None,
             name: str | None = None) -> None:
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(finding).values(
            kind=kind, subject=f"{asset_id or namespace}/{name or ''}/{kind}", severity="medium", status="open",
            asset_id=asset_id, namespace=namespace, name=name, summary=f"about {asset_id or name}",
            first_seen_run="test", first_seen_at=at, last_seen_run="test", last_seen_at=at))


def _dataset(engine, namespace: str, name: str, organisation: str, marking: str | None = None) -> None:
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(observed_dataset).values(
            namespace=namespace, name=name, service="s3", source="test", scope=namespace, kind="table", format="csv",
            classification="none", personal_data=False, content_hash="test", organisation=organisation,
            marking=marking, record={"id": {"namespace": namespace, "name": name}},
            first_seen_run="test", first_seen_at=at, last_seen_run="test", last_seen_at=at))


def test_findings_as_a_person_list_only_what_they_may_see(organised, capsys):
    for asset_id in SEEN[None]:
        _finding(organised, "owner_mismatch", asset_id=asset_id)
    _dataset(organised, "s3://psu-drop", "intercepts", "psu")
    _finding(organised, "unregistered_dataset", namespace="s3://psu-drop", name="intercepts")
    _dataset(organised, "s3://cra-drop", "forms", "cra")
    _finding(organised, "unregistered_dataset", namespace="s3://cra-drop", name="forms")

    def listed(*as_user: str) -> list[str]:
        code, out, _ = run(capsys, "findings", "--json", *(("--as", *as_user) if as_user else ()))
        assert code == 0
        return sorted(f["asset_id"] or f["name"] for f in json.loads(out))

    assert listed() == [*SEEN[None], "forms", "intercepts"]
    assert listed("victor") == [*SEEN["victor"], "forms"]
    assert listed("rita") == ["IA-0004", "forms"]
    assert listed("sam") == ["IA-0005", "intercepts"]
    assert listed("mallory") == []

    code, out, err = run(capsys, "findings", "--as", "victor")
    assert code == 0 and "psu" not in out and "IA-0003" not in out and err.strip() == "4 finding(s)"
