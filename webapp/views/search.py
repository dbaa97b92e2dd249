"""For institutes and enterprises: free-text search, organisation pages and their candidate partners."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from ..cache import cached
from ..errors import ValidationFailed
from ..services import search as service
from ..ui import get_event

bp = Blueprint("search", __name__)


@bp.get("/events/<int:event_id>/search")
@cached  # a search ranks the event's records (~0.1 s of CPU); the same text, viewer and data give the same page
def search(event_id):
    event = get_event(event_id)
    text, target = request.args.get("q", "").strip(), request.args.get("target", "capability")
    results, failure = None, None
    if text:
        try:
            results = service.search(g.viewer, event.id, text, target=target)
        except ValidationFailed as error:
            failure = error
    return render_template("search/search.html", q=text, target=target, results=results, failure=failure)


@bp.get("/events/<int:event_id>/orgs")
@cached
def orgs(event_id):
    event = get_event(event_id)
    return render_template("search/orgs.html", orgs=service.organisations(g.viewer, event.id))


@bp.get("/events/<int:event_id>/orgs/<path:org>")
@cached
def org(event_id, org):
    event = get_event(event_id)
    items = service.organisation(g.viewer, event.id, org)
    if not items["needs"] and not items["capabilities"]:
        abort(404)
    return render_template("search/org.html", org=org, items=items)
