"""Meeting requests: participants ask to meet, organisers approve (→ accepted pair) or decline."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask import request as http
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import meeting_requests as service
from ..services.planning import record_titles
from ..ui import back, flash_failure, get_event

bp = Blueprint("meeting_requests", __name__)


@bp.get("/events/<int:event_id>/requests")
def index(event_id):
    event = get_event(event_id)
    needs, capabilities = record_titles(g.viewer, event.id)
    return render_template("meeting_requests/index.html", requests=service.listing(g.viewer, event.id), needs=needs,
                           capabilities=capabilities)


@bp.post("/events/<int:event_id>/requests")
def create(event_id):
    event = get_event(event_id)
    try:
        service.create(g.viewer, event, http.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        flash(_("会面申请已提交，等待组织方审核。"), "success")
    return back(url_for("search.orgs", event_id=event.id))


@bp.post("/events/<int:event_id>/requests/<int:request_id>/<action>")
def resolve(event_id, request_id, action):
    event = get_event(event_id)
    if action not in ("approve", "decline"):
        abort(404)
    try:
        service.resolve(g.viewer, event, request_id, approve=action == "approve")
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("decision", f"event {event.id} request {request_id}", action)
        flash(_("已批准，该配对已加入对接配对。") if action == "approve" else _("已婉拒该申请。"), "success")
    return redirect(url_for("meeting_requests.index", event_id=event.id))
