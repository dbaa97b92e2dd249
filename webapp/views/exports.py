"""Downloads: pairings, suggestions, schedule grid, meetings, agendas, unscheduled list, records."""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for

from .. import audit
from ..errors import ValidationFailed
from ..services import exports as service
from ..services.planning import latest_run
from ..ui import attachment, flash_failure, get_event

bp = Blueprint("exports", __name__)


@bp.get("/events/<int:event_id>/exports")
def index(event_id):
    event = get_event(event_id)
    return render_template("exports/index.html", exports=service.EXPORTS, needs_schedule=service.NEEDS_SCHEDULE,
                           run=latest_run(event.id))


@bp.get("/events/<int:event_id>/exports/<what>.<fmt>")
def download(event_id, what, fmt):
    event = get_event(event_id)
    if what not in service.EXPORTS or fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        content, name, mimetype = service.build(g.viewer, event, what, fmt)
    except ValidationFailed as failure:
        flash_failure(failure)
        return redirect(url_for("exports.index", event_id=event.id))
    audit.record("export", f"event {event.id} {what}.{fmt}", f"{len(content)} bytes")
    return attachment(content, name, mimetype, f"event-{event.id}-{what}.{name.rsplit('.', 1)[-1]}")
