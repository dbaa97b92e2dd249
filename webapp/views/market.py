"""The public catalogue (信息发布): search, item pages and the Atom feed, open to visitors without an account."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import library, market
from ..ui import flash_failure

bp = Blueprint("market", __name__)


@bp.get("/market")
def index():
    try:
        query = market.Query.from_args(request.args)
    except ValidationFailed as failure:
        flash_failure(failure)
        query = market.Query()
    items, total = market.search(g.viewer, query)
    pages = max(1, -(-total // market.PAGE_SIZE))
    return render_template("market/index.html", items=items, total=total, query=query, pages=pages,
                           kinds=library.KINDS, sorts=market.SORTS, cooperation=library.COOPERATION)


@bp.get("/market/<int:item_id>")
def item(item_id):
    record = market.listed_item(g.viewer, item_id)
    return render_template("market/item.html", item=record, contact=library.may_see_contact(g.viewer, record),
                           requests=market.requests_for(g.viewer, record) if g.viewer.user_id else [],
                           owner=library.is_owner(g.viewer, record))


@bp.get("/market/feed.atom")
def feed():
    body = market.feed(g.viewer, base_url=request.url_root, title=_("科技成果与需求信息发布"))
    return Response(body, mimetype="application/atom+xml")


@bp.post("/market/<int:item_id>/contact")
def contact(item_id):
    record = market.listed_item(g.viewer, item_id)
    try:
        market.request_contact(g.viewer, record, request.form.get("message", ""))
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("library", f"library item {record.id}", "contact requested")
        flash(_("已发送联系申请，发布单位同意后即可看到联系方式。"), "success")
    return redirect(url_for("market.item", item_id=record.id))
