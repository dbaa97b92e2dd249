"""A participant's own pages: my agenda (phone-first) and its calendar file."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _

from .. import audit
from ..services import participation as service
from ..services.planning import agendas, latest_run, meetings, slot_labels
from ..ui import attachment, get_event

bp = Blueprint("participation", __name__)


@bp.get("/events/<int:event_id>/my-agenda")
def agenda(event_id):
    event = get_event(event_id)
    org = service.agenda_org(g.viewer, event.id, request.args.get("org"))
    everyone = sorted(agendas(event.id, meetings(g.viewer, event.id))) if not g.viewer.org else []
    if org is not None and g.viewer.org is None and org not in everyone:
        abort(404)
    return render_template("participation/agenda.html", org=org, rows=service.agenda(g.viewer, event, org),
                           organisations=everyone, labels=slot_labels(event), run=latest_run(event.id))


@bp.get("/events/<int:event_id>/my-agenda.ics")
def calendar(event_id):
    event = get_event(event_id)
    org = service.agenda_org(g.viewer, event.id, request.args.get("org"))
    if org is None:
        abort(404)
    audit.record("export", f"event {event.id} calendar", org)
    return attachment(service.calendar_file(g.viewer, event, org), _("%(org)s-日程.ics", org=org), "text/calendar",
                      f"agenda-event-{event.id}.ics")
