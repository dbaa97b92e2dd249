"""Web app: factory and configuration, events, dashboard, language, CSRF, CLI, migrations, escaping."""
import re

from sqlalchemy import inspect
from webapp_helpers import admin_client, create_event, csrf_login, make_app

from webapp import create_app
from webapp.models import Event, OrgHistory, Outcome

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_factory_uses_test_config_and_instance_folder(app, tmp_path):
    assert app.testing
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("webapp.sqlite")
    assert (tmp_path / "webapp.sqlite").is_file()


def test_factory_reads_instance_config_silently(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(instance))
    app = create_app()  # no config.py yet: silent
    assert app.config["MATCHER_MODEL"] is None
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'matcher.sqlite'}"
    assert (instance / "secret_key").is_file() and len(app.config["SECRET_KEY"]) == 64
    (instance / "config.py").write_text("MATCHER_MODEL = 'usem3'\nSUGGESTIONS_TOP_K = 3\n")
    app = create_app()
    assert app.config["MATCHER_MODEL"] == "usem3" and app.config["SUGGESTIONS_TOP_K"] == 3
    app.extensions["matcher_jobs"].shutdown()


def test_database_url_selects_postgres(tmp_path, monkeypatch):
    from webapp.db import database_uri

    class Fake:
        instance_path = str(tmp_path)

    assert database_uri(Fake, {"DATABASE_URL": "postgres://u:p@db/matcher"}) == "postgresql://u:p@db/matcher"
    assert database_uri(Fake, {}) == f"sqlite:///{tmp_path / 'matcher.sqlite'}"


def test_db_upgrade_command_creates_schema(tmp_path):
    app = make_app(tmp_path, AUTO_MIGRATE=False)
    from webapp.db import db

    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"events", "needs", "capabilities", "imports", "jobs", "suggestions", "score_tables", "decisions",
            "schedule_runs", "meetings", "unscheduled", "meeting_requests", "outcomes", "org_history",
            "alembic_version"} <= tables
    app.extensions["matcher_jobs"].shutdown()


def test_migrations_match_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from webapp.db import db

    with app.app_context(), db.engine.connect() as connection:
        # The same name filter `flask db migrate` uses: the FTS5 search index is not a model.
        options = {"include_name": app.extensions["migrate"].configure_args["include_name"]}
        diff = compare_metadata(MigrationContext.configure(connection, opts=options), db.metadata)
    assert diff == []


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"ok": True, "status": "healthy"}


def test_index_empty_and_listing(client):
    page = client.get("/").get_data(as_text=True)
    assert "还没有对接会" in page
    create_event(client, "春季对接会")
    page = client.get("/").get_data(as_text=True)
    assert "春季对接会" in page and "2025年5月20日" in page


def test_create_event_stores_and_redirects_to_import(client, app):
    event_id = create_event(client, "秋季对接会", tracks=["新材料"])
    with app.app_context():
        from webapp.db import db

        event = db.session.get(Event, event_id)
        assert (event.name, event.tracks, event.slots, event.tables, event.slot_minutes) == ("秋季对接会", ["新材料"], 4, 6, 20)
    page = client.get(f"/events/{event_id}/imports").get_data(as_text=True)
    assert "导入需求与成果" in page


def test_create_event_rerenders_with_errors_and_input(client, app):
    response = client.post("/events/new", data={"name": "", "tracks": [], "slots": "0", "slot_minutes": "20",
                                                "tables": "abc", "max_meetings": "6", "date": "20-05-2025",
                                                "venue": "保留的地点"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in ("请填写对接会名称", "请至少选择一个领域分会场", "须为 1–48 的整数", "须为 1–500 的整数", "日期格式应为 YYYY-MM-DD"):
        assert message in page
    assert 'value="保留的地点"' in page
    with app.app_context():
        from webapp.db import db

        assert db.session.query(Event).count() == 0


def test_edit_and_delete_event(client, app):
    event_id = create_event(client)
    response = client.post(f"/events/{event_id}/settings", data={
        "name": "改名后的对接会", "tracks": ["电子信息"], "slots": "10", "slot_minutes": "15", "start_time": "13:30",
        "tables": "12", "max_meetings": "5"})
    assert response.status_code == 302
    assert "改名后的对接会" in client.get(f"/events/{event_id}").get_data(as_text=True)
    refused = client.post(f"/events/{event_id}/delete", data={"confirm_name": "wrong"}, follow_redirects=True)
    assert "删除未执行" in refused.get_data(as_text=True)
    assert client.post(f"/events/{event_id}/delete", data={"confirm_name": "改名后的对接会"}).status_code == 302
    assert client.get(f"/events/{event_id}").status_code == 404


def test_unknown_event_pages_are_404_html(client):
    response = client.get("/events/999/needs")
    assert response.status_code == 404 and "页面或数据不存在" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_dashboard_counts_per_domain_and_outcomes(client, app, sample_event):
    page = client.get(f"/events/{sample_event}").get_data(as_text=True)
    assert "分领域统计" in page and ">82<" in page and ">88<" in page
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    with app.app_context():
        from sqlalchemy import select

        from webapp.db import db
        from webapp.models import Decision

        pair = db.session.scalars(select(Decision)).first()
    for domain, count in (("新材料", 2), ("先进制造与自动化", 4), ("电子信息", 1), ("生物医药", 1)):
        response = client.post(f"/events/{sample_event}/outcomes", data={"description": "联合攻关", "domain": domain,
                                                                          "count": str(count)})
        assert response.status_code == 302
    client.post(f"/events/{sample_event}/outcomes", data={"pair": f"{pair.need_id}|{pair.capability_id}",
                                                           "domain": "电子信息", "count": "1"})
    page = client.get(f"/events/{sample_event}").get_data(as_text=True)
    assert "9 项：2 电子信息，2 新材料，4 先进制造与自动化，1 生物医药" in page
    bad = client.post(f"/events/{sample_event}/outcomes", data={"domain": "火星", "count": "0"}, follow_redirects=True)
    text = bad.get_data(as_text=True)
    assert "请选择领域" in text and "项目数须为 1–10000 的整数" in text and "请选择配对或填写签约内容" in text
    from webapp_helpers import db_count

    assert db_count(app, Outcome, event_id=sample_event) == 5
    assert db_count(app, OrgHistory, kind="signed") == 1


def test_history_page_lists_outcomes_across_events(client, sample_event):
    client.post(f"/events/{sample_event}/outcomes", data={"description": "签约", "domain": "新材料", "count": "3"})
    page = client.get("/history").get_data(as_text=True)
    assert "示例对接会" in page and "历届签约成果" in page


def test_language_switch_to_english_and_back(client):
    create_event(client, "Language test")
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "New event" in page and "新建对接会" not in page
    assert "May 20, 2025" in page
    client.get("/lang/zh_Hans")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page and "新建对接会" in page and "2025年5月20日" in page


def test_language_switch_ignores_unknown_codes_and_foreign_next(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.get("/lang/fr", query_string={"next": target})
        assert response.headers["Location"] == "/"
    assert '<html lang="zh-Hans">' in client.get("/").get_data(as_text=True)


def test_english_catalogue_translates_every_message():
    """Every string wrapped for translation in templates and Python has an English translation."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    import webapp

    folder = webapp.__path__[0]
    with open(f"{folder}/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "pgettext": ((1, "c"), 2)}
    found = {(m[2] if isinstance(m[2], str) else m[2][0], m[4])
             for m in extract_from_dir(folder, method_map, keywords=keywords)}
    assert any(context for _message, context in found)  # pgettext messages are checked too, with their context
    missing = sorted(m for m in found if not (catalogue.get(*m) and catalogue.get(*m).string))
    assert missing == []


def test_templates_have_no_untranslated_chinese():
    """Chinese text in templates sits inside _() (domain names and data come from the database)."""
    import webapp

    folder = webapp.__path__[0]
    from pathlib import Path

    offenders = []
    for path in Path(folder, "templates").rglob("*.html"):
        text = re.sub(r"_\((['\"]).*?\1", "", path.read_text())  # drop _('…') literals
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
        for number, line in enumerate(text.splitlines(), 1):
            if CJK.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_csrf_is_enforced_on_forms(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client, _token = csrf_login(app)
    response = client.post("/events/new", data={"name": "x"})
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    page = client.get("/events/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/events/new", data={"csrf_token": token, "name": "带令牌", "tracks": ["新材料"],
                                                "slots": "4", "slot_minutes": "20", "tables": "4", "max_meetings": "3"})
    assert response.status_code == 302
    app.extensions["matcher_jobs"].shutdown()


def test_cli_load_sample_creates_and_ranks_event(app, runner):
    result = runner.invoke(args=["load-sample", "--name", "CLI 示例"])
    assert result.exit_code == 0, result.output
    assert "ranked event" in result.output
    assert "demo admin account: username admin" in result.output
    client = admin_client(app)
    events = client.get("/api/events").get_json()["events"]
    assert events[0]["name"] == "CLI 示例" and events[0]["needs"] == 82 and events[0]["capabilities"] == 88
    assert events[0]["ranked"] and not events[0]["ranking_stale"]
    again = runner.invoke(args=["load-sample", "--name", "CLI 示例", "--no-rank"])
    assert again.exit_code == 0
    assert client.get("/api/events").get_json()["events"][0]["needs"] == 82  # refreshed, not duplicated


def test_cli_rank_event_unknown(runner):
    result = runner.invoke(args=["rank-event", "42"])
    assert result.exit_code != 0 and "no event 42" in result.output


def test_highlight_escapes_html_and_marks_terms():
    from webapp.ui import highlight

    out = str(highlight("<script>碳化硅</script> SiC 外延", ["碳化硅", "sic", "<script>"]))
    assert out == "<mark>&lt;script&gt;</mark><mark>碳化硅</mark>&lt;/script&gt; <mark>SiC</mark> 外延"


def test_static_assets_are_local(client):
    page = client.get("/").get_data(as_text=True)
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    for asset in ("app.css", "app.js", "favicon.svg"):
        with client.get(f"/static/{asset}") as response:
            assert response.status_code == 200
