"""After each meeting, both sides answer in one form: did it happen, interest, next step, coded decline reason.

A meeting that happened is remembered in the organisation history (kind "met"), so later events
do not propose the two organisations again unless someone wishes for it.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Meeting, MeetingFeedback
from . import phases
from .outcomes import _remember

INTERESTS = {"continue": _l("继续洽谈"), "more_info": _l("需要更多信息"), "none": _l("暂无合作意向")}
DECLINE_REASONS = {"too_early": _l("技术尚不成熟"), "benefit_unclear": _l("效益不明确"), "price": _l("价格"),
                   "ip": _l("知识产权"), "description_unclear": _l("描述不清楚"), "not_our_field": _l("非本单位领域"),
                   "other": _l("其他")}


def my_meetings(viewer, event_id):
    """``[(Meeting, side, MeetingFeedback or None)]``: the viewer's organisation's meetings (organisers: all)."""
    rows = visibility.filter_pairs(viewer, event_id, db.session.scalars(
        select(Meeting).where(Meeting.event_id == event_id).order_by(Meeting.slot, Meeting.table_no)).all())
    answers = {(f.need_id, f.capability_id, f.side): f for f in db.session.scalars(
        select(MeetingFeedback).where(MeetingFeedback.event_id == event_id))}
    out = []
    for meeting in rows:
        if visibility.is_organiser(viewer, event_id):
            sides = ("need", "capability")
        else:
            sides = tuple(side for side, org in (("need", meeting.need_org), ("capability", meeting.capability_org))
                          if viewer.org and org == viewer.org)
        out += [(meeting, side, answers.get((meeting.need_id, meeting.capability_id, side))) for side in sides]
    return out


def save(viewer, event, meeting_id, form):
    """Store one side's feedback on a meeting (replacing an earlier answer).

    Raises
    ------
    ValidationFailed
        Unknown meeting, a meeting of another organisation, the phase, an unknown interest, or
        暂无合作意向 without a coded reason.
    """
    meeting = db.session.scalar(select(Meeting).filter_by(event_id=event.id, id=meeting_id))
    if meeting is None or not visibility.pair_visible(viewer, event.id, meeting.need_id, meeting.capability_id):
        raise ValidationFailed(_("会面不存在，日程可能已更新。"))
    side = (form.get("side") or "").strip()
    organiser = visibility.is_organiser(viewer, event.id)
    own = {"need": meeting.need_org, "capability": meeting.capability_org}
    if side not in own or not (organiser or (viewer.org and own[side] == viewer.org)):
        raise ValidationFailed(_("只能为本单位参加的会面填写反馈。"))
    phases.require(viewer, event, "feedback")
    happened = form.get("happened") == "yes"
    interest = (form.get("interest") or "").strip() if happened else ""
    reason = (form.get("decline_reason") or "").strip()
    problems = []
    if happened and interest not in INTERESTS:
        problems.append({"field": "interest", "message": _("请选择洽谈意向。")})
    if interest == "none" and reason not in DECLINE_REASONS:
        problems.append({"field": "decline_reason", "message": _("选择“暂无合作意向”时请选择原因。")})
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    row = db.session.scalar(select(MeetingFeedback).filter_by(event_id=event.id, need_id=meeting.need_id,
                                                              capability_id=meeting.capability_id, side=side))
    if row is None:
        row = MeetingFeedback(event_id=event.id, need_id=meeting.need_id, capability_id=meeting.capability_id,
                              side=side)
        db.session.add(row)
    row.happened, row.interest = happened, interest
    row.decline_reason = reason if interest == "none" else ""
    row.next_step = (form.get("next_step") or "").strip()[:1000]
    row.username = viewer.username or ""
    if happened:
        _remember(meeting.need_org, meeting.capability_org, event, "met")
    db.session.commit()
    return row
