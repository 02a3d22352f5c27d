"""Importing and exporting the register (SQLite and PostgreSQL): all or nothing, idempotent,
history for every change, and export -> import round trips in CSV and XLSX."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from adc.errors import ImportFileError
from adc.register import assets, history
from adc.register.tables import asset, asset_location
from adc.register.tables import history as history_table

HEADER = ("asset_id,name,description,location,owner,classification,personal_data,special_categories,"
          "retention_schedule,disposal_action,key_asset,status,last_reviewed\n")
ROWS = [
    "IA-0001,Residency applications (raw),=formula-looking text,s3://dcr-prod-applications-raw,alice,"
    "OFFICIAL-SENSITIVE,yes,,RS-01,destroy,no,,2024-03-01\n",
    'IA-0003,Biometric enrolments,"Fingerprints, faces",s3://dcr-prod-biometric-enrolment; glue://biometrics_meta,'
    "bob,OFFICIAL-SENSITIVE,yes,biometric,RS-02,,yes,,\n",
]


def write(tmp_path, *rows: str, name: str = "register.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_import_creates_assets_with_history(register, tmp_path):
    result = assets.import_file(register, write(tmp_path, *ROWS), actor="dana")
    assert result.to_dict() == {"created": 2, "updated": 0, "unchanged": 0, "retired": 0}
    with register.connect() as conn:
        bio = assets.get(conn, "IA-0003")
        (created,) = history.of(conn, "asset", "IA-0003")
    assert bio["locations"] == ["s3://dcr-prod-biometric-enrolment", "glue://biometrics_meta"]
    assert bio["key_asset"] is True and bio["status"] == "active"
    assert (created["action"], created["actor"], created["cause_kind"], created["cause"]) == (
        "created", "dana", "import", "register.csv")
    assert created["changes"]["special_categories"] == [None, "biometric"]


def test_reimporting_the_same_file_changes_nothing(register, tmp_path):
    path = write(tmp_path, *ROWS)
    assets.import_file(register, path)
    with register.connect() as conn:
        before = [tuple(r) for r in conn.execute(select(asset).order_by(asset.c.asset_id))]
    assert assets.import_file(register, path).to_dict() == {"created": 0, "updated": 0, "unchanged": 2, "retired": 0}
    with register.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(asset).order_by(asset.c.asset_id))] == before
    assert count(register, history_table) == 2


def test_a_changed_value_is_one_history_row_with_the_difference(register, tmp_path):
    assets.import_file(register, write(tmp_path, *ROWS))
    changed = ROWS[1].replace("bob,", "carol,").replace("; glue://biometrics_meta", "")
    result = assets.import_file(register, write(tmp_path, ROWS[0], changed, name="v2.csv"), actor="erin")
    assert result.updated == 1 and result.unchanged == 1
    with register.connect() as conn:
        update = history.of(conn, "asset", "IA-0003")[-1]
    assert (update["action"], update["actor"], update["cause"]) == ("updated", "erin", "v2.csv")
    assert update["changes"] == {
        "owner": ["bob", "carol"],
        "location": [["s3://dcr-prod-biometric-enrolment", "glue://biometrics_meta"],
                     ["s3://dcr-prod-biometric-enrolment"]],
    }
    assert count(register, asset_location) == 2


def test_retire_and_reinstate_through_the_status_column(register, tmp_path):
    assets.import_file(register, write(tmp_path, *ROWS))
    retired = ROWS[0].replace(",no,,2024", ",no,retired,2024")
    assert assets.import_file(register, write(tmp_path, retired, name="r.csv")).retired == 1
    assert assets.import_file(register, write(tmp_path, ROWS[0], name="a.csv")).updated == 0  # empty keeps it
    reinstated = ROWS[0].replace(",no,,2024", ",no,active,2024")
    assert assets.import_file(register, write(tmp_path, reinstated, name="b.csv")).updated == 1
    with register.connect() as conn:
        assert [h["action"] for h in history.of(conn, "asset", "IA-0001")] == ["created", "retired", "reinstated"]


@pytest.mark.reliability("input")
def test_one_bad_row_imports_nothing(register, tmp_path):
    bad = "IA-0009,Bad,s3://bad,,,maybe,,,,,,,\n"
    with pytest.raises(ImportFileError) as caught:
        assets.import_file(register, write(tmp_path, *ROWS, bad))
    assert "row 4, column owner: required" in caught.value.problems
    assert count(register, asset) == 0 and count(register, history_table) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(register, tmp_path, fmt):
    assets.import_file(register, write(tmp_path, *ROWS))
    exported = tmp_path / f"export.{fmt}"
    if fmt == "csv":
        with exported.open("w", newline="", encoding="utf-8") as out:
            assert assets.export(register, "csv", out) == 2
        assert "'=formula-looking text" in exported.read_text()  # guarded for spreadsheets
    else:
        assert assets.export(register, "xlsx", exported) == 2
    assert assets.import_file(register, exported).to_dict() == {"created": 0, "updated": 0, "unchanged": 2,
                                                                "retired": 0}
    with register.connect() as conn:
        assert assets.get(conn, "IA-0001")["description"] == "=formula-looking text"


def test_json_export_has_everything(register, tmp_path):
    assets.import_file(register, write(tmp_path, *ROWS))
    out = io.StringIO()
    assets.export(register, "json", out)
    exported = json.loads(out.getvalue())
    assert [a["asset_id"] for a in exported] == ["IA-0001", "IA-0003"]
    assert exported[0]["last_reviewed"] == "2024-03-01" and exported[0]["status"] == "active"
    assert exported[1]["locations"] == ["s3://dcr-prod-biometric-enrolment", "glue://biometrics_meta"]
