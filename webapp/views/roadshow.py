"""Roadshow programme page: the open programme and the closed sessions the viewer may see, by track."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from ..cache import cached
from ..services.planning import record_titles
from ..services.ranking import latest_job
from ..services.roadshow import programme
from ..ui import get_event

bp = Blueprint("roadshow", __name__)


@bp.get("/events/<int:event_id>/roadshow")
@cached
def show(event_id):
    event = get_event(event_id)
    invite_top = request.args.get("invite_top", 5, type=int)
    invite_top = min(max(invite_top, 1), 20)
    _needs, capabilities = record_titles(g.viewer, event.id)
    return render_template("roadshow/show.html", sessions=programme(g.viewer, event, invite_top=invite_top),
                           titles={k: c.title for k, c in capabilities.items()}, invite_top=invite_top,
                           rank_job=latest_job(event.id, "rank"))
