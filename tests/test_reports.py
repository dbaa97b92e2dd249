"""Report figures against a small event computed by hand, per viewer; XLSX and printable pages."""
import datetime as dt
import io

import openpyxl
import pytest
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    capability_row,
    create_event,
    csv_bytes,
    ensure_user,
    import_file,
    login,
    make_app,
    need_row,
)

SECRET_TITLE = "惯导标定涉密工艺"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from webapp.db import db
    from webapp.models import Decision, Meeting, ScheduleRun, Suggestion

    folder = tmp_path_factory.mktemp("reports")
    app = make_app(folder)
    admin = admin_client(app)
    event_id = create_event(admin, "报表测试会", date="2025-05-20")
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [
        need_row("N1", org="东岭精密"), need_row("N2", org="西岭材料", domain="新材料"),
        need_row("N3", org="南岭制造", domain="先进制造与自动化")]), "needs.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [
        capability_row("C1", org="江川理工大学"), capability_row("C2", org="北辰研究所", domain="新材料"),
        capability_row("C3", org="北辰研究所", domain="先进制造与自动化", classification="秘密", title=SECRET_TITLE)]),
        "capabilities.csv")
    # Profiles: 东岭 holds 高新 and 科技型 on the event's date; 西岭's 科技型 lapsed in 2024; 南岭 holds none.
    # 南山 (高新) and 北山 (no tier) have no records in the event: they are only invited.
    for name, kind, extra in (("东岭精密", "enterprise", {"credit_code": "91350100M000100Y43"}),
                              ("西岭材料", "enterprise", {"credit_code": "913205000000000020"}),
                              ("南山科技", "enterprise", {"credit_code": "91320500MA2B3C4D57"}),
                              ("北山电子", "enterprise", {"credit_code": "91320500MA7K8L9M0G"}),
                              ("江川理工大学", "institute", {"institute_type": "高校"}),
                              ("北辰研究所", "institute", {"institute_type": "国防科研院所"})):
        admin.post("/organisations", data={"name": name, "kind": kind, **extra})
    with app.app_context():
        from sqlalchemy import select

        from webapp.models import Organisation

        ids = dict(db.session.execute(select(Organisation.name, Organisation.id)).all())
    for org, tier, number, start, end in (("东岭精密", "高新技术企业", "GR202432000001", "2024-01-01", "2026-12-31"),
                                          ("东岭精密", "科技型中小企业", "2025320100000001", "2025-01-01", "2025-12-31"),
                                          ("西岭材料", "科技型中小企业", "2024320100000002", "2024-01-01", "2024-12-31"),
                                          ("南山科技", "高新技术企业", "GR202332000009", "2023-06-01", "2026-05-31")):
        assert admin.post(f"/organisations/{ids[org]}/tiers", data={
            "tier": tier, "number": number, "valid_from": start, "valid_until": end}).status_code == 302
    with app.app_context():
        for rank, (need_id, capability_id) in enumerate((("N1", "C1"), ("N1", "C2"), ("N2", "C2"), ("N3", "C3"),
                                                         ("N3", "C1"))):
            db.session.add(Suggestion(event_id=event_id, direction="need", need_id=need_id, capability_id=capability_id,
                                      rank=rank + 1, score=0.5))
        for need_id, capability_id in (("N1", "C1"), ("N2", "C2"), ("N3", "C3")):
            db.session.add(Decision(event_id=event_id, need_id=need_id, capability_id=capability_id, status="accepted"))
        run = ScheduleRun(event_id=event_id, status="done", slots=4, tables=6)
        db.session.add(run)
        db.session.flush()
        for slot, (need_id, capability_id, need_org, capability_org) in enumerate((
                ("N1", "C1", "东岭精密", "江川理工大学"), ("N3", "C3", "南岭制造", "北辰研究所"))):
            db.session.add(Meeting(run_id=run.id, event_id=event_id, slot=slot, table_no=1, need_id=need_id,
                                   capability_id=capability_id, need_org=need_org, capability_org=capability_org,
                                   score=0.5))
        db.session.commit()
    deals = {}
    for pair in ("N1|C1", "N2|C2", "N3|C3"):
        admin.post(f"/events/{event_id}/deals", data={"pair": pair})
    with app.app_context():
        from webapp.models import Outcome

        deals = {o.need_id: o.id for o in db.session.scalars(select(Outcome))}
    advance = lambda deal, **form: admin.post(f"/events/{event_id}/deals/{deals[deal]}/advance", data=form)
    for deal, amount, kind in (("N1", "100", "技术开发"), ("N3", "50.5", "技术服务")):
        advance(deal, to="洽谈")
        advance(deal, to="签约", contract_type=kind, amount=amount, signed_on="2025-06-01")
    advance("N1", to="登记", registration_no="2025320100000123", registered_on="2025-07-01")
    # An outcome recorded on the dashboard without a pair: 2 projects in 新材料, 技术转让, 30 万元.
    admin.post(f"/events/{event_id}/outcomes", data={"description": "补记两项", "domain": "新材料", "count": "2",
                                                     "contract_type": "技术转让", "amount": "30"})
    # Invited: 东岭 (also taking part), 南山 and 北山; 东岭 and 南山 came.
    assert admin.post(f"/events/{event_id}/invitations",
                      data={"org_id": [ids["东岭精密"], ids["南山科技"], ids["北山电子"]]}).status_code == 302
    with app.app_context():
        from webapp.models import Invitation

        invitations = {i.org_id: i.id for i in db.session.scalars(select(Invitation))}
    for org in ("东岭精密", "南山科技"):
        admin.post(f"/events/{event_id}/invitations/{invitations[ids[org]]}", data={"attended": "1"})
    ensure_user(app, "bureau", "organiser", event_ids=[event_id])
    ensure_user(app, "dongling", "enterprise", org="东岭精密")
    ensure_user(app, "analyst", "analyst")
    ensure_user(app, "officer", "security")
    return {"app": app, "event": event_id, "admin": admin, "folder": folder}


def _figures(world, username):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Event, User
    from webapp.services import reports
    from webapp.visibility import viewer_for

    with world["app"].test_request_context():
        viewer = viewer_for(db.session.scalar(select(User).where(User.username == username)))
        figures = reports.event_figures(viewer, db.session.get(Event, world["event"]))
        return figures, _tier_counts(figures.enterprise_tiers)


def _tier_counts(held):
    tiers = {t: sum(1 for tiers in held.values() if t in tiers) for t in ("高新技术企业", "科技型中小企业")}
    tiers["未入库"] = sum(1 for tiers in held.values() if not tiers)
    return tiers


def test_report_figures_for_the_organiser(world):
    figures, tiers = _figures(world, "bureau")
    assert figures.signed_by_domain == {"电子信息": 1, "先进制造与自动化": 1, "新材料": 2}
    assert figures.funnel == {"suggested": 5, "accepted": 3, "met": 2, "signed": 4, "registered": 1}
    assert figures.amount_by_type == {"技术开发": 100.0, "技术服务": 50.5, "技术转让": 30.0}
    assert figures.amount_by_domain == {"电子信息": 100.0, "先进制造与自动化": 50.5, "新材料": 30.0}
    assert tiers == {"高新技术企业": 1, "科技型中小企业": 1, "未入库": 2}  # 西岭's registration lapsed before the event
    assert sorted(figures.institute_types.values()) == ["国防科研院所", "高校"]
    # Reached through the invitation list: 东岭 (高新, 科技型), 南山 (高新), 北山 (none) invited; 东岭 and 南山 came.
    assert figures.invitations_visible
    assert _tier_counts(figures.invited_tiers) == {"高新技术企业": 2, "科技型中小企业": 1, "未入库": 1}
    assert _tier_counts(figures.attended_tiers) == {"高新技术企业": 2, "科技型中小企业": 1, "未入库": 0}


def test_report_figures_for_a_party_and_an_analyst(world):
    figures, tiers = _figures(world, "dongling")  # sees its own need and the 公开 capabilities only
    assert figures.funnel == {"suggested": 2, "accepted": 1, "met": 1, "signed": 1, "registered": 1}
    assert figures.signed_by_domain == {"电子信息": 1} and figures.amount_by_type == {"技术开发": 100.0}
    assert tiers == {"高新技术企业": 1, "科技型中小企业": 1, "未入库": 0}
    assert not figures.invitations_visible and figures.invited_tiers == {} == figures.attended_tiers
    figures, tiers = _figures(world, "analyst")  # all needs, 公开 capabilities, no amounts, no invitation list
    assert figures.funnel == {"suggested": 4, "accepted": 2, "met": 1, "signed": 1, "registered": 1}
    assert figures.amount_by_type == {} and figures.amount_by_domain == {}
    assert tiers == {"高新技术企业": 1, "科技型中小企业": 1, "未入库": 2}
    assert not figures.invitations_visible and figures.invited_tiers == {}


def test_report_pages_and_workbooks(world):
    app, event_id = world["app"], world["event"]
    organiser = login(app.test_client(), "bureau")
    book = openpyxl.load_workbook(io.BytesIO(organiser.get(f"/events/{event_id}/report.xlsx").data))
    signed = {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert signed["新材料"] == 2 and signed["电子信息"] == 1 and sum(signed.values()) == 4
    funnel = [row[1] for row in book.worksheets[3].iter_rows(min_row=2, values_only=True)]
    assert funnel == [5, 3, 2, 4, 1]
    period = organiser.get("/reports?start=2025-01-01&end=2025-12-31").get_data(as_text=True)
    assert "报表测试会" in period and period.count('data-chart="') == 7 and "@media print" not in period
    book = openpyxl.load_workbook(io.BytesIO(organiser.get("/reports.xlsx?start=2025-01-01&end=2025-12-31").data))
    trend = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert trend == [("报表测试会", "2025-05-20", 4, 1, 180.5)]
    assert organiser.get("/reports?start=2025-13-01").status_code == 422
    assert "没有您可查看" in organiser.get("/reports?start=2020-01-01&end=2020-12-31").get_data(as_text=True)


def test_no_classified_title_or_foreign_amount_in_a_members_report(world):
    app, event_id = world["app"], world["event"]
    for username in ("dongling", "analyst"):
        client = login(app.test_client(), username)
        bodies = [client.get(f"/events/{event_id}/report").get_data(as_text=True),
                  client.get(f"/events/{event_id}").get_data(as_text=True),
                  client.get("/reports?start=2025-01-01&end=2025-12-31").get_data(as_text=True)]
        for url in (f"/events/{event_id}/report.xlsx", "/reports.xlsx?start=2025-01-01&end=2025-12-31"):
            book = openpyxl.load_workbook(io.BytesIO(client.get(url).data))
            bodies.append(" ".join(str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                                   for c in row))
        text = "".join(bodies)
        assert SECRET_TITLE not in text and "50.5" not in text and "180.5" not in text, username
        assert ("技术开发 1 100" in bodies[-2]) == (username == "dongling")  # a party sees its own deal's amount


def rows(sheet):
    """A sheet's data rows (after the header) as tuples."""
    return [tuple(r) for r in sheet[1:]]


def _sheets(client, url):
    """``{sheet title: rows}`` of a report workbook downloaded through the web app."""
    book = openpyxl.load_workbook(io.BytesIO(client.get(url).data))
    return [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]


def test_enterprises_reached_by_tier_say_which_definition_each_figure_uses(world):
    app, event_id = world["app"], world["event"]
    organiser = login(app.test_client(), "bureau")
    sheets = _sheets(organiser, f"/events/{event_id}/report.xlsx")
    tiers = sheets[4]
    assert tiers[0] == ("梯队", "参会企业", "受邀企业", "到会企业")
    assert {row[0]: row[1:] for row in tiers[1:]} == {
        "科技型中小企业": (1, 1, 1), "高新技术企业": (1, 2, 2), "专精特新中小企业": (0, 0, 0),
        "专精特新“小巨人”企业": (0, 0, 0), "创新型企业": (0, 0, 0), "领军企业": (0, 0, 0), "未入库": (2, 1, 0)}
    definitions = dict(sheets[-1][1:])
    assert "受邀企业：邀请名单上的企业" in definitions["企业覆盖（按梯队）"]
    assert "到会企业：邀请名单上标记为到会的企业" in definitions["企业覆盖（按梯队）"]
    page = organiser.get(f"/events/{event_id}/report").get_data(as_text=True)
    assert "参会企业：在本场提交了需求的企业" in page and page.count('class="hint report-note"') == 6
    # A party and an analyst do not see the invitation list: participants only, and the note says so.
    for username in ("dongling", "analyst"):
        client = login(app.test_client(), username)
        sheets = _sheets(client, f"/events/{event_id}/report.xlsx")
        assert sheets[4][0] == ("梯队", "参会企业"), username
        assert "只计参会企业" in dict(sheets[-1][1:])["企业覆盖（按梯队）"]
    # The period report counts each enterprise once over its events, with the same columns for the organiser.
    period = _sheets(organiser, "/reports.xlsx?start=2025-01-01&end=2025-12-31")
    assert {row[0]: row[1:] for row in period[5][1:]}["高新技术企业"] == (1, 2, 2)


VIEWERS = ("bureau", "dongling", "analyst")


def test_analyst_frames_are_the_web_reports_numbers(world):
    from webapp import analysis

    app, event_id = world["app"], world["event"]
    with analysis.open_database(world["folder"] / "webapp.sqlite") as database:
        for username in VIEWERS:
            viewer = database.viewer(username)
            frames = database.event_report(viewer, event_id)
            web = _sheets(login(app.test_client(), username), f"/events/{event_id}/report.xlsx")
            assert rows(web[0]) == list(frames.signed.itertuples(index=False, name=None)), username
            by_kind = frames.amounts.groupby("contract_type", sort=False)[["deals", "amount"]].sum()
            assert rows(web[1]) == [(k, d, round(a, 2)) for k, (d, a) in by_kind.iterrows()], username
            by_domain = frames.amounts.groupby("domain", sort=False)["amount"].sum()
            assert rows(web[2]) == [(d, round(a, 2)) for d, a in by_domain.items()], username
            assert [r[1] for r in rows(web[3])] == frames.funnel["count"].tolist(), username
            shown = ["tier", "participating"] + (["invited", "attended"] if frames.invitations_visible else [])
            assert rows(web[4]) == list(frames.enterprises[shown].astype(object).itertuples(index=False, name=None))
            assert rows(web[5]) == list(frames.institutes.itertuples(index=False, name=None)), username
            period = database.period_report(viewer, "2025-01-01", "2025-12-31")
            web_period = _sheets(login(app.test_client(), username), "/reports.xlsx?start=2025-01-01&end=2025-12-31")
            assert rows(web_period[0]) == [(e, d.date().isoformat(), s, r, round(a, 2)) for e, d, s, r, a in
                                           period.trend[["event", "date", "signed", "registered", "amount"]]
                                           .itertuples(index=False, name=None)], username
        # The hand-computed figures, tidy: the organiser's amounts by type × domain, the analyst's none.
        bureau, analyst = database.viewer("bureau"), database.viewer("analyst")
        amounts = database.event_report(bureau, event_id).amounts.query("deals > 0")
        assert list(amounts.itertuples(index=False, name=None)) == [
            ("技术开发", "电子信息", 1, 100.0), ("技术转让", "新材料", 1, 30.0), ("技术服务", "先进制造与自动化", 1, 50.5)]
        report = database.event_report(analyst, event_id)
        assert report.amounts["amount"].sum() == 0 and not report.invitations_visible
        assert report.enterprises["invited"].isna().all() and report.funnel["count"].tolist() == [4, 2, 1, 1, 1]
        assert database.event_report(bureau, event_id).enterprises.set_index("tier").loc["未入库"].tolist() == [2, 1, 0]


def test_analyst_frames_of_deals_and_organisations_follow_the_viewer(world):
    from matcher import InputError
    from webapp import analysis

    event_id = world["event"]
    with analysis.open_database(world["folder"] / "webapp.sqlite") as database:
        bureau, dongling, analyst, officer = (database.viewer(u) for u in ("bureau", "dongling", "analyst", "officer"))
        deals = database.deals(bureau)
        assert deals[["need_id", "stage", "contract_type", "amount"]].astype(object).fillna("").values.tolist() == [
            ["N1", "登记", "技术开发", 100.0], ["N2", "意向", "", ""], ["N3", "签约", "技术服务", 50.5],
            ["", "签约", "技术转让", 30.0]]
        assert deals["event_id"].eq(event_id).all() and deals.loc[0, "registered_on"] == dt.datetime(2025, 7, 1)
        # The analyst: no classified pair (N3 ↔ C3), no pairless outcome, no amount, no registration number.
        seen = database.deals(analyst)
        assert seen["need_id"].tolist() == ["N1", "N2"] and seen["amount"].isna().all()
        assert not seen["amount_visible"].any() and (seen["registration_no"] == "").all()
        assert database.deals(dongling)[["need_id", "amount"]].values.tolist() == [["N1", 100.0]]
        # Organisations with tiers in force on the event's date; a member gets its own only, an officer none.
        organisations = database.organisations(analyst, on="2025-05-20").set_index("name")
        assert organisations.loc["东岭精密", "tiers"] == "科技型中小企业、高新技术企业"
        assert organisations.loc["西岭材料", "tiers"] == "" and organisations.loc["南山科技", "tiers"] == "高新技术企业"
        assert organisations.loc["江川理工大学", "institute_type"] == "高校"
        assert database.organisations(analyst, on="2026-06-01").set_index("name").loc["南山科技", "tiers"] == ""
        assert database.organisations(dongling)["name"].tolist() == ["东岭精密"]
        assert database.organisations(officer).empty and database.tiers(officer).empty
        tiers = database.tiers(analyst, on=dt.date(2025, 5, 20))
        assert tiers.query("name == '西岭材料'")[["tier", "status", "in_force"]].values.tolist() == [
            ["科技型中小企业", "expired", False]]
        assert tiers["in_force"].sum() == 3
        with pytest.raises(InputError, match="may not open"):
            database.event_report(officer, event_id)
        with pytest.raises(InputError, match="no active account"):
            database.viewer("nobody")
        with pytest.raises(InputError, match="Viewer"):
            database.deals("analyst")
        assert database.event_report(analysis.SYSTEM, event_id).funnel["count"].tolist() == [5, 3, 2, 4, 1]
    with pytest.raises(InputError, match="no database file"), analysis.open_database(world["folder"] / "gone.sqlite"):
        pass


def test_opening_for_analysis_leaves_the_database_as_it_was(world, tmp_path):
    import sqlite3

    from matcher import InputError
    from webapp import analysis

    copy = tmp_path / "copy.sqlite"
    with sqlite3.connect(world["folder"] / "webapp.sqlite") as source, sqlite3.connect(copy) as target:
        source.backup(target)  # the live file's WAL included
    with sqlite3.connect(copy) as connection:  # a ranking the server is running right now
        connection.execute("INSERT INTO jobs (event_id, kind, status, progress, stage, error, payload, created_at) "
                           "VALUES (?, 'rank', 'running', 40, '', '', '{}', '2025-05-20 09:00:00')", (world["event"],))
    with analysis.open_database(copy) as database:
        assert len(database.events(database.viewer("analyst"))) == 1
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT status FROM jobs").fetchall() == [("running",)]  # not marked interrupted
        connection.execute("UPDATE alembic_version SET version_num = '0009_event_day'")
    with pytest.raises(InputError, match="db upgrade"), analysis.open_database(copy):
        pass


def test_sample_database_reproduces_the_seed_tally(tmp_path):
    from matcher import InputError
    from webapp import analysis

    with pytest.raises(InputError, match="days ago"):
        analysis.build_sample_database(tmp_path / "new.sqlite", event_date=dt.date.today())
    path = analysis.build_sample_database(tmp_path / "sample.sqlite", event_date="2026-10-01")
    with pytest.raises(InputError, match="exists"):
        analysis.build_sample_database(path)
    with analysis.open_database(path) as database:
        organiser = database.viewer("organiser")
        report = database.event_report(organiser, 1)
        # The last event's tally from the issue: 8 projects, 2 新材料, 4 先进制造与自动化, 1 电子信息, 1 生物医药.
        assert report.signed.set_index("domain")["projects"].to_dict() == {
            "电子信息": 1, "新材料": 2, "先进制造与自动化": 4, "高技术服务": 0, "生物医药": 1, "其他": 0}
        assert report.funnel.set_index("stage").loc[["signed", "registered"], "count"].tolist() == [8, 4]
        assert report.amounts["amount"].sum() == 1299.5 and report.amounts["deals"].sum() == 8
        # data/invitations.csv: 11 invited, 7 came; tiers of data/organisations.csv in force on 2026-10-01.
        reached = report.enterprises.set_index("tier")
        assert reached["invited"].tolist() == [3, 7, 3, 1, 0, 1, 2] and reached["attended"].tolist() == [2, 6, 3, 1, 0, 0, 0]
        deals = database.deals(organiser)
        assert deals["stage"].value_counts().to_dict() == {"登记": 4, "签约": 4, "洽谈": 2, "意向": 1}
        assert len(database.organisations(organiser)) == 53
