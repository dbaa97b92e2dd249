"""The organiser flow after import: ranking job, suggestions, decisions, schedule, roadshow, exports, search."""
import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import select
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    capability_row,
    create_event,
    csv_bytes,
    db_count,
    import_file,
    latest_job_id,
    load_sample,
    make_app,
    need_row,
    rank,
    wait_for_job,
)

from webapp.db import db
from webapp.models import Decision, Meeting, MeetingRequest, OrgHistory, Suggestion


def unmarked(page):
    return re.sub(r"</?mark>", "", page)


def decide(client, event_id, need_id, capability_id, action, **extra):
    return client.post(f"/events/{event_id}/decisions", data={"need_id": need_id, "capability_id": capability_id,
                                                              "action": action, **extra}, follow_redirects=True)


def decision(app, event_id, need_id, capability_id):
    with app.app_context():
        return db.session.scalar(select(Decision).filter_by(event_id=event_id, need_id=need_id,
                                                            capability_id=capability_id))


def run_schedule(client, app, event_id):
    response = client.post(f"/events/{event_id}/schedule/run")
    assert response.status_code == 302
    job = wait_for_job(client, event_id, latest_job_id(app, event_id, "schedule"))
    assert job["status"] == "done", job
    return job


def test_ranking_runs_in_the_background_and_stores_suggestions(client, app):
    event_id = create_event(client)
    load_sample(client, event_id)
    page = client.get(f"/events/{event_id}/needs").get_data(as_text=True)
    assert "尚未计算推荐" in page
    response = client.post(f"/events/{event_id}/rank", data={"next": f"/events/{event_id}/needs"})
    assert response.status_code == 302 and response.headers["Location"] == f"/events/{event_id}/needs"
    job_id = latest_job_id(app, event_id, "rank")
    job = wait_for_job(client, event_id, job_id)
    assert job == {"id": job_id, "event_id": event_id, "kind": "rank", "status": "done", "progress": 100,
                   "stage": "done", "stage_label": "已完成", "error": None, "finished": True}
    assert db_count(app, Suggestion, event_id=event_id, direction="need") == 820
    # No qualification is verified in this event, so every enterprise counts as 无: only the 70
    # 公开 capabilities get suggested needs; the 18 restricted ones get none.
    assert db_count(app, Suggestion, event_id=event_id, direction="capability") == 700
    assert db_count(app, Suggestion, event_id=event_id, direction="need", capability_classification="秘密") == 0
    page = client.get(f"/events/{event_id}/needs").get_data(as_text=True)
    assert "尚未计算推荐" not in page and "首选推荐" in page


def test_progress_panel_polls_the_status_endpoint(client, app):
    event_id = create_event(client)
    load_sample(client, event_id)
    client.post(f"/events/{event_id}/rank")
    page = client.get(f"/events/{event_id}/needs").get_data(as_text=True)
    job_id = latest_job_id(app, event_id, "rank")
    # Either still running (progress panel with the polling URL) or already done.
    assert f'data-job-url="/api/events/{event_id}/jobs/{job_id}"' in page or "首选推荐" in page
    wait_for_job(client, event_id, job_id)


def test_ranking_without_records_is_refused(client):
    event_id = create_event(client)
    response = client.post(f"/events/{event_id}/rank", follow_redirects=True)
    assert "请先导入需求和成果" in response.get_data(as_text=True)


def test_ranking_goes_stale_after_reimport(client, sample_event):
    assert "需更新" not in client.get("/").get_data(as_text=True)
    import_file(client, sample_event, "need", csv_bytes(NEED_HEADER, [need_row("N999")]), "extra.csv")
    assert "推荐结果可能已过期" in client.get(f"/events/{sample_event}/needs").get_data(as_text=True)
    assert "需更新" in client.get("/").get_data(as_text=True)


def test_need_page_lists_ranked_capabilities_with_reasons_and_marks(client, sample_event):
    page = client.get(f"/events/{sample_event}/needs/N001").get_data(as_text=True)
    assert "抗凝原料药关键中间体收率提升" in page
    assert "手性药物不对称催化合成路线开发" in unmarked(page) and "东湖大学药学院" in page
    assert "<mark>中间体</mark>" in page and "共同术语" in page  # word-level terms: 手性 is no longer among the five
    ranks = [int(r) for r in re.findall(r'<div class="rank">(\d+)</div>', page)]
    assert ranks == sorted(ranks) and len(ranks) == 10


def test_capability_page_lists_ranked_needs(client, sample_event):
    page = client.get(f"/events/{sample_event}/capabilities/C037").get_data(as_text=True)
    assert "手性药物不对称催化合成路线开发" in page and "康衡药业股份有限公司" in unmarked(page)


def test_suggestion_filters(client, sample_event):
    base = f"/events/{sample_event}/needs/N001"
    every = client.get(base).get_data(as_text=True)
    only = client.get(base + "?domain=生物医药").get_data(as_text=True)
    assert only.count('class="rank"') < every.count('class="rank"') and "生物医药" in only
    high = client.get(base + "?min_score=0.5").get_data(as_text=True)
    assert 0 < high.count('class="rank"') < every.count('class="rank"')
    assert client.get(f"/events/{sample_event}/needs/NOPE").status_code == 404


def test_clearance_filter_uses_current_qualifications(client, app, sample_event):
    """A qualification withdrawn after the ranking hides the pairs it no longer allows (until re-ranking)."""
    with app.app_context():
        pair = db.session.scalar(select(Suggestion).where(Suggestion.event_id == sample_event,
                                                          Suggestion.direction == "need",
                                                          Suggestion.capability_classification == "秘密"))
        need_id, capability_id = pair.need_id, pair.capability_id
    withdraw = {"name": pair.need_org, "clearance": "无", "certificate_no": "", "expires_on": ""}
    assert client.post("/admin/organisations", data=withdraw).status_code == 302
    base = f"/events/{sample_event}/needs/{need_id}"
    assert f'id="s-{capability_id}"' not in client.get(base).get_data(as_text=True)
    shown = client.get(base + "?eligible=0").get_data(as_text=True)
    assert f'id="s-{capability_id}"' in shown and "保密资质不符" in shown
    refused = decide(client, sample_event, need_id, capability_id, "accept").get_data(as_text=True)
    assert "保密资质不足" in refused and decision(app, sample_event, need_id, capability_id) is None


def test_accept_reject_lock_unlock_clear(client, app, sample_event):
    page = decide(client, sample_event, "N001", "C037", "accept", next=f"/events/{sample_event}/needs/N001")
    assert "已接受该配对" in page.get_data(as_text=True)
    assert decision(app, sample_event, "N001", "C037").status == "accepted"
    decide(client, sample_event, "N001", "C037", "lock")
    assert decision(app, sample_event, "N001", "C037").locked
    decide(client, sample_event, "N001", "C037", "unlock")
    assert not decision(app, sample_event, "N001", "C037").locked
    decide(client, sample_event, "N001", "C085", "reject")
    assert decision(app, sample_event, "N001", "C085").status == "rejected"
    page = client.get(f"/events/{sample_event}/needs/N001?hide_rejected=1").get_data(as_text=True)
    assert 'id="s-C085"' not in page
    decide(client, sample_event, "N001", "C085", "clear")
    assert decision(app, sample_event, "N001", "C085") is None
    bad = decide(client, sample_event, "N001", "C037", "explode").get_data(as_text=True)
    assert "未知操作" in bad
    missing = decide(client, sample_event, "N404", "C037", "accept").get_data(as_text=True)
    assert "需求编号“N404”不存在" in missing


def test_same_organisation_pair_is_refused(client, app):
    event_id = create_event(client)
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1", org="恒拓动力科技有限公司")]), "n.csv")
    import_file(client, event_id, "capability",
                csv_bytes(CAPABILITY_HEADER, [capability_row("C1", org="恒拓动力科技有限公司")]), "c.csv")
    page = decide(client, event_id, "N1", "C1", "accept").get_data(as_text=True)
    assert "同一单位的需求与成果不能配对" in page


def test_bulk_accept_top_n_per_need(client, app, sample_event):
    decide(client, sample_event, "N001", "C037", "reject")
    response = client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "2"}, follow_redirects=True)
    assert "已批量接受" in response.get_data(as_text=True)
    with app.app_context():
        accepted = db.session.scalars(select(Decision).filter_by(event_id=sample_event, status="accepted")).all()
    per_need = {}
    for d in accepted:
        per_need[d.need_id] = per_need.get(d.need_id, 0) + 1
    assert max(per_need.values()) == 2 and ("N001", "C037") not in {(d.need_id, d.capability_id) for d in accepted}
    page = client.get(f"/events/{sample_event}/pairings").get_data(as_text=True)
    assert page.count('<tr id="p-') == 25 and f"共 {len(accepted)} 项" in page  # paged, 25 a page
    rows = set()
    for number in range(1, -(-len(accepted) // 25) + 1):
        listed = client.get(f"/events/{sample_event}/pairings?page={number}").get_data(as_text=True)
        rows |= set(re.findall(r'<tr id="p-([^"]+)"', listed))
    assert rows == {f"{d.need_id}-{d.capability_id}" for d in accepted}  # every page together: all, once
    found = client.get(f"/events/{sample_event}/pairings?q={accepted[0].capability_id}").get_data(as_text=True)
    assert f'id="p-{accepted[0].need_id}-{accepted[0].capability_id}"' in found
    assert found.count('<tr id="p-') < 25
    refused = client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "99"}, follow_redirects=True)
    assert "每项需求接受的推荐数须为 1–10" in refused.get_data(as_text=True)
    client.post(f"/events/{sample_event}/pairings/reset")
    assert db_count(app, Decision, event_id=sample_event) == 0


def test_schedule_grid_agendas_and_unscheduled(client, app, sample_event):
    assert "还没有日程" in client.get(f"/events/{sample_event}/schedule").get_data(as_text=True)
    refused = client.post(f"/events/{sample_event}/schedule/run", follow_redirects=True)
    assert "还没有已确认的配对" in refused.get_data(as_text=True)
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    decide(client, sample_event, "N001", "C037", "lock")
    run_schedule(client, app, sample_event)
    page = client.get(f"/events/{sample_event}/schedule").get_data(as_text=True)
    assert "时段 × 洽谈桌" in page and "第 1 时段" in page and "09:00–09:20" in page and "20 号桌" in page
    assert "未安排清单" in page and "最优" in page
    n_meetings = db_count(app, Meeting, event_id=sample_event)
    assert n_meetings > 0 and page.count('class="meeting') == n_meetings
    locked = decision(app, sample_event, "N001", "C037")
    assert locked.lock_slot is not None  # pinned where it was first placed
    agendas = client.get(f"/events/{sample_event}/agendas").get_data(as_text=True)
    assert agendas.count('<article class="agenda">') > 10 and "康衡药业股份有限公司" in agendas
    one = client.get(f"/events/{sample_event}/agendas", query_string={"org": "康衡药业股份有限公司"}).get_data(as_text=True)
    assert one.count('<article class="agenda">') == 1 and "东湖大学药学院" in one
    assert client.get(f"/events/{sample_event}/agendas?org=nobody").status_code == 404
    css = client.get("/static/app.css")
    assert b"break-after: page" in css.data
    css.close()


def test_move_a_meeting_locks_it_and_replans(client, app, sample_event):
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    run_schedule(client, app, sample_event)
    with app.app_context():
        meeting = db.session.scalars(select(Meeting).where(Meeting.event_id == sample_event)).first()
        key = (meeting.need_id, meeting.capability_id)
    target = {"slot": "6", "table": "20"}
    response = client.post(f"/events/{sample_event}/schedule/meetings/{meeting.id}/move", data=target)
    assert response.status_code == 302
    wait_for_job(client, sample_event, latest_job_id(app, sample_event, "schedule"))
    with app.app_context():
        moved = db.session.scalar(select(Meeting).filter_by(event_id=sample_event, need_id=key[0],
                                                            capability_id=key[1]))
        assert (moved.slot, moved.table_no, moved.locked) == (6, 20, True)
        meeting_id = moved.id
    bad = client.post(f"/events/{sample_event}/schedule/meetings/{meeting_id}/move", data={"slot": "99", "table": "1"},
                      follow_redirects=True)
    assert "时段须为 1–6 的整数" in bad.get_data(as_text=True)
    client.post(f"/events/{sample_event}/schedule/meetings/{meeting_id}/unlock")
    assert not decision(app, sample_event, *key).locked


def test_roadshow_programme(client, sample_event):
    page = client.get(f"/events/{sample_event}/roadshow").get_data(as_text=True)
    assert "成果路演安排" in page and "电子信息分会场" in page and 'class="talk"' in page
    fewer = client.get(f"/events/{sample_event}/roadshow?invite_top=3").get_data(as_text=True)
    assert "3 家企业受邀" in fewer


def test_exports_xlsx_and_csv_with_chinese_file_names(client, app, sample_event):
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    page = client.get(f"/events/{sample_event}/exports").get_data(as_text=True)
    assert page.count("Excel</a>") == 4 and page.count("生成日程后可下载") == 4
    for what in ("pairings", "suggestions", "needs", "capabilities"):
        for fmt in ("xlsx", "csv"):
            response = client.get(f"/events/{sample_event}/exports/{what}.{fmt}")
            assert response.status_code == 200, (what, fmt)
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith(f'attachment; filename="event-{sample_event}-{what}.{fmt}"; filename*=UTF-8\'\'')
    response = client.get(f"/events/{sample_event}/exports/pairings.xlsx")
    assert "%E5%AF%B9%E6%8E%A5%E9%85%8D%E5%AF%B9.xlsx" in response.headers["Content-Disposition"]  # 对接配对.xlsx
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]][:3] == ["需求编号", "需求单位", "需求名称"] and sheet.max_row == 83
    csv_text = client.get(f"/events/{sample_event}/exports/needs.csv").data
    assert csv_text.startswith(b"\xef\xbb\xbf") and csv_text.decode("utf-8-sig").startswith(",".join(NEED_HEADER))
    waiting = client.get(f"/events/{sample_event}/exports/schedule.xlsx", follow_redirects=True)
    assert "还没有日程：请先生成会面日程" in waiting.get_data(as_text=True)
    run_schedule(client, app, sample_event)
    assert client.get(f"/events/{sample_event}/exports").get_data(as_text=True).count("Excel</a>") == 8
    for what in ("schedule", "meetings", "unscheduled"):
        for fmt in ("xlsx", "csv"):
            assert client.get(f"/events/{sample_event}/exports/{what}.{fmt}").status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/events/{sample_event}/exports/agendas.xlsx").data))
    assert {"会面总表", "会面清单", "路演安排"} <= set(workbook.sheetnames)
    bundle = client.get(f"/events/{sample_event}/exports/agendas.csv")
    assert bundle.mimetype == "application/zip" and bundle.headers["Content-Disposition"].endswith(".zip")
    assert any(n.endswith("_agendas.csv") for n in zipfile.ZipFile(io.BytesIO(bundle.data)).namelist())
    assert client.get(f"/events/{sample_event}/exports/robots.csv").status_code == 404


def test_exported_cells_are_formula_safe(client, app):
    event_id = create_event(client)
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1", title="=HYPERLINK(\"x\")")]), "n.csv")
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/events/{event_id}/exports/needs.xlsx").data)).active
    assert sheet["C2"].value == "'=HYPERLINK(\"x\")"


def test_free_text_search_ranks_capabilities_and_needs(client, sample_event):
    page = client.get(f"/events/{sample_event}/search", query_string={
        "q": "我们在碳化硅外延与器件可靠性方面有多年积累", "target": "need"}).get_data(as_text=True)
    assert 'class="rank">1<' in page and "<mark>" in page and "碳化硅" in page
    page = client.get(f"/events/{sample_event}/search", query_string={
        "q": "压铸件气孔多，X光检测不合格", "target": "capability"}).get_data(as_text=True)
    assert 'class="rank">1<' in page and "只显示公开" in page
    assert "秘密" not in re.sub(r"<option.*?</option>", "", page.split("检索成果时")[1])
    short = client.get(f"/events/{sample_event}/search?q=x").get_data(as_text=True)
    assert "请输入至少两个字的检索内容" in short


def test_organisation_page_and_meeting_request_flow(client, app, sample_event):
    orgs = client.get(f"/events/{sample_event}/orgs").get_data(as_text=True)
    assert "康衡药业股份有限公司" in orgs
    page = client.get(f"/events/{sample_event}/orgs/康衡药业股份有限公司").get_data(as_text=True)
    assert "候选合作院所" in page and "申请会面" in page
    assert client.get(f"/events/{sample_event}/orgs/不存在的单位").status_code == 404
    form = {"need_id": "N001", "capability_id": "C037", "requester": "康衡药业 郝工", "contact": "182****4808",
            "message": "希望面谈中试放大", "next": f"/events/{sample_event}/orgs/康衡药业股份有限公司"}
    response = client.post(f"/events/{sample_event}/requests", data=form, follow_redirects=True)
    assert "会面申请已提交" in response.get_data(as_text=True)
    duplicate = client.post(f"/events/{sample_event}/requests", data=form, follow_redirects=True)
    assert "已有待审核的会面申请" in duplicate.get_data(as_text=True)
    listing = client.get(f"/events/{sample_event}/requests").get_data(as_text=True)
    assert "希望面谈中试放大" in listing and "待审核" in listing
    with app.app_context():
        request_id = db.session.scalar(select(MeetingRequest.id))
    client.post(f"/events/{sample_event}/requests/{request_id}/approve")
    accepted = decision(app, sample_event, "N001", "C037")
    assert accepted.status == "accepted" and accepted.source == "request"
    again = client.post(f"/events/{sample_event}/requests/{request_id}/decline", follow_redirects=True)
    assert "该申请已处理" in again.get_data(as_text=True)
    nameless = client.post(f"/events/{sample_event}/requests", data={**form, "requester": ""}, follow_redirects=True)
    assert "请填写申请单位或联系人" in nameless.get_data(as_text=True)


def test_history_excludes_met_pairs_from_the_next_event(client, app, sample_event):
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    run_schedule(client, app, sample_event)
    response = client.post(f"/events/{sample_event}/history", follow_redirects=True)
    assert "对单位的会面记入历史" in response.get_data(as_text=True)
    with app.app_context():
        met = set(db.session.execute(select(OrgHistory.need_org, OrgHistory.capability_org)).all())
    assert met and db_count(app, OrgHistory, kind="met") == len(met)
    client.post(f"/events/{sample_event}/history")  # idempotent
    assert db_count(app, OrgHistory, kind="met") == len(met)
    following = create_event(client, "下一届对接会")
    load_sample(client, following)
    rank(client, following)
    with app.app_context():
        suggested = set(db.session.execute(select(Suggestion.need_org, Suggestion.capability_org)
                                           .where(Suggestion.event_id == following)).all())
        again = set(db.session.execute(select(Suggestion.need_org, Suggestion.capability_org)
                                       .where(Suggestion.event_id == sample_event)).all())
    assert met & again and not met & suggested
    need_org, capability_org = min(met)
    with app.app_context():
        from webapp.models import Capability, Need

        need = db.session.scalar(select(Need).filter_by(event_id=following, org=need_org))
        capability = db.session.scalar(select(Capability).filter_by(event_id=following, org=capability_org))
    refused = decide(client, following, need.need_id, capability.capability_id, "accept").get_data(as_text=True)
    assert "以往对接会上已会面或签约" in refused


@pytest.mark.slow
def test_ranking_with_the_real_default_model(tmp_path):
    """One end-to-end ranking with the bundled sentence-transformers model (the app's default)."""
    app = make_app(tmp_path, MATCHER_WEIGHTS=None)
    client = admin_client(app)
    event_id = create_event(client)
    load_sample(client, event_id)
    job = rank(client, event_id)
    assert job["status"] == "done"
    rows = client.get(f"/api/events/{event_id}/suggestions?need_id=N001&limit=3").get_json()["suggestions"]
    # N001 (chiral intermediate by resolution, yield too low): asymmetric catalysis (C037) and
    # stereoselective biocatalysis (C084) both answer it; the lactic-acid strain (C085) does not.
    best = {row["capability_id"]: row for row in rows[:2]}
    assert set(best) == {"C037", "C084"} and best["C037"]["score_semantic"] > 0.5
    page = client.get(f"/events/{event_id}/search", query_string={"q": "马桶冲水噪声太大", "target": "capability"})
    assert 'class="rank">1<' in page.get_data(as_text=True)
    app.extensions["matcher_jobs"].shutdown()
