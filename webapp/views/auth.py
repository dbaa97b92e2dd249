"""Log in and out."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import audit
from ..services import accounts
from ..ui import back

bp = Blueprint("auth", __name__)


def _remote():
    return (request.remote_addr or "")[:64]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", username="")
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    minutes = current_app.config["LOGIN_WINDOW_SECONDS"] // 60
    if accounts.recent_failures(username, _remote()) >= current_app.config["LOGIN_MAX_FAILURES"]:
        audit.record("login_blocked", username, user=None)
        flash(_("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes), "error")
        return render_template("auth/login.html", username=username), 429
    user = accounts.authenticate(username, password, _remote())
    if user is None:
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
        accounts.revoke_sessions(g.user)  # committed with the audit entry; a copied cookie dies too
    audit.record("logout", g.user.username if g.user else "")
    session.clear()
    flash(_("已退出登录。"), "success")
    return redirect(url_for("auth.login"))
