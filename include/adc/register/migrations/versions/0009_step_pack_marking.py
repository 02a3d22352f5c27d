"""review_step.marking: the strongest marking of what a question's pack shows

An owner's review pack lists the activity's linked assets and the datasets found at their locations.
An activity carries no marking of its own (OFFICIAL), but an asset it links to may be SECRET: the
pack is then SECRET too, and only those cleared to read it may see it (docs/organisations.md). Packs
stored before this revision are left unmarked (OFFICIAL), as they were shown.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marking", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.drop_column("marking")
