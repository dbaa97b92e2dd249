"""Accounts, sessions, CSRF, rate limiting, the audit log and hostile input (issue 6)."""
import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text
from webapp_helpers import (
    ADMIN_PASSWORD,
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    capability_row,
    create_event,
    csrf_login,
    csv_bytes,
    ensure_user,
    import_file,
    latest_job_id,
    login,
    make_app,
    need_row,
    rank,
    upload,
    wait_for_job,
)

from webapp.db import db
from webapp.models import AuditEntry, LoginAttempt, Need

FORMULA = ("=", "+", "-", "@")


def audit_actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- accounts and sessions -------------------------------------------------------------------------------


def test_pages_and_api_require_login(app):
    client = app.test_client()
    response = client.get("/events/1/needs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    body = client.get("/api/events").get_json()
    assert body == {"ok": False, "error": "请先登录。", "errors": [], "status": 401}
    assert client.post("/api/events", json={}).status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/api/openapi.json").status_code == 200


def test_session_cookie_is_secure_httponly_lax_by_default(tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.delenv("WEBAPP_SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "INSTANCE_PATH": str(tmp_path / "i"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.sqlite'}", "WTF_CSRF_ENABLED": False})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    ensure_user(app, "test-admin")
    response = app.test_client().post("/login", data={"username": "test-admin", "password": ADMIN_PASSWORD},
                                      base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.extensions["matcher_jobs"].shutdown()
    app.extensions["matcher_jobs"].shutdown()


def test_passwords_are_hashed_with_scrypt(app):
    from webapp.models import User

    ensure_user(app, "hashed", "analyst", "correct horse battery")
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.username == "hashed"))
    assert stored.startswith("scrypt:") and "correct horse" not in stored


def test_login_rate_limit_per_account_and_address(app):
    ensure_user(app, "victim", "analyst", "right-password-1")
    client = app.test_client()
    for _ in range(5):
        response = client.post("/login", data={"username": "victim", "password": "wrong"})
        assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    blocked = client.post("/login", data={"username": "victim", "password": "right-password-1"})
    assert blocked.status_code == 429 and "登录失败次数过多，请 15 分钟后再试" in blocked.get_data(as_text=True)
    # Another address is not blocked; the attempts live in the database.
    other = client.post("/login", data={"username": "victim", "password": "right-password-1"},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 6
    actions = audit_actions(app)
    assert actions.count("login_failed") == 5 and "login_blocked" in actions and "login" in actions


def test_logout_needs_post_and_csrf(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client, token = csrf_login(app)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token: a cross-site form cannot log you out
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    app.extensions["matcher_jobs"].shutdown()


def test_a_session_cookie_copied_before_logout_is_dead_after_it(app):
    ensure_user(app, "test-admin")
    owner = login(app.test_client(), "test-admin")
    name = app.config["SESSION_COOKIE_NAME"]
    stolen = owner.get_cookie(name).value
    thief = app.test_client()
    thief.set_cookie(name, stolen)
    assert thief.get("/").status_code == 200 and thief.get("/api/events").status_code == 200
    assert owner.post("/logout").status_code == 302
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    thief.set_cookie(name, stolen)  # the refused request cleared it; replay the copy again
    assert thief.get("/api/events").get_json() == {"ok": False, "error": "请先登录。", "errors": [], "status": 401}
    assert thief.post("/api/events", json={}).status_code == 401
    assert login(app.test_client(), "test-admin").get("/").status_code == 200  # logging in again works


@pytest.mark.parametrize("change", ["bump", "deactivate"])
def test_revoking_in_the_database_ends_an_active_session(app, change):
    from webapp.models import User
    from webapp.services.accounts import revoke_sessions

    user_id = ensure_user(app, "test-admin")
    client = login(app.test_client(), "test-admin")
    name = app.config["SESSION_COOKIE_NAME"]
    copy = app.test_client()
    copy.set_cookie(name, client.get_cookie(name).value)
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.get(User, user_id)
        if change == "bump":
            revoke_sessions(user)
        else:
            user.active = False
        db.session.commit()
    assert client.get("/").status_code == 302
    assert copy.get("/api/events").get_json()["status"] == 401
    with app.app_context():  # the cleared session stays logged out even once the account is active again
        db.session.get(User, user_id).active = True
        db.session.commit()
    assert client.get("/").status_code == 302
    assert login(client, "test-admin").get("/").status_code == 200


def test_password_reset_by_load_sample_ends_sessions(app, runner):
    ensure_user(app, "organiser", "organiser")
    client = login(app.test_client(), "organiser")
    assert client.get("/").status_code == 200
    result = runner.invoke(args=["load-sample", "--no-rank"])
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302


def test_cli_create_user_reads_password_from_stdin(app, runner):
    event_id = create_event(admin_client(app))
    result = runner.invoke(args=["create-user", "li", "--role", "organiser", "--event", str(event_id),
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output
    client = login(app.test_client(), "li", "a-long-password")
    assert client.get(f"/events/{event_id}/imports").status_code == 200
    bad = runner.invoke(args=["create-user", "x", "--role", "enterprise", "--password-stdin"], input="a-long-password\n")
    assert bad.exit_code != 0 and "needs --org" in bad.output
    short = runner.invoke(args=["create-user", "y", "--role", "analyst", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output


def test_roles_are_enforced(app):
    admin = admin_client(app)
    event_id = create_event(admin)
    ensure_user(app, "analyst1", "analyst", "analyst-password")
    analyst = login(app.test_client(), "analyst1", "analyst-password")
    assert analyst.get(f"/events/{event_id}").status_code == 200
    assert analyst.get(f"/events/{event_id}/imports").status_code == 403
    assert analyst.post(f"/api/events/{event_id}/rank").status_code == 403
    assert analyst.post(f"/events/{event_id}/requests", data={}).status_code == 403
    assert analyst.get("/admin/users").status_code == 403 and analyst.get("/admin/audit.csv").status_code == 403


def test_organiser_cannot_reach_another_events_items(app):
    """IDOR: an organiser of event A gets 404 for event B's pages, API and actions."""
    admin = admin_client(app)
    event_a, event_b = create_event(admin, "甲会"), create_event(admin, "乙会")
    import_file(admin, event_b, "need", csv_bytes(NEED_HEADER, [need_row("NB1")]), "n.csv")
    ensure_user(app, "org-a", "organiser", "organiser-pass", event_ids=[event_a])
    organiser = login(app.test_client(), "org-a", "organiser-pass")
    assert organiser.get(f"/events/{event_a}/imports").status_code == 200
    for url in (f"/events/{event_b}", f"/events/{event_b}/needs/NB1", f"/events/{event_b}/exports/needs.csv",
                f"/api/events/{event_b}/needs", f"/events/{event_b}/imports/1"):
        assert organiser.get(url).status_code == 404, url
    assert organiser.post(f"/api/events/{event_b}/decisions",
                          json={"need_id": "NB1", "capability_id": "C1", "action": "accept"}).status_code == 404
    assert organiser.get(f"/events/{event_a}/needs/NB1").status_code == 404  # B's id through A's URL
    assert "乙会" not in organiser.get("/").get_data(as_text=True)
    assert all(e["id"] != event_b for e in organiser.get("/api/events").get_json()["events"])


def test_unverified_or_expired_qualification_counts_as_none(app):
    import datetime as dt

    admin = admin_client(app)
    event_id = create_event(admin)
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1", org="保密企业", clearance="二级")]),
                "n.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [
        capability_row("C1", classification="公开"), capability_row("C2", classification="秘密")]), "c.csv")
    ensure_user(app, "ent", "enterprise", "enterprise-pass", org="保密企业")
    member = login(app.test_client(), "ent", "enterprise-pass")

    def seen():
        return {c["id"] for c in member.get(f"/api/events/{event_id}/capabilities").get_json()["capabilities"]}

    assert seen() == {"C1"}  # declared 二级 but unverified
    expiry = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    form = {"name": "保密企业", "clearance": "二级", "certificate_no": "BM-001", "expires_on": expiry}
    assert admin.post("/admin/organisations", data=form).status_code == 302
    assert seen() == {"C1", "C2"}
    assert member.get(f"/events/{event_id}/capabilities/C2").status_code == 200
    assert "view_restricted" in audit_actions(app)
    expired = dict(form, expires_on=(dt.date.today() - dt.timedelta(days=1)).isoformat())
    assert admin.post("/admin/organisations", data=expired).status_code == 302
    assert seen() == {"C1", "C2"}  # a date in the past is refused, the verified qualification stands
    from webapp.models import Organisation

    with app.app_context():  # time passes: the certificate expires
        db.session.scalar(select(Organisation).where(Organisation.name == "保密企业")).expires_on = \
            dt.date.today() - dt.timedelta(days=1)
        db.session.commit()
    assert seen() == {"C1"}
    assert member.get(f"/events/{event_id}/capabilities/C2").status_code == 404
    assert admin.post("/admin/organisations", data=dict(form, certificate_no="")).status_code == 302
    assert seen() == {"C1"}  # no certificate: refused, still expired


# --- audit log -------------------------------------------------------------------------------------------


def test_audit_log_is_append_only(app):
    from webapp.audit import AppendOnlyError, record

    admin_client(app)
    with app.app_context():
        entry = record("test", "x", user=None)
        entry.detail = "changed"
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEntry, entry.id))
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()
        from sqlalchemy import delete, update

        with pytest.raises(AppendOnlyError):
            db.session.execute(update(AuditEntry).values(detail="x"))
        with pytest.raises(AppendOnlyError):
            db.session.execute(delete(AuditEntry))
        db.session.rollback()
        from sqlalchemy.exc import DatabaseError

        for statement in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DatabaseError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.get(AuditEntry, entry.id).detail == ""


def test_audit_log_page_and_csv_for_administrators_only(app):
    admin = admin_client(app)
    event_id = create_event(admin)
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "n.csv")
    admin.get(f"/events/{event_id}/exports/needs.csv")
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "import_confirm" in page and "export" in page and "127.0.0.1" in page
    ensure_user(app, "evil", "analyst", "=cmd|' /C calc'!A0")  # a formula in a logged field
    app.test_client().post("/login", data={"username": "=HYPERLINK(\"x\")", "password": "nope"})
    rows = list(csv.reader(io.StringIO(admin.get("/admin/audit.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "created_at", "username", "action", "target", "detail", "remote_addr"]
    assert all(not cell.startswith(FORMULA) for row in rows for cell in row)
    assert any(cell == "'=HYPERLINK(\"x\")" for row in rows for cell in row)
    ensure_user(app, "org", "organiser", "organiser-pass", event_ids=[event_id])
    organiser = login(app.test_client(), "org", "organiser-pass")
    assert organiser.get("/admin/audit").status_code == 403 and organiser.get("/admin/audit.csv").status_code == 403


# --- hostile input ---------------------------------------------------------------------------------------


def _cells(data, name):
    if data[:2] == b"PK" and name.endswith(".zip") or zipfile.is_zipfile(io.BytesIO(data)) and not name.endswith(
            ".xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [c for inner in archive.namelist() for c in _cells(archive.read(inner), inner)]
    if name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        return [c.value for sheet in book for row in sheet.iter_rows() for c in row]
    return [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]


def test_every_export_neutralises_formulas(app):
    from webapp.services.exports import EXPORTS

    admin = admin_client(app)
    event_id = create_event(admin, "=公式会")
    needs = [need_row(f"N{i}", title=f"=HYPERLINK(\"http://x\",\"{i}\")", org=f"+企业{i}",
                      description="-1+2 碳化硅外延缺陷控制，希望降低外延层缺陷密度") for i in range(3)]
    capabilities = [capability_row(f"C{i}", title=f"@SUM(A{i})", org=f"=院所{i}",
                                   description="=1+1 碳化硅外延生长与缺陷表征，可降低缺陷密度") for i in range(3)]
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, needs), "n.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, capabilities), "c.csv")
    rank(admin, event_id)
    admin.post(f"/events/{event_id}/pairings/bulk", data={"per_need": "1"})
    admin.post(f"/events/{event_id}/schedule/run")
    assert wait_for_job(admin, event_id, latest_job_id(app, event_id, "schedule"))["status"] == "done"
    checked = 0
    for what in EXPORTS:
        for fmt in ("csv", "xlsx"):
            response = admin.get(f"/events/{event_id}/exports/{what}.{fmt}")
            assert response.status_code == 200, (what, fmt)
            name = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)
            for cell in _cells(response.get_data(), name):
                checked += 1
                assert not (isinstance(cell, str) and cell.startswith(FORMULA)), (what, fmt, cell)
    assert checked > 100


def test_html_in_any_field_is_inert(app):
    admin = admin_client(app)
    event_id = create_event(admin, "<script>alert('event')</script>")
    script = "<script>alert('x')</script>"
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [
        need_row("N1", title=f"碳化硅{script}", org="<b onmouseover=alert(1)>企业</b>",
                 description=f"碳化硅 <img src=x onerror=alert(1)> {script} 外延")]), "n.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [
        capability_row("C1", title=f"碳化硅外延{script}")]), "c.csv")
    rank(admin, event_id)
    pages = [f"/events/{event_id}", f"/events/{event_id}/needs", f"/events/{event_id}/needs/N1",
             f"/events/{event_id}/capabilities/C1", f"/events/{event_id}/orgs", "/",
             f"/events/{event_id}/search?q=碳化硅+{script}&target=need",
             f"/events/{event_id}/search?q=<mark>碳化硅</mark>&target=capability"]
    for url in pages:
        body = admin.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body and "<b onmouseover" not in body, url
        assert "&lt;script&gt;" in body, url
    templates = Path(__file__).resolve().parents[1] / "webapp" / "templates"
    assert not [p for p in templates.rglob("*.html") if "|safe" in p.read_text().replace(" ", "")]


def test_oversized_upload_gets_413_in_the_one_error_shape(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=4096)
    client = admin_client(app)
    event_id = create_event(client)
    response = upload(client, event_id, "need", b"x" * 10_000, "needs.csv")
    assert response.status_code == 413 and "上传的文件太大（上限 0.00391 MiB）" in response.get_data(as_text=True)
    body = client.post("/api/events", data=b"{" + b" " * 10_000 + b"}", content_type="application/json")
    assert body.status_code == 413
    assert body.get_json() == {"ok": False, "error": "上传的文件太大（上限 0.00391 MiB）。", "errors": [], "status": 413}
    app.extensions["matcher_jobs"].shutdown()


def test_zip_bomb_workbook_is_refused_with_a_message(client, tmp_path):
    event_id = create_event(client)
    book = openpyxl.Workbook()
    book.active.append(NEED_HEADER)
    book.active.append(need_row("N1"))
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/media/padding.bin", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1 << 20)
            for _ in range(201):
                handle.write(chunk)
    content = buffer.getvalue()
    assert len(content) < 2 * 2**20
    response = upload(client, event_id, "need", content, "needs.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "MiB" in page and "200" in page
    assert db_count_needs(client) == 0


def db_count_needs(client):
    with client.application.app_context():
        return db.session.scalar(select(func.count()).select_from(Need))


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x00garbage\x81\x82", "编号,需求名称\n1,测试".encode("utf-16"),
                                     bytes(range(256)) * 4])
def test_wrong_encodings_are_rejected_cleanly(client, content):
    event_id = create_event(client)
    response = upload(client, event_id, "need", content, "needs.csv")
    assert response.status_code == 422, response.status_code
    assert db_count_needs(client) == 0


@pytest.mark.parametrize("name", ["../../../../evil.csv", "..\\..\\evil.csv", "/etc/passwd.csv", "a/../../b.csv"])
def test_path_traversal_file_names_stay_in_the_upload_folder(client, app, tmp_path, name):
    event_id = create_event(client)
    response = upload(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), name)
    assert response.status_code == 302
    from webapp.models import ImportBatch

    with app.app_context():
        batch = db.session.scalar(select(ImportBatch))
        stored = (Path(app.instance_path) / batch.stored_path).resolve()
    assert stored.is_relative_to(Path(app.instance_path).resolve()) and stored.is_file()
    assert not (tmp_path / "evil.csv").exists() and not Path("/etc/passwd.csv").exists()
    assert "/" not in batch.original_name


INJECTIONS = ["' OR '1'='1", "'; DROP TABLE needs; --", "\" OR 1=1 --", "1 UNION SELECT contact FROM needs",
              "%' AND 1=1 --", "\\x00"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_strings_are_plain_text(client, value):
    event_id = create_event(client)
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "n.csv")
    import_file(client, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [capability_row("C1")]), "c.csv")
    rank(client, event_id)
    urls = [f"/events/{event_id}/search?q=碳化硅{value}", f"/events/{event_id}/needs?domain={value}",
            f"/events/{event_id}/needs/N1?domain={value}&min_score={value}", f"/events/{event_id}/orgs/{value}",
            f"/events/{event_id}/agendas?org={value}", f"/api/events/{event_id}/search?q={value}xx&target=need",
            f"/api/events/{event_id}/suggestions?need_id={value}", f"/events/{event_id}/needs/{value}"]
    for url in urls:
        assert client.get(url).status_code in (200, 404, 422), url
    body = client.post(f"/api/events/{event_id}/decisions", json={"need_id": value, "capability_id": "C1",
                                                                  "action": "accept"}).get_json()
    assert body["status"] == 422
    assert db_count_needs(client) == 1


@pytest.mark.parametrize("raw", [b"{", b"null", b"[1,2]", b"\xff\xfe", b'{"need_id": 1, "capability_id": [], "action": {}}',
                                 b"1e999999"])
def test_malformed_json_gets_the_error_shape(client, raw):
    event_id = create_event(client)
    response = client.post(f"/api/events/{event_id}/decisions", data=raw, content_type="application/json")
    body = response.get_json()
    assert response.status_code in (400, 422) and body["ok"] is False and body["status"] == response.status_code


def test_import_requires_the_no_classified_declaration(client):
    event_id = create_event(client)
    response = upload(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "n.csv", declared=False)
    assert response.status_code == 422 and "本批数据不含涉密信息" in response.get_data(as_text=True)
    assert db_count_needs(client) == 0
    assert "本批数据不含涉密信息" in client.get(f"/events/{event_id}/imports").get_data(as_text=True)
