"""The library (需求库/成果库): members' own items and forms, the bureau's review queue, item actions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..errors import ValidationFailed
from ..services import library as service
from ..services import library_draw, library_matching, market
from ..ui import flash_failure, get_event

bp = Blueprint("library", __name__)


@bp.record_once
def _vocabulary(state):
    from matcher import CLASSIFICATIONS, DOMAINS

    state.app.jinja_env.globals.update(LIBRARY_STATUSES=service.STATUSES, LIBRARY_KINDS=service.KINDS,
                                       DOMAINS=DOMAINS, LIBRARY_COOPERATION=service.COOPERATION,
                                       LIBRARY_TIERS=list(CLASSIFICATIONS))


@bp.get("/library")
def index():
    reviewer = service.is_reviewer(g.viewer)
    return render_template("library/index.html", items=service.my_items(g.viewer),
                           queue=service.review_queue(g.viewer) if reviewer else [],
                           events=service.organised_events(g.viewer))


@bp.route("/library/new/<kind>", methods=("GET", "POST"))
def create(kind):
    if kind not in service.KINDS:
        abort(404)
    values, errors = request.form, {}
    if request.method == "POST":
        try:
            item = service.create(g.viewer, kind, request.form)
        except ValidationFailed as failure:
            flash_failure(failure)
            errors = {p["field"]: p["message"] for p in failure.errors if p.get("field")}
        else:
            flash(_("已保存为草稿。检查无误后请提交审核。"), "success")
            return redirect(url_for("library.item", item_id=item.id))
    return render_template("library/form.html", kind=kind, values=values, errors=errors, item=None), \
        422 if errors else 200


@bp.route("/library/<int:item_id>/edit", methods=("GET", "POST"))
def edit(item_id):
    item = service.get_item(g.viewer, item_id)
    if not service.is_owner(g.viewer, item):
        abort(403)
    values, errors = (request.form if request.method == "POST" else _form_values(item)), {}
    if request.method == "POST":
        try:
            service.update(g.viewer, item, request.form)
        except ValidationFailed as failure:
            flash_failure(failure)
            errors = {p["field"]: p["message"] for p in failure.errors if p.get("field")}
        else:
            flash(_("已保存为草稿（第 %(v)s 版）。修改后的信息须重新提交审核。", v=item.version), "success")
            return redirect(url_for("library.item", item_id=item.id))
    return render_template("library/form.html", kind=item.kind, values=values, errors=errors, item=item), \
        422 if errors else 200


@bp.get("/library/<int:item_id>")
def item(item_id):
    record = service.get_item(g.viewer, item_id)
    owner_or_reviewer = service.is_owner(g.viewer, record) or service.is_reviewer(g.viewer)
    with_met = owner_or_reviewer and request.args.get("met") == "1"
    return render_template(
        "library/item.html", item=record, owner=service.is_owner(g.viewer, record),
        reviewer=service.is_reviewer(g.viewer), contact=service.may_see_contact(g.viewer, record),
        history=service.history(g.viewer, record) if owner_or_reviewer else [], with_met=with_met,
        suggestions=library_matching.suggestions(g.viewer, record, with_met=with_met),
        requests=market.requests_for(g.viewer, record), duplicate=_duplicate(record) if owner_or_reviewer else None)


@bp.post("/library/<int:item_id>/<action>")
def act(item_id, action):
    record = service.get_item(g.viewer, item_id)
    try:
        if action == "submit":
            duplicates = service.submit(g.viewer, record, declared=request.form.get("declared") == "1",
                                        accept_duplicates=request.form.get("accept_duplicates") == "1")
            if record.status == "draft":
                flash(_("发现 %(n)s 条高度相似的已有信息，请核对；确认不是重复后可再次提交。", n=len(duplicates)), "error")
                return render_template("library/duplicates.html", item=record, duplicates=duplicates), 409
        elif action in ("publish", "return"):
            service.review(g.viewer, record, action=action, classification=request.form.get("classification", ""),
                           comment=request.form.get("comment", ""))
        elif action == "withdraw":
            service.withdraw(g.viewer, record)
        elif action == "renew":
            service.renew(g.viewer, record, request.form.get("expires_on", "").strip())
        elif action in ("matched", "dealt"):
            service.mark(g.viewer, record, action)
        else:
            abort(404)
    except ValidationFailed as failure:
        flash_failure(failure)
    else:
        audit.record("library", f"library item {record.id}", action)
        flash(_("已更新：%(status)s。", status=service.STATUSES[record.status]), "success")
    return redirect(url_for("library.item", item_id=record.id))


@bp.post("/library/contact/<int:request_id>/<action>")
def decide_contact(request_id, action):
    if action not in ("accept", "decline"):
        abort(404)
    contact_request = market.decide_contact(g.viewer, request_id, accept=action == "accept")
    audit.record("library", f"contact request {request_id}", action)
    flash(_("已同意，对方现在可以看到联系方式。") if action == "accept" else _("已拒绝该申请。"), "success")
    return redirect(url_for("library.item", item_id=contact_request.item_id))


@bp.post("/events/<int:event_id>/library/import")
def import_event(event_id):
    created = service.import_event(g.viewer, event_id)
    audit.record("library", f"event {event_id}", f"imported {created} records into the library")
    flash(_("已将 %(n)s 条记录导入库中，待审核后发布。", n=created), "success")
    return redirect(url_for("library.index"))


@bp.get("/events/<int:event_id>/library/draw")
def draw_page(event_id):
    event = get_event(event_id)
    args = request.args.copy()
    sort = args.pop("sort", "strength")
    try:
        query = market.Query.from_args(args)
        rows, total = library_draw.draw_candidates(g.viewer, event.id, query, sort=sort)
    except ValidationFailed as failure:
        flash_failure(failure)
        query, sort = market.Query(), "strength"
        rows, total = library_draw.draw_candidates(g.viewer, event.id, query, sort=sort)
    return render_template("library/draw.html", rows=rows, total=total, query=query, sort=sort,
                           sorts=library_draw.DRAW_SORTS, limit=library_draw.DRAW_LIMIT, kinds=service.KINDS,
                           cooperation=service.COOPERATION)


@bp.post("/events/<int:event_id>/library/draw")
def draw(event_id):
    try:
        created, updated = library_draw.draw_into_event(g.viewer, event_id, request.form.getlist("item_ids"))
    except ValidationFailed as failure:
        flash_failure(failure)
        return redirect(url_for("library.draw_page", event_id=event_id))
    audit.record("library", f"event {event_id}", f"drew {created} new and {updated} changed library items")
    flash(_("已将 %(new)s 条库内信息加入对接会（%(changed)s 条已更新），请重新计算推荐。", new=created, changed=updated),
          "success")
    return redirect(url_for("imports.index", event_id=event_id))


def _form_values(item):
    values = {name: getattr(item, name) for name in service.FIELDS}
    values["trl"] = "" if item.trl is None else str(item.trl)
    values["expires_on"] = item.expires_on.isoformat() if item.expires_on else ""
    return values


def _duplicate(record):
    if record.duplicate_of is None:
        return None
    return {"id": record.duplicate_of, "item": service.visible_item(g.viewer, record.duplicate_of)}
