from pathlib import Path

import pytest

from adc.config import DEFAULT_SOURCES, load_sources
from adc.errors import ConfigError

VALID = """
sources:
  - name: dcr-prod
    region: eu-west-2
    include: ["dcr-*"]
    exclude: ["*-sandbox-*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def test_the_shipped_sources_file_is_valid():
    assert load_sources(DEFAULT_SOURCES).sources[0].name == "dcr-prod"


def test_defaults_and_globs(tmp_path):
    source = load_sources(write(tmp_path, VALID)).sources[0]
    assert source.services == ["s3", "glue", "dynamodb", "rds", "redshift"]
    assert source.all_regions == ["eu-west-2"]
    assert source.wants("dcr-prod-app-logs")
    assert not source.wants("dcr-analytics-sandbox-7f3a")
    assert not source.wants("other-bucket")


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("sources:\n  - name: a\n    region: 42\n", "sources[0].region", "string"),
        ("sources:\n  - name: a\n    region: eu-west-2\n    colour: red\n", "sources[0].colour", "Extra inputs"),
        ("sources:\n  - region: eu-west-2\n", "sources[0].name", "Field required"),
        ("sources:\n  - name: a\n    region: eu-west-2\n  - name: a\n    region: eu-west-1\n", "sources", "duplicate"),
        ("sources:\n  - name: a\n    region: eu-west-2\n    include: ['dcr-[prod']\n", "sources[0].include", "bracket"),
        ("sources:\n  - name: a\n", "sources[0]", "exactly one of region or regions"),
        ("sources:\n  - name: a\n    region: eu-west-2\n    services: [s3, ec2]\n", "sources[0].services[1]", "Input"),
        ("sources: [\n", "line", "not valid YAML"),
        ("- just a list\n", "(top level)", "mapping"),
    ],
)
@pytest.mark.reliability("input")
def test_errors_name_the_file_the_field_and_the_problem(tmp_path, text, field, problem):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert field in message or (field == "(top level)" and "mapping" in message)
    assert problem in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")
