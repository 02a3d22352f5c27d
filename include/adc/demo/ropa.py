"""The demo's RoPA: loading it, and the review stage of `make demo-check`.

The demo record (data/ropa.csv) is dated as of ``AS_OF``. Loading shifts its review dates by the
days since, so what is due, overdue or recently reviewed stays the same whenever the demo runs:
PA-004 overdue, PA-002 and PA-005 recently reviewed, the others due later.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

AS_OF = date(2026, 11, 24)
DATE_FIELDS = ("last_reviewed", "next_review_due")


def load(engine: Engine, path: Path, *, today: date | None = None) -> int:
    """Import the demo RoPA (its dates shifted to today); returns the number of activities."""
    from adc.ropa import exports

    shift = (today or date.today()) - AS_OF
    records = [
        record.model_copy(update={f: getattr(record, f) + shift for f in DATE_FIELDS if getattr(record, f)})
        for record in exports.parse(path)
    ]
    exports.save_records(engine, records, source=path, actor="demo", today=today)
    return len(records)
