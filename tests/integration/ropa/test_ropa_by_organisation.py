"""Every processing activity belongs to an organisation: the RoPA file's `Organisation` column (one of
ADC's columns, beside the ICO template's, all or nothing on import), and `adc ropa export --as` /
`adc ropa reviews --as` show each person only what the one visibility rule lets them see."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from adc import naming
from adc.cli import main
from adc.errors import ImportFileError
from adc.register import assets, history
from adc.ropa import activities, exports, packs
from adc.ropa.tables import ICO_HEADINGS, activity_asset, processing_activity, review
from tests.integration.register.test_register_organisations import declare_organisations
from tests.support.organisations import undeclare

HEADINGS = ["Activity ID", "Activity name", "Owner", "Organisation", "Purpose of processing"]
ROWS = [
    ["PA-101", "Casework", "alice", "", "Deciding applications"],  # blank: the department
    ["PA-102", "Agency registrations", "rita", "cra", "Registering births"],
    ["PA-103", "Protective operations", "sam", "psu", "Protecting people"],
]
SEEN = {None: ["PA-101", "PA-102", "PA-103"], "victor": ["PA-101", "PA-102"], "rita": ["PA-102"], "sam": ["PA-103"],
        "mallory": []}


def write(path, rows: list[list[str]]):
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADINGS, *rows])
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(processing_activity)).scalar_one()


@pytest.fixture
def organised(register, tmp_path, monkeypatch):
    """The register holding ROWS, under the department, its agency and its sealed unit."""
    declare_organisations(tmp_path, monkeypatch)
    exports.import_file(register, write(tmp_path / "ropa.csv", ROWS), actor="dana")
    return register


def test_the_organisation_is_stored_exported_beside_the_ico_columns_and_imports_back(organised, tmp_path, capsys):
    with organised.connect() as conn:
        assert {a["activity_id"]: a["organisation"] for a in activities.all_activities(conn)} == {
            "PA-101": None, "PA-102": "cra", "PA-103": "psu"}

    code, out, _ = run(capsys, "ropa", "export", "--format", "csv")
    assert code == 0 and next(csv.reader(io.StringIO(out))) == list(ICO_HEADINGS)  # the ICO's layout, as it was

    importable = tmp_path / "export.csv"
    assert run(capsys, "ropa", "export", "--format", "csv", "--adc-columns", "-o", str(importable))[0] == 0
    with importable.open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[:30] == list(ICO_HEADINGS)
    assert [(r["Activity ID"], r["Organisation"]) for r in table] == [("PA-101", ""), ("PA-102", "cra"),
                                                                      ("PA-103", "psu")]

    workbook = tmp_path / "export.xlsx"
    assert run(capsys, "ropa", "export", "--format", "xlsx", "-o", str(workbook))[0] == 0
    sheets = load_workbook(workbook)
    assert [c.value for c in sheets["Template"][1]] == list(ICO_HEADINGS)
    assert [c.value for c in sheets["ADC"][1]][:4] == ["Activity ID", "Activity name", "Owner", "Organisation"]
    assert [r[3] for r in sheets["ADC"].iter_rows(min_row=2, values_only=True)] == [None, "cra", "psu"]

    for path in (importable, workbook):
        assert exports.import_file(organised, path, actor="dana") == {"created": 0, "updated": 0, "unchanged": 3}


def test_a_changed_organisation_is_a_history_row_like_any_other_field(organised, tmp_path):
    moved = [[*ROWS[1][:3], "", ROWS[1][4]]]
    assert exports.import_file(organised, write(tmp_path / "moved.csv", moved), actor="erin")["updated"] == 1
    with organised.connect() as conn:
        created, update = history.of(conn, "activity", "PA-102")
    assert created["changes"]["organisation"] == [None, "cra"]
    assert (update["actor"], update["cause"], update["changes"]) == ("erin", "moved.csv",
                                                                     {"organisation": ["cra", None]})


def test_an_unknown_organisation_imports_nothing_and_names_row_and_column(register, tmp_path, monkeypatch, capsys):
    declare_organisations(tmp_path, monkeypatch)
    path = write(tmp_path / "bad.csv", [ROWS[0], [*ROWS[1][:3], "nowhere", ROWS[1][4]], ROWS[2]])
    with pytest.raises(ImportFileError) as caught:
        exports.import_file(register, path, actor="dana")
    assert caught.value.problems == ["row 3, column 'Organisation': unknown organisation 'nowhere' "
                                     "(have: dept, cra, psu)"]
    assert count(register) == 0

    code, _, err = run(capsys, "ropa", "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nothing imported: row 3, column 'Organisation': unknown organisation 'nowhere'" in err
    assert count(register) == 0


def test_without_organisations_yaml_naming_any_organisation_is_refused(register, tmp_path, monkeypatch):
    undeclare(tmp_path, monkeypatch)
    with pytest.raises(ImportFileError) as caught:
        exports.import_file(register, write(tmp_path / "ropa.csv", ROWS), actor="dana")
    assert caught.value.problems == [
        "row 3, column 'Organisation': unknown organisation 'cra' (have: none: there is no organisations.yaml)",
        "row 4, column 'Organisation': unknown organisation 'psu' (have: none: there is no organisations.yaml)"]
    assert count(register) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_as_a_person_holds_only_the_activities_they_may_see(organised, tmp_path, capsys, fmt):
    for user, expected in SEEN.items():
        path = tmp_path / f"{user}.{fmt}"
        as_user = ("--as", user) if user else ()
        code, _, _ = run(capsys, "ropa", "export", "--format", fmt, "--adc-columns", "-o", str(path), *as_user)
        if fmt == "csv":
            with path.open(newline="", encoding="utf-8") as handle:
                listed = [r["Activity ID"] for r in csv.DictReader(handle)]
        else:
            listed = [r[0] for r in load_workbook(path)["ADC"].iter_rows(min_row=2, values_only=True)]
        assert code == 0 and listed == expected, user
    code, out, _ = run(capsys, "ropa", "export", "--format", "csv", "--adc-columns", "--as", "victor")
    assert code == 0 and "psu" not in out and "Protective" not in out


def _open_review(engine, activity_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(review).values(
            review_id=f"{activity_id}/2026-01-01", activity_id=activity_id, cycle_due=date(2026, 1, 1),
            status="open", reasons=["overdue"], opened_at=datetime.now(UTC)))


def test_reviews_as_a_person_list_only_reviews_of_activities_they_may_see(organised, capsys):
    for activity_id in SEEN[None]:
        _open_review(organised, activity_id)
    for user, expected in SEEN.items():
        code, out, _ = run(capsys, "ropa", "reviews", "--json", *(("--as", user) if user else ()))
        assert code == 0 and sorted(r["activity_id"] for r in json.loads(out)) == expected, user
    code, out, _ = run(capsys, "ropa", "reviews", "--as", "mallory")
    assert code == 0 and out.strip() == "no reviews"


def test_show_pack_and_due_as_a_person_treat_a_hidden_activity_as_one_that_does_not_exist(organised, capsys):
    for user, expected in SEEN.items():
        for activity_id in SEEN[None]:
            for command in ("show", "pack"):
                code, out, err = run(capsys, "ropa", command, activity_id, *(("--as", user) if user else ()))
                if activity_id in expected:
                    assert code == 0 and activity_id in out, (user, command, activity_id)
                else:
                    assert code == 2 and err.strip() == f"adc: error: no processing activity {activity_id}", \
                        (user, command, activity_id)
        code, out, _ = run(capsys, "ropa", "due", "--json", "--on", "2030-01-01", *(("--as", user) if user else ()))
        assert code == 0 and sorted(item["activity_id"] for item in json.loads(out)) == expected, user


def test_a_pack_showing_an_asset_marked_above_the_readers_clearance_is_not_shown_to_them(organised, capsys):
    """PA-101 is the department's (OFFICIAL), but it links a SECRET asset: its pack is SECRET."""
    record = assets.AssetRecord("IA-0009", {"name": "Watch list", "security_classification": "SECRET"},
                                locations=[("s3://dept-watch", naming.parse_location("s3://dept-watch"))])
    with organised.begin() as conn:
        assets.create(conn, record, actor="test", cause_kind="import", cause=None)
        conn.execute(insert(activity_asset).values(activity_id="PA-101", asset_id="IA-0009"))
        activity = activities.get(conn, "PA-101")
        assert packs.owner_pack(conn, activity, review_id="r", reasons=[], findings=[], deadline=None,
                                team=()).marking == "SECRET"
    code, out, err = run(capsys, "ropa", "pack", "PA-101", "--as", "victor")  # cleared to OFFICIAL-SENSITIVE
    assert code == 2 and "marked SECRET" in err and "Watch list" not in out + err
    code, out, _ = run(capsys, "ropa", "show", "PA-101", "--as", "victor")  # the activity itself is his to see
    assert code == 0 and "PA-101" in out
    code, out, _ = run(capsys, "ropa", "pack", "PA-101")
    assert code == 0 and "Watch list" in out
