"""Tables and columns inside an RDS instance or a Redshift cluster, through the SQLAlchemy inspector.

Only where sources.yaml gives access for the instance (``databases: {<id>: {conn_id | url, ...}}``).
The inspector reads the catalogue (information_schema / pg_catalog); no rows are read. Tables are
named from the instance's AWS endpoint, not from the address used to connect, so the same table has
the same identity whoever harvests it and however they reach it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import ObjectKind, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from adc.config import DatabaseAccess
from adc.connections import connection_uri
from adc.harvest.classify import classify_columns
from adc.harvest.context import ScopeContext, failure, retention
from adc.model import ObservedDataset, SchemaStatus
from adc.naming import DatasetId

SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "pg_internal", "catalog_history"}
TableId = Callable[[str, str, str], DatasetId]  # (database, schema, table) -> identity


def access_url(access: DatabaseAccess) -> str | None:
    """The SQLAlchemy URL to connect with (credentials from the Airflow connection); None if it is missing."""
    url = access.url
    if not url and access.conn_id:  # the model holds exactly one of the two
        url = connection_uri(access.conn_id)
    if url is None:
        return None
    for prefix in ("redshift://", "redshift+psycopg2://", "postgres://", "postgresql://"):
        if url.startswith(prefix):  # Redshift speaks the PostgreSQL protocol
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def inspect_tables(scope: ScopeContext, access: DatabaseAccess, default_database: str | None, table_id: TableId,
                   shared: dict[str, Any], problems: list[str]) -> Iterator[ObservedDataset]:
    """Datasets for the tables and views of the configured databases and schemas.

    A database that cannot be reached or read is a problem of the instance and an unreadable entry
    of the scope, not a failure: the instance itself was listed.
    """
    url = access_url(access)
    if url is None:
        problems.append(f"schema inspection skipped: no Airflow connection {access.conn_id!r}")
        return
    base = make_url(url)
    for database in access.databases or [base.database or default_database or "postgres"]:
        engine = create_engine(base.set(database=database), poolclass=NullPool,
                               connect_args={"connect_timeout": 10} if base.get_backend_name() == "postgresql" else {})
        try:
            inspector = sa_inspect(engine)
            schemas = [s for s in inspector.get_schema_names()
                       if s not in SYSTEM_SCHEMAS and not s.startswith("pg_temp")
                       and any(fnmatch.fnmatchcase(s, glob) for glob in access.schemas)]
            for schema in sorted(schemas):
                views = set(inspector.get_view_names(schema=schema)) | set(
                    inspector.get_materialized_view_names(schema=schema))
                columns = inspector.get_multi_columns(schema=schema, kind=ObjectKind.ANY)
                for (_, table), cols in sorted(columns.items()):
                    yield scope.dataset(
                        table_id(database, schema, table),
                        kind="view" if table in views else "table",
                        fields=classify_columns([(c["name"], _type_name(c["type"])) for c in cols]),
                        schema_status=SchemaStatus.CATALOGUE,
                        tags=dict(shared["tags"]),
                        properties={**shared["properties"], "database": database, "schema": schema,
                                    "retention_control": retention(
                                        "none", False, "no service-level expiry of rows in a database table")},
                    )
        except SQLAlchemyError as exc:
            reason = failure(getattr(exc, "orig", None) or exc)
            problems.append(f"database {database!r}: schema inspection failed: {reason}")
            scope.unreadable(f"database {database!r}: {reason}")
        finally:
            engine.dispose()


def _type_name(sql_type: Any) -> str:
    try:
        return str(sql_type).lower()
    except Exception:  # noqa: BLE001 - a type the dialect cannot render still has a name
        return type(sql_type).__name__.lower()

