"""register: assets, locations, harvests, observed datasets, findings, history

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('asset',
    sa.Column('asset_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('custodian', sa.String(length=200), nullable=True),
    sa.Column('business_unit', sa.String(length=200), nullable=True),
    sa.Column('security_classification', sa.String(length=40), nullable=True),
    sa.Column('personal_data', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('special_categories', sa.Text(), nullable=True),
    sa.Column('criminal_offence_data', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('data_subjects', sa.Text(), nullable=True),
    sa.Column('retention_schedule', sa.String(length=100), nullable=True),
    sa.Column('disposal_action', sa.String(length=200), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('key_asset', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('risk_rating', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reviewed', sa.Date(), nullable=True),
    sa.Column('next_review_due', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_asset')),
    postgresql_with={'fillfactor': 70}
    )
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.create_index('ix_asset_owner', ['owner'], unique=False)
        batch_op.create_index('ix_asset_status', ['status'], unique=False)

    op.create_table('finding',
    sa.Column('finding_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.String(length=32), nullable=True),
    sa.Column('namespace', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=True),
    sa.Column('name', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('first_seen_run', sa.String(length=250), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_run', sa.String(length=250), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=250), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('finding_id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index('ix_finding_asset_id', ['asset_id'], unique=False)
        batch_op.create_index('ix_finding_kind_subject', ['kind', 'subject'], unique=False)
        batch_op.create_index('ix_finding_status_severity', ['status', 'severity'], unique=False)
        batch_op.create_index('uq_finding_live', ['kind', 'subject'], unique=True, sqlite_where=sa.text("status IN ('open', 'acknowledged', 'dismissed')"), postgresql_where=sa.text("status IN ('open', 'acknowledged', 'dismissed')"))

    op.create_table('harvest_run',
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('data_interval_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_interval_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('triggered_by', sa.String(length=200), nullable=True),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_harvest_run'))
    )
    op.create_table('history',
    sa.Column('history_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entity_kind', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.String(length=250), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('cause_kind', sa.String(length=30), nullable=False),
    sa.Column('cause', sa.String(length=250), nullable=True),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('history_id', name=op.f('pk_history'))
    )
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index('ix_history_at', ['at'], unique=False)
        batch_op.create_index('ix_history_entity', ['entity_kind', 'entity_id', 'at'], unique=False)

    op.create_table('observed_dataset',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=True),
    sa.Column('scope', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=True),
    sa.Column('format', sa.String(length=40), nullable=True),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('classification', sa.String(length=40), server_default='none', nullable=False),
    sa.Column('personal_data', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('special_categories', sa.Text(), nullable=True),
    sa.Column('criminal_offence_data', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('schema_status', sa.String(length=20), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('retention_kind', sa.String(length=40), nullable=True),
    sa.Column('retention_active', sa.Boolean(), nullable=True),
    sa.Column('symlinks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('object_count', sa.BigInteger(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('first_seen_run', sa.String(length=250), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_run', sa.String(length=250), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gone', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('record', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_observed_dataset'))
    )
    with op.batch_alter_table('observed_dataset', schema=None) as batch_op:
        batch_op.create_index('ix_observed_dataset_namespace_name_valid_to', ['namespace', 'name', 'valid_to'], unique=False)
        batch_op.create_index('ix_observed_dataset_source_scope', ['source', 'scope'], unique=False)
        batch_op.create_index('uq_observed_dataset_current', ['namespace', 'name'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.create_table('asset_location',
    sa.Column('location_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=32), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('namespace', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.asset_id'], name=op.f('fk_asset_location_asset_id_asset')),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_asset_location')),
    sa.UniqueConstraint('asset_id', 'namespace', 'name', name=op.f('uq_asset_location_asset_id_namespace_name'))
    )
    with op.batch_alter_table('asset_location', schema=None) as batch_op:
        batch_op.create_index('ix_asset_location_namespace_name', ['namespace', 'name'], unique=False)

    op.create_table('harvest_scope',
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('namespace', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('datasets', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error_kind', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('unreadable', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['harvest_run.run_id'], name=op.f('fk_harvest_scope_run_id_harvest_run')),
    sa.PrimaryKeyConstraint('run_id', 'namespace', 'name', name=op.f('pk_harvest_scope'))
    )
    with op.batch_alter_table('harvest_scope', schema=None) as batch_op:
        batch_op.create_index('ix_harvest_scope_namespace_name', ['namespace', 'name'], unique=False)

    op.create_table('observation',
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('namespace', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('unit', sa.String(length=600), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('record', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['harvest_run.run_id'], name=op.f('fk_observation_run_id_harvest_run')),
    sa.PrimaryKeyConstraint('run_id', 'namespace', 'name', name=op.f('pk_observation'))
    )
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index('ix_observation_run_id_unit', ['run_id', 'unit'], unique=False)

    op.create_table('reconciliation_run',
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('harvest_run_id', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('absence_decision', sa.String(length=20), nullable=True),
    sa.Column('absence_decided_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['harvest_run_id'], ['harvest_run.run_id'], name=op.f('fk_reconciliation_run_harvest_run_id_harvest_run')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_reconciliation_run'))
    )


def downgrade() -> None:
    op.drop_table('reconciliation_run')
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index('ix_observation_run_id_unit')

    op.drop_table('observation')
    with op.batch_alter_table('harvest_scope', schema=None) as batch_op:
        batch_op.drop_index('ix_harvest_scope_namespace_name')

    op.drop_table('harvest_scope')
    with op.batch_alter_table('asset_location', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_location_namespace_name')

    op.drop_table('asset_location')
    with op.batch_alter_table('observed_dataset', schema=None) as batch_op:
        batch_op.drop_index('uq_observed_dataset_current', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index('ix_observed_dataset_source_scope')
        batch_op.drop_index('ix_observed_dataset_namespace_name_valid_to')

    op.drop_table('observed_dataset')
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_entity')
        batch_op.drop_index('ix_history_at')

    op.drop_table('history')
    op.drop_table('harvest_run')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index('uq_finding_live', sqlite_where=sa.text("status IN ('open', 'acknowledged', 'dismissed')"), postgresql_where=sa.text("status IN ('open', 'acknowledged', 'dismissed')"))
        batch_op.drop_index('ix_finding_status_severity')
        batch_op.drop_index('ix_finding_kind_subject')
        batch_op.drop_index('ix_finding_asset_id')

    op.drop_table('finding')
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_status')
        batch_op.drop_index('ix_asset_owner')

    op.drop_table('asset')
