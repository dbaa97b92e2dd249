"""An event's phases and what each role may do in each.

征集 (open: profiles and wishes) → 截止 (closed) → 草案 (draft: the organiser reviews the
provisional schedule) → 发布 (published: participants see their agendas) → 现场 (on site: check-in,
no-shows, late requests) → 结束 (done: feedback). An event whose phase is "" does not use phases
and keeps the behaviour from before phases existed (everything open).

Rules for participants (enterprise and institute members); organisers of the event may always
act, except that wishes close once the schedule is published:

============  ======  ========  ===============  ========
phase         wishes  requests  agenda/schedule  feedback
============  ======  ========  ===============  ========
open          yes     yes       no               no
closed        no      no        no               no
draft         no      no        no               no
published     no      no        yes              no
onsite        no      yes       yes              yes
done          no      no        yes              yes
============  ======  ========  ===============  ========
"""
from __future__ import annotations

import datetime as dt
import math

from flask_babel import lazy_gettext as _l

from .. import visibility
from ..db import db
from ..errors import ValidationFailed

PHASES = ("open", "closed", "draft", "published", "onsite", "done")
LABELS = {"open": _l("征集"), "closed": _l("截止"), "draft": _l("草案"), "published": _l("发布"),
          "onsite": _l("现场"), "done": _l("结束")}
#: Action → phases in which participants may do it.
PARTICIPANT_PHASES = {
    "wish": {"open"},
    "request": {"open", "onsite"},
    "agenda": {"published", "onsite", "done"},
    "feedback": {"onsite", "done"},
    "day": set(),
}
#: Action → phases in which organisers may do it (every phase when not listed).
ORGANISER_PHASES = {"wish": {"open", "closed", "draft"}, "day": {"onsite"}}
MESSAGES = {
    "wish": _l("意向（必见/愿见/不见）只能在征集阶段填写。"),
    "request": _l("会面申请只能在征集阶段或现场提交。"),
    "agenda": _l("日程发布后才能查看。"),
    "feedback": _l("会后反馈在现场和结束阶段填写。"),
    "day": _l("签到、缺席登记和现场补排只在现场阶段进行。"),
}


def allows(viewer, event, action):
    """Whether ``viewer`` may do ``action`` ("wish", "request", "agenda", "feedback", "day") in the event's phase."""
    if not event.phase:
        return True
    if visibility.is_organiser(viewer, event.id) or viewer.role == "admin":
        return event.phase in ORGANISER_PHASES.get(action, set(PHASES))
    return event.phase in PARTICIPANT_PHASES[action]


def require(viewer, event, action):
    """Raise :class:`ValidationFailed` naming the phase rule when ``allows`` is false."""
    if not allows(viewer, event, action):
        raise ValidationFailed(str(MESSAGES[action]) + " " + str(_l("当前阶段：%(phase)s。",
                                                                     phase=label(event.phase))))


def label(phase):
    return str(LABELS.get(phase, _l("未启用阶段")))


def set_phase(event, phase, dates, enterprise_wish_weight=None, min_meetings=None, spare_tables=None):
    """Move the event to ``phase`` ("" turns phases off), store the planned start date of each phase and
    (when given) how much the enterprise side's wishes weigh (:func:`matcher.planning.wishes.wish_weights`) and the
    floor of meetings per participant the planner aims for, and the tables the first plan keeps spare.

    Raises
    ------
    ValidationFailed
        Unknown phase, a date that is not YYYY-MM-DD, dates out of phase order, or a weight that is not a
        number from 0 to 10, a floor that is not a whole number from 0 to the event's maximum, or spare
        tables that are not a whole number below the event's table count.
    """
    if phase not in ("",) + PHASES:
        raise ValidationFailed(_l("未知阶段“%(phase)s”。", phase=phase), [{"field": "phase", "message": phase}])
    parsed, problems = {}, []
    for key in PHASES:
        text = (dates.get(key) or "").strip()
        if not text:
            continue
        try:
            parsed[key] = dt.date.fromisoformat(text)
        except ValueError:
            problems.append({"field": f"date_{key}", "message": str(_l("%(phase)s 的日期“%(value)s”不是 YYYY-MM-DD。",
                                                                      phase=label(key), value=text))})
    ordered = [parsed[key] for key in PHASES if key in parsed]
    if not problems and ordered != sorted(ordered):
        problems.append({"field": "dates", "message": str(_l("各阶段日期须按阶段顺序递增。"))})
    weight = None
    if enterprise_wish_weight not in (None, ""):
        try:
            weight = float(str(enterprise_wish_weight).strip())
        except ValueError:
            weight = math.nan
        if not 0 <= weight <= 10:
            problems.append({"field": "enterprise_wish_weight",
                             "message": str(_l("企业方意向权重须为 0–10 的数；收到“%(value)s”。",
                                               value=enterprise_wish_weight))})
    floor = None
    if min_meetings not in (None, ""):
        text = str(min_meetings).strip()
        floor = int(text) if text.isdigit() else -1
        if not 0 <= floor <= event.max_meetings:
            problems.append({"field": "min_meetings", "message": str(_l(
                "每单位最少会面数须为 0–%(limit)s 的整数；收到“%(value)s”。", limit=event.max_meetings,
                value=min_meetings))})
    spare = None
    if spare_tables not in (None, ""):
        text = str(spare_tables).strip()
        spare = int(text) if text.isdigit() else -1
        if not 0 <= spare < event.tables:
            problems.append({"field": "spare_tables", "message": str(_l(
                "备用桌数须为 0–%(limit)s 的整数；收到“%(value)s”。", limit=event.tables - 1, value=spare_tables))})
    if problems:
        raise ValidationFailed("；".join(p["message"] for p in problems), problems)
    if spare is not None:
        event.spare_tables = spare
    if floor is not None:
        event.min_meetings = floor
    if weight is not None:
        event.enterprise_wish_weight = weight
    event.phase = phase
    event.phase_dates = {key: value.isoformat() for key, value in parsed.items()}
    db.session.commit()
