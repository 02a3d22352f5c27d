"""quality.yaml: validated like sources.yaml, one-line errors naming the file, entry and rule; and
`adc quality check` on a good and a bad file."""

from __future__ import annotations

import json
import textwrap

import pytest

from adc.cli import main
from adc.errors import ConfigError
from adc.quality.dqdl import Rule, Unsupported
from adc.quality.rules import load_quality

GOOD = textwrap.dedent("""\
    expectations:
      - dataset: s3://dcr-prod-casework/applications
        rules: |
          Rules = [ RowCount > 0, Completeness "nationality" >= 0.95,
                    DataFreshness <= 24 hours, ObjectCount > avg(last(3)) * 0.5, IsUnique "id" ]
      - asset: IA-0001
        rules: Rules = [ SizeBytes > 0 ]
""")


def write(tmp_path, text: str):
    path = tmp_path / "quality.yaml"
    path.write_text(text)
    return path


def test_a_good_file_parses_each_entrys_rules(tmp_path):
    declared = load_quality(write(tmp_path, GOOD))
    first, second = declared.expectations
    assert (first.dataset, first.asset, first.target) == ("s3://dcr-prod-casework/applications", None,
                                                          "dataset s3://dcr-prod-casework/applications")
    assert [r.kind for r in first.ruleset] == ["RowCount", "Completeness", "DataFreshness", "ObjectCount", "IsUnique"]
    assert isinstance(first.ruleset[0], Rule) and isinstance(first.ruleset[4], Unsupported)
    assert (second.asset, second.target, second.ruleset[0].text) == ("IA-0001", "asset IA-0001", "SizeBytes > 0")


def test_without_the_file_nothing_is_expected(tmp_path, monkeypatch):
    monkeypatch.delenv("ADC_QUALITY", raising=False)
    monkeypatch.setattr("adc.quality.rules.DEFAULT_QUALITY", tmp_path / "absent.yaml")
    assert load_quality().expectations == []


def test_adc_quality_names_the_file_and_it_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("ADC_QUALITY", str(write(tmp_path, GOOD)))
    assert len(load_quality().expectations) == 2
    monkeypatch.setenv("ADC_QUALITY", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="missing.yaml: file not found"):
        load_quality()


RULES_OK = "Rules = [ RowCount > 0 ]"


@pytest.mark.parametrize("entries, message", [
    ([{"dataset": "s3://a/b", "rules": "Rules = [ RowCount > 0 ]"},
      {"asset": "IA-1", "rules": 'Rules = [ RowCount > 0, Completeness nationality >= 0.95 ]'}],
     "quality.yaml: expectations[1].rules: rule 2 'Completeness nationality >= 0.95': expected a column name"),
    ([{"dataset": "s3://a/b", "rules": "Rules = [ RowCount > 0, Rowcount < 5 ]"}],
     "quality.yaml: expectations[0].rules: rule 2 'Rowcount < 5': unknown rule type 'Rowcount'"),
    ([{"dataset": "s3://a/b", "rules": RULES_OK}, {"dataset": "s3://a/c", "rules": RULES_OK},
      {"dataset": "s3://a/d", "rules": "Rules = [ DataFreshness <= 3 weeks ]"}],
     "quality.yaml: expectations[2].rules: rule 1 'DataFreshness <= 3 weeks': unknown time unit 'weeks'"),
    ([{"dataset": "s3://a/b", "asset": "IA-1", "rules": RULES_OK}],
     "quality.yaml: expectations[0]: give exactly one of dataset or asset"),
    ([{"rules": RULES_OK}], "quality.yaml: expectations[0]: give exactly one of dataset or asset"),
    ([{"dataset": "s3://a/b"}], "quality.yaml: expectations[0].rules: Field required"),
    ([{"dataset": "applications", "rules": RULES_OK}],
     "quality.yaml: expectations[0].dataset: 'applications' is not a dataset URI"),
    ([{"dataset": "s3://a/b", "rules": RULES_OK, "owner": "x"}], "quality.yaml: expectations[0].owner: Extra inputs"),
    ([{"dataset": "s3://a/b", "rules": RULES_OK}, {"dataset": "s3://a/b", "rules": RULES_OK}],
     "quality.yaml: expectations[1].dataset: 's3://a/b' is declared in expectations[0] too"),
    ([{"dataset": "s3://a/b", "rules": "RowCount > 0"}],
     "quality.yaml: expectations[0].rules: expected a ruleset 'Rules = [ rule, ... ]'"),
])
def test_a_bad_file_is_one_line_naming_the_file_the_entry_and_the_rule(tmp_path, entries, message):
    path = write(tmp_path, json.dumps({"expectations": entries}))  # JSON is YAML
    with pytest.raises(ConfigError) as caught:
        load_quality(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping with an 'expectations' list at the top"):
        load_quality(write(tmp_path, "- dataset: s3://a/b\n"))


def test_adc_quality_check_lists_each_rule_and_whether_adc_evaluates_it(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["quality", "check", "--file", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: valid, 2 expectation(s), 6 rule(s), 5 ADC evaluates from metadata, 1 always unknown"
    assert out[1] == "dataset s3://dcr-prod-casework/applications"
    assert out[2].split() == ["RowCount", ">", "0", "evaluated", "from", "metadata"]
    assert out[6].startswith('  IsUnique "id"')
    assert out[6].endswith("unknown: it needs the column's values, and ADC reads no values: only counts from metadata")
    assert out[7:] == ["asset IA-0001", "  SizeBytes > 0  evaluated from metadata"]


def test_adc_quality_check_json(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["quality", "check", "--file", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["file"] == str(path)
    first, second = shown["expectations"]
    assert (first["dataset"], first["asset"], second["dataset"], second["asset"]) == (
        "s3://dcr-prod-casework/applications", None, None, "IA-0001")
    assert first["rules"][0] == {"rule": "RowCount > 0", "type": "RowCount", "evaluable": True, "reason": None}
    assert first["rules"][4]["evaluable"] is False and "ADC reads no values" in first["rules"][4]["reason"]


def test_adc_quality_check_on_a_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = write(tmp_path, "expectations:\n  - dataset: s3://a/b\n"
                           "    rules: Rules = [ DataFreshness <= 1 fortnight ]\n")
    assert main(["quality", "check", "--file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"adc: error: {path}: expectations[0].rules: rule 1 'DataFreshness <= 1 fortnight': "
                            "unknown time unit 'fortnight' after 1: use minutes, hours or days\n")


def test_adc_quality_check_without_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ADC_QUALITY", raising=False)
    monkeypatch.setattr("adc.quality.rules.DEFAULT_QUALITY", tmp_path / "absent.yaml")
    assert main(["quality", "check"]) == 0
    assert "no expectations are declared" in capsys.readouterr().out
    assert main(["quality", "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"file": None, "expectations": []}
