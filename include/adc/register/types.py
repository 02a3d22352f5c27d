"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps everywhere (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the register stores UTC-aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A dataset's URI (namespace + "/" + name, e.g. a finding's subject): a name may take S3's whole
# 1,024-byte key, so its URI needs room for the namespace in front and a word or two behind.
URI_LENGTH = 2048


def Name(length: int = 1024) -> String:  # noqa: N802 - reads as a type in table definitions
    """A dataset namespace or name: byte order ("C" collation) on PostgreSQL as on SQLite, so
    prefix ranges (name > 'a/' AND name < 'a0') select the same rows on both."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


Json = JSON().with_variant(JSONB(), "postgresql")
