"""The scratch tables of one reconciliation: what the steps hand each other, row sets in the database.

They are temporary tables, gone at commit or rollback (PostgreSQL ON COMMIT DROP; SQLite's temp
schema is dropped explicitly and rolls back with the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
)

from adc.register.types import URI_LENGTH, Json, Name, UTCDateTime

metadata = MetaData()


def _temp(name: str, *columns, indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    table = Table(name, metadata, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    for i, cols in enumerate(indexes):
        Index(f"ix_{name}_{i}", *(table.c[c] for c in cols))
    return table


VersionId = BigInteger().with_variant(Integer, "sqlite")
coverage = _temp(
    "adc_coverage",
    Column("namespace", Name(), nullable=False), Column("name", Name(), nullable=False),
    Column("run_id", String(250)), Column("source", String(100)), Column("service", String(20)),
    Column("region", String(40)), Column("scope", Name()), Column("status", String(20)),
    Column("error_kind", String(100)), Column("error", Text), Column("unreadable", Json),
    indexes=(("namespace", "name"),),
)
# Which current dataset belongs to which asset, with the dataset's narrow columns copied along: the
# checks after matching read this table, not the (wide) observed_dataset rows.
match = _temp(
    "adc_match",
    Column("asset_id", String(32), primary_key=True), Column("version_id", VersionId, primary_key=True),
    Column("namespace", Name()), Column("name", Name()), Column("last_seen_at", UTCDateTime),
    Column("personal_data", Boolean), Column("special_categories", Text), Column("criminal_offence_data", Boolean),
    Column("schema_status", String(20)), Column("retention_kind", String(40)), Column("retention_active", Boolean),
    Column("holds_data", Boolean),  # neither a view nor a catalogue entry of data kept elsewhere (a symlink)
    Column("owner_tag", Text),
    indexes=(("version_id",),),
)
MATCH_COLUMNS = [c.name for c in match.columns]
alias = _temp(  # symlinks of current datasets: (dataset, the identity it is also known as)
    "adc_alias",
    Column("version_id", VersionId, nullable=False), Column("namespace", Name()), Column("name", Name()),
    indexes=(("version_id",), ("namespace", "name")),
)
absent = _temp(
    "adc_absent",
    Column("asset_id", String(32), primary_key=True), Column("source", String(100)),
    Column("newly", Boolean, nullable=False),
)
flagged = _temp(  # per-asset kinds: one row per (asset, dataset, item) before aggregation
    "adc_flagged",
    Column("kind", String(40), nullable=False), Column("asset_id", String(32), nullable=False),
    Column("dataset", Name(URI_LENGTH), nullable=False), Column("item", Json), Column("label", Text),
    Column("rank", Integer, nullable=False),  # 0 high, 1 medium, 2 low
    indexes=(("kind", "asset_id"),),
)
drift = _temp(
    "adc_drift",
    Column("subject", Name(URI_LENGTH), primary_key=True), Column("version_id", VersionId, nullable=False),
    Column("other", Name(URI_LENGTH)), Column("added", Json), Column("removed", Json), Column("retyped", Json),
    Column("sensitive", Boolean, nullable=False),
)
candidate = _temp(
    "adc_candidate",
    Column("kind", String(40), primary_key=True), Column("subject", Name(URI_LENGTH), primary_key=True),
    Column("severity", String(10), nullable=False), Column("asset_id", String(32)),
    Column("namespace", Name()), Column("name", Name()), Column("source", String(100)),
    Column("summary", Text, nullable=False), Column("evidence", Json),
)
SEVERITY_BY_RANK = ("high", "medium", "low")


def severity(rank) -> Any:
    """SQL: a flagged row's rank as a severity."""
    return case({i: s for i, s in enumerate(SEVERITY_BY_RANK)}, value=rank, else_="low")


def create(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # JIT compiling these one-off statements costs more than running them; sorts and hashes
        # over the estate fit in memory rather than spilling
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    drop(conn)
    for table in metadata.sorted_tables:
        table.create(conn)


def drop(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for table in metadata.sorted_tables:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")


def analyze(conn: Connection, *tables: Table) -> None:
    """Fresh statistics, so the planner sees the scratch tables' real sizes."""
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {'temp.' if conn.dialect.name == 'sqlite' else ''}{table.name}")
