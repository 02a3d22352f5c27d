"""review_step.ended_without_answer: a review task that ended with no answer from Airflow's record

Any Airflow ``user`` can mark a task success, failed or skipped through the REST API. Such a task
records no answer: its step stays pending, and this column notes what became of the task and who
changed it (from Airflow's audit log), so the next run asks again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_without_answer",
                                      sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.drop_column("ended_without_answer")
