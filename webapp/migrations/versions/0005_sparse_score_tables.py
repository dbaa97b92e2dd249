"""Score tables of large events hold only the scored pairs (layout "pairs") and the tier levels.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ('layout', 'positions', 'need_levels', 'capability_levels')


def upgrade():
    # batch mode: SQLite recreates the table, PostgreSQL gets a plain ALTER TABLE ADD COLUMN.
    with op.batch_alter_table('score_tables') as batch_op:
        batch_op.add_column(sa.Column('layout', sa.String(length=8), server_default='dense', nullable=False))
        batch_op.add_column(sa.Column('positions', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('need_levels', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('capability_levels', sa.LargeBinary(), nullable=True))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info >= (3, 35):
        for column in reversed(COLUMNS):
            op.execute(f'ALTER TABLE score_tables DROP COLUMN {column}')
        return
    with op.batch_alter_table('score_tables') as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
