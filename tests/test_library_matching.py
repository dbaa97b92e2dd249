"""Library matching in the web app: calibrated strengths in lists and notices, history carried over, and several
processes on one database keeping their in-memory indexes in step."""
import re

import numpy as np
from test_library import PASSWORD, TEXT, market, publish, text  # noqa: F401 (fixture)
from webapp_helpers import login, make_app

STRONG = "碳化硅外延缺陷表征服务"
WEAK = "高通量基因测序服务"
WEAK_TEXT = "提供全基因组测序、转录组测序与生物信息分析"


def expected_strengths(app, need_id, capability_ids, listed_capability_ids):
    """Strength by the event path's definition, computed independently: BM25 fitted on the listed capabilities,
    coverage as matcher.blockwise computes it, the lexical-only model (the tests' semantic signal is off)."""
    from types import SimpleNamespace

    from matcher import blockwise
    from matcher.lexical import BM25
    from matcher.strength import match_strength
    from webapp.db import db
    from webapp.models import LibraryItem
    from webapp.services.library_matching import item_texts

    with app.app_context():
        items = {i: db.session.get(LibraryItem, i) for i in [need_id, *listed_capability_ids]}
        index = BM25().fit(item_texts([items[i] for i in listed_capability_ids]))
        query_terms = index.query_terms(item_texts([items[need_id]]))
        coverage = blockwise.lexical_coverage(SimpleNamespace(query_terms=query_terms, index=index), slice(None),
                                              index.term_scores(query_terms))[0]
    strengths = match_strength(np.zeros_like(coverage), coverage, semantic=False)
    return {i: float(strengths[listed_capability_ids.index(i)]) for i in capability_ids}


def publish_background(clients, n=12):
    """Achievements from the sample data: the corpus a strength is measured against (BM25's statistics)."""
    import csv

    from webapp_helpers import SAMPLE

    with (SAMPLE / "capabilities.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:n]
    return [publish(clients, "inst2" if i % 2 else "inst", title=row["成果名称"], description=row["成果简介"])
            for i, row in enumerate(rows)]


def stored(app):
    from webapp.db import db
    from webapp.models import LibraryMatch

    with app.app_context():
        return {(m.item_id, m.other_id): m.strength for m in db.session.query(LibraryMatch)}


def test_lists_and_notices_show_the_calibrated_strength_and_only_strong_matches_are_announced(market):  # noqa: F811
    app, clients = market
    background = publish_background(clients)
    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求", description=TEXT)
    weak = publish(clients, "inst2", title=WEAK, description=WEAK_TEXT)
    # The weak achievement enters the need's list but is not announced.
    assert weak in [other for (item, other) in stored(app) if item == need]
    assert "为您推荐" not in text(clients["ent"], "/inbox")
    strong = publish(clients, "inst", title=STRONG)
    expected = expected_strengths(app, need, [weak, strong], background + [weak, strong])
    assert expected[strong] >= 0.5 and expected[weak] < 0.25  # the test's premise: one 强, one 弱
    np.testing.assert_allclose([stored(app)[(need, strong)], stored(app)[(strong, need)], stored(app)[(need, weak)]],
                               [expected[strong], expected[strong], expected[weak]], atol=1e-4)
    inbox = text(clients["ent"], "/inbox")
    assert inbox.count("为您推荐") == 1 and STRONG in inbox and WEAK not in inbox
    assert f"匹配强度 {expected[strong]:.2f}（强）" in inbox
    # The item page shows band and number instead of the raw similarity, best first.
    page = text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
    assert page.index(STRONG) < page.index(WEAK)
    rows = re.findall(r'<li><a href="/library/(\d+)">[^<]*</a> · [^<]* · <span class="strength[^"]*"[^>]*>'
                      r'<span class="badge">([强中弱])</span> <span class="score-value">([0-9.]+)</span>', page)
    shown = {int(i): (band, value) for i, band, value in rows}
    assert int(rows[0][0]) == strong and len(rows) == 10
    assert shown[strong] == ("强", f"{expected[strong]:.2f}") and shown[weak] == ("弱", f"{expected[weak]:.2f}")
    body = clients["ent"].get(f"/api/library/{need}").get_json()
    by_id = {s["id"]: s for s in body["suggestions"]}
    assert body["suggestions"][0]["id"] == strong and by_id[weak]["strength_band"] == "弱"
    assert abs(by_id[strong]["strength"] - expected[strong]) < 1e-4
    # English pages name the band in English.
    clients["ent"].get("/lang/en")
    assert f"strength {expected[strong]:.2f} (strong)" in text(clients["ent"], "/inbox")


def record_met(app, need_org, capability_org):
    from webapp.db import db
    from webapp.models import OrgHistory

    with app.app_context():
        db.session.add(OrgHistory(need_org=need_org, capability_org=capability_org, event_name="三月对接会",
                                  kind="met"))
        db.session.commit()


def test_organisations_that_met_before_are_not_suggested_again_unless_asked(market):  # noqa: F811 (fixture)
    app, clients = market
    record_met(app, "甲企业", "子研究所")
    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求", description=TEXT)
    met = publish(clients, "inst", title=STRONG)
    other = publish(clients, "inst2", title="碳化硅外延片缺陷检测", description=TEXT)
    page = text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
    assert "碳化硅外延片缺陷检测" in page and STRONG not in page
    assert (need, met) not in stored(app) and (met, need) not in stored(app) and (need, other) in stored(app)
    assert STRONG not in text(clients["ent"], "/inbox") and "碳化硅外延缺陷控制需求" not in text(clients["inst"], "/inbox")
    assert "碳化硅外延片缺陷检测" in text(clients["ent"], "/inbox")  # the other institute is announced
    # Asked for, the list includes the organisation met before, marked as such.
    asked = text(clients["ent"], f"/library/{need}?met=1").split("为您推荐")[1]
    assert STRONG in asked and "往届已会面" in asked
    assert [s["met"] for s in clients["ent"].get(f"/api/library/{need}?met=1").get_json()["suggestions"]
            if s["id"] == met] == [True]
    # A pair that meets after both items were listed leaves the page at once, and the stored lists (both
    # directions, refilled) with the next library write of any process.
    cleared = publish(clients, "ent-cleared", kind="need", title="碳化硅外延缺陷降低需求", description=TEXT)
    assert (cleared, met) in stored(app)
    record_met(app, "乙企业", "子研究所")
    assert STRONG not in text(clients["ent-cleared"], f"/library/{cleared}").split("为您推荐")[1]
    publish(clients, "inst2", title=WEAK, description=WEAK_TEXT)
    lists = stored(app)
    assert (cleared, met) not in lists and (met, cleared) not in lists and (cleared, other) in lists


def test_two_processes_on_one_database_keep_their_indexes_in_step(market, tmp_path):  # noqa: F811 (fixture)
    """Two app instances on one SQLite file, as two web processes: each brings its index up to the other's writes
    before using it, so stored lists and notices are those of one index over the whole library."""
    first, clients = market
    second = make_app(tmp_path)
    other = {name: login(second.test_client(), name, PASSWORD) for name in ("inst", "inst2", "ent", "ent-cleared",
                                                                           "bureau")}
    try:
        need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求", description=TEXT)
        publish(other, "inst2", title=WEAK, description=WEAK_TEXT)  # the second process builds its index
        capability = publish(clients, "inst", title=STRONG)  # the first process adds it; the second has not seen it
        assert capability not in second.extensions["library_index"].loaded and (need, capability) in stored(first)
        later = publish(other, "ent-cleared", kind="need", title="碳化硅外延缺陷降低需求", description=TEXT)
        # The second process brought its index up first: the new need ranks the first process's achievement.
        index = second.extensions["library_index"]
        assert capability in index.loaded and (later, capability) in stored(first) and (capability, later) in stored(first)
        assert "“碳化硅外延缺陷降低需求”" in text(clients["inst"], "/inbox")  # written once, by the publishing process
        assert text(clients["inst"], "/inbox").count("“碳化硅外延缺陷降低需求”") == 1
        # The first process's duplicate check knows the need the second process took in.
        from test_library import create

        copy = create(clients["ent"], kind="need", title="碳化硅外延缺陷降低需求", description=TEXT + "。")
        response = clients["ent"].post(f"/library/{copy}/submit", data={"declared": "1"})
        assert response.status_code == 409 and f'href="/library/{later}"' in response.get_data(as_text=True)
        # A withdrawal in the second process: the first process's next publish does not rank it.
        other["inst"].post(f"/library/{capability}/withdraw")
        third = publish(clients, "ent", kind="need", title="碳化硅外延缺陷检测需求", description=TEXT)
        assert capability not in first.extensions["library_index"].loaded
        assert not [pair for pair in stored(first) if capability in pair]
        assert (third, capability) not in stored(first)
        # Both indexes equal a fresh build over the database, and reflect its version.
        from webapp.changes import library_version
        from webapp.db import db
        from webapp.services import library_matching

        for app in (first, second):
            with app.test_request_context():
                synced = library_matching.current_index()
                assert synced.version == library_version(db.session)
                lists = dict(synced.matches.matches_)
                del app.extensions["library_index"]
                fresh = library_matching.current_index().matches.matches_
            assert lists.keys() == fresh.keys() and all([i for _, i in lists[k]] == [i for _, i in fresh[k]]
                                                        for k in fresh)
    finally:
        second.extensions["matcher_jobs"].shutdown()


def test_duplicate_check_gives_the_refits_answer_at_any_library_size_without_refitting(market):  # noqa: F811
    """The near-duplicate check reads an index kept as items arrive: in a library padded with 3,000 more items
    (pending, listed and withdrawn) it finds what a TF-IDF refitted on the whole library finds, with the same
    cosines, and the index it reads is the same object, grown by the new items, not a refit."""
    import csv

    from sklearn.feature_extraction.text import TfidfVectorizer
    from test_library import create
    from webapp_helpers import SAMPLE

    app, clients = market
    original = publish(clients, "inst", title=STRONG, description=TEXT)
    copy = create(clients["inst2"], title=STRONG, description=TEXT + "。")
    response = clients["inst2"].post(f"/library/{copy}/submit", data={"declared": "1"})
    assert response.status_code == 409 and f'href="/library/{original}"' in response.get_data(as_text=True)
    state = app.extensions["library_duplicates"]
    with (SAMPLE / "capabilities.csv").open(encoding="utf-8") as handle:
        descriptions = [row["成果简介"] for row in csv.DictReader(handle)]
    rng = np.random.default_rng(0)
    from webapp.db import db
    from webapp.models import LibraryItem

    with app.app_context():
        for i in range(3000):
            text_ = descriptions[i % len(descriptions)]
            cut = int(rng.integers(len(text_)))
            db.session.add(LibraryItem(kind="capability", org=f"填充单位{i % 40}", title=f"填充成果{i}",
                                       description=text_[cut:] + text_[:cut], classification="公开",
                                       status=("pending", "withdrawn", "published")[i % 3]))
        # One near copy among them, which a refit would also find.
        db.session.add(LibraryItem(kind="capability", org="填充单位", title=STRONG, description=TEXT + "！",
                                   classification="公开", status="pending"))
        db.session.commit()
        rows = db.session.execute(select_others(copy)).all()
    response = clients["inst2"].post(f"/library/{copy}/submit", data={"declared": "1"})
    assert response.status_code == 409
    assert app.extensions["library_duplicates"] is state and len(state.loaded) == len(rows) == 3002
    texts = [f"{STRONG} {TEXT}。"] + [f"{title} {description}" for _, title, description in rows]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2), sublinear_tf=True).fit_transform(texts)
    cosine = (matrix[1:] @ matrix[0].T).toarray().ravel()
    expected = sorted(((rows[i][0], cosine[i]) for i in np.flatnonzero(cosine >= 0.8)), key=lambda x: -x[1])
    from webapp.services import library
    from webapp.visibility import viewer_for

    with app.test_request_context():
        from webapp.models import User

        viewer = viewer_for(db.session.query(User).filter_by(username="inst2").one())
        found = library.find_duplicates(viewer, db.session.get(LibraryItem, copy))
    assert len(expected) == 2 and [d["id"] for d in found] == [i for i, _ in expected]
    np.testing.assert_allclose([d["similarity"] for d in found], [c for _, c in expected], atol=1e-5)
    assert found[0]["id"] in (original, rows[-1][0])


def select_others(item_id):
    from sqlalchemy import select

    from webapp.models import LibraryItem

    return select(LibraryItem.id, LibraryItem.title, LibraryItem.description).where(
        LibraryItem.kind == "capability", LibraryItem.id != item_id, LibraryItem.status != "draft").order_by(LibraryItem.id)


def draw_rows(client, url):
    """(title, band or None, matched record title or None) per row of the draw page, in order."""
    page = text(client, url)
    rows = []
    for row in re.findall(r'<tr><td><input type="checkbox" name="item_ids".*?</tr>', page, flags=re.DOTALL):
        title = re.search(r'<a href="/library/\d+">([^<]+)</a>', row).group(1)
        band = re.search(r'<span class="badge">([强中弱])</span>', row)
        record = re.search(r'<span class="hint" title="[^"]*">([^<]+)</span>', row)
        rows.append((title, band.group(1) if band else None, record.group(1) if record else None))
    return rows


def test_draw_page_filters_items_and_ranks_them_by_their_best_match_in_the_events_pool(market):  # noqa: F811
    from test_library import create
    from webapp_helpers import (
        CAPABILITY_HEADER,
        NEED_HEADER,
        capability_row,
        create_event,
        csv_bytes,
        import_file,
        need_row,
    )

    app, clients = market
    admin = clients["admin"]
    event_id = create_event(admin, "五月对接会")
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1", title="碳化硅外延缺陷控制")]), "n.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [capability_row(
        "C1", title="激光熔覆再制造", description="激光熔覆修复轴类零件磨损表面，恢复尺寸与性能")]), "c.csv")
    publish_background(clients, 8)
    strong = publish(clients, "inst", title=STRONG, trl="6", region="高新区")
    weak = publish(clients, "inst2", title=WEAK, description=WEAK_TEXT, trl="3", cooperation="技术转让")
    publish(clients, "ent", kind="need", title="激光熔覆修复需求", description="需要激光熔覆修复轴类零件的磨损表面",
            domain="先进制造与自动化")
    gone = publish(clients, "inst", title="碳化硅外延片清洗（已下架）")
    clients["inst"].post(f"/library/{gone}/withdraw")
    create(clients["inst2"], title="碳化硅外延草稿")
    url = f"/events/{event_id}/library/draw"
    rows = draw_rows(admin, url)
    titles = [title for title, _band, _record in rows]
    assert "碳化硅外延片清洗（已下架）" not in titles and "碳化硅外延草稿" not in titles and len(rows) == 11
    # By strength: the achievement closest to the event's need first, matched to that need; the need to the
    # event's laser-cladding achievement.
    assert rows[0] == (STRONG, "强", "碳化硅外延缺陷控制")
    assert ("激光熔覆修复需求", "强", "激光熔覆再制造") in rows
    assert {t: b for t, b, _r in rows}[WEAK] in ("弱", "中")
    bands = [b for _t, b, _r in rows]
    order = {"强": 0, "中": 1, "弱": 2}
    assert [order[b] for b in bands] == sorted(order[b] for b in bands)
    # Filters: type, TRL, cooperation, region, domain and words, as in the catalogue.
    assert [t for t, _b, _r in draw_rows(admin, url + "?kind=need")] == ["激光熔覆修复需求"]
    assert WEAK not in [t for t, _b, _r in draw_rows(admin, url + "?trl_min=5")]
    assert [t for t, _b, _r in draw_rows(admin, url + "?cooperation=技术转让")] == [WEAK]
    assert [t for t, _b, _r in draw_rows(admin, url + "?region=高新")] == [STRONG]
    assert [t for t, _b, _r in draw_rows(admin, url + "?q=测序")] == [WEAK]
    assert [t for t, _b, _r in draw_rows(admin, url + "?domain=先进制造与自动化&kind=need")] == ["激光熔覆修复需求"]
    by_title = [t for t, _b, _r in draw_rows(admin, url + "?sort=title")]
    assert by_title == sorted(by_title)
    assert "排序方式无效" in text(admin, url + "?sort=bogus")
    # Organisations that met before are no partners: the achievement's best match is gone from this event.
    from webapp.db import db
    from webapp.models import OrgHistory

    with app.app_context():
        db.session.add(OrgHistory(need_org="华芯功率半导体有限公司", capability_org="子研究所", kind="met"))
        db.session.commit()
    assert (STRONG, None, None) in draw_rows(admin, url)
    # Only the event's organisers open the page; drawing from it marks the rows.
    assert clients["bureau"].get(url).status_code == 404 and clients["ent"].get(url).status_code == 403
    assert admin.post(url, data={"item_ids": [strong, weak]}).status_code == 302
    assert text(admin, url).count("已在本场") == 2
    assert url in text(admin, f"/events/{event_id}/imports") and url in text(admin, "/library")


def test_lists_stored_before_strengths_existed_get_them_when_a_process_builds_its_index(market):  # noqa: F811
    app, clients = market
    need = publish(clients, "ent", kind="need", title="碳化硅外延缺陷控制需求", description=TEXT)
    capability = publish(clients, "inst", title=STRONG)
    from webapp.db import db
    from webapp.models import LibraryMatch
    from webapp.services import library_matching

    with app.app_context():
        db.session.query(LibraryMatch).update({LibraryMatch.strength: None})  # as migrated from 0009
        db.session.commit()
    assert "score-value" not in text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
    del app.extensions["library_index"]  # a process starting on the migrated database
    with app.test_request_context():
        library_matching.current_index()
        db.session.commit()
    lists = stored(app)
    assert lists[(need, capability)] is not None and lists[(capability, need)] == lists[(need, capability)]
    assert "score-value" in text(clients["ent"], f"/library/{need}").split("为您推荐")[1]
