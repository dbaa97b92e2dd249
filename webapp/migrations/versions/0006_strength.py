"""Suggestions carry the calibrated match strength (matcher.strength) and its band 强/中/弱.

Revision ID: 0006_strength
Revises: 0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_strength'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = ('strength', 'strength_band')


def upgrade():
    # Rows ranked before this revision read strength 0 and no band until the event is ranked again.
    with op.batch_alter_table('suggestions') as batch_op:
        batch_op.add_column(sa.Column('strength', sa.Float(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('strength_band', sa.String(length=4), server_default='', nullable=False))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info >= (3, 35):
        for column in reversed(COLUMNS):
            op.execute(f'ALTER TABLE suggestions DROP COLUMN {column}')
        return
    with op.batch_alter_table('suggestions') as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
