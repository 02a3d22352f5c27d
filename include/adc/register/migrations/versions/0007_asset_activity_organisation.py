"""asset.organisation and processing_activity.organisation: whose each register entry is

Imported and exported with the IAR and the RoPA, checked against organisations.yaml, and read by
the one visibility rule (docs/organisations.md). NULL is the department.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("asset", "processing_activity"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("organisation", sa.String(40), nullable=True))


def downgrade() -> None:
    for table in ("asset", "processing_activity"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("organisation")
