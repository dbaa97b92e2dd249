"""Accounts: log in and out, the per-endpoint access table, login rate limiting, passwords.

Every request passes :func:`enforce_access`: the endpoint's level in ``ACCESS`` decides
whether the current user may call it at all (unlisted endpoints are administrator-only,
so a new route fails closed). *What* a permitted user then sees is decided by
:mod:`webapp.visibility`.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .db import db
from .models import LoginAttempt, User
from .ui import back
from .visibility import ANONYMOUS, MEMBER_ROLES, ROLES, is_organiser, viewer_for

bp = Blueprint("auth", __name__)

PUBLIC, MEMBER, PARTICIPANT, ORGANISER, ADMIN = "public", "member", "participant", "organiser", "admin"
SECURITY, QUALIFICATIONS = "security", "qualifications"
#: Endpoint → who may call it. member: any logged-in user (data filtered by visibility);
#: participant: members and organisers (not analysts); organiser: organisers of the URL's event
#: (or any organiser when the URL has no event); security: security officers (保密审查员), who
#: verify qualifications; qualifications: security officers and organisers (who see the
#: organisations of their own events); admin: administrators, who may call everything. Unlisted → admin.
ACCESS = {
    **dict.fromkeys(("auth.login", "site.healthz", "site.set_language", "static", "api.openapi"), PUBLIC),
    **dict.fromkeys((
        "auth.logout", "events.index", "dashboard.show", "suggestions.needs", "suggestions.capabilities",
        "suggestions.need", "suggestions.capability", "search.search", "search.orgs", "search.org", "pairings.index",
        "requests.index", "schedule.show", "schedule.agendas", "roadshow.show", "exports.index", "exports.download",
        "imports.template", "api.list_events", "api.event", "api.needs", "api.capabilities", "api.suggestions",
        "api.decisions", "api.schedule", "api.search", "api.job"), MEMBER),
    "requests.create": PARTICIPANT,
    **dict.fromkeys((
        "events.edit", "events.delete", "dashboard.add_outcome", "dashboard.delete_outcome", "dashboard.record_history",
        "dashboard.history", "imports.index", "imports.upload", "imports.report", "imports.confirm", "imports.discard",
        "imports.rejected", "suggestions.rank", "suggestions.decide", "pairings.bulk", "pairings.reset",
        "requests.resolve", "schedule.run", "schedule.move", "schedule.lock", "api.decide", "api.rank"), ORGANISER),
    "admin.organisations": QUALIFICATIONS,
    "admin.verify_organisation": SECURITY,
}
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
    from .models import Event, Organisation, OrganiserEvent

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


def load_user():
    """Before each request: the session's user becomes ``g.user`` and ``g.viewer``.

    A session whose user is gone or inactive, or whose ``sv`` differs from the user's
    ``session_version`` (revoked by logout, password reset or deactivation), is cleared,
    so the request continues as anonymous and :func:`enforce_access` sends it to the login
    page (or answers 401 under /api).
    """
    g.user, g.viewer = None, ANONYMOUS
    user_id = session.get("uid")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and user.active and session.get("sv") == user.session_version:
            g.user, g.viewer = user, viewer_for(user)
        else:
            session.clear()


def enforce_access():
    """Before each request: refuse endpoints the user's role may not call."""
    level = ACCESS.get(request.endpoint or "", ADMIN)
    if request.endpoint is None or level == PUBLIC:
        return None
    if g.user is None:
        if request.path.startswith("/api/") or request.method != "GET":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    event_id = (request.view_args or {}).get("event_id")
    if _permitted(level, g.user, event_id):
        return None
    if g.user.role == "organiser" and event_id is not None and level in (ORGANISER, PARTICIPANT):
        from .visibility import can_see_event

        abort(403 if can_see_event(event_id) else 404)  # another event's ids look like missing ones
    abort(403)


def allowed(endpoint, event_id=None):
    """Whether the current user may call ``endpoint`` (for hiding links and tabs)."""
    return _permitted(ACCESS.get(endpoint, ADMIN), g.get("user"), event_id)


def _permitted(level, user, event_id):
    """The access table's rule: may ``user`` call an endpoint of ``level`` for ``event_id`` (None: no event)."""
    if level == PUBLIC:
        return True
    if user is None:
        return False
    role = user.role
    if role == "admin" or level == MEMBER:
        return True
    if level == PARTICIPANT and role in MEMBER_ROLES:
        return True
    if level in (ORGANISER, PARTICIPANT) and role == "organiser":
        return event_id is None or is_organiser(event_id)
    if level == SECURITY:
        return role == "security"
    if level == QUALIFICATIONS:
        return role in ("security", "organiser")
    return False


def _remote():
    return (request.remote_addr or "")[:64]


def _recent_failures(username):
    window = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(
        seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    return db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.remote_addr == _remote(),
        LoginAttempt.success.is_(False), LoginAttempt.created_at >= window))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", username="")
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    minutes = current_app.config["LOGIN_WINDOW_SECONDS"] // 60
    if _recent_failures(username) >= current_app.config["LOGIN_MAX_FAILURES"]:
        audit.record("login_blocked", username, user=None)
        flash(_("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes), "error")
        return render_template("auth/login.html", username=username), 429
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password(user, password) and user.active
    db.session.add(LoginAttempt(username=username, remote_addr=_remote(), success=bool(ok)))
    db.session.commit()
    if not ok:
        audit.record("login_failed", username, user=None)
        flash(_("用户名或密码错误。"), "error")
        return render_template("auth/login.html", username=username), 401
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["sv"] = user.session_version
    audit.record("login", username, user=user)
    return back(url_for("events.index"))


@bp.post("/logout")
def logout():
    if g.user is not None:
        revoke_sessions(g.user)  # committed with the audit entry; a copied cookie dies too
    audit.record("logout", g.user.username if g.user else "")
    session.clear()
    flash(_("已退出登录。"), "success")
    return redirect(url_for("auth.login"))


def init_app(app):
    app.before_request(load_user)
    app.before_request(enforce_access)
    app.jinja_env.globals["allowed"] = allowed
