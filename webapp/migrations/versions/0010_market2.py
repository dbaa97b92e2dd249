"""Market, second round: calibrated strength of stored library matches, the library version counter
and change log (per-process indexes catch up with what changed when it moves), proposals put into an event's roadshow, and on SQLite
the FTS5 word index of listed library items (jieba-segmented, webapp.services.market_search).

Revision ID: 0010_market2
Revises: 0009_event_day
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_market2'
down_revision = '0009_event_day'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('library_matches') as batch_op:
        batch_op.add_column(sa.Column('strength', sa.Float(), nullable=True))
    with op.batch_alter_table('proposals') as batch_op:
        batch_op.add_column(sa.Column('roadshow_event_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_proposals_roadshow_event_id', 'events', ['roadshow_event_id'], ['id'],
                                    ondelete='SET NULL')
    version = op.create_table('library_version', sa.Column('id', sa.Integer(), primary_key=True),
                              sa.Column('version', sa.Integer(), nullable=False))
    op.bulk_insert(version, [{'id': 1, 'version': 0}])
    op.create_table('library_changes', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('version', sa.Integer(), nullable=False), sa.Column('item_id', sa.Integer(), nullable=True))
    op.create_index('ix_library_changes_version', 'library_changes', ['version'])
    if op.get_bind().dialect.name == 'sqlite':
        from webapp.services.market_search import create_index

        create_index(op.get_bind())


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS library_search')
    op.drop_table('library_changes')
    op.drop_table('library_version')
    with op.batch_alter_table('proposals') as batch_op:
        batch_op.drop_constraint('fk_proposals_roadshow_event_id', type_='foreignkey')
        batch_op.drop_column('roadshow_event_id')
    with op.batch_alter_table('library_matches') as batch_op:
        batch_op.drop_column('strength')
