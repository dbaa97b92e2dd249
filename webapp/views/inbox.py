"""The user's inbox of notices."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for

from ..services import inbox as service

bp = Blueprint("inbox", __name__)


@bp.get("/inbox")
def index():
    return render_template("inbox/index.html", items=service.messages(g.viewer))


@bp.post("/inbox/read")
def read():
    service.mark_read(g.viewer)
    return redirect(url_for("inbox.index"))
