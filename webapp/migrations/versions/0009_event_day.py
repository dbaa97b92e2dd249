"""Event day: phases and wish weight on events; wishes, check-ins, meeting marks (no-shows) and meeting feedback.

Revision ID: 0009_event_day
Revises: 0008_market
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_event_day'
down_revision = '0008_market'
branch_labels = None
depends_on = None


def _keys():
    return [sa.Column('id', sa.Integer(), primary_key=True),
            sa.Column('event_id', sa.Integer(), sa.ForeignKey('events.id', ondelete='CASCADE'), nullable=False,
                      index=True)]


def upgrade():
    with op.batch_alter_table('events') as batch_op:
        batch_op.add_column(sa.Column('phase', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('phase_dates', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('enterprise_wish_weight', sa.Float(), server_default='1.5', nullable=False))
        batch_op.add_column(sa.Column('min_meetings', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('spare_tables', sa.Integer(), server_default='0', nullable=False))
    op.create_table('wishes', *_keys(),
                    sa.Column('need_id', sa.String(64), nullable=False),
                    sa.Column('capability_id', sa.String(64), nullable=False),
                    sa.Column('side', sa.String(16), nullable=False),
                    sa.Column('level', sa.String(8), nullable=False),
                    sa.Column('username', sa.String(80), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('event_id', 'need_id', 'capability_id', 'side'))
    op.create_table('check_ins', *_keys(),
                    sa.Column('org', sa.String(200), nullable=False),
                    sa.Column('username', sa.String(80), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('event_id', 'org'))
    op.create_table('meeting_marks', *_keys(),
                    sa.Column('need_id', sa.String(64), nullable=False),
                    sa.Column('capability_id', sa.String(64), nullable=False),
                    sa.Column('status', sa.String(16), nullable=False),
                    sa.Column('slot', sa.Integer(), nullable=True),
                    sa.Column('username', sa.String(80), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('event_id', 'need_id', 'capability_id'))
    op.create_table('meeting_feedback', *_keys(),
                    sa.Column('need_id', sa.String(64), nullable=False),
                    sa.Column('capability_id', sa.String(64), nullable=False),
                    sa.Column('side', sa.String(16), nullable=False),
                    sa.Column('happened', sa.Boolean(), nullable=False),
                    sa.Column('interest', sa.String(16), nullable=False),
                    sa.Column('next_step', sa.Text(), nullable=False),
                    sa.Column('decline_reason', sa.String(24), nullable=False),
                    sa.Column('username', sa.String(80), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('event_id', 'need_id', 'capability_id', 'side'))


def downgrade():
    for table in ('meeting_feedback', 'meeting_marks', 'check_ins', 'wishes'):
        op.drop_table(table)
    with op.batch_alter_table('events') as batch_op:
        for column in ('spare_tables', 'min_meetings', 'enterprise_wish_weight', 'phase_dates', 'phase'):
            batch_op.drop_column(column)
