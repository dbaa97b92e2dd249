"""Accounts: creating them, password hashing, revoking sessions, login attempts for rate limiting."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import db
from ..models import LoginAttempt, User
from ..visibility import MEMBER_ROLES, ROLES

#: Why an account change was refused: English for the command line, the catalogue for pages.
MESSAGES = {
    "role": ("role must be one of {allowed}; got {role!r}", _l("角色须为以下之一：%(allowed)s。")),
    "username": ("username must be 1-80 characters", _l("用户名须为 1–80 个字符。")),
    "password": ("password must have at least {minimum} characters", _l("密码至少需要 %(minimum)s 个字符。")),
    "org": ("a {role} member needs --org", _l("院所或企业成员必须填写所属单位。")),
    "exists": ("user {username!r} already exists", _l("用户名“%(username)s”已存在。")),
    "event": ("no event {event}", _l("对接会 %(event)s 不存在。")),
    "not_organiser": ("only organisers run events", _l("只有组织方账号可以分配对接会。")),
    "self": ("you cannot deactivate your own account", _l("不能停用自己的账号。")),
    "current": ("the current password is not right", _l("当前密码不正确。")),
}


class AccountError(ValueError):
    """An account change that the rules refuse; ``str()`` is English, :meth:`localised` the UI language."""

    def __init__(self, code, **params):
        self.code, self.params = code, params
        super().__init__(MESSAGES[code][0].format(**params))

    def localised(self):
        return str(MESSAGES[self.code][1] % self.params)

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
    AccountError
        Unknown role, duplicate username, short password, a member without an organisation,
        or an unknown event.
    """
    from ..models import Organisation, OrganiserEvent

    username = (username or "").strip()
    if role not in ROLES:
        raise AccountError("role", allowed=", ".join(ROLES), role=role)
    if not username or len(username) > 80:
        raise AccountError("username")
    check_password_strength(password)
    if role in MEMBER_ROLES and not org:
        raise AccountError("org", role=role)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("exists", username=username)
    event_ids = _known_events(event_ids)
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


def check_password_strength(password):
    """Raise :class:`AccountError` unless ``password`` is long enough (``PASSWORD_MIN_LENGTH``)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < minimum:
        raise AccountError("password", minimum=minimum)


def _known_events(event_ids):
    from ..models import Event

    wanted = sorted({int(e) for e in event_ids})
    known = set(db.session.scalars(select(Event.id).where(Event.id.in_(wanted))))
    if set(wanted) - known:
        raise AccountError("event", event=min(set(wanted) - known))
    return wanted


def set_organised_events(user, event_ids):
    """Make ``user`` (an organiser) run exactly ``event_ids``; return (added, removed) event ids."""
    from ..models import OrganiserEvent

    if user.role != "organiser":
        raise AccountError("not_organiser")
    wanted = set(_known_events(event_ids))
    current = set(db.session.scalars(select(OrganiserEvent.event_id).where(OrganiserEvent.user_id == user.id)))
    for event_id in wanted - current:
        db.session.add(OrganiserEvent(user_id=user.id, event_id=event_id))
    for link in db.session.scalars(select(OrganiserEvent).where(OrganiserEvent.user_id == user.id,
                                                              OrganiserEvent.event_id.in_(current - wanted))):
        db.session.delete(link)
    db.session.commit()
    return sorted(wanted - current), sorted(current - wanted)


def set_active(user, active, *, by):
    """Activate or deactivate an account; deactivation ends every session. Nobody deactivates themselves."""
    if not active and user.id == by.id:
        raise AccountError("self")
    user.active = bool(active)
    if not active:
        revoke_sessions(user)
    db.session.commit()


def set_password(user, password):
    """Set a new password (an administrator's reset); every existing session of the user ends."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    revoke_sessions(user)
    db.session.commit()


def change_own_password(user, current, new):
    """A user's own change: the current password must match; returns the new session version.

    Every other session of the user ends; the caller stores the returned version in its own session.
    """
    if not check_password(user, current):
        raise AccountError("current")
    set_password(user, new)
    db.session.refresh(user)
    return user.session_version
