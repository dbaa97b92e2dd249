"""One way to change an event (issue 12): every write path bumps the event's data version, and cached pages
never carry another session's data (CSRF token, user name)."""
import io
import re

import pytest
from sqlalchemy import delete, func, select
from webapp_helpers import (
    NEED_HEADER,
    csrf_login,
    csv_bytes,
    ensure_user,
    latest_job_id,
    make_app,
    need_row,
    upload,
    wait_for_job,
)

from webapp.db import db
from webapp.models import Event, Invitation, Meeting, MeetingRequest, Organisation, OrgTier, Outcome, Suggestion

#: POST endpoints that do not write to one event's records (accounts, qualifications go through the hook too,
#: creating an event starts at version 0, deleting one removes its pages).
NOT_EVENT_WRITES = {"auth.login", "auth.logout", "account.password", "admin.users", "admin.user_active",
                    "admin.user_events", "admin.user_password", "qualifications.verify", "events.create", "inbox.read",
                    "api.create_event", "events.delete",
                    # the standing library and calls live outside events; importing an event's records into
                    # the library only reads the event
                    "library.create", "library.edit", "library.act", "library.decide_contact", "market.contact",
                    "library.import_event", "calls.create", "calls.propose", "calls.decide", "calls_api.propose",
                    # drawing library items or a call's proposal into an event writes its records:
                    # tests/test_library.py and tests/test_calls.py check the bump
                    "library.draw", "calls.roadshow"}


def version(app, event_id):
    with app.app_context():
        return db.session.scalar(select(Event.data_version).where(Event.id == event_id))


def first_id(app, query):
    with app.app_context():
        return db.session.scalar(query)


def test_every_write_path_bumps_the_events_data_version(app, client, sample_event):
    event = sample_event
    with app.app_context():
        top = db.session.scalars(select(Suggestion).where(Suggestion.event_id == event, Suggestion.direction == "need",
                                                          Suggestion.capability_classification == "公开")
                                 .order_by(Suggestion.need_id, Suggestion.rank)).all()
    first, second = top[0], next(s for s in top if s.need_id != top[0].need_id)

    def batch(name):
        response = upload(client, event, "need", csv_bytes(NEED_HEADER, [need_row("NX1")]), name)
        return int(response.headers["Location"].rstrip("/").split("/")[-1])

    def schedule_job():
        return wait_for_job(client, event, latest_job_id(app, event, "schedule"))

    steps = [
        ("events.edit", lambda: client.post(f"/events/{event}/settings", data={
            "name": "示例对接会", "tracks": ["电子信息", "新材料"], "slots": "6", "slot_minutes": "20",
            "start_time": "09:00", "tables": "20", "max_meetings": "4"})),
        ("pairs.decide", lambda: client.post(f"/events/{event}/decisions", data={
            "need_id": first.need_id, "capability_id": first.capability_id, "action": "accept"})),
        ("api.decide", lambda: client.post(f"/api/events/{event}/decisions", json={
            "need_id": second.need_id, "capability_id": second.capability_id, "action": "lock"})),
        ("pairs.bulk", lambda: client.post(f"/events/{event}/pairings/bulk", data={"per_need": "1"})),
        ("planning.run", lambda: (client.post(f"/events/{event}/schedule/run"), schedule_job())[0]),
        ("planning.lock", lambda: client.post(f"/events/{event}/schedule/meetings/{meeting_id()}/lock")),
        ("planning.move", lambda: (client.post(f"/events/{event}/schedule/meetings/{meeting_id()}/move",
                                               data={"slot": "2", "table": "3"}), schedule_job())[0]),
        ("outcomes.record_history", lambda: client.post(f"/events/{event}/history")),
        ("outcomes.add_outcome", lambda: client.post(f"/events/{event}/outcomes", data={
            "description": "联合开发", "domain": "新材料", "count": "1"})),
        ("outcomes.delete_outcome", lambda: client.post(
            f"/events/{event}/outcomes/{first_id(app, select(Outcome.id))}/delete")),
        ("meeting_requests.create", lambda: client.post(f"/events/{event}/requests", data={
            "need_id": top[-1].need_id, "capability_id": top[-1].capability_id, "requester": "测试",
            "contact": "x"})),
        ("meeting_requests.resolve", lambda: client.post(
            f"/events/{event}/requests/{first_id(app, select(MeetingRequest.id))}/decline")),
        ("wishes.phase", lambda: client.post(f"/events/{event}/phase", data={"phase": "open"})),
        ("wishes.mark", lambda: client.post(f"/events/{event}/wishes", data={
            "need_id": first.need_id, "capability_id": first.capability_id, "level": "must", "side": "need"})),
        ("wishes.phase", lambda: client.post(f"/events/{event}/phase", data={"phase": "onsite"})),
        ("event_day.check_in", lambda: client.post(f"/events/{event}/desk/check-in", data={"org": first.need_org})),
        ("event_day.no_show", lambda: client.post(f"/events/{event}/desk/meetings/{meeting_id()}/no-show")),
        ("event_day.replan", lambda: client.post(f"/events/{event}/desk/replan", data={"from_slot": "1"})),
        ("event_day.save_feedback", lambda: client.post(f"/events/{event}/feedback/{meeting_id()}", data={
            "side": "need", "happened": "yes", "interest": "continue"})),
        ("imports.upload", lambda: upload(client, event, "need", csv_bytes(NEED_HEADER, [need_row("NX1")]), "n.csv")),
        ("imports.discard", lambda: client.post(f"/events/{event}/imports/{batch('d.csv')}/discard")),
        ("imports.confirm", lambda: client.post(f"/events/{event}/imports/{batch('c.csv')}/confirm")),
        ("ranking.rank", lambda: (client.post(f"/events/{event}/rank"),
                                  wait_for_job(client, event, latest_job_id(app, event, "rank")))[0]),
        ("api.rank", lambda: (client.post(f"/api/events/{event}/rank"),
                              wait_for_job(client, event, latest_job_id(app, event, "rank")))[0]),
        # A profile or tier of an organisation taking part changes the event's dashboard (tier and type charts).
        ("organisations.create", lambda: client.post("/organisations", data={
            "name": first.need_org, "kind": "enterprise", "credit_code": "91350100M000100Y43"})),
        ("organisations.update", lambda: client.post(f"/organisations/{org_id()}", data={"town": "东岭镇"})),
        ("organisations.set_tier", lambda: client.post(f"/organisations/{org_id()}/tiers", data={"tier": "领军企业"})),
        ("organisations.remove_tier", lambda: client.post(
            f"/organisations/{org_id()}/tiers/{first_id(app, select(OrgTier.id))}/delete")),
        ("organisations.import_file", lambda: client.post("/organisations/import", data={"file": (io.BytesIO(
            csv_bytes(["单位名称", "统一社会信用代码", "所在镇街"], [[first.need_org, "91350100M000100Y43", "西岭镇"]])),
            "orgs.csv")}, content_type="multipart/form-data")),
        ("deals.open_deal", lambda: client.post(f"/events/{event}/deals", data={
            "pair": f"{first.need_id}|{first.capability_id}"})),
        ("deals.advance", lambda: client.post(
            f"/events/{event}/deals/{first_id(app, select(Outcome.id).where(Outcome.stage == '意向'))}/advance",
            data={"to": "洽谈"})),
        ("deals.note", lambda: client.post(
            f"/events/{event}/deals/{first_id(app, select(Outcome.id))}/notes", data={"note": "双方约定下周复谈"})),
        ("targeting.invite", lambda: client.post(f"/events/{event}/invitations", data={"org_id": [org_id()]})),
        ("targeting.attended", lambda: client.post(
            f"/events/{event}/invitations/{first_id(app, select(Invitation.id))}", data={"attended": "1"})),
        ("pairs.reset", lambda: client.post(f"/events/{event}/pairings/reset")),
    ]

    def org_id():
        return first_id(app, select(Organisation.id).where(Organisation.name == first.need_org))

    def meeting_id():
        return first_id(app, select(Meeting.id).where(Meeting.event_id == event).order_by(Meeting.id))

    for endpoint, action in steps:
        before = version(app, event)
        response = action()
        assert response.status_code in (200, 202, 302), (endpoint, response.status_code)
        assert version(app, event) > before, f"{endpoint} wrote without invalidating the event's pages"
    covered = {endpoint for endpoint, _action in steps}
    writes = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods} - NOT_EVENT_WRITES
    assert writes == covered, f"write endpoints without a case here: {sorted(writes - covered)}"


def test_a_bulk_write_must_name_its_event(app, sample_event):
    with app.app_context():
        with pytest.raises(RuntimeError, match="execution_options"):
            db.session.execute(delete(Suggestion).where(Suggestion.event_id == sample_event))
        db.session.rollback()
        before = version(app, sample_event)
        db.session.execute(delete(Suggestion).where(Suggestion.event_id == sample_event)
                           .execution_options(event_id=sample_event))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Suggestion)) == 0
    assert version(app, sample_event) == before + 1


def test_a_qualification_change_invalidates_the_events_of_that_organisation(app, client, sample_event):
    with app.app_context():
        org = db.session.scalar(select(Suggestion.need_org).where(Suggestion.event_id == sample_event))
    before = version(app, sample_event)
    client.post("/admin/organisations", data={"name": org, "clearance": "无", "certificate_no": "", "expires_on": ""})
    assert version(app, sample_event) > before


def test_a_tier_of_an_invited_enterprise_invalidates_the_events_it_is_invited_to(app, client, sample_event):
    # Not taking part with records, only invited: its tiers still count in the event's report (enterprises reached).
    assert client.post("/organisations", data={"name": "仅受邀企业", "kind": "enterprise",
                                               "credit_code": "91320500MA2B3C4D57"}).status_code == 302
    org_id = first_id(app, select(Organisation.id).where(Organisation.name == "仅受邀企业"))
    client.post(f"/events/{sample_event}/invitations", data={"org_id": [org_id]})
    before = version(app, sample_event)
    client.post(f"/organisations/{org_id}/tiers", data={"tier": "领军企业"})
    assert version(app, sample_event) > before


def test_cached_pages_carry_each_sessions_own_token_and_name(tmp_path, sample_template):
    """Two administrators, and one organiser in two sessions (two browsers, or logging out and in again):
    whoever fills the cache, every later session gets its own token and name, and its forms work."""
    import shutil

    shutil.copy(sample_template / "webapp.sqlite", tmp_path / "webapp.sqlite")
    shutil.copytree(sample_template / "instance", tmp_path / "instance")
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    ensure_user(app, "org-a", "organiser", "organiser-pass-a", event_ids=[1])
    ensure_user(app, "admin-b", "admin", "admin-pass-b")
    pairs = [(csrf_login(app, "test-admin")[0], "test-admin", csrf_login(app, "admin-b", "admin-pass-b")[0], "admin-b"),
             (csrf_login(app, "org-a", "organiser-pass-a", role="organiser")[0], "org-a",
              csrf_login(app, "org-a", "organiser-pass-a", role="organiser")[0], "org-a")]
    for first, first_name, second, second_name in pairs:
        for url in ("/events/1/pairings", "/events/1/schedule", "/events/1/needs", "/events/1"):
            page_a = first.get(url).get_data(as_text=True)  # fills the cache
            page_b = second.get(url).get_data(as_text=True)
            tokens_a = set(re.findall(r'name="csrf_token" value="([^"]+)"', page_a))
            tokens_b = set(re.findall(r'name="csrf_token" value="([^"]+)"', page_b))
            assert tokens_a and len(tokens_b) == 1 and not tokens_a & tokens_b, (url, second_name)
            assert second_name in page_b and (first_name == second_name or first_name not in page_b), url
        token_b = tokens_b.pop()
        response = second.post("/events/1/pairings/bulk", data={"csrf_token": token_b, "per_need": "1"})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        assert second.post("/logout", data={"csrf_token": token_b}).status_code == 302
    app.extensions["matcher_jobs"].shutdown()


def test_an_expired_form_keeps_the_header_and_shows_what_was_typed(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client, _token = csrf_login(app)
    response = client.post("/events/new", data={"csrf_token": "stale", "name": "春季对接会", "venue": "报告厅",
                                                 "password": "never-shown"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "表单已过期" in page
    assert "test-admin" in page and "退出" in page  # the header with the logged-in user
    assert "春季对接会" in page and "报告厅" in page and "never-shown" not in page
    app.extensions["matcher_jobs"].shutdown()
