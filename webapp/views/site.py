"""Site-wide routes: health check and language switch."""
from __future__ import annotations

from flask import Blueprint, jsonify, session, url_for

from ..i18n import LANGUAGES
from ..ui import back

bp = Blueprint("site", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness probe: no database, no templates."""
    return jsonify({"ok": True, "status": "healthy"})


@bp.get("/lang/<code>")
def set_language(code):
    """Remember the chosen language in the session and a cookie, then go back."""
    response = back(url_for("events.index"))
    if code in LANGUAGES:
        session["lang"] = code
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
