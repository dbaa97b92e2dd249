"""JSON API of challenge calls (揭榜挂帅) under ``/api``: list, one call with the proposals the viewer may see,
and an institute's proposal. Same rules as the pages (:mod:`webapp.services.calls`); in :mod:`webapp.openapi`."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from .. import audit
from ..services import calls as service
from .api import _body

bp = Blueprint("calls_api", __name__, url_prefix="/api")


@bp.get("/calls")
def list_calls():
    return jsonify({"ok": True, "calls": [_call(g.viewer, call) for call in service.calls(g.viewer)]})


@bp.get("/calls/<int:call_id>")
def show(call_id):
    call = service.get_call(g.viewer, call_id)
    invite = [{key: row[key] for key in ("org", "strength", "band")}
              for row in service.suggest_institutes(g.viewer, call)]
    return jsonify({"ok": True, "call": _call(g.viewer, call),
                    "proposals": [_proposal(p) for p in service.proposals(g.viewer, call)], "invite": invite})


@bp.post("/calls/<int:call_id>/proposals")
def propose(call_id):
    call = service.get_call(g.viewer, call_id)
    body = _body()
    proposal = service.propose(g.viewer, call, {key: body.get(key) for key in ("summary", "contact")})
    audit.record("calls", f"call {call.id}", "proposal submitted (API)")
    return jsonify({"ok": True, "proposal": _proposal(proposal)}), 201


def _call(viewer, call):
    return {"id": call.id, "org": call.org, "title": call.title, "requirements": call.requirements,
            "budget": call.budget, "domain": call.domain, "deadline": call.deadline.isoformat(), "status": call.status,
            "created_at": call.created_at.isoformat(), "poster": service.is_poster(viewer, call)}


def _proposal(proposal):
    return {"id": proposal.id, "call_id": proposal.call_id, "org": proposal.org, "summary": proposal.summary,
            "contact": proposal.contact, "status": proposal.status, "created_at": proposal.created_at.isoformat(),
            "roadshow_event_id": proposal.roadshow_event_id}
