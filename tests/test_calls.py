"""Challenge calls (揭榜挂帅): post, propose, who sees proposals, shortlist and pick, institutes to invite."""
import datetime as dt

from test_library import TEXT, market, publish  # noqa: F401 (fixture)


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
