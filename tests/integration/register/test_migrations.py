"""The migrations under adc/register/migrations build exactly the tables the code uses, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, table

import adc.ropa.tables  # noqa: F401 - the RoPA's tables live on the same MetaData
from adc.register.db import VERSION_TABLE, migrate
from adc.register.tables import metadata


def test_migrations_match_the_table_definitions(register):
    with register.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_is_harmless(register):
    migrate(register)
    with register.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table(VERSION_TABLE))).scalar() == 1
