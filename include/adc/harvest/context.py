"""What every service harvester shares: the scope being harvested and a few small helpers."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from adc.aws import AwsClients, error_kind
from adc.config import Source
from adc.model import ObservedDataset, ScopeOutcome, Service
from adc.naming import DatasetId

UNREADABLE_LIMIT = 1000  # entries kept per scope; the count beyond it is still reported


@dataclass
class ScopeContext:
    """One scope (a bucket, a Glue database, a table, an instance) of one source in one region."""

    source: Source
    region: str
    account: str
    clients: AwsClients
    name: str
    outcome: ScopeOutcome
    readers: int = 8  # concurrent reads inside the scope (schemas, tags): see runner.readers_per_unit

    def dataset(self, id: DatasetId, **fields: Any) -> ObservedDataset:
        return ObservedDataset(id=id, service=Service(self.outcome.service), source=self.source.name,
                               scope=self.name, region=self.region, **fields)

    def unreadable(self, what: str) -> None:
        """Note a file or table inside the scope that could not be read (the scope stays complete)."""
        unreadable = self.outcome.unreadable
        if len(unreadable) < UNREADABLE_LIMIT:
            unreadable.append(what)
        elif len(unreadable) == UNREADABLE_LIMIT:
            unreadable.append("... (more not listed)")


def retention(kind: str, active: bool | None, detail: str) -> dict[str, Any]:
    """The ``retention_control`` property every dataset carries (see docs/harvest.md)."""
    return {"kind": kind, "active": active, "detail": detail}


def failure(exc: BaseException) -> str:
    """One line saying why a call failed, fit to store and show.

    AWS errors give their code and message; database drivers their first line. Any other exception
    gives only its type: its message might quote a value being read.
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', error_kind(exc))}: {error.get('Message', '')} ({exc.operation_name})"
    if isinstance(exc, BotoCoreError) or type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg"):
        lines = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"
    return f"{type(exc).__name__} (see the task log)"


def log_failure(log: logging.Logger, what: str, exc: BaseException) -> None:
    """Log an unexpected failure with its frames but not its message (which might quote a value)."""
    log.error("%s failed with %s:\n%s", what, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's [{"Key": k, "Value": v}] as {k: v}."""
    return {t["Key"]: t.get("Value", "") for t in tags or ()}
