"""Deal notes: a note on each step of the deal pipeline (a step without a move is a note alone).

Revision ID: 0011_orgs2
Revises: 0010_market2
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_orgs2'
down_revision = '0010_market2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deal_steps') as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('deal_steps') as batch_op:
        batch_op.drop_column('note')
