"""A user's own account: who they are, and changing their password."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import audit
from ..db import db
from ..services import accounts

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
def show():
    return render_template("account/show.html")


@bp.post("/password")
def password():
    form = request.form
    if form.get("new_password", "") != form.get("confirm_password", ""):
        flash(_("两次输入的新密码不一致。"), "error")
        return render_template("account/show.html"), 422
    try:
        version = accounts.change_own_password(g.user, form.get("current_password", ""),
                                               form.get("new_password", ""))
    except accounts.AccountError as error:
        db.session.rollback()
        flash(error.localised(), "error")
        return render_template("account/show.html"), 422
    session["sv"] = version  # this session continues; every other one (and copied cookies) ends
    audit.record("password_changed", g.user.username)
    flash(_("密码已修改，其他设备上的登录已退出。"), "success")
    return redirect(url_for("account.show"))
