"""Issue 18 through HTTP: wishes (own side only, phase open), phases per role, the planner following wishes,
check-in, no-shows, standby re-planning (nothing published moves), feedback and the QR code."""
import pytest
from sqlalchemy import select
from webapp_helpers import ensure_user, latest_job_id, login, wait_for_job

from webapp.db import db
from webapp.models import (
    CheckIn,
    Decision,
    Event,
    Meeting,
    MeetingFeedback,
    MeetingMark,
    OrgHistory,
    Suggestion,
    Unscheduled,
    Wish,
)
from webapp.services import phases
from webapp.visibility import Viewer

PASSWORD = "event-day-password-1"


def _open_pairs(app, event_id, n):
    """``n`` top public suggestions of distinct organisation pairs and distinct enterprises."""
    with app.app_context():
        rows = db.session.scalars(select(Suggestion).where(
            Suggestion.event_id == event_id, Suggestion.direction == "need",
            Suggestion.capability_classification == "公开").order_by(Suggestion.score.desc())).all()
        out, seen = [], set()
        for row in rows:
            if row.need_org not in seen and row.capability_org not in seen:
                out.append((row.need_id, row.capability_id, row.need_org, row.capability_org))
                seen |= {row.need_org, row.capability_org}
            if len(out) == n:
                return out
    raise AssertionError("not enough pairs")


def _phase(client, event_id, phase):
    assert client.post(f"/events/{event_id}/phase", data={"phase": phase}).status_code == 302
    return phase


def _schedule(app, client, event_id):
    client.post(f"/events/{event_id}/schedule/run")
    assert wait_for_job(client, event_id, latest_job_id(app, event_id, "schedule"))["status"] == "done"
    with app.app_context():
        return db.session.scalars(select(Meeting).where(Meeting.event_id == event_id)).all()


def _wishes(app, event_id):
    with app.app_context():
        return {(w.need_id, w.capability_id, w.side): w.level
                for w in db.session.scalars(select(Wish).where(Wish.event_id == event_id))}


def test_members_wish_for_their_own_side_only_while_open(app, client, sample_event):
    (need, capability, need_org, capability_org), = _open_pairs(app, sample_event, 1)
    ensure_user(app, "wish-ent", "enterprise", PASSWORD, org=need_org)
    ensure_user(app, "wish-inst", "institute", PASSWORD, org=capability_org)
    ensure_user(app, "wish-other", "enterprise", PASSWORD, org="无关企业")
    enterprise = login(app.test_client(), "wish-ent", PASSWORD)
    institute = login(app.test_client(), "wish-inst", PASSWORD)
    other = login(app.test_client(), "wish-other", PASSWORD)
    form = {"need_id": need, "capability_id": capability}
    page = enterprise.get(f"/events/{sample_event}/needs/{need}").get_data(as_text=True)
    assert f'id="wish-{capability}"' in page and "必见" in page  # the member's own record offers the choice
    assert enterprise.post(f"/events/{sample_event}/wishes", data=dict(form, level="must")).status_code == 302
    assert institute.post(f"/events/{sample_event}/wishes", data=dict(form, level="want")).status_code == 302
    other.post(f"/events/{sample_event}/wishes", data=dict(form, level="never"))
    # the enterprise cannot speak for the institute's side
    enterprise.post(f"/events/{sample_event}/wishes", data=dict(form, level="never", side="capability"))
    enterprise.post(f"/events/{sample_event}/wishes", data=dict(form, level="sometimes"))
    assert _wishes(app, sample_event) == {(need, capability, "need"): "must", (need, capability, "capability"): "want"}
    _phase(client, sample_event, "closed")
    response = enterprise.post(f"/events/{sample_event}/wishes", data=dict(form, level="never"), follow_redirects=True)
    assert "只能在征集阶段填写" in response.get_data(as_text=True)
    assert _wishes(app, sample_event)[(need, capability, "need")] == "must"
    assert f'id="wish-{capability}"' not in enterprise.get(f"/events/{sample_event}/needs/{need}").get_data(as_text=True)
    # clearing a wish while open
    _phase(client, sample_event, "open")
    enterprise.post(f"/events/{sample_event}/wishes", data=dict(form, level=""))
    assert (need, capability, "need") not in _wishes(app, sample_event)


def test_members_cannot_wish_for_a_pair_the_clearance_rule_forbids(app, client, sample_event):
    with app.app_context():
        row = db.session.scalar(select(Suggestion).where(Suggestion.event_id == sample_event,
                                                         Suggestion.direction == "need",
                                                         Suggestion.capability_classification != "公开"))
    assert row is not None, "the sample event must suggest a classified capability for this test to mean anything"
    ensure_user(app, "wish-cap", "institute", PASSWORD, org=row.capability_org)
    institute = login(app.test_client(), "wish-cap", PASSWORD)
    institute.post(f"/events/{sample_event}/wishes", data={"need_id": row.need_id, "capability_id": row.capability_id,
                                                          "level": "must"})
    with app.app_context():
        from webapp.models import Capability, Need
        from webapp.services.rules import refusal

        need = db.session.scalar(select(Need).filter_by(event_id=sample_event, need_id=row.need_id))
        capability = db.session.scalar(select(Capability).filter_by(event_id=sample_event,
                                                                    capability_id=row.capability_id))
        forbidden = bool(refusal(sample_event, need, capability))
    assert ((row.need_id, row.capability_id, "capability") in _wishes(app, sample_event)) is not forbidden


def test_planner_follows_wishes(app, client, sample_event):
    (n1, c1, _e1, i1), (n2, c2, e2, _i2) = _open_pairs(app, sample_event, 2)
    # (n1, c1) is accepted but the institute says 不见; (n2, c2) is only wished (必见) by the enterprise.
    client.post(f"/api/events/{sample_event}/decisions", json={"need_id": n1, "capability_id": c1, "action": "accept"})
    ensure_user(app, "plan-ent", "enterprise", PASSWORD, org=e2)
    ensure_user(app, "plan-inst", "institute", PASSWORD, org=i1)
    login(app.test_client(), "plan-ent", PASSWORD).post(
        f"/events/{sample_event}/wishes", data={"need_id": n2, "capability_id": c2, "level": "must"})
    login(app.test_client(), "plan-inst", PASSWORD).post(
        f"/events/{sample_event}/wishes", data={"need_id": n1, "capability_id": c1, "level": "never"})
    meetings = _schedule(app, client, sample_event)
    met = {(m.need_id, m.capability_id) for m in meetings}
    assert (n2, c2) in met and (n1, c1) not in met
    with app.app_context():
        reasons = {(u.need_id, u.capability_id): u.reason for u in db.session.scalars(select(Unscheduled))}
        assert db.session.scalar(select(Decision.status).filter_by(need_id=n1, capability_id=c1)) == "accepted"
    assert reasons[(n1, c1)] == "不见"


PHASE_RULES = {  # phase → (member may wish, member may request, member sees agenda, organiser may wish)
    "open": (True, True, False, True), "closed": (False, False, False, True), "draft": (False, False, False, True),
    "published": (False, False, True, False), "onsite": (False, True, True, False),
    "done": (False, False, True, False), "": (True, True, True, True),
}


@pytest.mark.parametrize("phase", list(PHASE_RULES))
def test_phase_rules_per_role(app, phase):
    with app.app_context():
        event = Event(name="阶段", phase=phase)
        db.session.add(event)
        db.session.commit()
        member = Viewer("enterprise", 5, "m", "某企业")
        institute = Viewer("institute", 6, "i", "某院所")
        organiser = Viewer("organiser", 7, "o", "", event_ids=frozenset({event.id}))
        stranger = Viewer("organiser", 8, "s", "", event_ids=frozenset())
        wish, request, agenda, organiser_wish = PHASE_RULES[phase]
        for viewer in (member, institute, stranger):
            assert phases.allows(viewer, event, "wish") is wish
            assert phases.allows(viewer, event, "request") is request
            assert phases.allows(viewer, event, "agenda") is agenda
        assert phases.allows(organiser, event, "wish") is organiser_wish
        assert phases.allows(organiser, event, "agenda") is True
        assert phases.allows(organiser, event, "day") is (phase in ("onsite", ""))
        assert phases.allows(member, event, "day") is (phase == "")


def test_participants_see_their_agenda_only_once_published(app, client, sample_event):
    (need, capability, need_org, _capability_org), = _open_pairs(app, sample_event, 1)
    client.post(f"/api/events/{sample_event}/decisions", json={"need_id": need, "capability_id": capability,
                                                               "action": "accept"})
    _schedule(app, client, sample_event)
    ensure_user(app, "agenda-ent", "enterprise", PASSWORD, org=need_org)
    member = login(app.test_client(), "agenda-ent", PASSWORD)
    for phase, visible in (("draft", False), ("published", True), ("open", False), ("onsite", True)):
        _phase(client, sample_event, phase)
        page = member.get(f"/events/{sample_event}/my-agenda").get_data(as_text=True)
        assert (page.count('class="card meeting-card"') == 1) is visible, phase
        calendar = member.get(f"/events/{sample_event}/my-agenda.ics").get_data(as_text=True)
        assert (calendar.count("BEGIN:VEVENT") == 1) is visible, phase
        assert (capability in member.get(f"/events/{sample_event}/schedule").get_data(as_text=True)) is visible
        # organisers see the plan in every phase
        assert capability in client.get(f"/events/{sample_event}/schedule").get_data(as_text=True)
    _phase(client, sample_event, "closed")
    response = member.post(f"/events/{sample_event}/requests", data={"need_id": need, "capability_id": capability},
                           follow_redirects=True)
    assert "会面申请只能在征集阶段或现场提交" in response.get_data(as_text=True)


def test_phase_dates_are_checked(client, sample_event):
    page = client.post(f"/events/{sample_event}/phase", data={"phase": "open", "date_open": "2026-12-01",
                                                              "date_closed": "2026-11-01"}, follow_redirects=True)
    assert "各阶段日期须按阶段顺序递增" in page.get_data(as_text=True)
    page = client.post(f"/events/{sample_event}/phase", data={"phase": "open", "date_draft": "12/01"},
                       follow_redirects=True)
    assert "不是 YYYY-MM-DD" in page.get_data(as_text=True)
    client.post(f"/events/{sample_event}/phase", data={"phase": "draft", "date_open": "2026-11-01",
                                                       "date_draft": "2026-12-01"})
    with client.application.app_context():
        event = db.session.get(Event, sample_event)
        assert event.phase == "draft" and event.phase_dates == {"open": "2026-11-01", "draft": "2026-12-01"}
        assert event.enterprise_wish_weight == 1.5
    page = client.post(f"/events/{sample_event}/phase", data={"phase": "open", "enterprise_wish_weight": "-2"},
                       follow_redirects=True)
    assert "企业方意向权重须为 0–10 的数" in page.get_data(as_text=True)
    page = client.post(f"/events/{sample_event}/phase", data={"phase": "open", "min_meetings": "9"},
                       follow_redirects=True)
    assert "每单位最少会面数须为 0–4 的整数" in page.get_data(as_text=True)
    page = client.post(f"/events/{sample_event}/phase", data={"phase": "open", "spare_tables": "20"},
                       follow_redirects=True)
    assert "备用桌数须为 0–19 的整数" in page.get_data(as_text=True)
    client.post(f"/events/{sample_event}/phase", data={"phase": "open", "enterprise_wish_weight": "2.5",
                                                       "min_meetings": "2", "spare_tables": "3"})
    with client.application.app_context():
        event = db.session.get(Event, sample_event)
        assert event.phase == "open" and event.enterprise_wish_weight == 2.5 and event.min_meetings == 2
        assert event.spare_tables == 3


def test_the_day_check_in_no_show_standby_replan_feedback(app, client, sample_event):
    pairs = _open_pairs(app, sample_event, 4)
    for need, capability, *_ in pairs[:3]:
        client.post(f"/api/events/{sample_event}/decisions", json={"need_id": need, "capability_id": capability,
                                                                   "action": "accept"})
    with app.app_context():  # 1 of the 20 tables planned; the spare ones are for the day
        db.session.get(Event, sample_event).spare_tables = 19
        db.session.commit()
    published = {(m.need_id, m.capability_id): (m.slot, m.table_no) for m in _schedule(app, client, sample_event)}
    assert len(published) == 3 and max(table for _slot, table in published.values()) == 1
    # the desk works only on the day (once the event uses phases)
    _phase(client, sample_event, "published")
    first = pairs[0][2]
    response = client.post(f"/events/{sample_event}/desk/check-in", data={"org": first}, follow_redirects=True)
    assert "只在现场阶段进行" in response.get_data(as_text=True)
    _phase(client, sample_event, "onsite")
    desk = client.get(f"/events/{sample_event}/desk?q={first[:3]}").get_data(as_text=True)
    assert first in desk
    for need, capability, need_org, capability_org in pairs:
        for org in (need_org, capability_org):
            client.post(f"/events/{sample_event}/desk/check-in", data={"org": org})
    client.post(f"/events/{sample_event}/desk/check-in", data={"org": "不存在的单位"})
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(CheckIn)) == 8
        dropped = db.session.scalar(select(Meeting).filter_by(need_id=pairs[0][0], capability_id=pairs[0][1]))
    # the fourth pair is wished by both sides, so it is on standby once the plan is published
    ensure_user(app, "day-ent", "enterprise", PASSWORD, org=pairs[3][2])
    _phase(client, sample_event, "open")
    login(app.test_client(), "day-ent", PASSWORD).post(
        f"/events/{sample_event}/wishes", data={"need_id": pairs[3][0], "capability_id": pairs[3][1], "level": "want"})
    _phase(client, sample_event, "onsite")
    desk = client.get(f"/events/{sample_event}/desk").get_data(as_text=True)
    assert f"{pairs[3][0]}/{pairs[3][1]}" in desk.split('id="standby"')[1]
    assert client.post(f"/events/{sample_event}/desk/meetings/{dropped.id}/no-show").status_code == 302
    assert client.post(f"/events/{sample_event}/desk/replan", data={"from_slot": "1"}).status_code == 302
    with app.app_context():
        after = {(m.need_id, m.capability_id): (m.slot, m.table_no) for m in db.session.scalars(select(Meeting))}
        assert db.session.scalar(select(MeetingMark.status).filter_by(need_id=pairs[0][0])) == "no_show"
        freed = db.session.scalar(select(Unscheduled.reason).filter_by(need_id=pairs[0][0],
                                                                        capability_id=pairs[0][1]))
    assert freed == "未到场（已释放时段）" and (pairs[0][0], pairs[0][1]) not in after
    for key, place in published.items():  # nothing published moves
        if key != (pairs[0][0], pairs[0][1]):
            assert after[key] == place
    assert (pairs[3][0], pairs[3][1]) in after  # the standby pair took a free place
    # feedback: the enterprise of a kept meeting answers; a decline needs a coded reason
    kept_need, kept_capability, kept_org, _ = pairs[1]
    ensure_user(app, "fb-ent", "enterprise", PASSWORD, org=kept_org)
    member = login(app.test_client(), "fb-ent", PASSWORD)
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).filter_by(need_id=kept_need, capability_id=kept_capability))
    page = member.get(f"/events/{sample_event}/feedback").get_data(as_text=True)
    assert page.count('class="panel feedback"') == 1 and "继续洽谈" in page
    response = member.post(f"/events/{sample_event}/feedback/{meeting.id}",
                           data={"side": "need", "happened": "yes", "interest": "none"}, follow_redirects=True)
    assert "请选择原因" in response.get_data(as_text=True)
    member.post(f"/events/{sample_event}/feedback/{meeting.id}", data={"side": "capability", "happened": "yes",
                                                                        "interest": "continue"})
    member.post(f"/events/{sample_event}/feedback/{meeting.id}",
                data={"side": "need", "happened": "yes", "interest": "none", "decline_reason": "price",
                      "next_step": "寄送报价"})
    with app.app_context():
        rows = db.session.scalars(select(MeetingFeedback)).all()
        assert [(r.side, r.interest, r.decline_reason, r.next_step) for r in rows] == [("need", "none", "price",
                                                                                         "寄送报价")]
        assert db.session.scalar(select(OrgHistory.kind).filter_by(need_org=kept_org)) == "met"
    kpis = client.get(f"/events/{sample_event}/kpis").get_data(as_text=True)
    assert 'data-kpi="no_show_rate">25.0%' in kpis  # 1 no-show of 4 planned (3 kept + 1 refill)


def test_qr_code_is_an_offline_svg_for_organisers(app, client, sample_event):
    (_need, _capability, need_org, _), = _open_pairs(app, sample_event, 1)
    response = client.get(f"/events/{sample_event}/desk/qr.svg", query_string={"org": need_org})
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<?xml") and b"<svg" in response.data
    assert client.get(f"/events/{sample_event}/desk/qr.svg", query_string={"org": "不存在"}).status_code == 404
    ensure_user(app, "qr-ent", "enterprise", PASSWORD, org=need_org)
    assert login(app.test_client(), "qr-ent", PASSWORD).get(
        f"/events/{sample_event}/desk/qr.svg", query_string={"org": need_org}).status_code == 403


def test_a_late_request_on_the_day_reaches_standby_through_the_same_path(app, client, sample_event):
    from webapp.models import MeetingRequest

    (n1, c1, *_), (n2, c2, e2, _i2) = _open_pairs(app, sample_event, 2)
    client.post(f"/api/events/{sample_event}/decisions", json={"need_id": n1, "capability_id": c1, "action": "accept"})
    _schedule(app, client, sample_event)
    _phase(client, sample_event, "onsite")
    ensure_user(app, "late-ent", "enterprise", PASSWORD, org=e2)
    member = login(app.test_client(), "late-ent", PASSWORD)
    assert member.post(f"/events/{sample_event}/requests", data={"need_id": n2, "capability_id": c2}).status_code == 302
    with app.app_context():
        request_id = db.session.scalar(select(MeetingRequest.id).filter_by(need_id=n2, capability_id=c2))
    assert client.post(f"/events/{sample_event}/requests/{request_id}/approve").status_code == 302
    assert f"{n2}/{c2}" in client.get(f"/events/{sample_event}/desk").get_data(as_text=True).split('id="standby"')[1]
    client.post(f"/events/{sample_event}/desk/replan", data={"from_slot": "1"})
    with app.app_context():
        placed = {(m.need_id, m.capability_id) for m in db.session.scalars(select(Meeting))}
    assert {(n1, c1), (n2, c2)} <= placed
