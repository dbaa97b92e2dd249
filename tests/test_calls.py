"""Challenge calls (揭榜挂帅): post, propose, who sees proposals, shortlist and pick, institutes to invite."""
import datetime as dt

from test_library import PASSWORD, TEXT, market, publish  # noqa: F401 (fixture)


def post_call(client, **fields):
    data = {"title": "碳化硅外延缺陷难题", "requirements": "降低碳化硅外延片缺陷密度，提升器件良率与可靠性",
            "deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat(), "declared": "1", **fields}
    response = client.post("/calls/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return int(response.location.rsplit("/", 1)[1])


def test_call_proposals_shortlist_pick_and_invitations(market):  # noqa: F811 (fixture)
    _app, clients = market
    publish(clients, "inst", title="碳化硅外延缺陷表征服务")  # 公开: counts for invitations
    publish(clients, "inst2", tier="机密", title="碳化硅外延缺陷控制（涉密）")  # classified: never suggested
    call_id = post_call(clients["ent"])
    assert clients["inst"].post("/calls/new", data={"title": "x"}).status_code == 403  # institutes do not post
    assert clients["ent"].post("/calls/new", data={"title": "x", "deadline": "2020-01-01"}).status_code == 422
    page = clients["ent"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert "建议邀请的院所" in page and "子研究所" in page and "丑研究所" not in page
    assert "建议邀请的院所" not in clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert clients["anonymous"].get(f"/calls/{call_id}").status_code == 302  # to the login page
    clients["inst"].post(f"/calls/{call_id}/propose", data={"summary": "子所方案 外延工艺", "contact": "甲研究员"})
    clients["inst2"].post(f"/calls/{call_id}/propose", data={"summary": "丑所方案 缺陷表征", "contact": "乙研究员"})
    assert clients["inst"].post(f"/calls/{call_id}/propose", data={"summary": "again"}).status_code == 409
    assert clients["ent-cleared"].post(f"/calls/{call_id}/propose", data={"summary": "x"}).status_code == 403
    # Each institute sees only its own proposal; the poster and the bureau see both.
    inst_page = clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert "子所方案" in inst_page and "丑所方案" not in inst_page and "乙研究员" not in inst_page
    for name in ("ent", "bureau"):
        both = clients[name].get(f"/calls/{call_id}").get_data(as_text=True)
        assert "子所方案" in both and "丑所方案" in both
    assert "子所方案" not in clients["ent-cleared"].get(f"/calls/{call_id}").get_data(as_text=True)
    # Only the poster decides; picking closes the call.
    assert clients["inst"].post(f"/calls/{call_id}/proposals/1/picked").status_code == 403
    assert clients["ent"].post(f"/calls/{call_id}/proposals/1/shortlisted").status_code == 302
    assert clients["ent"].post(f"/calls/{call_id}/proposals/1/picked").status_code == 302
    assert "揭榜成功" in clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert clients["ent"].post(f"/calls/{call_id}/proposals/2/shortlisted").status_code == 409
    assert "已揭榜" in clients["inst2"].get("/calls").get_data(as_text=True)


def test_bureau_posts_calls_for_itself(market):  # noqa: F811 (fixture)
    _app, clients = market
    call_id = post_call(clients["bureau"], title="高温合金叶片修复难题")
    assert "区科学技术局" in clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    clients["inst"].post(f"/calls/{call_id}/propose", data={"summary": "激光熔覆修复"})
    assert "激光熔覆修复" in clients["officer"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert clients["ent"].post(f"/calls/{call_id}/proposals/1/picked").status_code == 403
    assert clients["bureau"].post(f"/calls/{call_id}/proposals/1/picked").status_code == 302


def test_calls_api_follows_the_pages_rules(market):  # noqa: F811 (fixture)
    _app, clients = market
    publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    call_id = post_call(clients["ent"])
    assert clients["anonymous"].get("/api/calls").status_code == 401
    assert clients["anonymous"].get(f"/api/calls/{call_id}").status_code == 401
    listed = clients["ent"].get("/api/calls").get_json()
    assert [(c["id"], c["poster"], c["status"]) for c in listed["calls"]] == [(call_id, True, "open")]
    assert clients["inst"].get("/api/calls").get_json()["calls"][0]["poster"] is False
    # Proposals: institutes only, once each, with a summary, as JSON.
    url = f"/api/calls/{call_id}/proposals"
    created = clients["inst"].post(url, json={"summary": "子所方案 外延工艺", "contact": "甲研究员"})
    assert created.status_code == 201 and created.get_json()["proposal"]["org"] == "子研究所"
    again = clients["inst"].post(url, json={"summary": "again"})
    assert again.status_code == 409 and again.get_json()["ok"] is False
    assert clients["ent"].post(url, json={"summary": "x"}).status_code == 403
    empty = clients["inst2"].post(url, json={"summary": " "})
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["field"] == "summary"
    assert clients["inst2"].post(url, data="summary=x").status_code == 415
    assert clients["inst2"].post(url, json={"summary": "丑所方案 缺陷表征", "contact": "乙研究员"}).status_code == 201
    # Who sees which proposals: the poster and the bureau all, an institute its own, others none.
    def seen(name):
        return sorted(p["summary"] for p in clients[name].get(f"/api/calls/{call_id}").get_json()["proposals"])

    assert seen("ent") == seen("bureau") == ["丑所方案 缺陷表征", "子所方案 外延工艺"]
    assert seen("inst") == ["子所方案 外延工艺"] and seen("ent-cleared") == [] and seen("analyst") == []
    poster_view = clients["ent"].get(f"/api/calls/{call_id}").get_json()
    assert [row["org"] for row in poster_view["invite"]] == ["子研究所"] and poster_view["invite"][0]["band"]
    assert clients["inst"].get(f"/api/calls/{call_id}").get_json()["invite"] == []
    assert clients["ent"].get("/api/calls/999").get_json()["status"] == 404


def test_poster_and_reviewers_export_proposals_formula_safe(market):  # noqa: F811 (fixture)
    import csv
    import io

    import openpyxl

    app, clients = market
    call_id = post_call(clients["ent"])
    clients["inst"].post(f"/calls/{call_id}/propose", data={"summary": "=HYPERLINK(\"http://x\",\"点我\")",
                                                            "contact": "+86 138 0000 0000"})
    clients["inst2"].post(f"/calls/{call_id}/propose", data={"summary": "丑所方案 缺陷表征", "contact": "乙研究员"})
    clients["ent"].post(f"/calls/{call_id}/proposals/2/shortlisted")
    for name in ("inst", "inst2", "ent-cleared", "analyst"):
        assert clients[name].get(f"/calls/{call_id}/proposals.xlsx").status_code == 403, name
    assert clients["anonymous"].get(f"/calls/{call_id}/proposals.csv").status_code == 302
    assert clients["ent"].get(f"/calls/{call_id}/proposals.pdf").status_code == 404
    assert "导出方案" in clients["ent"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert "导出方案" not in clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    response = clients["ent"].get(f"/calls/{call_id}/proposals.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["方案编号", "揭榜单位", "方案概要", "联系人", "状态", "提交时间", "路演"]
    assert rows[1][1:5] == ["子研究所", "'=HYPERLINK(\"http://x\",\"点我\")", "'+86 138 0000 0000", "已提交"]
    assert rows[2][1:5] == ["丑研究所", "丑所方案 缺陷表征", "乙研究员", "入围"] and len(rows) == 3
    assert sheet.freeze_panes == "A2"
    body = clients["bureau"].get(f"/calls/{call_id}/proposals.csv").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[1][2].startswith("'=HYPERLINK") and len(table) == 3
    from webapp.db import db
    from webapp.models import AuditEntry

    with app.app_context():
        assert db.session.query(AuditEntry).filter(AuditEntry.target == f"call {call_id} proposals.xlsx").count() == 1


def test_shortlisted_proposal_goes_into_an_upcoming_events_roadshow(market):  # noqa: F811 (fixture)
    from webapp_helpers import NEED_HEADER, create_event, csv_bytes, ensure_user, import_file, login, need_row, rank

    app, clients = market
    admin = clients["admin"]
    soon = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    upcoming = create_event(admin, "七月对接会", date=soon)
    past = create_event(admin, "往期对接会", date="2025-05-20")
    import_file(admin, upcoming, "need", csv_bytes(NEED_HEADER, [need_row("N1", org="甲企业")]), "n.csv")
    ensure_user(app, "july", "organiser", PASSWORD, event_ids=[upcoming])
    july = login(app.test_client(), "july", PASSWORD)
    call_id = post_call(clients["ent"], domain="电子信息")
    clients["inst"].post(f"/calls/{call_id}/propose", data={"summary": "子所方案：外延工艺与缺陷表征", "contact": "甲研究员"})
    clients["inst2"].post(f"/calls/{call_id}/propose", data={"summary": "丑所方案 缺陷表征", "contact": "乙研究员"})
    url = f"/calls/{call_id}/proposals/1/roadshow"
    assert clients["ent"].post(url, data={"event_id": upcoming}).status_code == 409  # not shortlisted yet
    clients["ent"].post(f"/calls/{call_id}/proposals/1/shortlisted")
    page = clients["ent"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert "列入对接会路演" in page and "七月对接会" in page and "往期对接会" not in page  # upcoming events only
    assert clients["ent"].post(url, data={"event_id": past}).status_code == 409
    for name in ("inst", "ent-cleared", "bureau"):  # the proposer, another member, an organiser of no such event
        assert clients[name].post(url, data={"event_id": upcoming}).status_code == 403, name
    assert clients["ent"].post(url, data={"event_id": "999"}).status_code == 404
    from webapp.db import db
    from webapp.models import Capability, Event, Proposal

    def versions():
        with app.app_context():
            event = db.session.get(Event, upcoming)
            return event.data_version, event.records_version

    before = versions()
    assert clients["ent"].post(url, data={"event_id": upcoming}).status_code == 302
    after = versions()
    assert after[0] > before[0] and after[1] == before[1] + 1  # cached pages and the ranking are stale
    with app.app_context():
        record = db.session.query(Capability).filter_by(event_id=upcoming).one()
        assert (record.capability_id, record.org, record.classification, record.domain) == (
            "P1", "子研究所", "公开", "电子信息")
        assert record.description == "子所方案：外延工艺与缺陷表征" and "碳化硅外延缺陷难题" in record.title
        assert db.session.get(Proposal, 1).roadshow_event_id == upcoming
    assert "列入“七月对接会”的成果路演" in clients["inst"].get("/inbox").get_data(as_text=True)
    assert "已列入对接会路演（七月对接会）" in clients["inst"].get(f"/calls/{call_id}").get_data(as_text=True)
    # Putting it in again updates the record; the event's organiser may put in another shortlisted proposal.
    assert clients["ent"].post(url, data={"event_id": upcoming}).status_code == 302
    clients["ent"].post(f"/calls/{call_id}/proposals/2/picked")
    assert july.post(f"/calls/{call_id}/proposals/2/roadshow", data={"event_id": upcoming}).status_code == 302
    assert july.post(f"/calls/{call_id}/proposals/2/roadshow", data={"event_id": past}).status_code == 403
    with app.app_context():
        assert sorted(c.capability_id for c in db.session.query(Capability).filter_by(event_id=upcoming)) == ["P1", "P2"]
    # Once the event is ranked, both institutes give a talk presenting their proposal.
    rank(admin, upcoming)
    roadshow = admin.get(f"/events/{upcoming}/roadshow").get_data(as_text=True)
    assert "子研究所" in roadshow and "丑研究所" in roadshow and "揭榜方案：碳化硅外延缺陷难题" in roadshow
    assert "甲企业" in roadshow.split("子研究所")[1]  # the need's enterprise is invited to the talk
