"""Per-user session version, so logout, password resets and deactivation revoke sessions server-side.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # batch mode: SQLite recreates the table, PostgreSQL gets a plain ALTER TABLE ADD COLUMN.
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info >= (3, 35):
        # Native DROP COLUMN: a batch copy-and-rename would DROP TABLE users, and with
        # foreign keys on that cascades into organiser_events.
        op.execute('ALTER TABLE users DROP COLUMN session_version')
        return
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_version')
