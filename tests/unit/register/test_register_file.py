"""The register file: every cell validated, errors naming row and column, locations resolved."""

from __future__ import annotations

from datetime import date

import pytest

from adc.config import Settings
from adc.errors import ImportFileError
from adc.naming import DatasetId
from adc.organisations import Organisation, Organisations, OrganisationsFile
from adc.register import assets

SETTINGS = Settings.from_env()  # tests/conftest.py sets the default region and account
HEADER = "asset_id,name,location,owner,classification,personal_data,special_categories,key_asset,last_reviewed\n"


def write(tmp_path, text: str, name: str = "register.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_row():
    record, problems = assets.validate({
        "asset_id": "IA-0003", "name": "Biometric enrolments", "owner": "bob", "classification": "official sensitive",
        "personal_data": "Yes", "special_categories": "Biometric", "key_asset": "TRUE", "last_reviewed": "2024-03-01",
        "location": "s3://dcr-prod-biometric-enrolment ; glue://biometrics_meta\nglue://biometrics_meta",
    }, SETTINGS)
    assert problems == []
    assert record.asset_id == "IA-0003"
    assert record.values["security_classification"] == "OFFICIAL-SENSITIVE"
    assert record.values["special_categories"] == "biometric"
    assert record.values["key_asset"] is True and record.values["criminal_offence_data"] is False
    assert record.values["last_reviewed"] == date(2024, 3, 1)
    assert record.locations == [  # duplicates dropped, order kept
        ("s3://dcr-prod-biometric-enrolment", DatasetId("s3://dcr-prod-biometric-enrolment", "")),
        ("glue://biometrics_meta", DatasetId("arn:aws:glue:eu-west-2:123456789012", "table/biometrics_meta")),
    ]


@pytest.mark.parametrize("cells, problem", [
    ({"personal_data": "maybe"}, "personal_data: 'maybe' is not yes/no/true/false"),
    ({"classification": "RESTRICTED"}, "classification: 'RESTRICTED' is not a GSCP marking"),
    ({"special_categories": "health, astrology", "personal_data": "yes"},
     "special_categories: unknown special category 'astrology'"),
    ({"special_categories": "health"}, "personal_data: 'no', yet special_categories are given"),
    ({"location": "ftp://somewhere"}, "location: location 'ftp://somewhere' is not a recognised URI"),
    ({"location": "glue://a/b/c"}, "location: location 'glue://a/b/c': expected glue://database or glue://database/table"),
    ({"owner": ""}, "owner: required"),
    ({"last_reviewed": "01/03/2024"}, "last_reviewed: '01/03/2024' is not a date (YYYY-MM-DD)"),
    ({"disposal_action": "shred"}, "disposal_action: 'shred' is not a disposal action"),
    ({"asset_id": "IA 1"}, "asset_id: 'IA 1' is not a valid id"),
    ({"retention_schedule": "R" * 101}, "retention_schedule: longer than 100 characters"),
])
def test_each_bad_cell_is_named(cells, problem):
    base = {"asset_id": "IA-1", "name": "n", "owner": "o", "classification": "OFFICIAL", "personal_data": "no"}
    record, problems = assets.validate({**base, **cells}, SETTINGS)
    assert record is None
    assert any(p.startswith(problem) for p in problems), problems


def test_the_organisation_is_one_organisations_yaml_declares_or_empty_for_the_department():
    tree = Organisations(OrganisationsFile(organisations=[Organisation(id="dept", name="Department"),
                                                          Organisation(id="cra", name="Agency", parent="dept")]))
    base = {"asset_id": "IA-1", "name": "n", "owner": "o", "classification": "OFFICIAL", "personal_data": "no"}

    def read(organisation: str, organisations: Organisations = tree):
        record, problems = assets.validate({**base, "organisation": organisation}, SETTINGS, organisations)
        return record.values["organisation"] if record else problems

    assert (read(" cra "), read("")) == ("cra", None)
    assert read("nowhere") == ["organisation: unknown organisation 'nowhere' (have: dept, cra)"]
    assert read("cra", Organisations.single()) == [
        "organisation: unknown organisation 'cra' (have: none: there is no organisations.yaml)"]
    assert read("o" * 41) == ["organisation: longer than 40 characters"]


def test_short_locations_need_a_default_account(monkeypatch):
    monkeypatch.delenv("ADC_DEFAULT_AWS_ACCOUNT")
    _, problems = assets.validate({"asset_id": "IA-1", "name": "n", "owner": "o", "classification": "OFFICIAL",
                                   "personal_data": "no", "location": "dynamodb://bookings"}, Settings.from_env())
    assert "ADC_DEFAULT_AWS_ACCOUNT" in problems[0]


@pytest.mark.reliability("input")
def test_every_problem_in_a_file_is_reported_by_row_and_column(tmp_path):
    path = write(tmp_path, HEADER
                 + "IA-1,One,s3://one,alice,OFFICIAL,no,,,\n"
                 + "\n"  # blank lines are skipped, numbering stays the spreadsheet's
                 + "IA-2,Two,s3://two,,OFFICIAL,perhaps,,,\n"
                 + "IA-1,Again,s3://three,alice,OFFICIAL,no,,,\n")
    with pytest.raises(ImportFileError) as caught:
        assets.parse_file(path, SETTINGS)
    assert caught.value.problems == [
        "row 4, column owner: required",
        "row 4, column personal_data: 'perhaps' is not yes/no/true/false",
        "row 5, column asset_id: 'IA-1' already given in row 2",
    ]
    assert str(caught.value).startswith(f"{path}: 3 problem(s), nothing imported: row 4, column owner: required")


@pytest.mark.parametrize("text, problem", [
    ("", "row 1: no header row"),
    ("asset_id,name,ownr\n", "row 1, column 'ownr': unknown column"),
    ("asset_id,name,owner,personal_data\n", "row 1: required column 'classification' is missing"),
    ("asset_id,name,owner,owner,classification,personal_data\n", "row 1, column 'owner': appears twice"),
])
def test_a_bad_header_is_named(tmp_path, text, problem):
    with pytest.raises(ImportFileError) as caught:
        assets.parse_file(write(tmp_path, text), SETTINGS)
    assert caught.value.problems[0].startswith(problem)


def test_file_types(tmp_path):
    with pytest.raises(ImportFileError, match="unsupported file type '.txt'"):
        assets.parse_file(write(tmp_path, HEADER, "register.txt"), SETTINGS)
    with pytest.raises(ImportFileError, match="file not found"):
        assets.parse_file(tmp_path / "absent.csv", SETTINGS)
    with pytest.raises(ImportFileError, match="not a readable XLSX workbook"):
        assets.parse_file(write(tmp_path, "not a workbook", "register.xlsx"), SETTINGS)


def test_headers_are_forgiving_and_aliases_work(tmp_path):
    path = write(tmp_path, "Asset ID,Name,Locations,IAO,Security Classification,Personal Data\n"
                           "IA-7,Seven,s3://seven,gita,OFFICIAL,no\n")
    (record,) = assets.parse_file(path, SETTINGS)
    assert record.values["owner"] == "gita" and record.uris == ["s3://seven"]


def test_xlsx_cells_keep_their_types(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    sheet.append(["asset_id", "name", "owner", "classification", "personal_data", "next_review_due", "description"])
    sheet.append(["IA-8", "Eight", "gita", "OFFICIAL", True, date(2025, 1, 31), "'=HYPERLINK(\"x\")"])
    workbook.save(tmp_path / "register.xlsx")
    (record,) = assets.parse_file(tmp_path / "register.xlsx", SETTINGS)
    assert record.values["personal_data"] is True
    assert record.values["next_review_due"] == date(2025, 1, 31)
    assert record.values["description"] == '=HYPERLINK("x")'  # the export's formula guard is removed


def test_spreadsheet_formulas_are_guarded():
    assert assets.spreadsheet_text("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert assets.spreadsheet_text("@SUM(1)") == "'@SUM(1)"
    assert assets.spreadsheet_text("plain") == "plain"
