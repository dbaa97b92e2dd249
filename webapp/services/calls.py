"""Challenge calls (揭榜挂帅): a poster (an enterprise, or the bureau) sets a problem, institutes propose.

A call is open information (the poster declares it holds nothing classified): every logged-in
member sees it. A proposal is seen by the proposing organisation, the poster and reviewers only.
The poster shortlists and picks one proposal (the call then closes). The engine suggests
institutes to invite from their listed 公开 achievements in the library, so a classified item
never shapes a suggestion.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Conflict, Forbidden, NotFound

from matcher import DOMAINS

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import ChallengeCall, LibraryItem, Proposal
from .library import is_reviewer

#: The poster name of calls the bureau posts itself.
BUREAU = "区科学技术局"
PROPOSAL_STATUSES = {"submitted": _l("已提交"), "shortlisted": _l("入围"), "picked": _l("揭榜成功"),
                     "declined": _l("未入选")}


def calls(viewer):
    """Calls a logged-in viewer may see (all of them; none for anonymous viewers), newest first."""
    if viewer.user_id is None and not viewer.everything:
        return []
    return db.session.scalars(select(ChallengeCall).order_by(ChallengeCall.id.desc())).all()


def get_call(viewer, call_id):
    call = db.session.get(ChallengeCall, call_id)
    if call is None or (viewer.user_id is None and not viewer.everything):
        raise NotFound()
    return call


def is_poster(viewer, call):
    if call.org == BUREAU:
        return is_reviewer(viewer)
    return viewer.role in visibility.MEMBER_ROLES and viewer.org == call.org


def create(viewer, form):
    """Post a call: enterprise members for their organisation, reviewers for the bureau."""
    if viewer.role == "enterprise" and viewer.org:
        org = viewer.org
    elif is_reviewer(viewer):
        org = BUREAU
    else:
        raise Forbidden(str(_l("揭榜挂帅由企业成员或科技局发布。")))
    problems = []
    title, requirements = (form.get("title") or "").strip(), (form.get("requirements") or "").strip()
    domain, budget = (form.get("domain") or "").strip(), (form.get("budget") or "").strip()[:100]
    if not title or len(title) > 500:
        problems.append({"field": "title", "message": str(_l("名称不能为空，且不超过 500 字。"))})
    if domain and domain not in DOMAINS:
        problems.append({"field": "domain", "value": domain, "allowed": list(DOMAINS),
                         "message": str(_l("所属领域须为：%(allowed)s。", allowed="、".join(DOMAINS)))})
    try:
        deadline = dt.date.fromisoformat((form.get("deadline") or "").strip())
        if deadline <= dt.date.today():
            raise ValueError
    except ValueError:
        deadline = None
        problems.append({"field": "deadline", "value": form.get("deadline"),
                         "message": str(_l("截止日期须为今天之后的日期。"))})
    if form.get("declared") != "1":
        problems.append({"field": "declared", "message": str(_l("发布前须声明：本条信息不含涉密内容。"))})
    if problems:
        raise ValidationFailed(str(_l("表单有 %(n)s 处错误，请修改后重新保存。", n=len(problems))), problems)
    call = ChallengeCall(org=org, title=title, requirements=requirements[:20000], budget=budget, domain=domain,
                         deadline=deadline, created_by=viewer.user_id)
    db.session.add(call)
    db.session.commit()
    return call


def proposals(viewer, call):
    """Proposals the viewer may see: all for the poster and reviewers, else the viewer's organisation's own."""
    query = select(Proposal).where(Proposal.call_id == call.id).order_by(Proposal.id)
    if not (is_poster(viewer, call) or is_reviewer(viewer)):
        if not viewer.org:
            return []
        query = query.where(Proposal.org == viewer.org)
    return db.session.scalars(query).all()


def propose(viewer, call, form):
    """An institute member answers an open call before its deadline (once per organisation)."""
    if viewer.role != "institute" or not viewer.org:
        raise Forbidden(str(_l("只有院所成员可以揭榜。")))
    if call.status != "open" or call.deadline < dt.date.today():
        raise Conflict(str(_l("该榜单已截止。")))
    if db.session.scalar(select(Proposal.id).where(Proposal.call_id == call.id, Proposal.org == viewer.org)):
        raise Conflict(str(_l("贵单位已提交过方案。")))
    summary = (form.get("summary") or "").strip()
    if not summary:
        raise ValidationFailed(str(_l("请填写方案概要。")), [{"field": "summary"}])
    proposal = Proposal(call_id=call.id, org=viewer.org, summary=summary[:20000],
                        contact=(form.get("contact") or "").strip()[:200])
    db.session.add(proposal)
    db.session.commit()
    return proposal


def decide(viewer, call, proposal_id, status):
    """The poster shortlists, picks (closing the call) or declines a proposal."""
    if not is_poster(viewer, call):
        raise Forbidden()
    proposal = db.session.scalar(select(Proposal).where(Proposal.id == proposal_id, Proposal.call_id == call.id))
    if proposal is None:
        raise NotFound()
    if status not in ("shortlisted", "picked", "declined") or call.status != "open":
        raise Conflict(str(_l("当前状态下不能执行此操作。")))
    proposal.status = status
    if status == "picked":
        call.status = "closed"
    db.session.commit()
    return proposal


def roadshow_events(viewer, call):
    """Upcoming events (dated today or later, or not yet dated) a proposal of the call may be put into:
    any for the call's poster, the events they run for organisers (administrators: all)."""
    from sqlalchemy import or_

    from ..models import Event

    query = select(Event).where(or_(Event.date.is_(None), Event.date >= dt.date.today())).order_by(
        Event.date.is_(None), Event.date, Event.id)
    if not (is_poster(viewer, call) or viewer.everything):
        if viewer.role != "organiser":
            return []
        query = query.where(Event.id.in_(viewer.event_ids))
    return db.session.scalars(query).all()


def put_into_roadshow(viewer, call, proposal_id, event_id):
    """Put a shortlisted or picked proposal's institute into an upcoming event's roadshow.

    The proposal becomes the institute's achievement ``P<proposal id>`` in the event (title from the
    call, the proposal's summary as its description, 公开: the call declared nothing classified), so
    the roadshow programme (:mod:`webapp.services.roadshow`) gives the institute a talk presenting
    it once the event is ranked; putting it in again updates that record. The institute is told in
    its inbox. Allowed to the call's poster and to the event's organisers.

    Returns
    -------
    (Event, bool)
        The event and whether the record was created (False: updated).
    """
    from matcher import infer_domains

    from ..models import Capability, Event
    from . import inbox

    proposal = db.session.scalar(select(Proposal).where(Proposal.id == proposal_id, Proposal.call_id == call.id))
    event = db.session.get(Event, event_id) if event_id is not None else None
    if proposal is None or event is None:
        raise NotFound()
    if not (is_poster(viewer, call) or visibility.is_organiser(viewer, event.id)):
        raise Forbidden(str(_l("只有发榜单位或该对接会的组织方可以把方案列入路演。")))
    if proposal.status not in ("shortlisted", "picked"):
        raise Conflict(str(_l("只有入围或揭榜成功的方案可以列入路演。")))
    if event.date is not None and event.date < dt.date.today():
        raise Conflict(str(_l("该对接会已经举行，请选择即将举行的对接会。")))
    text = f"{call.title}。{proposal.summary}"
    values = {"org": proposal.org, "title": str(_l("揭榜方案：%(title)s", title=call.title))[:500],
              "description": proposal.summary, "keywords": call.domain, "contact": proposal.contact,
              "domain": call.domain or infer_domains([text])[0], "domain_inferred": not call.domain,
              "classification": "公开", "cooperation": "合作开发"}
    record = db.session.scalar(select(Capability).where(Capability.event_id == event.id,
                                                        Capability.capability_id == f"P{proposal.id}"))
    created = record is None
    if created:
        db.session.add(Capability(event_id=event.id, capability_id=f"P{proposal.id}", **values))
    else:
        for name, value in values.items():
            setattr(record, name, value)
    event.records_version += 1  # the event's ranking is stale until it is ranked again (as for drawn items)
    proposal.roadshow_event_id = event.id
    inbox.notify("proposal_roadshow", org=proposal.org, link=f"/events/{event.id}/roadshow", call_id=call.id,
                 event=event.name)
    db.session.commit()
    return event, created


def event_names(event_ids):
    """``{event id: name}`` of the events proposals were put into."""
    from ..models import Event

    ids = {i for i in event_ids if i is not None}
    return dict(db.session.execute(select(Event.id, Event.name).where(Event.id.in_(ids))).all()) if ids else {}


def may_review_proposals(viewer, call):
    """Whether the viewer sees every proposal of the call (its poster and the bureau's reviewers)."""
    return is_poster(viewer, call) or is_reviewer(viewer)


def proposals_frame(viewer, call):
    """The call's proposals as a table for the poster and reviewers, headers in the page language.

    Raises
    ------
    Forbidden
        For anyone else (an institute sees its own proposal on the page, never a list).
    """
    import pandas as pd
    from flask_babel import gettext as _

    from ..models import Event

    if not may_review_proposals(viewer, call):
        raise Forbidden(str(_l("只有发榜单位和科技局可以导出方案。")))
    events = dict(db.session.execute(select(Event.id, Event.name)).all())
    columns = [_("方案编号"), _("揭榜单位"), _("方案概要"), _("联系人"), _("状态"), _("提交时间"), _("路演")]
    rows = [[p.id, p.org, p.summary, p.contact, str(PROPOSAL_STATUSES[p.status]),
             p.created_at.strftime("%Y-%m-%d %H:%M"), events.get(p.roadshow_event_id, "")]
            for p in proposals(viewer, call)]
    return pd.DataFrame(rows, columns=columns)


def export_proposals(viewer, call, fmt):
    """The proposals of a call as an XLSX or CSV download, written atomically and formula-safe.

    Returns
    -------
    (bytes, str, str)
        Content, file name (``<call title>-揭榜方案.<fmt>``) and MIME type.
    """
    import tempfile
    from pathlib import Path

    from flask_babel import gettext as _

    from matcher.export import write_frame

    from .exports import _UNSAFE, FORMATS

    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed(str(_l("未知的导出类型。")))
    frame = proposals_frame(viewer, call)
    with tempfile.TemporaryDirectory(prefix="matcher-export-") as folder:
        path = write_frame(frame, Path(folder) / f"export.{fmt}", sheet_name=_("揭榜方案")[:31])
        content = path.read_bytes()
    title = _UNSAFE.sub("_", call.title).strip()[:60] or "call"
    return content, f"{title}-{_('揭榜方案')}.{fmt}", FORMATS[fmt]


def suggest_institutes(viewer, call, *, top_k=5):
    """Institutes to invite: organisations whose listed 公开 achievements best match the call, best first.

    The call is the query (as a need); an organisation's score is its best achievement's cosine,
    shown with that pair's calibrated strength.

    Returns
    -------
    list of dict
        ``org``, ``item_id`` (its best achievement), ``score``, ``strength`` and ``band`` (only for
        the poster and reviewers).
    """
    from matcher.strength import strength_band

    from . import library_matching

    if not (is_poster(viewer, call) or is_reviewer(viewer)):
        return []
    probe = _call_probe(call)
    vector = library_matching.encode([probe])[0]
    with library_matching._LOCK:
        index = library_matching.current_index()
        side = index.matches.sides["capability"]
        n = len(side.ids)
        names = {code: name for name, code in index.matches._org_codes.items()}
        public = np.flatnonzero(side.active[:n] & (side.levels[:n] == 0))
        scores = side.vectors[:n] @ vector
        best = {}
        for position in public:
            org = names[int(side.orgs[position])]
            if org != call.org and (org not in best or scores[position] > scores[best[org]]):
                best[org] = position
        chosen = sorted(best.items(), key=lambda x: (-float(scores[x[1]]), x[0]))[:top_k]
        if not chosen:
            return []
        ids = [side.ids[position] for _, position in chosen]
        items = {item.id: item for item in db.session.scalars(select(LibraryItem).where(LibraryItem.id.in_(ids)))}
        strengths = index.strength.strengths(
            library_matching.item_texts([probe]), vector[None, :], [0],
            library_matching.item_texts([items[i] for i in ids]), side.vectors[[p for _, p in chosen]])[0]
    return [{"org": org, "item_id": item_id, "score": float(scores[position]), "strength": float(strength),
             "band": str(strength_band(strength))}
            for (org, position), item_id, strength in zip(chosen, ids, strengths)]


def _call_probe(call):
    """The call as a library need (title, requirements, domain as keywords) for encoding and scoring."""
    return type("Probe", (), {"title": call.title, "keywords": call.domain, "description": call.requirements,
                              "kind": "need"})()
