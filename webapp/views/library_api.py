"""JSON API of the standing market under ``/api``: the public catalogue, library items and the inbox.

Same visibility as the pages (:mod:`webapp.services.library`); documented in :mod:`webapp.openapi`.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..services import inbox, library, library_matching, market

bp = Blueprint("library_api", __name__, url_prefix="/api")
PUBLIC_FIELDS = ("kind", "org", "title", "description", "domain", "keywords", "region", "trl", "cooperation",
                 "ip_status", "price", "classification")


@bp.get("/market")
def catalogue():
    query = market.Query.from_args(request.args)
    items, total = market.search(g.viewer, query)
    return jsonify({"ok": True, "total": total, "page": query.page, "page_size": market.PAGE_SIZE,
                    "items": [_item(g.viewer, item) for item in items]})


@bp.get("/library/<int:item_id>")
def item(item_id):
    record = library.get_item(g.viewer, item_id)
    suggestions = [{"id": row["item"].id, "title": row["item"].title, "org": row["item"].org, "kind": row["item"].kind,
                    "score": row["score"], "strength": row["strength"], "strength_band": row["band"], "met": row["met"]}
                   for row in library_matching.suggestions(g.viewer, record, with_met=request.args.get("met") == "1")]
    return jsonify({"ok": True, "item": _item(g.viewer, record), "suggestions": suggestions})


@bp.get("/inbox")
def notices():
    return jsonify({"ok": True, "messages": [
        {"id": m["message"].id, "kind": m["message"].kind, "text": m["text"], "link": m["message"].link,
         "created_at": m["message"].created_at.isoformat(), "read": m["message"].read_at is not None}
        for m in inbox.messages(g.viewer)]})


def _item(viewer, record):
    out = {"id": record.id, **{name: getattr(record, name) for name in PUBLIC_FIELDS}, "status": record.status,
           "published_at": record.published_at.isoformat() if record.published_at else None,
           "expires_on": record.expires_on.isoformat() if record.expires_on else None}
    out["contact"] = record.contact if library.may_see_contact(viewer, record) else None
    return out
