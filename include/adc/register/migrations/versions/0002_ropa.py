"""ropa: processing activities, their asset links, review cycles and review steps

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('processing_activity',
    sa.Column('activity_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('business_function', sa.Text(), nullable=True),
    sa.Column('purpose_of_processing', sa.Text(), nullable=True),
    sa.Column('joint_controller', sa.Text(), nullable=True),
    sa.Column('categories_of_individuals', sa.Text(), nullable=True),
    sa.Column('categories_of_personal_data', sa.Text(), nullable=True),
    sa.Column('categories_of_recipients', sa.Text(), nullable=True),
    sa.Column('processor_contract_link', sa.Text(), nullable=True),
    sa.Column('third_country_transfers', sa.Text(), nullable=True),
    sa.Column('transfer_safeguards', sa.Text(), nullable=True),
    sa.Column('retention_schedule', sa.Text(), nullable=True),
    sa.Column('security_measures', sa.Text(), nullable=True),
    sa.Column('article_6_lawful_basis', sa.Text(), nullable=True),
    sa.Column('article_9_condition', sa.Text(), nullable=True),
    sa.Column('legitimate_interests', sa.Text(), nullable=True),
    sa.Column('legitimate_interests_assessment_link', sa.Text(), nullable=True),
    sa.Column('individual_rights', sa.Text(), nullable=True),
    sa.Column('automated_decision_making', sa.Text(), nullable=True),
    sa.Column('source_of_personal_data', sa.Text(), nullable=True),
    sa.Column('consent_record_link', sa.Text(), nullable=True),
    sa.Column('location_of_personal_data', sa.Text(), nullable=True),
    sa.Column('dpia_required', sa.Text(), nullable=True),
    sa.Column('dpia_progress', sa.Text(), nullable=True),
    sa.Column('dpia_link', sa.Text(), nullable=True),
    sa.Column('personal_data_breach', sa.Text(), nullable=True),
    sa.Column('breach_record_link', sa.Text(), nullable=True),
    sa.Column('dpa_schedule_1_condition', sa.Text(), nullable=True),
    sa.Column('gdpr_article_6_lawful_basis', sa.Text(), nullable=True),
    sa.Column('retention_policy_link', sa.Text(), nullable=True),
    sa.Column('retained_per_policy', sa.Text(), nullable=True),
    sa.Column('policy_deviation_reasons', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('review_frequency_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('response_time', sa.String(length=32), server_default='P14D', nullable=False),
    sa.Column('last_reviewed', sa.Date(), nullable=True),
    sa.Column('next_review_due', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_processing_activity'))
    )
    with op.batch_alter_table('processing_activity', schema=None) as batch_op:
        batch_op.create_index('ix_processing_activity_next_review_due', ['next_review_due'], unique=False)
        batch_op.create_index('ix_processing_activity_owner', ['owner'], unique=False)

    op.create_table('activity_asset',
    sa.Column('activity_id', sa.String(length=16), nullable=False),
    sa.Column('asset_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['processing_activity.activity_id'], name=op.f('fk_activity_asset_activity_id_processing_activity')),
    sa.PrimaryKeyConstraint('activity_id', 'asset_id', name=op.f('pk_activity_asset'))
    )
    with op.batch_alter_table('activity_asset', schema=None) as batch_op:
        batch_op.create_index('ix_activity_asset_asset_id', ['asset_id'], unique=False)

    op.create_table('review',
    sa.Column('review_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.String(length=16), nullable=False),
    sa.Column('cycle_due', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('proposed_changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('applied_changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['processing_activity.activity_id'], name=op.f('fk_review_activity_id_processing_activity')),
    sa.PrimaryKeyConstraint('review_id', name=op.f('pk_review'))
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_activity_id', ['activity_id'], unique=False)
        batch_op.create_index('uq_review_unfinished', ['activity_id'], unique=True, sqlite_where=sa.text("status != 'completed'"), postgresql_where=sa.text("status != 'completed'"))

    op.create_table('review_step',
    sa.Column('step_id', sa.String(length=100), nullable=False),
    sa.Column('review_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('follows', sa.String(length=100), nullable=True),
    sa.Column('assigned_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('pack', sa.Text(), nullable=False),
    sa.Column('pack_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('dag_run_id', sa.String(length=250), nullable=True),
    sa.Column('task_id', sa.String(length=250), nullable=True),
    sa.Column('map_index', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('option', sa.String(length=100), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('proposed_changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('refusal', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['review_id'], ['review.review_id'], name=op.f('fk_review_step_review_id_review')),
    sa.PrimaryKeyConstraint('step_id', name=op.f('pk_review_step'))
    )
    with op.batch_alter_table('review_step', schema=None) as batch_op:
        batch_op.create_index('ix_review_step_dag_run_id', ['dag_run_id'], unique=False)
        batch_op.create_index('ix_review_step_review_id', ['review_id'], unique=False)
        batch_op.create_index('ix_review_step_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_step', schema=None) as batch_op:
        batch_op.drop_index('ix_review_step_status')
        batch_op.drop_index('ix_review_step_review_id')
        batch_op.drop_index('ix_review_step_dag_run_id')

    op.drop_table('review_step')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('uq_review_unfinished', sqlite_where=sa.text("status != 'completed'"), postgresql_where=sa.text("status != 'completed'"))
        batch_op.drop_index('ix_review_activity_id')

    op.drop_table('review')
    with op.batch_alter_table('activity_asset', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_asset_asset_id')

    op.drop_table('activity_asset')
    with op.batch_alter_table('processing_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_processing_activity_owner')
        batch_op.drop_index('ix_processing_activity_next_review_due')

    op.drop_table('processing_activity')
