"""Event journeys: merged meeting topics, contract type and amount of outcomes, withheld matches, the inbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.add_column(sa.Column('topics', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('outcomes') as batch_op:
        batch_op.add_column(sa.Column('contract_type', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('amount', sa.Float(), nullable=True))
    op.create_table(
        'withheld_matches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.String(length=64), nullable=False),
        sa.Column('capability_id', sa.String(length=64), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('would_rank', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_withheld_need', 'withheld_matches', ['event_id', 'need_id'])
    op.create_table(
        'inbox_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_org', sa.String(length=200), nullable=True),
        sa.Column('recipient_user_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_inbox_recipient', 'inbox_messages', ['recipient_org', 'recipient_user_id', 'read_at'])


def downgrade():
    op.drop_index('ix_inbox_recipient', table_name='inbox_messages')
    op.drop_table('inbox_messages')
    op.drop_index('ix_withheld_need', table_name='withheld_matches')
    op.drop_table('withheld_matches')
    bind = op.get_bind()
    native = bind.dialect.name != 'sqlite' or bind.dialect.dbapi.sqlite_version_info >= (3, 35)
    for table, columns in (('outcomes', ('amount', 'contract_type')), ('meetings', ('topics',))):
        for column in columns:
            if native:  # a batch copy-and-rename would cascade deletes through foreign keys
                op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
            else:
                with op.batch_alter_table(table) as batch_op:
                    batch_op.drop_column(column)
