"""Who may call which endpoint: the per-endpoint access table, checked before every request.

Every request passes :func:`enforce_access`: the endpoint's level in ``ACCESS`` decides
whether the current user may call it at all (unlisted endpoints are administrator-only,
so a new route fails closed). *What* a permitted user then sees is decided by
:mod:`webapp.visibility`.
"""
from __future__ import annotations

from flask import abort, g, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from .db import db
from .models import User
from .visibility import ANONYMOUS, MEMBER_ROLES, can_see_event, is_organiser, viewer_for

PUBLIC, MEMBER, PARTICIPANT, ORGANISER, ADMIN = "public", "member", "participant", "organiser", "admin"
SECURITY, QUALIFICATIONS = "security", "qualifications"
#: Endpoint → who may call it. member: any logged-in user (data filtered by visibility);
#: participant: members and organisers (not analysts); organiser: organisers of the URL's event
#: (or any organiser when the URL has no event); security: security officers (保密审查员), who
#: verify qualifications; qualifications: security officers and organisers (who see the
#: organisations of their own events); admin: administrators, who may call everything. Unlisted → admin.
ACCESS = {
    **dict.fromkeys(("auth.login", "site.healthz", "site.set_language", "static", "api.openapi"), PUBLIC),
    # The public catalogue: anonymous visitors see listed 公开 library items only (webapp.services.library).
    **dict.fromkeys(("market.index", "market.item", "market.feed", "library_api.catalogue"), PUBLIC),
    # The library: the service checks ownership and the reviewer role on every item and action.
    **dict.fromkeys(("library.index", "library.create", "library.edit", "library.item", "library.act",
                     "library.decide_contact", "market.contact", "library_api.item", "library_api.notices",
                     "calls.index", "calls.create", "calls.show", "calls.propose", "calls.decide", "calls.export", "calls.roadshow",
                     "calls_api.list_calls", "calls_api.show", "calls_api.propose"), MEMBER),
    **dict.fromkeys((
        "auth.logout", "events.index", "outcomes.show", "suggestions.needs", "suggestions.capabilities",
        "suggestions.need", "suggestions.capability", "search.search", "search.orgs", "search.org", "pairs.index",
        "meeting_requests.index", "planning.show", "planning.agendas", "roadshow.show", "exports.index", "exports.download",
        "imports.template", "api.list_events", "api.event", "api.needs", "api.capabilities", "api.suggestions",
        "api.decisions", "api.schedule", "api.search", "api.job", "deals.index", "api.deals",
        "reports.event", "reports.event_xlsx", "reports.period", "reports.period_xlsx"), MEMBER),
    **dict.fromkeys(("account.show", "account.password", "participation.agenda", "participation.calendar",
                     "inbox.index", "inbox.read"), MEMBER),
    "meeting_requests.create": PARTICIPANT,
    # The two parties move their own deal 意向 → 洽谈 and write notes; 签约/登记 are organisers' (webapp.services.deals).
    **dict.fromkeys(("deals.advance", "deals.note"), PARTICIPANT),
    # Event day: members mark wishes and give feedback (phase rules in webapp.services.phases); the desk is organisers'.
    **dict.fromkeys(("wishes.mark", "event_day.feedback", "event_day.save_feedback"), PARTICIPANT),
    **dict.fromkeys(("wishes.phase", "event_day.desk", "event_day.check_in", "event_day.no_show", "event_day.replan",
                     "event_day.kpis", "event_day.qr"), ORGANISER),
    # Organisers of the bureau create events (and then run them); other organiser endpoints need the URL's event.
    **dict.fromkeys(("events.create", "api.create_event"), ORGANISER),
    **dict.fromkeys((
        "events.edit", "events.delete", "outcomes.add_outcome", "outcomes.delete_outcome", "outcomes.record_history",
        "outcomes.history", "imports.index", "imports.upload", "imports.report", "imports.confirm", "imports.discard",
        "imports.rejected", "ranking.rank", "pairs.decide", "pairs.bulk", "pairs.reset",
        "meeting_requests.resolve", "planning.run", "planning.move", "planning.lock", "api.decide", "api.rank",
        "deals.open_deal", "targeting.index", "targeting.invite", "targeting.attended",
        "targeting.export", "library.import_event", "library.draw", "library.draw_page"), ORGANISER),
    # The district's organisation database is the bureau's: organisers keep it; a member opens and edits
    # its own organisation's profile (webapp.services.organisations decides which one and which fields).
    **dict.fromkeys(("organisations.index", "organisations.create", "organisations.set_tier",
                     "organisations.remove_tier", "organisations.import_file",
                     "organisations.import_template",
                     "api.organisations"), ORGANISER),
    **dict.fromkeys(("organisations.show", "api.organisation"), MEMBER),
    "organisations.update": PARTICIPANT,
    "qualifications.index": QUALIFICATIONS,
    # Expiring certificates: tiers for organisers, 保密资质 for whoever sees qualifications (the service decides which).
    "organisations.expiring": QUALIFICATIONS,
    "qualifications.verify": SECURITY,
}
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


class AccessDenied(Forbidden):
    """403 that says which right is missing and who grants it."""


def _missing_right(level):
    return {
        PARTICIPANT: _("此操作仅限参会单位成员和组织方；分析员账号为只读。需要时请联系管理员更改账号角色。"),
        ORGANISER: _("此操作需要本对接会的组织方权限。组织方由管理员在“账号”页面分配到对接会。"),
        SECURITY: _("核验保密资质需要保密审查员权限，由管理员在“账号”页面授予。"),
        QUALIFICATIONS: _("查看单位资质需要组织方或保密审查员权限，由管理员授予。"),
    }.get(level, _("此操作仅限管理员。"))


def enforce_access():
    """Before each request: refuse endpoints the user's role may not call, saying which right is missing."""
    level = ACCESS.get(request.endpoint or "", ADMIN)
    if request.endpoint is None or level == PUBLIC:
        return None
    if g.user is None:
        if request.path.startswith("/api/") or request.method != "GET":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    event_id = (request.view_args or {}).get("event_id")
    if _permitted(level, g.viewer, event_id):
        return None
    if g.viewer.role == "organiser" and event_id is not None and level in (ORGANISER, PARTICIPANT):
        if not can_see_event(g.viewer, event_id):
            abort(404)  # another event's ids look like missing ones
    raise AccessDenied(_missing_right(level))


def allowed(endpoint, event_id=None):
    """Whether the current user may call ``endpoint`` (for hiding links and tabs)."""
    return _permitted(ACCESS.get(endpoint, ADMIN), g.get("viewer", ANONYMOUS), event_id)


def _permitted(level, viewer, event_id):
    """The access table's rule: may ``viewer`` call an endpoint of ``level`` for ``event_id`` (None: no event)."""
    if level == PUBLIC:
        return True
    if viewer.user_id is None:
        return False
    role = viewer.role
    if role == "admin" or level == MEMBER:
        return True
    if level == PARTICIPANT and role in MEMBER_ROLES:
        return True
    if level in (ORGANISER, PARTICIPANT) and role == "organiser":
        return event_id is None or is_organiser(viewer, event_id)
    if level == SECURITY:
        return role == "security"
    if level == QUALIFICATIONS:
        return role in ("security", "organiser")
    return False


def init_app(app):
    app.before_request(load_user)
    app.before_request(enforce_access)
    app.jinja_env.globals["allowed"] = allowed
