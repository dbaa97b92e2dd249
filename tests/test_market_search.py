"""Catalogue word search (webapp.services.market_search): FTS5 over jieba words, ranked, in step with every write."""
import datetime as dt
import re

from test_library import TEXT, create, item, market, publish, text  # noqa: F401 (fixture)


def listed_titles(client, url):
    return re.findall(r'<h4><a href="/market/\d+">([^<]+)</a>', text(client, url))


def index_rows(app):
    from webapp.db import db

    with app.app_context():
        return dict(db.session.connection().exec_driver_sql("SELECT rowid, title FROM library_search").all())


def test_a_word_finds_items_containing_it_ranked_by_relevance(market):  # noqa: F811 (fixture)
    _app, clients = market
    in_title = publish(clients, "inst", title="激光熔覆修复服务", description="面向轴类零件的表面修复")
    in_text = publish(clients, "inst2", title="表面工程综合服务",
                      description="提供等离子喷涂、电镀和激光熔覆等多种表面修复工艺")
    publish(clients, "inst", title="高通量基因测序服务", description="提供全基因组测序、转录组测序与生物信息分析")
    anonymous = clients["anonymous"]
    # The word is found inside longer words too (熔覆 in 激光熔覆), and the title match ranks first.
    assert listed_titles(anonymous, "/market?q=熔覆") == ["激光熔覆修复服务", "表面工程综合服务"]
    assert listed_titles(anonymous, "/market?q=测序") == ["高通量基因测序服务"]
    # Every word must occur; a word no item has finds nothing (and no near-miss by single characters).
    assert listed_titles(anonymous, "/market?q=激光 轴类") == ["激光熔覆修复服务"]
    assert listed_titles(anonymous, "/market?q=激光 基因") == []
    assert listed_titles(anonymous, "/market?q=超导磁体") == []
    # Sorting by date still works with a query; relevance is the default only when there are words.
    newest = listed_titles(anonymous, "/market?q=熔覆&sort=new")
    assert newest == ["表面工程综合服务", "激光熔覆修复服务"]
    body = anonymous.get("/api/market?q=熔覆").get_json()
    assert [i["id"] for i in body["items"]] == [in_title, in_text] and body["total"] == 2
    # A single character is not a word of either text: the catalogue falls back to the characters as typed.
    assert "高通量基因测序服务" in listed_titles(anonymous, "/market?q=序")


def test_the_index_follows_publish_withdraw_expiry_and_edit(market):  # noqa: F811 (fixture)
    app, clients = market
    anonymous = clients["anonymous"]
    public = publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    internal = publish(clients, "inst2", tier="内部", title="碳化硅外延（内部）")
    withdrawn = publish(clients, "inst", title="碳化硅外延片清洗", description="外延片的清洗工艺")
    expiring = publish(clients, "inst2", title="碳化硅外延测试",
                       expires_on=(dt.date.today() + dt.timedelta(days=5)).isoformat())
    draft = create(clients["inst"], title="碳化硅外延草稿")
    assert set(index_rows(app)) == {public, internal, withdrawn, expiring}
    clients["inst"].post(f"/library/{withdrawn}/withdraw")
    assert withdrawn not in index_rows(app)
    assert "碳化硅外延片清洗" not in listed_titles(anonymous, "/market?q=外延")
    from webapp.db import db
    from webapp.models import LibraryItem
    from webapp.services import library

    # Past its expiry date an item leaves the catalogue at once, before the daily command marks it.
    with app.app_context():
        db.session.get(LibraryItem, expiring).expires_on = dt.date.today() - dt.timedelta(days=1)
        db.session.commit()
    assert expiring in index_rows(app)
    assert listed_titles(anonymous, "/market?q=外延") == ["碳化硅外延缺陷表征服务"]
    with app.app_context():
        assert library.expire_due() == (1, 0)
    assert expiring not in index_rows(app)
    # Nothing but listed 公开 items reaches a visitor, with words or without, and not through the API either.
    for url in ("/market?q=外延", "/market?q=碳化硅 外延", "/market?q=草稿", "/market?q=内部", "/market?q=清洗"):
        titles = listed_titles(anonymous, url)
        assert set(titles) <= {"碳化硅外延缺陷表征服务"}, (url, titles)
    api = anonymous.get("/api/market?q=外延").get_json()
    assert [i["id"] for i in api["items"]] == [public]
    assert draft not in index_rows(app)
    # The qualified enterprise finds the 内部 item; an edit takes an item out until it is published again.
    assert "碳化硅外延（内部）" in listed_titles(clients["ent-cleared"], "/market?q=外延")
    clients["inst"].post(f"/library/{public}/edit", data={"title": "氮化镓外延缺陷表征服务", "description": TEXT})
    assert public not in index_rows(app) and listed_titles(anonymous, "/market?q=外延") == []
    clients["inst"].post(f"/library/{public}/submit", data={"declared": "1", "accept_duplicates": "1"})
    clients["bureau"].post(f"/library/{public}/publish", data={"classification": "公开"})
    from matcher.terms import index_words

    assert index_rows(app)[public] == " ".join(index_words("氮化镓外延缺陷表征服务"))
    assert listed_titles(anonymous, "/market?q=氮化镓") == ["氮化镓外延缺陷表征服务"]


def test_rebuild_command_restores_the_index(market):  # noqa: F811 (fixture)
    app, clients = market
    listed = publish(clients, "inst", title="激光熔覆修复服务")
    withdrawn = publish(clients, "inst2", title="激光熔覆再制造")
    clients["inst2"].post(f"/library/{withdrawn}/withdraw")
    from webapp.db import db

    with app.app_context():
        db.session.connection().exec_driver_sql("DELETE FROM library_search")
        db.session.commit()
    assert listed_titles(clients["anonymous"], "/market?q=激光 熔覆") == ["激光熔覆修复服务"]  # the LIKE fallback
    result = app.test_cli_runner().invoke(args=["rebuild-market-search"])
    assert result.exit_code == 0 and "1 listed items indexed" in result.output
    assert set(index_rows(app)) == {listed}


def test_without_the_index_words_are_matched_as_typed(market, monkeypatch):  # noqa: F811 (fixture)
    """On PostgreSQL (no FTS5) the catalogue matches each term with LIKE, under the same rules."""
    _app, clients = market
    publish(clients, "inst", title="激光熔覆修复服务")
    publish(clients, "inst2", tier="秘密", title="激光熔覆（秘密）")
    from webapp.services import market_search

    monkeypatch.setattr(market_search, "supported", lambda connection: False)
    assert listed_titles(clients["anonymous"], "/market?q=熔覆") == ["激光熔覆修复服务"]
    assert listed_titles(clients["anonymous"], "/market?q=熔覆 超导") == []
