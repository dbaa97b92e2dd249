"""Event KPIs on a hand-made event (every figure computed by hand in the comments)."""
import pytest

from webapp.db import db
from webapp.models import (
    Capability,
    Event,
    Meeting,
    MeetingFeedback,
    MeetingMark,
    MeetingRequest,
    Need,
    ScheduleRun,
    Wish,
)
from webapp.services.kpis import event_kpis


def test_kpis_by_hand(app):
    with app.app_context():
        event = Event(name="手工对接会", slots=4, tables=4)
        db.session.add(event)
        db.session.flush()
        # 3 enterprises (E1–E3) and 2 institutes (I1, I2): 5 participants.
        for need_id, org in (("N1", "E1"), ("N2", "E2"), ("N3", "E3")):
            db.session.add(Need(event_id=event.id, need_id=need_id, org=org, title=need_id))
        for capability_id, org in (("C1", "I1"), ("C2", "I2")):
            db.session.add(Capability(event_id=event.id, capability_id=capability_id, org=org, title=capability_id))
        run = ScheduleRun(event_id=event.id, status="optimal", slots=4, tables=4)
        db.session.add(run)
        db.session.flush()
        # Plan after the day: 3 meetings; N3–C2 was a no-show (freed, so not in the plan).
        for slot, (need_id, capability_id, need_org, capability_org) in enumerate(
                [("N1", "C1", "E1", "I1"), ("N2", "C1", "E2", "I1"), ("N1", "C2", "E1", "I2")], start=1):
            db.session.add(Meeting(run_id=run.id, event_id=event.id, slot=slot, table_no=1, need_id=need_id,
                                   capability_id=capability_id, need_org=need_org, capability_org=capability_org,
                                   score=0.5))
        db.session.add(MeetingMark(event_id=event.id, need_id="N3", capability_id="C2", status="no_show", slot=2))
        # 5 requests: 3 approved, 1 declined, 1 pending → 60 % accepted.
        for status in ("approved", "approved", "approved", "declined", "pending"):
            db.session.add(MeetingRequest(event_id=event.id, need_id="N1", capability_id="C1", requester="E1",
                                          status=status))
        # Feedback: N1–C1 held, both sides answer (one 继续洽谈); N2–C1 reported as not held.
        db.session.add(MeetingFeedback(event_id=event.id, need_id="N1", capability_id="C1", side="need",
                                       happened=True, interest="continue"))
        db.session.add(MeetingFeedback(event_id=event.id, need_id="N1", capability_id="C1", side="capability",
                                       happened=True, interest="more_info"))
        db.session.add(MeetingFeedback(event_id=event.id, need_id="N2", capability_id="C1", side="need",
                                       happened=False))
        # Wishes: must N1–C1 (met), must N3–C2 (no-show: not met); want N1–C2 (met); never N2–C2 (not counted).
        for need_id, capability_id, level in (("N1", "C1", "must"), ("N3", "C2", "must"), ("N1", "C2", "want"),
                                              ("N2", "C2", "never")):
            db.session.add(Wish(event_id=event.id, need_id=need_id, capability_id=capability_id, side="need",
                                level=level))
        db.session.commit()
        kpis = event_kpis(event.id)
    # meetings per participant: E1 2, E2 1, E3 0, I1 2, I2 1 → min 0, median 1.
    assert kpis["per_participant_min"] == 0 and kpis["per_participant_median"] == 1
    assert kpis["requests"] == 5 and kpis["accepted"] == pytest.approx(3 / 5)
    assert kpis["meetings"] == 3 and kpis["no_shows"] == 1
    assert kpis["no_show_rate"] == pytest.approx(1 / 4)  # 1 of 3 + 1 planned
    assert kpis["kept"] == pytest.approx(2 / 4)  # N1–C1 and N1–C2; N2–C1 reported not held
    assert kpis["second_meeting"] == pytest.approx(1 / 2)  # of 2 meetings with feedback, N1–C1 continues
    assert kpis["must_wishes"] == 2 and kpis["must_satisfied"] == pytest.approx(1 / 2)
    assert kpis["want_wishes"] == 1 and kpis["want_satisfied"] == pytest.approx(1.0)


def test_kpis_of_an_empty_event_are_not_numbers(app):
    with app.app_context():
        event = Event(name="空")
        db.session.add(event)
        db.session.commit()
        kpis = event_kpis(event.id)
    assert kpis["accepted"] is None and kpis["kept"] is None and kpis["per_participant_min"] is None
    assert kpis["must_satisfied"] is None and kpis["meetings"] == 0


def test_why_not_seated_names_the_binding_constraint_and_the_smallest_change(app):
    from webapp.models import Unscheduled
    from webapp.services.kpis import unseated_wishes

    with app.app_context():
        event = Event(name="入座", slots=2, tables=1)
        db.session.add(event)
        db.session.flush()
        for need_id, org in (("N1", "E1"), ("N2", "E2"), ("N3", "E3")):
            db.session.add(Need(event_id=event.id, need_id=need_id, org=org, title=need_id))
        db.session.add(Capability(event_id=event.id, capability_id="C1", org="I1", title="C1"))
        run = ScheduleRun(event_id=event.id, status="optimal", slots=2, tables=1)
        db.session.add(run)
        db.session.flush()
        db.session.add(Meeting(run_id=run.id, event_id=event.id, slot=1, table_no=1, need_id="N1", capability_id="C1",
                               need_org="E1", capability_org="I1", score=0.9))
        db.session.add(Unscheduled(run_id=run.id, event_id=event.id, kind="pair", need_id="N2", capability_id="C1",
                                   need_org="E2", capability_org="I1", reason="院所已达会面上限 1 场"))
        for need_id, side, level in (("N1", "need", "must"), ("N2", "need", "want"), ("N3", "need", "must"),
                                     ("N3", "capability", "never")):
            db.session.add(Wish(event_id=event.id, need_id=need_id, capability_id="C1", side=side, level=level))
        db.session.commit()
        rows = unseated_wishes(event.id)
        # N1–C1 met (not listed); N3 is vetoed by the institute (must first); N2 hit the institute's cap.
        assert [(r["need_id"], r["reason"]) for r in rows] == [("N3", "不见"), ("N2", "院所已达会面上限 1 场")]
        assert rows[0]["fix"] == "标记“不见”的一方撤回该意向"
        assert rows[1]["fix"] == "将该院所的会面上限加 1，或把它的另一场会面换成这一对"
