"""Database tables of the web app (SQLAlchemy 2 declarative models).

Records keep the matcher's string ids (``need_id``, ``capability_id``) next to
an integer primary key; every id column is unique within its event, so a
re-imported spreadsheet updates rows instead of duplicating them.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import db


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _event_fk():
    return mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)


class Event(db.Model):
    """One docking event (对接会): its grid of slots and tables and its data versions."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[dt.date | None] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(200), default="")
    tracks: Mapped[list] = mapped_column(JSON, default=list)
    slots: Mapped[int] = mapped_column(Integer, default=8)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=20)
    start_time: Mapped[str] = mapped_column(String(5), default="09:00")
    tables: Mapped[int] = mapped_column(Integer, default=20)
    max_meetings: Mapped[int] = mapped_column(Integer, default=6)
    # Bumped whenever records change; a ranking remembers the version it saw, so stale ones show.
    records_version: Mapped[int] = mapped_column(Integer, default=0)
    ranked_version: Mapped[int | None] = mapped_column(Integer)
    # Bumped on every change any page shows; keys the rendered-page cache.
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    # Event-day workflow (webapp.services.phases): "" = phases not used (everything open, as before).
    phase: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # {phase: "YYYY-MM-DD"}: the planned start date of each phase.
    phase_dates: Mapped[dict] = mapped_column(JSON, default=dict)
    # How much more the enterprise side's wishes weigh than the institute side's (matcher.planning.wishes).
    enterprise_wish_weight: Mapped[float] = mapped_column(Float, default=1.5, server_default="1.5")
    # Floor of meetings per participant where the data allows (matcher's min_meetings; shortfalls are reported).
    min_meetings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Tables the first plan leaves free (b2match advises 10–20%); re-planning on the day may use them.
    spare_tables: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class _Record:
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    org: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(40), default="")
    domain_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    keywords: Mapped[str] = mapped_column(String(500), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    trl: Mapped[int | None] = mapped_column(Integer)
    cooperation: Mapped[str] = mapped_column(String(100), default="")
    source_row: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class Need(_Record, db.Model):
    """An enterprise technology need (企业技术需求)."""

    __tablename__ = "needs"
    __table_args__ = (UniqueConstraint("event_id", "need_id"),)
    need_id: Mapped[str] = mapped_column(String(64))
    clearance: Mapped[str] = mapped_column(String(8), default="无")


class Capability(_Record, db.Model):
    """An institute capability or achievement (院所能力/科技成果)."""

    __tablename__ = "capabilities"
    __table_args__ = (UniqueConstraint("event_id", "capability_id"),)
    capability_id: Mapped[str] = mapped_column(String(64))
    classification: Mapped[str] = mapped_column(String(8), default="公开")


class ImportBatch(db.Model):
    """An uploaded spreadsheet: saved, validated, then confirmed or discarded."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    kind: Mapped[str] = mapped_column(String(16))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    stored_path: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="validated")
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    n_valid: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)
    n_new: Mapped[int] = mapped_column(Integer, default=0)
    n_updated: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(80), default="")
    problems: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Job(db.Model):
    """A background job (ranking or scheduling) and its progress."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Suggestion(db.Model):
    """One precomputed suggestion (a row of ``matcher.rank_pairs``) for one direction."""

    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_need", "event_id", "direction", "need_id", "rank"),
        Index("ix_suggestions_capability", "event_id", "direction", "capability_id", "rank"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    score_semantic: Mapped[float] = mapped_column(Float, default=0.0)
    score_lexical: Mapped[float] = mapped_column(Float, default=0.0)
    # Calibrated, absolute (matcher.strength): what pages show; ``score`` only orders.
    strength: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    strength_band: Mapped[str] = mapped_column(String(4), default="", server_default="")
    domain_match: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    shared_terms: Mapped[str] = mapped_column(Text, default="")
    need_org: Mapped[str] = mapped_column(String(200), default="")
    capability_org: Mapped[str] = mapped_column(String(200), default="")
    need_title: Mapped[str] = mapped_column(String(500), default="")
    capability_title: Mapped[str] = mapped_column(String(500), default="")
    need_domain: Mapped[str] = mapped_column(String(40), default="")
    capability_domain: Mapped[str] = mapped_column(String(40), default="")
    need_clearance: Mapped[str] = mapped_column(String(8), default="")
    capability_classification: Mapped[str] = mapped_column(String(8), default="")


class ScoreTable(db.Model):
    """The need-direction fused scores of the last ranking (float32, -inf where forbidden).

    ``layout`` "dense": every pair, row-major. "pairs" (events past matcher's large
    threshold): only the pairs in ``positions`` (int32 row, column) carry a score or a
    same-organisation/exclusion code; the clearance rule comes from the tier levels.
    """

    __tablename__ = "score_tables"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    need_ids: Mapped[list] = mapped_column(JSON)
    capability_ids: Mapped[list] = mapped_column(JSON)
    values: Mapped[bytes] = mapped_column(LargeBinary)
    # Why a pair is forbidden: uint8 codes indexing ``exclusion_keys`` ("" = allowed).
    exclusion_codes: Mapped[bytes] = mapped_column(LargeBinary)
    exclusion_keys: Mapped[list] = mapped_column(JSON)
    layout: Mapped[str] = mapped_column(String(8), default="dense", server_default="dense")
    positions: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    need_levels: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    capability_levels: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Decision(db.Model):
    """The organiser's decision on a pair: accepted (optionally locked to a slot) or rejected."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("event_id", "need_id", "capability_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    lock_slot: Mapped[int | None] = mapped_column(Integer)
    lock_table: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="organiser")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class ScheduleRun(db.Model):
    """The latest meeting plan of an event (older runs are replaced)."""

    __tablename__ = "schedule_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float, default=0.0)
    bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    fairness_level: Mapped[int] = mapped_column(Integer, default=0)
    slots: Mapped[int] = mapped_column(Integer)
    tables: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Meeting(db.Model):
    """One scheduled meeting: slot × table."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("schedule_runs.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = _event_fk()
    slot: Mapped[int] = mapped_column(Integer)
    table_no: Mapped[int] = mapped_column(Integer)
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    need_org: Mapped[str] = mapped_column(String(200))
    capability_org: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Other accepted pairs of the same two organisations, discussed in this meeting: [[need_id, capability_id], …].
    topics: Mapped[list] = mapped_column(JSON, default=list)


class Unscheduled(db.Model):
    """A candidate pair or participant the plan leaves out, with the reason."""

    __tablename__ = "unscheduled"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("schedule_runs.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = _event_fk()
    kind: Mapped[str] = mapped_column(String(16))
    need_id: Mapped[str] = mapped_column(String(64), default="")
    capability_id: Mapped[str] = mapped_column(String(64), default="")
    need_org: Mapped[str] = mapped_column(String(200), default="")
    capability_org: Mapped[str] = mapped_column(String(200), default="")
    org: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")


class MeetingRequest(db.Model):
    """A participant's request to meet about a pair; an organiser approves or declines it."""

    __tablename__ = "meeting_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Outcome(db.Model):
    """A cooperation signed after the event (签约成果), for a pair or described in free text."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64), default="")
    capability_id: Mapped[str] = mapped_column(String(64), default="")
    need_org: Mapped[str] = mapped_column(String(200), default="")
    capability_org: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=1)
    # 技术合同 type (技术开发, 技术转让, 技术许可, 技术咨询, 技术服务) and amount in 万元, when known.
    contract_type: Mapped[str] = mapped_column(String(16), default="")
    amount: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    # Deal pipeline (webapp.services.deals): 意向 → 洽谈 → 签约 → 登记; rows recorded before it are 签约.
    stage: Mapped[str] = mapped_column(String(8), default="签约", server_default="签约")
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    registration_no: Mapped[str] = mapped_column(String(40), default="", server_default="")
    registered_on: Mapped[dt.date | None] = mapped_column(Date)


class DealStep(db.Model):
    """One move of a deal (an ``Outcome``) along the pipeline: who moved it from which stage to which, when.

    A step whose ``from_stage`` equals its ``to_stage`` is a note on the deal without a move.
    """

    __tablename__ = "deal_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = _event_fk()
    from_stage: Mapped[str] = mapped_column(String(8), default="")
    to_stage: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    # What the mover or a party wrote (progress of the talks, the contract); seen by whoever sees the amount.
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class WithheldMatch(db.Model):
    """A strong match the clearance rule keeps from a need: organisers see it with the reason, members never."""

    __tablename__ = "withheld_matches"
    __table_args__ = (Index("ix_withheld_need", "event_id", "need_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    # The rank the capability would have among the need's suggestions if the rule allowed it.
    would_rank: Mapped[int] = mapped_column(Integer)


class InboxMessage(db.Model):
    """A notice for an organisation's members or for one user; text rendered in the reader's language."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_recipient", "recipient_org", "recipient_user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_org: Mapped[str | None] = mapped_column(String(200))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class OrgHistory(db.Model):
    """Organisation pairs that met or signed at an event; later events do not re-suggest them."""

    __tablename__ = "org_history"
    __table_args__ = (UniqueConstraint("need_org", "capability_org", "event_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    need_org: Mapped[str] = mapped_column(String(200), index=True)
    capability_org: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    event_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Organisation(db.Model):
    """A participating organisation and its security qualification (保密资质).

    The declared ``clearance`` counts only while ``verified_at`` is set and ``expires_on``
    has not passed (see :func:`webapp.visibility.effective_clearance`); otherwise it is 无.
    """

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="enterprise")
    clearance: Mapped[str] = mapped_column(String(8), default="无")
    certificate_no: Mapped[str] = mapped_column(String(100), default="")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    verified_by: Mapped[str] = mapped_column(String(80), default="")
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class OrgProfile(db.Model):
    """An organisation's profile in the district database: credit code, industry, size; or an institute's type.

    Tier memberships are :class:`OrgTier` rows; every change is an :class:`OrgChange` row.
    """

    __tablename__ = "org_profiles"
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    # 统一社会信用代码 (GB 32100-2015); unique when given (NULL for institutes without one).
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    industry_code: Mapped[str] = mapped_column(String(5), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    rd_staff: Mapped[int | None] = mapped_column(Integer)
    revenue_band: Mapped[str] = mapped_column(String(20), default="")
    main_products: Mapped[str] = mapped_column(Text, default="")
    institute_type: Mapped[str] = mapped_column(String(20), default="")
    disciplines: Mapped[str] = mapped_column(Text, default="")
    teams: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class OrgTier(db.Model):
    """An enterprise's membership of one tier (科技型中小企业, 高新技术企业, …) with its number and validity."""

    __tablename__ = "org_tiers"
    __table_args__ = (UniqueConstraint("org_id", "tier"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40), default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, index=True)


class OrgChange(db.Model):
    """One changed field of an organisation's profile or tiers: before, after, who, from where (form or file)."""

    __tablename__ = "org_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    username: Mapped[str] = mapped_column(String(80), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Invitation(db.Model):
    """An enterprise of the district database invited to an event, by whom, and whether it came."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("event_id", "org_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    invited_by: Mapped[str] = mapped_column(String(80), default="")
    invited_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)


class User(db.Model):
    """A login account with one role; members belong to an organisation, organisers to events."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Copied into the session at login and checked on every request; bumping it (logout,
    # password reset, deactivation) revokes every session issued before, copied cookies included.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class OrganiserEvent(db.Model):
    """Which events an organiser account organises."""

    __tablename__ = "organiser_events"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)


class LoginAttempt(db.Model):
    """One login attempt, for rate limiting failures per account and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_lookup", "username", "remote_addr", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class AuditEntry(db.Model):
    """Append-only audit log: who did what, when, from where (no update or delete path exists)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    remote_addr: Mapped[str] = mapped_column(String(64), default="")


class Wish(db.Model):
    """One side's wish about a pair: must (必见), want (愿见) or never (不见) meet."""

    __tablename__ = "wishes"
    __table_args__ = (UniqueConstraint("event_id", "need_id", "capability_id", "side"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    # "need" (the enterprise that owns the need) or "capability" (the institute).
    side: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class CheckIn(db.Model):
    """An organisation's arrival at the event (the check-in desk)."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("event_id", "org"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    org: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class MeetingMark(db.Model):
    """What happened to a published meeting on the day, kept across re-plans: ``status`` "no_show"."""

    __tablename__ = "meeting_marks"
    __table_args__ = (UniqueConstraint("event_id", "need_id", "capability_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class MeetingFeedback(db.Model):
    """One side's answer after a meeting: did it happen, interest, next step, coded decline reason."""

    __tablename__ = "meeting_feedback"
    __table_args__ = (UniqueConstraint("event_id", "need_id", "capability_id", "side"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = _event_fk()
    need_id: Mapped[str] = mapped_column(String(64))
    capability_id: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(16))
    happened: Mapped[bool] = mapped_column(Boolean, default=True)
    # "continue" 继续洽谈, "more_info" 需要更多信息, "none" 暂无合作意向.
    interest: Mapped[str] = mapped_column(String(16), default="")
    next_step: Mapped[str] = mapped_column(Text, default="")
    decline_reason: Mapped[str] = mapped_column(String(24), default="")
    username: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
class LibraryItem(db.Model):
    """A standing need (需求库) or achievement (成果库) of an organisation, independent of events.

    ``status``: draft → pending → published → matched / dealt → withdrawn / expired (see
    :mod:`webapp.services.library`). ``classification`` is the 密级 the bureau's reviewer set
    ("" until reviewed); only published 公开 items reach the public catalogue.
    """

    __tablename__ = "library_items"
    __table_args__ = (Index("ix_library_status", "status", "kind", "classification"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    org: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(40), default="")
    keywords: Mapped[str] = mapped_column(String(500), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    trl: Mapped[int | None] = mapped_column(Integer)
    cooperation: Mapped[str] = mapped_column(String(100), default="")
    ip_status: Mapped[str] = mapped_column(String(500), default="")
    price: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    classification: Mapped[str] = mapped_column(String(8), default="")
    declared_unclassified: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(80), default="")
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class LibraryRevision(db.Model):
    """One saved state of a library item (edit history): who, when, what action, every field's value."""

    __tablename__ = "library_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("library_items.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(80), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class ContactRequest(db.Model):
    """A request for a library item's contact details; released only when the item's owner accepts."""

    __tablename__ = "contact_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("library_items.id", ondelete="CASCADE"), index=True)
    requester_org: Mapped[str] = mapped_column(String(200))
    requester_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LibraryMatch(db.Model):
    """A stored best match of a published library item among the other side's published items."""

    __tablename__ = "library_matches"
    __table_args__ = (UniqueConstraint("item_id", "other_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("library_items.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("library_items.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    # Calibrated strength of the pair (matcher.strength, need as the query), computed when the list is stored.
    strength: Mapped[float | None] = mapped_column(Float)


class LibraryVersion(db.Model):
    """One row whose ``version`` every write to library items or to the organisation history bumps.

    Each web process keeps its own in-memory library indexes (matching, near-duplicates) and
    refreshes them when this differs from the version they were brought up to
    (:mod:`webapp.services.library_matching`); the bump is a session hook (:mod:`webapp.changes`).
    """

    __tablename__ = "library_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class LibraryChange(db.Model):
    """What a library version changed: one row per item written (``item_id``), or None for the history.

    Writers bump :class:`LibraryVersion` first, whose row lock orders them, so a process that reflects
    version *v* reads the rows with ``version > v`` to learn what to bring its indexes up to.
    """

    __tablename__ = "library_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int | None] = mapped_column(Integer)


class ChallengeCall(db.Model):
    """A 揭榜挂帅 call: an enterprise (or the bureau) posts a hard problem with a deadline; institutes propose."""

    __tablename__ = "challenge_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    org: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(500))
    requirements: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[str] = mapped_column(String(100), default="")
    domain: Mapped[str] = mapped_column(String(40), default="")
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Proposal(db.Model):
    """An institute's answer to a challenge call; the poster shortlists and picks."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("call_id", "org"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("challenge_calls.id", ondelete="CASCADE"), index=True)
    org: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    # The event whose roadshow the proposal was put into (its institute presents it there as record P<id>).
    roadshow_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
