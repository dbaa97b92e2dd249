"""Account administration and self-service (issue 13): organisers create events, administrators assign
organisers to events, deactivate accounts and reset passwords, users change their own; 403s say what is missing."""
import re

from sqlalchemy import select
from webapp_helpers import admin_client, create_event, ensure_user, login

from webapp.db import db
from webapp.models import OrganiserEvent, User

PASSWORD = "account-password-1"


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def organised(app, username):
    with app.app_context():
        return set(db.session.scalars(select(OrganiserEvent.event_id).where(
            OrganiserEvent.user_id == user_id(app, username))))


def test_an_organiser_creates_an_event_and_runs_it(app):
    ensure_user(app, "org-new", "organiser", PASSWORD)
    organiser = login(app.test_client(), "org-new", PASSWORD)
    assert "新建对接会" in organiser.get("/").get_data(as_text=True)
    event_id = create_event(organiser, "组织方自建对接会")
    assert organised(app, "org-new") == {event_id}
    assert organiser.get(f"/events/{event_id}/imports").status_code == 200  # runs it straight away
    response = organiser.post("/api/events", json={"name": "API 建会", "tracks": ["新材料"], "slots": 4,
                                                    "slot_minutes": 20, "tables": 4, "max_meetings": 3})
    assert response.status_code == 201 and response.get_json()["event"]["id"] in organised(app, "org-new")


def test_a_403_says_which_right_is_missing_and_who_grants_it(app):
    admin = admin_client(app)
    event_id = create_event(admin)
    ensure_user(app, "member", "institute", PASSWORD, org="江川理工大学")
    ensure_user(app, "analyst", "analyst", PASSWORD)
    member = login(app.test_client(), "member", PASSWORD)
    page = member.get("/events/new").get_data(as_text=True)
    assert "组织方" in page and "管理员" in page and "没有权限执行此操作" not in page
    assert "核验保密资质需要保密审查员权限" in member.post("/admin/organisations", data={}).get_data(as_text=True)
    analyst = login(app.test_client(), "analyst", PASSWORD)
    body = analyst.post(f"/api/events/{event_id}/rank").get_json()
    assert body["status"] == 403 and "组织方权限" in body["error"]
    assert "只读" in analyst.post(f"/events/{event_id}/requests", data={}).get_data(as_text=True)


def test_an_administrator_assigns_an_existing_organiser_to_a_new_event(app):
    admin = admin_client(app)
    first, second = create_event(admin, "一号"), create_event(admin, "二号")
    ensure_user(app, "org-x", "organiser", PASSWORD, event_ids=[first])
    organiser = login(app.test_client(), "org-x", PASSWORD)
    assert organiser.get(f"/events/{second}/imports").status_code == 404
    target = user_id(app, "org-x")
    response = admin.post(f"/admin/users/{target}/events", data={"events": [str(first), str(second)]})
    assert response.status_code == 302 and organised(app, "org-x") == {first, second}
    assert organiser.get(f"/events/{second}/imports").status_code == 200  # the same session, at its next request
    admin.post(f"/admin/users/{target}/events", data={"events": [str(second)]})
    assert organised(app, "org-x") == {second}
    assert organiser.get(f"/events/{first}/imports").status_code == 404


def test_deactivating_ends_sessions_and_blocks_login(app):
    admin = admin_client(app)
    ensure_user(app, "leaver", "enterprise", PASSWORD, org="甲企业")
    session = login(app.test_client(), "leaver", PASSWORD)
    target = user_id(app, "leaver")
    assert admin.post(f"/admin/users/{target}/active", data={"active": "0"}).status_code == 302
    assert session.get("/").status_code == 302  # back to the login page
    assert app.test_client().post("/login", data={"username": "leaver", "password": PASSWORD}).status_code == 401
    admin.post(f"/admin/users/{target}/active", data={"active": "1"})
    login(app.test_client(), "leaver", PASSWORD)
    own = user_id(app, "test-admin")
    page = admin.post(f"/admin/users/{own}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in page.get_data(as_text=True)


def test_password_reset_and_own_change(app):
    admin = admin_client(app)
    ensure_user(app, "forgetful", "institute", PASSWORD, org="子研究所")
    old_session = login(app.test_client(), "forgetful", PASSWORD)
    target = user_id(app, "forgetful")
    short = admin.post(f"/admin/users/{target}/password", data={"password": "short"}, follow_redirects=True)
    assert "密码至少需要 10 个字符" in short.get_data(as_text=True)
    admin.post(f"/admin/users/{target}/password", data={"password": "a-new-password-2"})
    assert old_session.get("/").status_code == 302
    mine = login(app.test_client(), "forgetful", "a-new-password-2")
    other_device = login(app.test_client(), "forgetful", "a-new-password-2")
    wrong = mine.post("/account/password", data={"current_password": "nope", "new_password": "third-password-3",
                                                 "confirm_password": "third-password-3"})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    changed = mine.post("/account/password", data={"current_password": "a-new-password-2",
                                                   "new_password": "third-password-3",
                                                   "confirm_password": "third-password-3"})
    assert changed.status_code == 302
    assert mine.get("/account").status_code == 200  # this session goes on
    assert other_device.get("/").status_code == 302  # the other one ended
    login(app.test_client(), "forgetful", "third-password-3")


def test_the_new_account_form_has_no_preselected_role_and_keeps_input_on_error(app):
    admin = admin_client(app)
    page = admin.get("/admin/users").get_data(as_text=True)
    select_html = re.search(r'<select id="new-role".*?</select>', page, re.DOTALL).group(0)
    assert re.search(r'<option value="" disabled selected>', select_html)
    response = admin.post("/admin/users", data={"username": "dup-check", "password": "x", "role": "analyst"})
    assert response.status_code == 422 and 'value="dup-check"' in response.get_data(as_text=True)
