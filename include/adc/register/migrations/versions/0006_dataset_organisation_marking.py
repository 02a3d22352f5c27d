"""observed_dataset.organisation and .marking: whose a dataset is and how it is marked

Both come from the harvest (the source's organisation; the strongest of the source's default
marking and the dataset's marking tag) and feed the one visibility rule (docs/organisations.md).
Datasets harvested before have neither: they belong to the department and read as OFFICIAL until
the next harvest sees them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite the table is rebuilt so the columns stand before the record document, as in tables.py: SQLite
    # reads a row's columns in order, and the visibility filter must not read through the document. PostgreSQL
    # keeps large documents out of line, so it simply appends them.
    sqlite = op.get_bind().dialect.name == "sqlite"
    before = "record" if sqlite else None
    with op.batch_alter_table("observed_dataset", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.add_column(sa.Column("organisation", sa.String(40), nullable=True), insert_before=before)
        batch_op.add_column(sa.Column("marking", sa.String(40), nullable=True), insert_before=before)


def downgrade() -> None:
    with op.batch_alter_table("observed_dataset", schema=None) as batch_op:
        batch_op.drop_column("marking")
        batch_op.drop_column("organisation")
