"""Import all or nothing with errors naming row and column; exports in the ICO layout that import back."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from adc.demo.content import ROPA_CSV
from adc.errors import ImportFileError
from adc.register import history
from adc.ropa import activities, exports
from adc.ropa.reviews import issue
from adc.ropa.tables import ICO_HEADINGS, activity_asset, processing_activity
from tests.integration.ropa.conftest import TEAM


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]], headings: list[str] | None = None) -> Path:
    headings = headings or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headings)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(processing_activity)).scalar_one()


def test_the_demo_ropa_imports_with_history_and_reimports_unchanged(register):
    assert exports.import_file(register, ROPA_CSV, actor="tester") == {"created": 6, "updated": 0, "unchanged": 0}
    assert exports.import_file(register, ROPA_CSV, actor="tester") == {"created": 0, "updated": 0, "unchanged": 6}
    with register.connect() as conn:
        pa001 = activities.get(conn, "PA-001")
        assert pa001["owner"] == "alice" and "IA-0042" in pa001["linked_assets"]
        assert pa001["next_review_due"] == date(2027, 3, 10)  # last reviewed + 12 months
        assert pa001["article_6_lawful_basis"] == "Art 6(1)(e) public task"
        trail = history.of(conn, "activity", "PA-001")
    assert [(h["action"], h["actor"], h["cause_kind"], h["cause"]) for h in trail] == [
        ("created", "tester", "import", "ropa.csv")]


def test_a_changed_row_is_an_update_with_the_changed_fields_in_history(register, tmp_path):
    exports.import_file(register, ROPA_CSV, actor="tester")
    rows = _rows(ROPA_CSV)
    rows[3]["Retention schedule (if possible)"] = "RS-07: 2 years"
    rows[3]["Linked assets"] = "IA-0031, IA-0099"
    counts = exports.import_file(register, _write(tmp_path / "changed.csv", rows), actor="dana")
    assert counts == {"created": 0, "updated": 1, "unchanged": 5}
    with register.connect() as conn:
        last = history.of(conn, "activity", "PA-004")[-1]
    assert last["action"] == "updated" and last["actor"] == "dana"
    assert last["changes"] == {"retention_schedule": ["RS-07: 3 years", "RS-07: 2 years"],
                               "linked_assets": [["IA-0031"], ["IA-0031", "IA-0099"]]}


@pytest.mark.reliability("input")
def test_bad_rows_are_all_reported_by_row_and_column_and_nothing_is_imported(register, tmp_path):
    rows = _rows(ROPA_CSV)
    rows[0]["Owner"] = "alice smith"
    rows[1]["Review frequency (months)"] = "often"
    rows[2]["Last reviewed"] = "last spring"
    rows[4]["Activity ID"] = "PA-001"  # a duplicate of row 2
    rows[5]["Linked assets"] = "IA-0006, dcr-prod-payroll-extracts"
    with pytest.raises(ImportFileError) as caught:
        exports.import_file(register, _write(tmp_path / "bad.csv", rows), actor="tester")
    problems = caught.value.problems
    assert "row 2, column 'Owner': String should match pattern" in problems[0]
    assert any(p.startswith("row 3, column 'Review frequency (months)'") for p in problems)
    assert any(p.startswith("row 4, column 'Last reviewed'") for p in problems)
    assert any(p.startswith("row 6, column 'Activity ID': PA-001 is also in row 2") for p in problems)
    assert any(p.startswith("row 7, column 'Linked assets'") and "dcr-prod-payroll-extracts" in p for p in problems)
    assert str(caught.value).startswith(f"{tmp_path / 'bad.csv'}: 5 problem(s), nothing imported")
    assert _count(register) == 0


def test_unknown_and_missing_headings_are_refused(register, tmp_path):
    rows = [{"Activity ID": "PA-009", "Activity name": "x", "Colour": "blue"}]
    with pytest.raises(ImportFileError) as caught:
        exports.import_file(register, _write(tmp_path / "odd.csv", rows), actor="tester")
    assert caught.value.problems == ["column 3: unknown heading 'Colour'", "missing column 'Owner'"]


def test_files_that_cannot_be_read_are_one_clear_error(register, tmp_path):
    for path, words in (
        (tmp_path / "missing.csv", "file not found"),
        (tmp_path / "ropa.txt", "unsupported file type .txt"),
        (tmp_path / "latin1.csv", "not UTF-8"),
        (tmp_path / "fake.xlsx", "not a readable XLSX workbook"),
    ):
        if path.name == "latin1.csv":
            path.write_bytes("Activity ID,Activity name,Owner\nPA-001,Caf\xe9,alice\n".encode("latin-1"))
        elif path.name != "missing.csv":
            path.write_text("not a workbook")
        with pytest.raises(ImportFileError, match=words):
            exports.import_file(register, path, actor="tester")


def test_xlsx_export_has_the_ico_template_sheet_and_imports_back(ropa, tmp_path):
    path = tmp_path / "ropa.xlsx"
    with ropa.connect() as conn:
        records = activities.all_activities(conn)
    exports.to_xlsx(records, path)
    workbook = load_workbook(path)
    template = workbook["Template"]
    assert [c.value for c in template[1]] == list(ICO_HEADINGS)
    assert template.max_column == 30 and template.max_row == 7
    assert [c.value for c in workbook["ADC"][1]][:3] == ["Activity ID", "Activity name", "Owner"]
    assert workbook["ADC"]["A5"].value == "PA-004" and template["B5"].value.startswith("Receiving")
    assert exports.import_file(ropa, path, actor="tester") == {"created": 0, "updated": 0, "unchanged": 6}


def test_formulas_are_exported_inert_and_import_back_as_typed(register, tmp_path):
    rows = _rows(ROPA_CSV)[:1]
    rows[0]["Purpose of processing"] = '=HYPERLINK("http://127.0.0.1/x","click")'
    rows[0]["Business function"] = "@SUM(1+1)"
    exports.import_file(register, _write(tmp_path / "formula.csv", rows), actor="tester")
    with register.connect() as conn:
        records = activities.all_activities(conn)
    text = exports.to_csv(records, adc_columns=True)
    assert "'=HYPERLINK" in text and "'@SUM" in text
    exported = tmp_path / "exported.csv"
    exported.write_text(text, encoding="utf-8")
    xlsx = tmp_path / "exported.xlsx"
    exports.to_xlsx(records, xlsx)
    cell = load_workbook(xlsx)["Template"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    for path in (exported, xlsx):
        assert exports.import_file(register, path, actor="tester")["unchanged"] == 1


def test_a_status_change_cannot_bypass_an_open_review(ropa, tmp_path):
    issue(ropa, dag_run_id="run-1", team=TEAM)  # PA-004 is overdue: its review opens
    rows = _rows(ROPA_CSV)
    rows[3]["Status"] = "retired"
    with pytest.raises(ImportFileError, match="PA-004, column 'Status': the activity is in review"):
        exports.import_file(ropa, _write(tmp_path / "retire.csv", rows), actor="tester")
    with ropa.connect() as conn:
        assert activities.get(conn, "PA-004")["status"] == "under_review"
        links = conn.execute(select(func.count()).select_from(activity_asset)).scalar_one()
    assert links == 14
