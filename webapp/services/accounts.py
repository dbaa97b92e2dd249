"""Accounts: creating them, password hashing, revoking sessions, login attempts for rate limiting."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import db
from ..models import LoginAttempt, User
from ..visibility import MEMBER_ROLES, ROLES

_DUMMY_HASH = None


def hash_password(password):
    """A salted scrypt hash (werkzeug's default method)."""
    return generate_password_hash(password)


def check_password(user, password):
    """Constant-work check: an unknown user still costs one hash comparison."""
    global _DUMMY_HASH
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or generate_password_hash("not a password")
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def create_user(username, password, role, *, org=None, event_ids=()):
    """Create an account (``org`` is an organisation name, created when new).

    Raises
    ------
    ValueError
        Unknown role, duplicate username, short password, or a member without an organisation.
    """
    from ..models import Event, Organisation, OrganiserEvent

    username = (username or "").strip()
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not username or len(username) > 80:
        raise ValueError("username must be 1-80 characters")
    if len(password or "") < current_app.config["PASSWORD_MIN_LENGTH"]:
        raise ValueError(f"password must have at least {current_app.config['PASSWORD_MIN_LENGTH']} characters")
    if role in MEMBER_ROLES and not org:
        raise ValueError(f"a {role} member needs --org")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} already exists")
    event_ids = sorted({int(e) for e in event_ids})
    known = set(db.session.scalars(select(Event.id).where(Event.id.in_(event_ids))))
    if set(event_ids) - known:
        raise ValueError(f"no event {min(set(event_ids) - known)}")
    organisation = None
    if org:
        organisation = db.session.scalar(select(Organisation).where(Organisation.name == org))
        if organisation is None:
            organisation = Organisation(name=org, kind="institute" if role == "institute" else "enterprise")
            db.session.add(organisation)
            db.session.flush()
    user = User(username=username, password_hash=hash_password(password), role=role,
                org_id=organisation.id if organisation else None, active=True)
    db.session.add(user)
    db.session.flush()
    for event_id in event_ids:
        db.session.add(OrganiserEvent(user_id=user.id, event_id=event_id))
    db.session.commit()
    return user


def revoke_sessions(user):
    """End every session of ``user`` issued so far (the caller commits).

    Bumps ``session_version`` in SQL, so concurrent bumps never cancel out; any session
    (or copied cookie) carrying the old version is treated as logged out by :func:`load_user`.
    """
    user.session_version = User.session_version + 1


def recent_failures(username, remote_addr):
    """Failed logins for ``username`` from ``remote_addr`` within the configured window."""
    window = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(
        seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    return db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.remote_addr == remote_addr,
        LoginAttempt.success.is_(False), LoginAttempt.created_at >= window))


def authenticate(username, password, remote_addr):
    """The active user with this username and password, or None; the attempt is recorded either way."""
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password(user, password) and user.active
    db.session.add(LoginAttempt(username=username, remote_addr=remote_addr, success=bool(ok)))
    db.session.commit()
    return user if ok else None
