"""The harvest DAG's schedule, from sources.yaml: each source's cron, or the file's one-line error
(organisations.yaml's too, where a source names an organisation it lacks)."""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, MultipleCronTriggerTimetable
from airflow.sdk.bases.timetable import BaseTimetable
from airflow.sdk.exceptions import AirflowTimetableInvalid

from adc.config import load_sources
from adc.errors import ConfigError
from adc.harvest.schedule import crons
from adc.organisations import load_organisations


class SourcesFileInvalid(BaseTimetable):
    """The schedule's stand-in when sources.yaml is wrong: Airflow validates the timetable when it
    bags the DAG and shows the error as the file's import error, one line, without a traceback."""

    def __init__(self, message: str) -> None:
        self.message = message

    def validate(self) -> None:
        raise AirflowTimetableInvalid(self.message)


def harvest_schedule() -> BaseTimetable | None:
    """One timetable firing at every source's schedule (None when every source is manual)."""
    try:
        config = load_sources()
        organisations = load_organisations()
        organisations.check_sources(config)
    except ConfigError as exc:
        return SourcesFileInvalid(str(exc))
    found = crons(organisations.shared(config))
    if not found:
        return None
    if len(found) == 1:
        return CronTriggerTimetable(found[0], timezone="UTC")
    return MultipleCronTriggerTimetable(*found, timezone="UTC")
