"""The standing technology market: library items, revisions, contact requests, stored matches, challenge calls.

Revision ID: 0008_market
Revises: 0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_market'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'library_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('org', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('domain', sa.String(length=40), nullable=False),
        sa.Column('keywords', sa.String(length=500), nullable=False),
        sa.Column('region', sa.String(length=100), nullable=False),
        sa.Column('trl', sa.Integer(), nullable=True),
        sa.Column('cooperation', sa.String(length=100), nullable=False),
        sa.Column('ip_status', sa.String(length=500), nullable=False),
        sa.Column('price', sa.String(length=100), nullable=False),
        sa.Column('contact', sa.String(length=200), nullable=False),
        sa.Column('classification', sa.String(length=8), nullable=False),
        sa.Column('declared_unclassified', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('review_comment', sa.Text(), nullable=False),
        sa.Column('reviewed_by', sa.String(length=80), nullable=False),
        sa.Column('duplicate_of', sa.Integer(), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('source_event_id', sa.Integer(), sa.ForeignKey('events.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_library_items_org', 'library_items', ['org'])
    op.create_index('ix_library_status', 'library_items', ['status', 'kind', 'classification'])
    op.create_table(
        'library_revisions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('library_items.id', ondelete='CASCADE'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_library_revisions_item_id', 'library_revisions', ['item_id'])
    op.create_table(
        'contact_requests',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('library_items.id', ondelete='CASCADE'), nullable=False),
        sa.Column('requester_org', sa.String(length=200), nullable=False),
        sa.Column('requester_user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_contact_requests_item_id', 'contact_requests', ['item_id'])
    op.create_table(
        'library_matches',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('library_items.id', ondelete='CASCADE'), nullable=False),
        sa.Column('other_id', sa.Integer(), sa.ForeignKey('library_items.id', ondelete='CASCADE'), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.UniqueConstraint('item_id', 'other_id'),
    )
    op.create_index('ix_library_matches_item_id', 'library_matches', ['item_id'])
    op.create_index('ix_library_matches_other_id', 'library_matches', ['other_id'])
    op.create_table(
        'challenge_calls',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('org', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('requirements', sa.Text(), nullable=False),
        sa.Column('budget', sa.String(length=100), nullable=False),
        sa.Column('domain', sa.String(length=40), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_challenge_calls_org', 'challenge_calls', ['org'])
    op.create_table(
        'proposals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('call_id', sa.Integer(), sa.ForeignKey('challenge_calls.id', ondelete='CASCADE'), nullable=False),
        sa.Column('org', sa.String(length=200), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('contact', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('call_id', 'org'),
    )
    op.create_index('ix_proposals_call_id', 'proposals', ['call_id'])


def downgrade():
    for table in ('proposals', 'challenge_calls', 'library_matches', 'contact_requests', 'library_revisions',
                  'library_items'):
        op.drop_table(table)
