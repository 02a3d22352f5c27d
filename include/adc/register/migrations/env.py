"""Alembic environment for the register: the engine comes from adc.register.db (never a URL in
an ini file), and the version table is ADC's own."""

from alembic import context

import adc.ropa.tables  # noqa: F401 - the RoPA's tables live on the same MetaData
from adc.register.db import VERSION_TABLE
from adc.register.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER TABLE goes via batch copies
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
