"""The standing library and the public catalogue: lifecycle per role, review and 密级, duplicates, expiry,
visibility on every surface (catalogue, item pages, search, feed, suggestions, inbox), incremental matching."""
import datetime as dt
import re

import pytest
from webapp_helpers import admin_client, ensure_user, login, make_app

PASSWORD = "library-password-1"
TEXT = "碳化硅外延片缺陷表征与高温栅偏可靠性试验，覆盖位错密度测量和器件良率分析"


@pytest.fixture()
def market(tmp_path):
    app = make_app(tmp_path)
    users = {"inst": ("institute", "子研究所"), "inst2": ("institute", "丑研究所"), "ent": ("enterprise", "甲企业"),
             "ent-cleared": ("enterprise", "乙企业"), "ent-unverified": ("enterprise", "丁企业"),
             "analyst": ("analyst", None), "officer": ("security", None)}
    for username, (role, org) in users.items():
        ensure_user(app, username, role, PASSWORD, **({"org": org} if org else {}))
    ensure_user(app, "bureau", "organiser", PASSWORD)
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Organisation

    with app.app_context():
        for name, verified in (("乙企业", True), ("丁企业", False)):
            organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
            organisation.clearance = "二级"
            if verified:
                organisation.verified_at, organisation.certificate_no = dt.datetime(2026, 1, 1), "CERT-1"
                organisation.expires_on = dt.date.today() + dt.timedelta(days=300)
        db.session.commit()
    clients = {name: login(app.test_client(), name, PASSWORD) for name in list(users) + ["bureau"]}
    clients["anonymous"] = app.test_client()
    clients["admin"] = admin_client(app)
    yield app, clients
    app.extensions["matcher_jobs"].shutdown()


def create(client, kind="capability", title="碳化硅外延缺陷表征服务", description=TEXT, **fields):
    data = {"title": title, "description": description, "domain": "电子信息", "trl": "6",
            "cooperation": "技术服务", "contact": "联系人-" + title, **fields}
    response = client.post(f"/library/new/{kind}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.location.rsplit("/", 1)[1])


def publish(clients, owner, tier="公开", **fields):
    item_id = create(clients[owner], **fields)
    assert clients[owner].post(f"/library/{item_id}/submit", data={"declared": "1",
                                                                   "accept_duplicates": "1"}).status_code == 302
    assert clients["bureau"].post(f"/library/{item_id}/publish", data={"classification": tier}).status_code == 302
    return item_id


def item(app, item_id):
    from webapp.db import db
    from webapp.models import LibraryItem

    with app.app_context():
        row = db.session.get(LibraryItem, item_id)
        db.session.expunge(row)
        return row


def text(client, url):
    return client.get(url).get_data(as_text=True)


def test_lifecycle_per_role(market):
    app, clients = market
    item_id = create(clients["inst"])
    assert item(app, item_id).status == "draft"
    # A draft is its owners' alone: other members, analysts and visitors get the same 404 as a missing id.
    for name in ("inst2", "ent", "analyst", "anonymous"):
        expected = 302 if name == "anonymous" else 404  # visitors are sent to the login page
        assert clients[name].get(f"/library/{item_id}").status_code == expected, name
        assert clients[name].get(f"/market/{item_id}").status_code == 404, name
    # Nobody but the owner edits or submits; the analyst creates nothing.
    assert clients["inst2"].post(f"/library/{item_id}/edit", data={"title": "x"}).status_code == 404
    assert clients["bureau"].post(f"/library/{item_id}/submit", data={"declared": "1"}).status_code == 404
    assert clients["analyst"].post("/library/new/need", data={"title": "x"}).status_code == 403
    # Submitting needs the declaration.
    clients["inst"].post(f"/library/{item_id}/submit", data={})
    assert item(app, item_id).status == "draft"
    assert clients["inst"].post(f"/library/{item_id}/submit", data={"declared": "1"}).status_code == 302
    assert item(app, item_id).status == "pending" and item(app, item_id).declared_unclassified
    # Only reviewers publish; the owner cannot review its own item, nor an officer publish without a tier.
    assert clients["inst"].post(f"/library/{item_id}/publish", data={"classification": "公开"}).status_code == 403
    clients["officer"].post(f"/library/{item_id}/publish", data={"classification": "绝密"})
    assert item(app, item_id).status == "pending"
    # Returned with a comment: back to draft, every field kept, the comment shown to the owner.
    clients["bureau"].post(f"/library/{item_id}/return", data={"comment": ""})
    assert item(app, item_id).status == "pending"  # a return needs a comment
    clients["bureau"].post(f"/library/{item_id}/return", data={"comment": "请补充专利号"})
    returned = item(app, item_id)
    assert returned.status == "draft" and returned.description == TEXT and returned.review_comment == "请补充专利号"
    assert "请补充专利号" in text(clients["inst"], f"/library/{item_id}")
    # Edit (a new version), resubmit, publish: listed in the public catalogue.
    assert clients["inst"].post(f"/library/{item_id}/edit", data={
        "title": "碳化硅外延缺陷表征服务", "description": TEXT, "ip_status": "ZL202310000001.X",
        "contact": "王工 010-1234"}).status_code == 302
    clients["inst"].post(f"/library/{item_id}/submit", data={"declared": "1"})
    clients["officer"].post(f"/library/{item_id}/publish", data={"classification": "公开"})
    published = item(app, item_id)
    assert published.status == "published" and published.version == 2 and published.expires_on > dt.date.today()
    assert clients["anonymous"].get(f"/market/{item_id}").status_code == 200
    history = text(clients["inst"], f"/library/{item_id}")
    assert all(action in history for action in ("create", "submit", "return", "edit", "publish"))
    # Progress and withdrawal: 已对接 stays listed, 下架 disappears from every public surface at once.
    clients["inst"].post(f"/library/{item_id}/matched")
    assert item(app, item_id).status == "matched" and clients["anonymous"].get(f"/market/{item_id}").status_code == 200
    assert clients["inst2"].post(f"/library/{item_id}/withdraw").status_code == 403
    clients["inst"].post(f"/library/{item_id}/withdraw")
    assert item(app, item_id).status == "withdrawn"
    assert clients["anonymous"].get(f"/market/{item_id}").status_code == 404
    assert "碳化硅外延缺陷表征服务" not in text(clients["anonymous"], "/market/feed.atom")
    assert "碳化硅外延缺陷表征服务" not in text(clients["anonymous"], "/market?q=碳化硅")


def test_classified_item_reaches_only_qualified_viewers_on_every_surface(market):
    _app, clients = market
    secret = publish(clients, "inst", tier="秘密", title="机载雷达碳化硅功放模块")
    need_cleared = publish(clients, "ent-cleared", title="雷达功放碳化硅器件需求", kind="need")
    need_plain = publish(clients, "ent", title="雷达功放碳化硅器件采购", kind="need")
    need_unverified = publish(clients, "ent-unverified", title="雷达碳化硅功放器件寻源", kind="need")
    title = "机载雷达碳化硅功放模块"
    for name in ("anonymous", "analyst", "inst2", "ent", "ent-unverified"):
        client = clients[name]
        assert client.get(f"/market/{secret}").status_code == 404, name
        for url in ("/market", "/market?q=雷达", "/market?kind=capability&domain=电子信息", "/market/feed.atom",
                    "/library", "/inbox"):
            assert title not in text(client, url), (name, url)
    for need in (need_plain, need_unverified):  # its owners see the need, never the secret capability among matches
        owner = "ent" if need == need_plain else "ent-unverified"
        assert title not in text(clients[owner], f"/library/{need}"), owner
    # The verified 二级 enterprise sees it in the catalogue, on its item page and among its need's suggestions.
    assert title in text(clients["ent-cleared"], "/market?q=雷达")
    assert clients["ent-cleared"].get(f"/market/{secret}").status_code == 200
    assert title in text(clients["ent-cleared"], f"/library/{need_cleared}")
    # Contact details stay hidden from everyone but owner and reviewers, qualified or not.
    assert "联系人-" + title not in text(clients["ent-cleared"], f"/market/{secret}")
    assert "联系人-" + title in text(clients["bureau"], f"/library/{secret}")


def test_duplicate_detection_on_submit_links_the_existing_item(market):
    app, clients = market
    original = publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    copy = create(clients["inst2"], title="碳化硅外延缺陷表征服务", description=TEXT + "。")
    response = clients["inst2"].post(f"/library/{copy}/submit", data={"declared": "1"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f'href="/library/{original}"' in page and "子研究所" in page
    assert item(app, copy).status == "draft"
    # An unrelated text passes; a confirmed duplicate goes to review with the link for the reviewer.
    other = create(clients["inst2"], title="高通量基因测序服务", description="提供全基因组测序、转录组测序与生物信息分析")
    assert clients["inst2"].post(f"/library/{other}/submit", data={"declared": "1"}).status_code == 302
    assert item(app, other).status == "pending" and item(app, other).duplicate_of is None
    clients["inst2"].post(f"/library/{copy}/submit", data={"declared": "1", "accept_duplicates": "1"})
    assert item(app, copy).status == "pending" and item(app, copy).duplicate_of == original
    assert f'href="/library/{original}"' in text(clients["bureau"], f"/library/{copy}")


def test_duplicate_of_an_invisible_item_is_reported_without_its_title(market):
    _app, clients = market
    publish(clients, "inst", tier="机密", title="舰载碳化硅外延缺陷表征")
    copy = create(clients["inst2"], title="舰载碳化硅外延缺陷表征", description=TEXT)
    page = clients["inst2"].post(f"/library/{copy}/submit", data={"declared": "1"}).get_data(as_text=True)
    assert "一条您无权查看的信息" in page and "子研究所" not in page


def test_anonymous_catalogue_search_filters_paging_and_sorting_without_javascript(market):
    _app, clients = market
    from webapp.services import market as service

    ids = [publish(clients, "inst" if i % 2 else "inst2", title=f"成果{i:02d} 碳化硅外延",
                   description=f"第{i}项：{TEXT}", trl=str(1 + i % 9),
                   cooperation="技术转让" if i % 3 == 0 else "技术服务") for i in range(service.PAGE_SIZE + 3)]
    publish(clients, "ent", kind="need", title="企业需求 激光熔覆", description="需要激光熔覆修复轴类零件")
    draft = create(clients["inst"], title="草稿成果 不应公开")
    anonymous = clients["anonymous"]
    first = text(anonymous, "/market?kind=capability&sort=title")
    assert first.count('class="suggestion"') == service.PAGE_SIZE and "成果00" in first and "下一页" in first
    assert '<form class="panel filters" method="get"' in first and "<script" not in first.split("</header>")[1]
    second = text(anonymous, "/market?kind=capability&sort=title&page=2")
    assert second.count('class="suggestion"') == 3 and "成果22" in second
    assert "草稿成果" not in first + second and "联系人-" not in first + second
    assert anonymous.get(f"/market/{draft}").status_code == 404
    page = text(anonymous, f"/market/{ids[0]}")
    assert "成果00" in page and "联系人-" not in page and "登录后申请联系方式" in page
    transfer = text(anonymous, "/market?cooperation=技术转让&sort=title")
    assert transfer.count('class="suggestion"') == len([i for i in range(len(ids)) if i % 3 == 0])
    high = text(anonymous, "/market?trl_min=9&sort=trl")
    assert re.findall(r"TRL (\d)", high) and set(re.findall(r"TRL (\d)", high)) == {"9"}
    assert "激光熔覆" in text(anonymous, "/market?q=激光 熔覆") and "激光熔覆" not in text(anonymous, "/market?kind=capability")
    newest = text(anonymous, "/market")
    assert newest.index("企业需求 激光熔覆") < newest.index("成果22")  # newest first by default
    assert "筛选条件" in text(anonymous, "/market?domain=天文学")  # a bad filter is named, not ignored
    feed = text(anonymous, "/market/feed.atom")
    assert anonymous.get("/market/feed.atom").mimetype == "application/atom+xml"
    assert feed.count("<entry>") == len(ids) + 1 and "联系人-" not in feed


def test_contact_released_only_when_the_owner_accepts(market):
    _app, clients = market
    item_id = publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    contact = "联系人-碳化硅外延缺陷表征服务"
    assert clients["anonymous"].post(f"/market/{item_id}/contact").status_code == 401
    assert clients["analyst"].post(f"/market/{item_id}/contact").status_code == 403
    assert clients["ent"].post(f"/market/{item_id}/contact", data={"message": "想合作"}).status_code == 302
    assert clients["ent"].post(f"/market/{item_id}/contact").status_code == 409  # once per organisation
    assert contact not in text(clients["ent"], f"/market/{item_id}")
    assert "甲企业" in text(clients["inst"], "/inbox")
    assert clients["inst2"].post("/library/contact/1/accept").status_code == 404  # not the owner
    assert clients["inst"].post("/library/contact/1/accept").status_code == 302
    assert contact in text(clients["ent"], f"/market/{item_id}")
    assert contact not in text(clients["ent-cleared"], f"/market/{item_id}")
    assert "已同意您的联系申请" in text(clients["ent"], "/inbox")


def test_published_item_enters_suggestions_incrementally_and_a_withdrawn_one_leaves(market):
    app, clients = market
    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求")
    publish(clients, "inst2", title="高通量基因测序服务", description="提供全基因组测序、转录组测序与生物信息分析")
    library = app.extensions["library_index"].matches
    capability = publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    assert app.extensions["library_index"].matches is library  # the same index, one item added: no rebuild
    page = text(clients["ent"], f"/library/{need}")
    assert "碳化硅外延缺陷表征服务" in page.split("为您推荐")[1]
    assert page.split("为您推荐")[1].index("碳化硅外延缺陷表征服务") < page.split("为您推荐")[1].index("高通量基因测序")
    inbox = text(clients["ent"], "/inbox")
    assert "为您推荐" in inbox and "碳化硅外延缺陷表征服务" in inbox
    from webapp.db import db
    from webapp.models import LibraryMatch

    with app.app_context():
        stored = {(m.item_id, m.other_id) for m in db.session.query(LibraryMatch)}
    assert (need, capability) in stored and (capability, need) in stored
    clients["inst"].post(f"/library/{capability}/withdraw")
    assert "碳化硅外延缺陷表征服务" not in text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
    with app.app_context():
        assert not db.session.query(LibraryMatch).filter(
            (LibraryMatch.other_id == capability) | (LibraryMatch.item_id == capability)).count()


def test_expiry_hides_at_once_reminds_and_renew_relists(market):
    app, clients = market
    item_id = publish(clients, "inst", title="碳化硅外延缺陷表征服务", expires_on=(
        dt.date.today() + dt.timedelta(days=10)).isoformat())
    from webapp.services import library

    with app.app_context():
        assert library.expire_due() == (0, 1)
        assert library.expire_due() == (0, 0)  # one reminder per item and date
    assert "将于" in text(clients["inst"], "/inbox")
    with app.app_context():
        assert library.expire_due(dt.date.today() + dt.timedelta(days=11)) == (1, 0)
    assert item(app, item_id).status == "expired"
    assert clients["anonymous"].get(f"/market/{item_id}").status_code == 404
    until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    assert clients["inst2"].post(f"/library/{item_id}/renew", data={"expires_on": until}).status_code == 404
    clients["inst"].post(f"/library/{item_id}/renew", data={"expires_on": "2099-01-01"})  # over a year: refused
    assert item(app, item_id).status == "expired"
    clients["inst"].post(f"/library/{item_id}/renew", data={"expires_on": until})
    assert item(app, item_id).status == "published" and clients["anonymous"].get(f"/market/{item_id}").status_code == 200


def test_bad_form_input_names_the_field_and_stores_nothing(market):
    app, clients = market
    response = clients["inst"].post("/library/new/capability", data={"title": "", "trl": "12", "domain": "天文"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "名称不能为空" in page and "技术成熟度须为 1 到 9 的整数" in page and 'value="12"' in page
    from webapp.db import db
    from webapp.models import LibraryItem

    with app.app_context():
        assert db.session.query(LibraryItem).count() == 0


def test_organiser_import_lands_in_the_library_for_review(market):
    app, clients = market
    from webapp_helpers import CAPABILITY_HEADER, capability_row, create_event, csv_bytes, import_file

    admin = clients["admin"]
    event_id = create_event(admin, "三月对接会")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [capability_row("C1")]), "c.csv")
    assert clients["bureau"].post(f"/events/{event_id}/library/import").status_code == 404  # not its event
    assert admin.post(f"/events/{event_id}/library/import").status_code == 302
    assert admin.post(f"/events/{event_id}/library/import").status_code == 302  # a second copy adds nothing
    from webapp.db import db
    from webapp.models import LibraryItem

    with app.app_context():
        rows = db.session.query(LibraryItem).all()
        assert [(r.status, r.source_event_id) for r in rows] == [("pending", event_id)]


def test_expire_library_command(market):
    app, clients = market
    publish(clients, "inst", expires_on=(dt.date.today() + dt.timedelta(days=3)).isoformat())
    result = app.test_cli_runner().invoke(args=["expire-library"])
    assert result.exit_code == 0 and "0 items expired, 1 reminders written" in result.output


def test_events_draw_from_the_library_and_results_flow_back(market):
    app, clients = market
    from webapp_helpers import create_event

    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求")
    capability = publish(clients, "inst", tier="内部", title="碳化硅外延缺陷表征服务")
    admin = clients["admin"]
    event_id = create_event(admin, "五月对接会")
    assert clients["bureau"].post(f"/events/{event_id}/library/draw",
                                  data={"item_ids": [need, capability]}).status_code == 404  # not its event
    assert clients["ent"].post(f"/events/{event_id}/library/draw", data={"item_ids": [need]}).status_code == 403
    assert f"/events/{event_id}/library/draw" in text(admin, "/library")
    from webapp.db import db
    from webapp.models import Capability, Event, Need
    from webapp.services import library, outcomes

    def data_version():
        with app.app_context():
            return db.session.get(Event, event_id).data_version

    before = data_version()
    assert admin.post(f"/events/{event_id}/library/draw", data={"item_ids": [need, capability]}).status_code == 302
    assert data_version() > before  # the event's cached pages are invalidated (tests/test_changes.py)

    with app.app_context():
        drawn = db.session.query(Capability).filter_by(event_id=event_id).one()
        assert (drawn.capability_id, drawn.classification) == (f"L{capability}", "内部")
        assert db.session.query(Need).filter_by(event_id=event_id).one().need_id == f"L{need}"
        library.record_outcome(event_id, f"L{need}", f"L{capability}", "matched")
        db.session.commit()
    assert item(app, need).status == "matched" and item(app, capability).status == "matched"
    with app.app_context():
        from webapp.models import Event

        outcomes.add_outcome(db.session.get(Event, event_id), {"pair": f"L{need}|L{capability}", "count": "1"})
    assert item(app, need).status == "dealt" and clients["anonymous"].get(f"/market/{need}").status_code == 404


def test_api_follows_the_same_rules(market):
    _app, clients = market
    public = publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    secret = publish(clients, "inst", tier="机密", title="舰载雷达功放模块")
    body = clients["anonymous"].get("/api/market?q=碳化硅").get_json()
    assert body["ok"] and [i["id"] for i in body["items"]] == [public] and body["items"][0]["contact"] is None
    assert clients["anonymous"].get(f"/api/library/{public}").status_code == 401
    assert clients["ent"].get(f"/api/library/{secret}").status_code == 404
    assert clients["ent"].get(f"/api/library/{public}").get_json()["item"]["contact"] is None
    assert clients["inst"].get(f"/api/library/{public}").get_json()["item"]["contact"] == "联系人-碳化硅外延缺陷表征服务"
    assert clients["ent-cleared"].get("/api/market?kind=capability").get_json()["total"] == 2
    assert clients["anonymous"].get("/api/market?trl_min=x").get_json()["errors"][0]["field"] == "trl_min"
    assert clients["inst"].get("/api/inbox").get_json()["ok"]


@pytest.mark.slow
def test_matching_with_the_real_embedder_ranks_the_related_achievement_first(tmp_path):
    """With the semantic signal on, library vectors come from the app's embedder (needs as queries)."""
    app = make_app(tmp_path, MATCHER_WEIGHTS=None, WARM_UP_MODEL=False)
    ensure_user(app, "inst", "institute", PASSWORD, org="子研究所")
    ensure_user(app, "inst2", "institute", PASSWORD, org="丑研究所")
    ensure_user(app, "ent", "enterprise", PASSWORD, org="甲企业")
    ensure_user(app, "bureau", "organiser", PASSWORD)
    clients = {name: login(app.test_client(), name, PASSWORD) for name in ("inst", "inst2", "ent", "bureau")}
    need = publish(clients, "ent", kind="need", title="锂电池热失控预警",
                   description="储能电站需要在锂离子电池热失控发生前给出预警，希望用气体和温度传感器做早期检测")
    publish(clients, "inst", title="电池早期安全监测", description="基于特征气体与多点温度的锂电池故障早期识别方法")
    publish(clients, "inst2", title="中药材指纹图谱", description="用高效液相色谱建立中药材质量控制的指纹图谱")
    assert app.extensions["library_index"].matches.dim == app.extensions["matcher_embedder"].dim_
    suggestions = text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
    assert suggestions.index("电池早期安全监测") < suggestions.index("中药材指纹图谱")
    app.extensions["matcher_jobs"].shutdown()


def test_a_new_process_rebuilds_the_same_matches_from_the_published_items(market):
    app, clients = market
    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求")
    publish(clients, "inst", title="碳化硅外延缺陷表征服务")
    publish(clients, "inst2", title="高通量基因测序服务", description="提供全基因组测序、转录组测序与生物信息分析")
    before = dict(app.extensions["library_index"].matches.matches_)
    del app.extensions["library_index"]  # as in a freshly started process
    with app.test_request_context():
        from webapp.services import library_matching

        rebuilt = library_matching.current_index().matches
    assert rebuilt.matches_.keys() == before.keys()
    assert all([i for _, i in rebuilt.matches_[k]] == [i for _, i in before[k]] for k in before)
    assert ("need", need) in rebuilt.matches_
