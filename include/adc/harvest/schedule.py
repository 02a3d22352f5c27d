"""Per-source schedules in one DAG.

adc_harvest runs whenever any source's schedule fires (its timetable is the union of the sources'
crons, in UTC) and each run harvests the sources that are due at that moment. A manual run
harvests every source, or those named in its ``sources`` parameter. One DAG keeps one harvest run
per moment, so coverage and absence are judged across all the sources due together (a bucket name
is global: only the accounts that would hold it can say it is gone).
"""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

from adc.config import SourcesFile


def crons(config: SourcesFile) -> list[str]:
    """The distinct crons of the scheduled sources, in the order they first appear."""
    return list(dict.fromkeys(s.cron for s in config.sources if s.cron))


def due_sources(config: SourcesFile, *, at: datetime | None, requested: list[str] | None = None) -> list[str]:
    """Sources to harvest: those ``requested`` by name, else all (``at`` None, a manual run), else the
    sources whose cron fires at ``at`` (a scheduled run's logical date)."""
    if requested:
        return [config.source(name).name for name in requested]  # an unknown name is a ConfigError
    if at is None:
        return [s.name for s in config.sources]
    return [s.name for s in config.sources if s.cron and croniter.match(s.cron, at)]
