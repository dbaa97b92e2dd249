"""Organisation profiles (credit code, industry, tiers with validity, change history), invitations, the deal pipeline.

Revision ID: 0007
Revises: 0006_strength
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006_strength'
branch_labels = None
depends_on = None

DEAL_COLUMNS = ('stage', 'signed_on', 'registration_no', 'registered_on')


def upgrade():
    op.create_table(
        'org_profiles',
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('credit_code', sa.String(length=18), nullable=True),
        sa.Column('industry_code', sa.String(length=5), nullable=False),
        sa.Column('town', sa.String(length=100), nullable=False),
        sa.Column('rd_staff', sa.Integer(), nullable=True),
        sa.Column('revenue_band', sa.String(length=20), nullable=False),
        sa.Column('main_products', sa.Text(), nullable=False),
        sa.Column('institute_type', sa.String(length=20), nullable=False),
        sa.Column('disciplines', sa.Text(), nullable=False),
        sa.Column('teams', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('org_id'),
        sa.UniqueConstraint('credit_code'),
    )
    op.create_table(
        'org_tiers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('tier', sa.String(length=20), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('org_id', 'tier'),
    )
    op.create_index('ix_org_tiers_org_id', 'org_tiers', ['org_id'])
    op.create_index('ix_org_tiers_valid_until', 'org_tiers', ['valid_until'])
    op.create_table(
        'org_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('before', sa.Text(), nullable=False),
        sa.Column('after', sa.Text(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_org_changes_org_id', 'org_changes', ['org_id'])
    with op.batch_alter_table('outcomes') as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=8), server_default='签约', nullable=False))
        batch_op.add_column(sa.Column('signed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('registration_no', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('registered_on', sa.Date(), nullable=True))
    op.create_table(
        'deal_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outcome_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('from_stage', sa.String(length=8), nullable=False),
        sa.Column('to_stage', sa.String(length=8), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['outcome_id'], ['outcomes.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deal_steps_outcome_id', 'deal_steps', ['outcome_id'])
    op.create_index('ix_deal_steps_event_id', 'deal_steps', ['event_id'])
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('invited_by', sa.String(length=80), nullable=False),
        sa.Column('invited_at', sa.DateTime(), nullable=False),
        sa.Column('attended', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'org_id'),
    )
    op.create_index('ix_invitations_event_id', 'invitations', ['event_id'])


def downgrade():
    op.drop_index('ix_invitations_event_id', table_name='invitations')
    op.drop_table('invitations')
    op.drop_index('ix_deal_steps_event_id', table_name='deal_steps')
    op.drop_index('ix_deal_steps_outcome_id', table_name='deal_steps')
    op.drop_table('deal_steps')
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info >= (3, 35):
        for column in reversed(DEAL_COLUMNS):
            op.execute(f'ALTER TABLE outcomes DROP COLUMN {column}')
    else:
        with op.batch_alter_table('outcomes') as batch_op:
            for column in reversed(DEAL_COLUMNS):
                batch_op.drop_column(column)
    op.drop_index('ix_org_changes_org_id', table_name='org_changes')
    op.drop_table('org_changes')
    op.drop_index('ix_org_tiers_valid_until', table_name='org_tiers')
    op.drop_index('ix_org_tiers_org_id', table_name='org_tiers')
    op.drop_table('org_tiers')
    op.drop_table('org_profiles')
