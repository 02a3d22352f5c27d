"""adc ropa: import, export, due, reviews, show and pack against a real register."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from adc.cli import main
from adc.demo.content import ROPA_CSV
from adc.ropa.tables import ICO_HEADINGS


def test_import_then_export_csv_and_xlsx(register, tmp_path, capsys):
    assert main(["ropa", "import", str(ROPA_CSV), "--as", "dana"]) == 0
    assert "6 created" in capsys.readouterr().out

    assert main(["ropa", "export", "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == list(ICO_HEADINGS) and len(table) == 7

    out = tmp_path / "ropa.xlsx"
    assert main(["ropa", "export", "--format", "xlsx", "--output", str(out)]) == 0
    assert [c.value for c in load_workbook(out)["Template"][1]] == list(ICO_HEADINGS)

    importable = tmp_path / "ropa.csv"
    assert main(["ropa", "export", "--format", "csv", "--adc-columns", "-o", str(importable)]) == 0
    capsys.readouterr()
    assert main(["ropa", "import", str(importable)]) == 0
    assert "6 unchanged" in capsys.readouterr().out


@pytest.mark.reliability("input")
def test_a_bad_file_is_one_line_naming_row_and_column_and_exit_2(register, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Activity ID,Activity name,Owner\nPA-1,Casework,alice\n", encoding="utf-8")
    assert main(["ropa", "import", str(bad)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"adc: error: {bad}: 1 problem(s), nothing imported: row 2, column 'Activity ID'")
    assert len(error.strip().splitlines()) == 1


def test_due_reviews_show_and_pack(ropa, capsys):
    assert main(["ropa", "due", "--json"]) == 0
    due = json.loads(capsys.readouterr().out)
    assert [d["activity_id"] for d in due] == ["PA-004"] and due[0]["overdue"] is True

    assert main(["ropa", "due"]) == 0
    assert "PA-004   carol" in capsys.readouterr().out

    assert main(["ropa", "reviews", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    assert main(["ropa", "show", "PA-004"]) == 0
    shown = capsys.readouterr().out
    assert "Retention schedule (if possible): RS-07: 3 years" in shown and "created" in shown

    assert main(["ropa", "pack", "PA-004"]) == 0
    assert capsys.readouterr().out.startswith("## Review of PA-004 Complaints handling")

    assert main(["ropa", "show", "PA-999"]) == 2
    assert "no processing activity PA-999" in capsys.readouterr().err
