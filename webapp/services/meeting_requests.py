"""Meeting requests from participants, approved (becoming accepted pairs) or declined by the organiser."""
from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import MeetingRequest
from . import inbox, phases
from .pairs import decide, pair_records
from .rules import refusal


def create(viewer, event, form):
    """Record a participant's request to meet about a need × capability pair.

    Raises
    ------
    ValidationFailed
        Unknown ids, missing requester name, a pair the rules forbid, or a duplicate pending request.
    """
    need_id, capability_id = (form.get("need_id") or "").strip(), (form.get("capability_id") or "").strip()
    requester = (form.get("requester") or "").strip()
    need, capability = pair_records(viewer, event.id, need_id, capability_id)
    if viewer.role in visibility.MEMBER_ROLES:
        # A member asks on behalf of its own organisation, about one of its own records.
        if viewer.org not in (need.org, capability.org):
            raise ValidationFailed(_("只能为本单位的需求或成果申请会面。"))
        requester = viewer.org
    phases.require(viewer, event, "request")
    if not requester:
        raise ValidationFailed(_("请填写申请单位或联系人。"), [{"field": "requester", "message": "required"}])
    refuse = refusal(event.id, need, capability)
    if refuse:
        raise ValidationFailed(refuse)
    pending = db.session.scalar(select(MeetingRequest).filter_by(event_id=event.id, need_id=need_id,
                                                                 capability_id=capability_id, status="pending"))
    if pending is not None:
        raise ValidationFailed(_("该配对已有待审核的会面申请。"))
    request = MeetingRequest(event_id=event.id, need_id=need_id, capability_id=capability_id,
                             requester=requester[:200], contact=(form.get("contact") or "").strip()[:200],
                             message=(form.get("message") or "").strip()[:2000])
    db.session.add(request)
    db.session.commit()
    return request


def listing(viewer, event_id):
    """Requests the viewer may see: all for organisers, else those about the viewer's own records."""
    rows = db.session.scalars(select(MeetingRequest).where(MeetingRequest.event_id == event_id)
                              .order_by(MeetingRequest.status != "pending", MeetingRequest.id.desc())).all()
    if visibility.is_organiser(viewer, event_id):
        return rows
    own_needs, own_capabilities = visibility.own_ids(viewer, event_id)
    return [r for r in visibility.filter_pairs(viewer, event_id, rows)
            if viewer.org and (r.need_id in own_needs or r.capability_id in own_capabilities)]


def resolve(viewer, event, request_id, approve):
    """Approve (accept the pair) or decline a pending request."""
    request = db.session.scalar(select(MeetingRequest).filter_by(event_id=event.id, id=request_id))
    if request is None:
        raise ValidationFailed(_("会面申请不存在。"))
    if request.status != "pending":
        raise ValidationFailed(_("该申请已处理。"))
    if approve:
        decide(viewer, event, request.need_id, request.capability_id, "accept", source="request")
    request.status = "approved" if approve else "declined"
    inbox.notify(f"request_{request.status}", org=request.requester, event_id=event.id,
                 link=url_for("meeting_requests.index", event_id=event.id), need_id=request.need_id,
                 capability_id=request.capability_id)
    request.decided_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.session.commit()
    return request
