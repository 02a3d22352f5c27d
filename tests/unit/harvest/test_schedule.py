"""Per-source schedules: the DAG's crons and the sources due at a moment."""

from datetime import UTC, datetime

import pytest

from adc.config import SourcesFile, load_sources
from adc.errors import ConfigError
from adc.harvest.schedule import crons, due_sources

CONFIG = SourcesFile.model_validate({"sources": [
    {"name": "daily", "region": "eu-west-2", "schedule": "@daily"},
    {"name": "hourly", "region": "eu-west-2", "schedule": "0 * * * *"},
    {"name": "also-daily", "region": "eu-west-1", "schedule": "0 0 * * *"},
    {"name": "manual", "region": "eu-west-2", "schedule": None},
]})


def test_the_union_of_the_sources_crons():
    assert crons(CONFIG) == ["0 0 * * *", "0 * * * *"]


def test_the_sources_due_at_a_scheduled_moment():
    assert due_sources(CONFIG, at=datetime(2024, 5, 1, 0, 0, tzinfo=UTC)) == ["daily", "hourly", "also-daily"]
    assert due_sources(CONFIG, at=datetime(2024, 5, 1, 13, 0, tzinfo=UTC)) == ["hourly"]


def test_a_manual_run_takes_all_sources_or_those_asked_for():
    assert due_sources(CONFIG, at=None) == ["daily", "hourly", "also-daily", "manual"]
    assert due_sources(CONFIG, at=None, requested=["manual"]) == ["manual"]
    with pytest.raises(ConfigError, match="no source named 'nope'"):
        due_sources(CONFIG, at=None, requested=["nope"])


def test_a_bad_schedule_is_one_line_naming_file_and_field(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    region: eu-west-2\n  - name: b\n    region: eu-west-2\n"
                    "    schedule: every day\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: sources[1].schedule: 'every day' is not a five-field cron expression")
    assert "\n" not in message
