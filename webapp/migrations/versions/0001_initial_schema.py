"""Initial schema of the web app: events, records, imports, jobs, suggestions, decisions, schedules, history.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('venue', sa.String(length=200), nullable=False),
    sa.Column('tracks', sa.JSON(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=False),
    sa.Column('tables', sa.Integer(), nullable=False),
    sa.Column('max_meetings', sa.Integer(), nullable=False),
    sa.Column('records_version', sa.Integer(), nullable=False),
    sa.Column('ranked_version', sa.Integer(), nullable=True),
    sa.Column('data_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('capabilities',
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('classification', sa.String(length=8), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('org', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('domain_inferred', sa.Boolean(), nullable=False),
    sa.Column('keywords', sa.String(length=500), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('trl', sa.Integer(), nullable=True),
    sa.Column('cooperation', sa.String(length=100), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'capability_id')
    )
    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capabilities_event_id'), ['event_id'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('lock_slot', sa.Integer(), nullable=True),
    sa.Column('lock_table', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'need_id', 'capability_id')
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_event_id'), ['event_id'], unique=False)

    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('n_valid', sa.Integer(), nullable=False),
    sa.Column('n_rejected', sa.Integer(), nullable=False),
    sa.Column('n_new', sa.Integer(), nullable=False),
    sa.Column('n_updated', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imports_event_id'), ['event_id'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_event_id'), ['event_id'], unique=False)

    op.create_table('meeting_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('requester', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_requests_event_id'), ['event_id'], unique=False)

    op.create_table('needs',
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('clearance', sa.String(length=8), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('org', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('domain_inferred', sa.Boolean(), nullable=False),
    sa.Column('keywords', sa.String(length=500), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('trl', sa.Integer(), nullable=True),
    sa.Column('cooperation', sa.String(length=100), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'need_id')
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_event_id'), ['event_id'], unique=False)

    op.create_table('org_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_org', sa.String(length=200), nullable=False),
    sa.Column('capability_org', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('event_name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('need_org', 'capability_org', 'event_id', 'kind')
    )
    with op.batch_alter_table('org_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_history_need_org'), ['need_org'], unique=False)

    op.create_table('outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('need_org', sa.String(length=200), nullable=False),
    sa.Column('capability_org', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcomes_event_id'), ['event_id'], unique=False)

    op.create_table('schedule_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('objective', sa.Float(), nullable=False),
    sa.Column('bound', sa.Float(), nullable=True),
    sa.Column('gap', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('solve_seconds', sa.Float(), nullable=False),
    sa.Column('fairness_level', sa.Integer(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('tables', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_runs_event_id'), ['event_id'], unique=False)

    op.create_table('score_tables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('need_ids', sa.JSON(), nullable=False),
    sa.Column('capability_ids', sa.JSON(), nullable=False),
    sa.Column('values', sa.LargeBinary(), nullable=False),
    sa.Column('exclusion_codes', sa.LargeBinary(), nullable=False),
    sa.Column('exclusion_keys', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('score_semantic', sa.Float(), nullable=False),
    sa.Column('score_lexical', sa.Float(), nullable=False),
    sa.Column('domain_match', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('shared_terms', sa.Text(), nullable=False),
    sa.Column('need_org', sa.String(length=200), nullable=False),
    sa.Column('capability_org', sa.String(length=200), nullable=False),
    sa.Column('need_title', sa.String(length=500), nullable=False),
    sa.Column('capability_title', sa.String(length=500), nullable=False),
    sa.Column('need_domain', sa.String(length=40), nullable=False),
    sa.Column('capability_domain', sa.String(length=40), nullable=False),
    sa.Column('need_clearance', sa.String(length=8), nullable=False),
    sa.Column('capability_classification', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index('ix_suggestions_capability', ['event_id', 'direction', 'capability_id', 'rank'], unique=False)
        batch_op.create_index('ix_suggestions_need', ['event_id', 'direction', 'need_id', 'rank'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('table_no', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('need_org', sa.String(length=200), nullable=False),
    sa.Column('capability_org', sa.String(length=200), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['schedule_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_run_id'), ['run_id'], unique=False)

    op.create_table('unscheduled',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('need_id', sa.String(length=64), nullable=False),
    sa.Column('capability_id', sa.String(length=64), nullable=False),
    sa.Column('need_org', sa.String(length=200), nullable=False),
    sa.Column('capability_org', sa.String(length=200), nullable=False),
    sa.Column('org', sa.String(length=200), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['schedule_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('unscheduled', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unscheduled_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unscheduled_run_id'), ['run_id'], unique=False)




def downgrade():
    with op.batch_alter_table('unscheduled', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unscheduled_run_id'))
        batch_op.drop_index(batch_op.f('ix_unscheduled_event_id'))

    op.drop_table('unscheduled')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_run_id'))
        batch_op.drop_index(batch_op.f('ix_meetings_event_id'))

    op.drop_table('meetings')
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index('ix_suggestions_need')
        batch_op.drop_index('ix_suggestions_capability')

    op.drop_table('suggestions')
    op.drop_table('score_tables')
    with op.batch_alter_table('schedule_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_runs_event_id'))

    op.drop_table('schedule_runs')
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcomes_event_id'))

    op.drop_table('outcomes')
    with op.batch_alter_table('org_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_history_need_org'))

    op.drop_table('org_history')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_event_id'))

    op.drop_table('needs')
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_requests_event_id'))

    op.drop_table('meeting_requests')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_event_id'))

    op.drop_table('jobs')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_event_id'))

    op.drop_table('imports')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_event_id'))

    op.drop_table('decisions')
    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capabilities_event_id'))

    op.drop_table('capabilities')
    op.drop_table('events')

