"""Start the ranking job of an event (its progress is polled through the API)."""
from __future__ import annotations

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _

from ..errors import ValidationFailed
from ..services.ranking import active_job, start_ranking
from ..ui import back, flash_failure, get_event

bp = Blueprint("ranking", __name__)


@bp.post("/events/<int:event_id>/rank")
def rank(event_id):
    event = get_event(event_id)
    try:
        already = active_job(event.id, "rank") is not None
        start_ranking(event)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        flash(_("推荐计算已在进行中。") if already else _("已开始计算推荐，完成后页面会自动刷新。"), "info")
    return back(url_for("suggestions.needs", event_id=event.id))
