"""JSON API under ``/api``; every error has the shape ``{"ok": false, "error", "errors", "status"}``.

Described by the OpenAPI 3 document at ``/api/openapi.json`` (see :mod:`webapp.openapi`).
"""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from .. import audit, visibility
from ..cache import cached
from ..db import db
from ..errors import ValidationFailed
from ..models import Capability, Decision, Job, Need
from ..openapi import document
from ..services import events as events_service
from ..services import pairs, planning, ranking, search
from ..services import suggestions as suggestions_service
from ..ui import get_event

bp = Blueprint("api", __name__, url_prefix="/api")
RECORD_FIELDS = ("org", "title", "description", "domain", "domain_inferred", "keywords", "region", "contact", "trl",
                 "cooperation")


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/events")
def list_events():
    return jsonify({"ok": True, "events": [_event(e, counts) for e, counts in events_service.listing(g.viewer)]})


@bp.post("/events")
def create_event():
    body = _body()
    tracks = body.get("tracks") or []
    tracks = [tracks] if isinstance(tracks, str) else list(tracks) if isinstance(tracks, list) else []
    form = MultiDict([(k, v) for k, v in body.items() if k != "tracks"] + [("tracks", t) for t in tracks])
    event = events_service.create(events_service.parse_form(form), creator=g.user)
    return jsonify({"ok": True, "event": _event(event)}), 201


@bp.get("/events/<int:event_id>")
def event(event_id):
    event = get_event(event_id)
    job = ranking.latest_job(event.id, "rank")
    return jsonify({"ok": True, "event": _event(event), "ranking": ranking.job_status(job) if job else None})


@bp.get("/events/<int:event_id>/needs")
def needs(event_id):
    return jsonify({"ok": True, "needs": _records(get_event(event_id).id, Need, "need_id", "clearance")})


@bp.get("/events/<int:event_id>/capabilities")
def capabilities(event_id):
    records = _records(get_event(event_id).id, Capability, "capability_id", "classification")
    return jsonify({"ok": True, "capabilities": records})


@bp.get("/events/<int:event_id>/suggestions")
@cached
def suggestions(event_id):
    event = get_event(event_id)
    need_id, capability_id = request.args.get("need_id"), request.args.get("capability_id")
    if (need_id is None) == (capability_id is None):
        raise ValidationFailed(_("请提供 need_id 或 capability_id 之一。"),
                               [{"field": "need_id", "message": "exactly one of need_id, capability_id"}])
    limit = min(max(request.args.get("limit", 10, type=int), 1), 100)
    rows = suggestions_service.suggestions(g.viewer, event.id, need_id=need_id, capability_id=capability_id,
                             filters=suggestions_service.Filters.from_args(request.args), limit=limit)
    return jsonify({"ok": True, "suggestions": rows})


@bp.get("/events/<int:event_id>/decisions")
def decisions(event_id):
    event = get_event(event_id)
    rows = visibility.filter_pairs(g.viewer, event.id, db.session.scalars(
        select(Decision).where(Decision.event_id == event.id).order_by(Decision.id)).all())
    return jsonify({"ok": True, "decisions": [_decision(d) for d in rows]})


@bp.post("/events/<int:event_id>/decisions")
def decide(event_id):
    event = get_event(event_id)
    body = _body()
    missing = [f for f in ("need_id", "capability_id", "action") if not isinstance(body.get(f), str) or not body[f]]
    if missing:
        raise ValidationFailed(_("缺少字段：%(fields)s", fields=", ".join(missing)),
                               [{"field": f, "message": "required string"} for f in missing])
    decision = pairs.decide(g.viewer, event, body["need_id"], body["capability_id"], body["action"], source="api")
    audit.record("decision", f"event {event.id} {body['need_id']}↔{body['capability_id']}", f"{body['action']} (api)")
    return jsonify({"ok": True, "decision": _decision(decision) if decision else None})


@bp.post("/events/<int:event_id>/rank")
def rank(event_id):
    job = ranking.start_ranking(get_event(event_id))
    return jsonify({"ok": True, "job": ranking.job_status(job)}), 202


@bp.get("/events/<int:event_id>/jobs/<int:job_id>")
def job(event_id, job_id):
    found = db.session.scalar(select(Job).filter_by(event_id=get_event(event_id).id, id=job_id))
    if found is None:
        abort(404)
    status = ranking.job_status(found)
    if status["error"] and not visibility.is_organiser(g.viewer, event_id):
        status["error"] = "failed"  # the message may name records this viewer may not see
    return jsonify({"ok": True, "job": status})


@bp.get("/events/<int:event_id>/schedule")
def schedule(event_id):
    event = get_event(event_id)
    run = planning.latest_run(event.id)
    labels = planning.slot_labels(event)
    meetings = [{"slot": m.slot, "time": labels.get(m.slot, ""), "table": m.table_no, "need_id": m.need_id,
                 "capability_id": m.capability_id, "need_org": m.need_org, "capability_org": m.capability_org,
                 "score": m.score, "locked": m.locked, "id": m.id,
                 "topics": planning.visible_topics(g.viewer, event.id, m)} for m in planning.meetings(g.viewer, event.id)]
    unscheduled = [{c: getattr(u, c) for c in planning.UNSCHEDULED_COLUMNS} for u in planning.unscheduled(g.viewer, event.id)]
    summary = None if run is None else {c: getattr(run, c) for c in ("status", "objective", "bound", "gap", "message",
                                                                     "solve_seconds", "fairness_level")}
    return jsonify({"ok": True, "run": summary, "meetings": meetings, "unscheduled": unscheduled})


@bp.get("/events/<int:event_id>/search")
def search_records(event_id):
    event = get_event(event_id)
    results = search.search(g.viewer, event.id, request.args.get("q", ""), target=request.args.get("target", "capability"),
                            top_k=min(max(request.args.get("limit", 10, type=int), 1), 50))
    return jsonify({"ok": True, "results": results})


def _body():
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the stdlib decoder recurses once per nesting level
        raise BadRequest(_("请求体的 JSON 嵌套层数过多。")) from None
    if body is None:
        raise BadRequest(_("请求体不是有效的 JSON。"))
    if not isinstance(body, dict):
        raise ValidationFailed(_("请求体须为 JSON 对象。"))
    return body


def _event(event, counts=None):
    out = {"id": event.id, "name": event.name, "date": event.date.isoformat() if event.date else None,
           "venue": event.venue, "tracks": event.tracks, "slots": event.slots, "slot_minutes": event.slot_minutes,
           "start_time": event.start_time, "tables": event.tables, "max_meetings": event.max_meetings,
           "ranked": event.ranked_version is not None,
           "ranking_stale": event.ranked_version is not None and event.ranked_version != event.records_version}
    if counts is not None:
        out.update(needs=counts.get("needs", 0), capabilities=counts.get("capabilities", 0))
    return out


def _records(event_id, model, id_column, tier):
    rows = db.session.scalars(select(model).where(visibility.clause(g.viewer, model, event_id))
                              .order_by(getattr(model, id_column)))
    return [{"id": getattr(r, id_column), **{f: getattr(r, f) for f in RECORD_FIELDS},
             "contact": visibility.contact(g.viewer, r), tier: getattr(r, tier)} for r in rows]


def _decision(decision):
    return {"need_id": decision.need_id, "capability_id": decision.capability_id, "status": decision.status,
            "locked": decision.locked, "lock_slot": decision.lock_slot, "lock_table": decision.lock_table,
            "source": decision.source}


@bp.get("/events/<int:event_id>/deals")
def deals(event_id):
    from ..services import deals as deals_service

    return jsonify({"ok": True, "deals": deals_service.listing(g.viewer, get_event(event_id).id)})


@bp.get("/organisations")
def organisations():
    from ..services import organisations as profiles

    filters = {key: request.args.get(key, "").strip()[:100] for key in ("kind", "tier", "town", "industry", "text")}
    rows = profiles.listing(g.viewer, **filters)
    return jsonify({"ok": True, "organisations": [_organisation(r["organisation"], r["profile"]) for r in rows]})


@bp.get("/organisations/<int:org_id>")
def organisation(org_id):
    from ..services import organisations as profiles

    organisation, profile, tiers, _changes = profiles.details(g.viewer, org_id)
    return jsonify({"ok": True, "organisation": _organisation(organisation, profile, tiers)})


def _organisation(organisation, profile, tiers=None):
    from ..models import OrgTier
    from ..services import organisations as profiles

    if tiers is None:
        tiers = db.session.scalars(select(OrgTier).where(OrgTier.org_id == organisation.id)).all()
    fields = {f: getattr(profile, f) if profile is not None else None for f in profiles.PROFILE_FIELDS}
    return {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
            **{k: ("" if v is None and k not in ("credit_code", "rd_staff") else v) for k, v in fields.items()},
            "tiers": [{"tier": t.tier, "number": t.number,
                       "valid_from": t.valid_from.isoformat() if t.valid_from else None,
                       "valid_until": t.valid_until.isoformat() if t.valid_until else None,
                       "status": profiles.tier_status(t)} for t in tiers]}
