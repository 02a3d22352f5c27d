"""adc register / reconcile / findings from the shell, and the reconciliation report (HTML escapes
everything from AWS and people; CSV guards formulas)."""

from __future__ import annotations

import json

import pytest

from adc.cli import main
from adc.register import reconcile
from adc.reports import reconciliation
from tests.support.register_staging import bucket_scope, demo_register, demo_units, harvest, s3

HOSTILE = "<script>alert('x')</script>{{ 7*7 }}"


@pytest.fixture
def reconciled(register):
    demo_register(register)
    harvest(register, *demo_units(sandbox=(bucket_scope("sandbox"), [
        s3("sandbox", "tmp", "nino", "dob", tags={"iar:owner": HOSTILE, "iar:asset-id": "=HYPERLINK(\"x\")"})])))
    reconcile.reconcile(register)
    return register


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_reconcile_and_findings_as_json(reconciled, capsys):
    code, out, _ = run(capsys, "reconcile", "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "complete" and not any(result["changes"].values())
    assert result["findings"]["unregistered_dataset"] == {"high": 1}
    code, out, _ = run(capsys, "findings", "--status", "open", "--json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 9 and listed[0]["severity"] == "high"
    sandbox = next(f for f in listed if f["kind"] == "unregistered_dataset")
    assert sandbox["evidence"]["owner_tag"] == HOSTILE and sandbox["first_seen_at"].endswith("+00:00")


def test_acknowledge_from_the_shell(reconciled, capsys):
    _, out, _ = run(capsys, "findings", "--kind", "owner_mismatch", "--json")
    (payroll,) = json.loads(out)
    code, out, _ = run(capsys, "findings", "acknowledge", str(payroll["finding_id"]), "--reason", "team tag",
                       "--by", "dana")
    assert code == 0 and "acknowledged by dana" in out
    code, _, err = run(capsys, "findings", "acknowledge", str(payroll["finding_id"]), "--reason", "x", "--by", "dana")
    assert code == 2 and err.startswith("adc: error: finding") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "findings", "acknowledge", "99999", "--reason", "x", "--by", "dana")
    assert code == 2 and "no finding 99999" in err


def test_register_import_and_export_from_the_shell(register, tmp_path, capsys):
    path = tmp_path / "iar.csv"
    path.write_text("asset_id,name,owner,classification,personal_data,location\n"
                    "IA-0001,Raw,alice,OFFICIAL,yes,s3://raw\n", encoding="utf-8")
    code, out, _ = run(capsys, "register", "import", str(path), "--by", "dana")
    assert code == 0 and "1 created" in out
    code, out, _ = run(capsys, "register", "export", "--format", "csv")
    assert code == 0 and out.splitlines()[1].startswith("IA-0001,Raw,,s3://raw,alice,")
    code, _, err = run(capsys, "register", "export", "--format", "xlsx")
    assert code == 2 and "--output" in err
    path.write_text("asset_id,name,owner,classification,personal_data\nIA-0002,X,,OFFICIAL,maybe\n")
    code, _, err = run(capsys, "register", "import", str(path))
    assert code == 2 and "row 2, column owner: required" in err and len(err.strip().splitlines()) == 1


def test_reconcile_before_any_harvest_is_a_clear_error(register, capsys):
    code, _, err = run(capsys, "reconcile")
    assert code == 2 and "no harvest run has completed yet" in err


def test_the_html_report_shows_hostile_text_as_text(reconciled):
    page = reconciliation.html(reconciled)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;{{ 7*7 }}" in page
    assert "s3://sandbox/tmp is in no asset&#39;s locations and holds personal data" in page
    assert "IA-0042" in page  # the missing asset's section


def test_the_csv_report_guards_formulas(reconciled, capsys):
    code, out, _ = run(capsys, "reconcile", "report", "--format", "csv")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.startswith("finding_id,kind,severity,status,asset_id,subject")
    assert len(rows) == 9
    data = reconciliation.csv(reconciled)
    assert '=HYPERLINK' in data and ",=HYPERLINK" not in data  # inside the JSON evidence cell, not a cell start
