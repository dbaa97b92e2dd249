"""Meeting schedules: run ``matcher.schedule_meetings`` on the accepted pairs, store and present the plan.

Locked pairs keep their slot (and table); a lock without a slot yet takes the
slot of its first scheduled meeting. Moving a meeting by hand locks it where
the organiser put it and re-plans everything else around it.
"""
from __future__ import annotations

import datetime as dt
import functools
import math

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from matcher import InfeasibleScheduleError
from matcher.constraints import EXCLUDED_BY
from matcher.planning.schedule import Schedule, schedule_meetings
from matcher.planning.wishes import wish_weights

from .. import visibility
from ..db import db
from ..errors import ValidationFailed
from ..models import Decision, Event, Job, Meeting, ScheduleRun, Unscheduled
from ..state import get_jobs
from .frames import pairs_records
from .outcomes import exclusions
from .pairs import accepted_pairs
from .ranking import active_job, pair_score
from .rules import lapsed, need_clearances, refusal
from .wishes import wish_table, wished_pairs

MEETING_COLUMNS = ["slot", "table", "need_id", "capability_id", "need_org", "capability_org", "score", "locked",
                   "topics"]
UNSCHEDULED_COLUMNS = ["kind", "need_id", "capability_id", "need_org", "capability_org", "org", "score", "reason"]


def start_schedule(event, *, revert=None):
    """Queue a scheduling job for the event's accepted pairs.

    Parameters
    ----------
    revert : dict, optional
        ``{"decision_id", "locked", "lock_slot", "lock_table"}`` restored if the plan is infeasible
        (a hand move that cannot work is undone).

    Raises
    ------
    ValidationFailed
        No accepted pairs, or a job for this event is already running.
    """
    if active_job(event.id, "schedule") is not None:
        raise ValidationFailed(_("日程正在计算中，请稍候。"))
    if (db.session.scalar(select(Decision.id).filter_by(event_id=event.id, status="accepted").limit(1)) is None
            and not wished_pairs(event.id)):
        raise ValidationFailed(_("还没有已确认的配对：请先在推荐页面接受配对。"))
    job = Job(event_id=event.id, kind="schedule", status="queued", stage="queued", payload={"revert": revert})
    db.session.add(job)
    db.session.commit()
    get_jobs().submit(job.id, functools.partial(run_schedule, event.id))
    return job


def run_schedule(event_id, job, progress):
    """Job body: schedule the accepted pairs and replace the event's stored plan."""
    event = db.session.get(Event, event_id)
    progress(10, "loading")
    pairs, forbidden = _candidate_pairs(event)
    if pairs.empty:
        raise ValidationFailed(_("没有可排会的配对：已确认的配对均不满足对接规则。"))
    locked = _locks(event)
    progress(30, "schedule")
    try:
        # Spare tables stay free in the plan; re-planning on the day (services.event_day) may use them.
        tables = max(1, event.tables - int(event.spare_tables or 0))
        plan = schedule_meetings(pairs, slots=event.slots, tables=tables, max_meetings=event.max_meetings,
                                 min_meetings=int(event.min_meetings or 0),
                                 locked=locked if len(locked) else None,
                                 time_limit=float(current_app.config["SCHEDULE_TIME_LIMIT"]))
    except InfeasibleScheduleError:
        _undo_move(job.payload.get("revert"))
        raise
    progress(90, "saving")
    _store(event, plan, forbidden)


def _candidate_pairs(event):
    """Accepted and wished-for pairs with their scores and wish weights; pairs the rules or wishes forbid
    are set aside with the reason.

    The weight rule is :func:`matcher.planning.wishes.wish_weights`: 不见 from either side keeps a pair
    out, 必见/愿见 add to the score (the enterprise side times ``event.enterprise_wish_weight``), and a pair
    of organisations that met at an earlier event is planned only when someone wished for it.
    """
    rows, forbidden = [], []
    items = accepted_pairs(visibility.SYSTEM, event.id)  # the job plans every accepted pair
    accepted = {(item["decision"].need_id, item["decision"].capability_id) for item in items}
    records = [(item["need"], item["capability"], True) for item in items]
    records += [(need, capability, False) for need, capability in _wished_records(event.id, accepted)]
    # The rule is checked again now, on verified qualifications: one that lapsed since the pair
    # was accepted keeps the pair out of the plan, with the reason.
    clearances = need_clearances(event.id, {need.need_id for need, _c, _a in records if need is not None})
    history = set(exclusions(event.id).itertuples(index=False, name=None))
    wishes = wish_table(event.id)
    for need, capability, was_accepted in records:
        if need is None or capability is None:
            continue
        score, rule = pair_score(event.id, need.need_id, capability.capability_id)
        wished = wishes.get((need.need_id, capability.capability_id), {})
        row = {"need_id": need.need_id, "capability_id": capability.capability_id, "need_org": need.org,
               "capability_org": capability.org, "score": score, "need_clearance": clearances.get(need.need_id, "无"),
               "capability_classification": capability.classification, "need_wish": wished.get("need", ""),
               "capability_wish": wished.get("capability", ""), "met_before": False}
        if score is None:
            if was_accepted:
                raise ValidationFailed(_("已确认的配对 %(need)s ↔ %(capability)s 没有得分：请先重新计算推荐。",
                                         need=need.need_id, capability=capability.capability_id))
            forbidden.append(dict(row, kind="pair", org="", score=None, reason="尚无得分（请重新计算推荐）"))
            continue
        if math.isinf(score):
            if rule == "excluded" and (need.org, capability.org) in history:
                row.update(score=0.0, met_before=True)  # planned only if wished (wish_weights)
            else:
                forbidden.append(dict(row, kind="pair", org="", score=None, reason=EXCLUDED_BY.get(rule, rule)))
                continue
        rows.append(row)
    frame = wish_weights(pd.DataFrame(rows, columns=CANDIDATE_COLUMNS),
                         enterprise_weight=float(event.enterprise_wish_weight if event.enterprise_wish_weight
                                                 is not None else 1.5))
    out = frame["excluded_by"] != ""
    forbidden += [dict(row, kind="pair", org="", reason=row["excluded_by"])
                  for row in frame[out].to_dict("records")]
    return frame.loc[~out, CANDIDATE_COLUMNS[:7] + ["weight"]].reset_index(drop=True), forbidden


CANDIDATE_COLUMNS = ["need_id", "capability_id", "need_org", "capability_org", "score", "need_clearance",
                     "capability_classification", "need_wish", "capability_wish", "met_before"]


def _wished_records(event_id, accepted):
    from ..models import Capability, Need

    pairs = [pair for pair in wished_pairs(event_id) if pair not in accepted]
    if not pairs:
        return []
    needs = {n.need_id: n for n in db.session.scalars(select(Need).where(
        Need.event_id == event_id, Need.need_id.in_({n for n, _c in pairs})))}
    capabilities = {c.capability_id: c for c in db.session.scalars(select(Capability).where(
        Capability.event_id == event_id, Capability.capability_id.in_({c for _n, c in pairs})))}
    return [(needs.get(n), capabilities.get(c)) for n, c in pairs]


def _locks(event):
    """Locked pairs with a slot inside the event's grid (a lock outside a shrunk grid waits for a new slot)."""
    locks = [d for d in db.session.scalars(select(Decision).where(
        Decision.event_id == event.id, Decision.status == "accepted", Decision.locked.is_(True),
        Decision.lock_slot.is_not(None))) if d.lock_slot <= event.slots and (d.lock_table or 0) <= event.tables]
    return pd.DataFrame([{"need_id": d.need_id, "capability_id": d.capability_id, "slot": d.lock_slot,
                          "table": d.lock_table} for d in locks], columns=["need_id", "capability_id", "slot", "table"])


def _store(event, plan, forbidden):
    db.session.execute(delete(Meeting).where(Meeting.event_id == event.id).execution_options(event_id=event.id))
    db.session.execute(delete(Unscheduled).where(Unscheduled.event_id == event.id).execution_options(event_id=event.id))
    db.session.execute(delete(ScheduleRun).where(ScheduleRun.event_id == event.id).execution_options(event_id=event.id))
    run = ScheduleRun(event_id=event.id, status=plan.status, objective=float(plan.objective),
                      bound=_finite(plan.bound), gap=_finite(plan.gap), message=plan.message or "",
                      solve_seconds=float(plan.solve_seconds), fairness_level=int(plan.fairness_level),
                      slots=plan.slots, tables=plan.tables)
    db.session.add(run)
    db.session.flush()
    meetings = plan.meetings.rename(columns={"table": "table_no"})
    meetings["topics"] = [[list(t) for t in topics] for topics in meetings["topics"]]
    rows = pairs_records(meetings, ["slot", "table_no", "need_id", "capability_id", "need_org", "capability_org",
                                    "score", "locked", "topics"])
    if rows:
        db.session.execute(insert(Meeting).execution_options(event_id=event.id),
                           [dict(r, run_id=run.id, event_id=event.id) for r in rows])
    left_out = pairs_records(plan.unscheduled.fillna({"need_id": "", "capability_id": "", "need_org": "",
                                                      "capability_org": "", "org": "", "reason": ""}),
                             UNSCHEDULED_COLUMNS)
    left_out += [{c: row[c] for c in UNSCHEDULED_COLUMNS} for row in forbidden]
    if left_out:
        db.session.execute(insert(Unscheduled).execution_options(event_id=event.id),
                           [dict(r, run_id=run.id, event_id=event.id) for r in left_out])
    _pin_new_locks(event.id, plan.meetings)
    db.session.commit()


def _pin_new_locks(event_id, meetings):
    placed = {(m.need_id, m.capability_id): (int(m.slot), int(m.table)) for m in meetings.itertuples()}
    for decision in db.session.scalars(select(Decision).where(Decision.event_id == event_id,
                                                              Decision.locked.is_(True),
                                                              Decision.lock_slot.is_(None))):
        if (decision.need_id, decision.capability_id) in placed:
            decision.lock_slot, decision.lock_table = placed[(decision.need_id, decision.capability_id)]


def _undo_move(revert):
    if not revert:
        return
    decision = db.session.get(Decision, revert["decision_id"])
    if decision is not None:
        decision.locked, decision.lock_slot, decision.lock_table = (revert["locked"], revert["lock_slot"],
                                                                    revert["lock_table"])
        db.session.commit()


def move_meeting(event, meeting_id, slot, table):
    """Lock a scheduled meeting at ``slot``/``table`` and re-plan around it.

    Raises
    ------
    ValidationFailed
        Unknown meeting, slot or table outside the event's grid, or a clash with another locked meeting.
    """
    meeting = db.session.scalar(select(Meeting).filter_by(event_id=event.id, id=meeting_id))
    if meeting is None:
        raise ValidationFailed(_("会面不存在，日程可能已更新。"))
    slot, table = _grid_int(slot, event.slots, "slot"), _grid_int(table, event.tables, "table")
    decision = db.session.scalar(select(Decision).filter_by(event_id=event.id, need_id=meeting.need_id,
                                                            capability_id=meeting.capability_id))
    if decision is None or decision.status != "accepted":
        raise ValidationFailed(_("该会面对应的配对已不再是“已接受”状态。"))
    _check_rules(event.id, meeting)
    clash = _lock_clash(event.id, decision, meeting, slot, table)
    if clash:
        raise ValidationFailed(clash)
    revert = {"decision_id": decision.id, "locked": decision.locked, "lock_slot": decision.lock_slot,
              "lock_table": decision.lock_table}
    decision.locked, decision.lock_slot, decision.lock_table = True, slot, table
    db.session.commit()
    return start_schedule(event, revert=revert)


def _check_rules(event_id, meeting):
    """Refuse to lock or move a meeting whose pair no longer satisfies the rules (e.g. a lapsed qualification)."""
    from ..models import Capability, Need

    need = db.session.scalar(select(Need).filter_by(event_id=event_id, need_id=meeting.need_id))
    capability = db.session.scalar(select(Capability).filter_by(event_id=event_id,
                                                                capability_id=meeting.capability_id))
    if need is None or capability is None:
        raise ValidationFailed(_("会面对应的记录已不存在。"))
    reason = refusal(event_id, need, capability)
    if reason:
        raise ValidationFailed(reason)


def _grid_int(value, limit, field):
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= limit:
        label = _("时段") if field == "slot" else _("桌号")
        raise ValidationFailed(_("%(label)s须为 1–%(limit)s 的整数。", label=label, limit=limit),
                               [{"field": field, "message": f"1..{limit}"}])
    return number


def _lock_clash(event_id, decision, meeting, slot, table):
    others = db.session.scalars(select(Decision).where(Decision.event_id == event_id, Decision.locked.is_(True),
                                                       Decision.lock_slot == slot, Decision.id != decision.id))
    meetings = {(m.need_id, m.capability_id): m for m in db.session.scalars(
        select(Meeting).where(Meeting.event_id == event_id))}
    for other in others:
        if other.lock_table == table:
            return _("第 %(slot)s 时段 %(table)s 号桌已有锁定的会面。", slot=slot, table=table)
        placed = meetings.get((other.need_id, other.capability_id))
        if placed and {placed.need_org, placed.capability_org} & {meeting.need_org, meeting.capability_org}:
            return _("该时段一方已有锁定的会面。")
    return ""


def set_lock(event, meeting_id, locked):
    """Lock a meeting where it is (or unlock it) without re-planning."""
    meeting = db.session.scalar(select(Meeting).filter_by(event_id=event.id, id=meeting_id))
    if meeting is None:
        raise ValidationFailed(_("会面不存在，日程可能已更新。"))
    if locked:
        _check_rules(event.id, meeting)
    decision = db.session.scalar(select(Decision).filter_by(event_id=event.id, need_id=meeting.need_id,
                                                            capability_id=meeting.capability_id))
    if decision is not None:
        decision.locked = locked
        decision.lock_slot, decision.lock_table = (meeting.slot, meeting.table_no) if locked else (None, None)
    meeting.locked = locked
    db.session.commit()


def latest_run(event_id):
    return db.session.scalar(select(ScheduleRun).where(ScheduleRun.event_id == event_id).order_by(ScheduleRun.id.desc()))


def slot_labels(event):
    """``{slot: "09:00–09:20"}`` from the event's start time and slot length."""
    try:
        start = dt.datetime.strptime(event.start_time or "09:00", "%H:%M")
    except ValueError:
        start = dt.datetime.strptime("09:00", "%H:%M")
    step = dt.timedelta(minutes=event.slot_minutes)
    return {s: f"{(start + step * (s - 1)):%H:%M}–{(start + step * s):%H:%M}" for s in range(1, event.slots + 1)}


def agenda_open(viewer, event_id):
    """Whether the event's phase lets the viewer see the plan (participants: from 发布 on)."""
    from . import phases

    event = db.session.get(Event, event_id)
    return event is not None and phases.allows(viewer, event, "agenda")


def meetings(viewer, event_id):
    """The plan's meetings the viewer may see (both records visible; participants only once it is published)."""
    if not agenda_open(viewer, event_id):
        return []
    return visibility.filter_pairs(viewer, event_id, db.session.scalars(
        select(Meeting).where(Meeting.event_id == event_id).order_by(Meeting.slot, Meeting.table_no)).all())


def visible_topics(viewer, event_id, meeting):
    """The meeting's merged topics (other pairs of the same two organisations) the viewer may see."""
    return visibility.filter_pairs(viewer, event_id, [{"need_id": n, "capability_id": c}
                                                      for n, c in (meeting.topics or [])])


def unscheduled(viewer, event_id):
    """Left-out pairs the viewer may see, and left-out participants (organisers and the participant only)."""
    rows = db.session.scalars(select(Unscheduled).where(Unscheduled.event_id == event_id)
                              .order_by(Unscheduled.kind, Unscheduled.need_id)).all()
    if visibility.is_organiser(viewer, event_id):
        return rows
    if not agenda_open(viewer, event_id):
        return []
    return [u for u in rows if (visibility.pair_visible(viewer, event_id, u.need_id, u.capability_id)
                                if u.kind == "pair" else not u.need_id and not u.capability_id
                                and visibility.org_visible(viewer, event_id, u.org))]


def lapsed_meetings(event_id, rows, needs, capabilities):
    """``{(need_id, capability_id): reason}`` for planned meetings whose pair no longer satisfies the rules."""
    return lapsed(event_id, [(needs.get(m.need_id), capabilities.get(m.capability_id)) for m in rows])


def grid(event, rows):
    """``{slot: {table: Meeting}}`` for the slot × table grid."""
    out = {s: {} for s in range(1, event.slots + 1)}
    for meeting in rows:
        out.setdefault(meeting.slot, {})[meeting.table_no] = meeting
    return out


def agendas(event_id, rows):
    """Personal agendas: ``{organisation: [(Meeting, partner organisation, side)]}``, by slot, orgs sorted."""
    out = {}
    for meeting in rows:
        out.setdefault(meeting.need_org, []).append((meeting, meeting.capability_org, "need"))
        out.setdefault(meeting.capability_org, []).append((meeting, meeting.need_org, "capability"))
    return {org: sorted(items, key=lambda item: item[0].slot) for org, items in sorted(out.items())}


def schedule_object(viewer, event_id):
    """The stored plan as a :class:`matcher.Schedule` (for ``matcher.write_agenda``)."""
    run = latest_run(event_id)
    if run is None:
        return None
    meeting_rows = [{"slot": m.slot, "table": m.table_no, "need_id": m.need_id, "capability_id": m.capability_id,
                     "need_org": m.need_org, "capability_org": m.capability_org, "score": m.score,
                     "locked": m.locked, "topics": [(t["need_id"], t["capability_id"]) for t in visible_topics(viewer, event_id, m)]}
                    for m in meetings(viewer, event_id)]
    left_out = [{c: getattr(u, c) for c in UNSCHEDULED_COLUMNS} for u in unscheduled(viewer, event_id)]
    return Schedule(meetings=pd.DataFrame(meeting_rows, columns=MEETING_COLUMNS),
                    unscheduled=pd.DataFrame(left_out, columns=UNSCHEDULED_COLUMNS), objective=run.objective,
                    bound=math.nan if run.bound is None else run.bound, gap=math.nan if run.gap is None else run.gap,
                    status=run.status, message=run.message, solve_seconds=run.solve_seconds, slots=run.slots,
                    tables=run.tables, fairness_level=run.fairness_level)


def _finite(value):
    return float(value) if value is not None and math.isfinite(float(value)) else None



def record_titles(viewer, event_id):
    """``({need_id: Need}, {capability_id: Capability})`` for labelling meetings."""
    from ..models import Capability, Need

    needs = {n.need_id: n for n in db.session.scalars(select(Need).where(visibility.need_clause(viewer, event_id)))}
    capabilities = {c.capability_id: c for c in db.session.scalars(select(Capability).where(
        visibility.capability_clause(viewer, event_id)))}
    return needs, capabilities
