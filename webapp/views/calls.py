"""Challenge calls (揭榜挂帅): list, post, answer, shortlist and pick."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import calls as service
from ..ui import attachment, flash_failure

bp = Blueprint("calls", __name__)


@bp.get("/calls")
def index():
    return render_template("calls/index.html", calls=service.calls(g.viewer))


@bp.route("/calls/new", methods=("GET", "POST"))
def create():
    errors = {}
    if request.method == "POST":
        try:
            call = service.create(g.viewer, request.form)
        except ValidationFailed as failure:
            flash_failure(failure)
            errors = {p["field"]: p["message"] for p in failure.errors if p.get("field")}
        else:
            audit.record("calls", f"call {call.id}", "posted")
            flash(_("榜单已发布。"), "success")
            return redirect(url_for("calls.show", call_id=call.id))
    return render_template("calls/form.html", values=request.form, errors=errors), 422 if errors else 200


@bp.get("/calls/<int:call_id>")
def show(call_id):
    call = service.get_call(g.viewer, call_id)
    proposals = service.proposals(g.viewer, call)
    return render_template("calls/show.html", call=call, poster=service.is_poster(g.viewer, call),
                           reviews=service.may_review_proposals(g.viewer, call),
                           roadshow_events=service.roadshow_events(g.viewer, call),
                           event_names=service.event_names(p.roadshow_event_id for p in proposals), proposals=proposals,
                           invite=service.suggest_institutes(g.viewer, call), statuses=service.PROPOSAL_STATUSES)


@bp.post("/calls/<int:call_id>/propose")
def propose(call_id):
    call = service.get_call(g.viewer, call_id)
    try:
        service.propose(g.viewer, call, request.form)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("calls", f"call {call.id}", "proposal submitted")
        flash(_("方案已提交。"), "success")
    return redirect(url_for("calls.show", call_id=call.id))


@bp.post("/calls/<int:call_id>/proposals/<int:proposal_id>/<status>")
def decide(call_id, proposal_id, status):
    if status not in ("shortlisted", "picked", "declined"):
        abort(404)
    call = service.get_call(g.viewer, call_id)
    service.decide(g.viewer, call, proposal_id, status)
    audit.record("calls", f"call {call.id} proposal {proposal_id}", status)
    flash(_("已更新：%(status)s。", status=service.PROPOSAL_STATUSES[status]), "success")
    return redirect(url_for("calls.show", call_id=call.id))


@bp.get("/calls/<int:call_id>/proposals.<fmt>")
def export(call_id, fmt):
    if fmt not in ("xlsx", "csv"):
        abort(404)
    call = service.get_call(g.viewer, call_id)
    content, name, mimetype = service.export_proposals(g.viewer, call, fmt)
    audit.record("export", f"call {call.id} proposals.{fmt}", f"{len(content)} bytes")
    return attachment(content, name, mimetype, f"call-{call.id}-proposals.{fmt}")


@bp.post("/calls/<int:call_id>/proposals/<int:proposal_id>/roadshow")
def roadshow(call_id, proposal_id):
    call = service.get_call(g.viewer, call_id)
    event_id = request.form.get("event_id", "")
    event, created = service.put_into_roadshow(g.viewer, call, proposal_id,
                                               int(event_id) if event_id.isdigit() and len(event_id) < 10 else None)
    audit.record("calls", f"call {call.id} proposal {proposal_id}", f"put into the roadshow of event {event.id}")
    flash(_("方案已列入“%(event)s”的路演，重新计算推荐后出现在路演安排中。", event=event.name) if created
          else _("已更新“%(event)s”路演中的方案，重新计算推荐后生效。", event=event.name), "success")
    return redirect(url_for("calls.show", call_id=call.id))
