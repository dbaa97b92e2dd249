"""Targeting: enterprises of the database by tier, industry, town and match strength; the invitation list."""
import datetime as dt
import io

import openpyxl
from webapp_helpers import (
    CAPABILITY_HEADER,
    admin_client,
    capability_row,
    create_event,
    csv_bytes,
    ensure_user,
    import_file,
    login,
    make_app,
)

SECRET = "涉密碳化硅外延缺陷检测装备"


def _setup(tmp_path):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Organisation

    app = make_app(tmp_path)
    admin = admin_client(app)
    event_id = create_event(admin, "邀约测试会", date="2026-05-20")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [
        capability_row("C1", title="碳化硅外延生长与缺陷表征", org="江川理工大学"),
        capability_row("C2", title=SECRET, org="北辰研究所", classification="秘密",
                       description=f"{SECRET}：碳化硅外延片缺陷在线检测，功率器件良率提升。")]), "capabilities.csv")
    for name, code, products, town, industry in (
            ("东岭功率半导体", "91350100M000100Y43", "碳化硅外延片、功率器件", "东岭镇", "C3972"),
            ("西岭中药", "913205000000000020", "中药饮片", "西岭镇", "C2730"),
            ("南岭芯测", "91320582MA1N2P3Q4G", "碳化硅外延片缺陷在线检测设备", "东岭镇", "C3562")):
        admin.post("/organisations", data={"name": name, "kind": "enterprise", "credit_code": code,
                                           "main_products": products, "town": town, "industry_code": industry})
    with app.app_context():
        ids = dict(db.session.execute(select(Organisation.name, Organisation.id)).all())
    # 南岭芯测 holds a verified 二级 qualification, so the 秘密 capability counts for it (its title is not listed).
    with app.app_context():
        organisation = db.session.get(Organisation, ids["南岭芯测"])
        organisation.clearance, organisation.certificate_no = "二级", "BM-1"
        organisation.expires_on = dt.date.today() + dt.timedelta(days=365)
        organisation.verified_at, organisation.verified_by = dt.datetime.now(), "officer"
        db.session.commit()
    admin.post(f"/organisations/{ids['东岭功率半导体']}/tiers", data={
        "tier": "高新技术企业", "number": "GR202432000001", "valid_from": "2024-01-01", "valid_until": "2026-12-31"})
    ensure_user(app, "bureau", "organiser", event_ids=[event_id])
    ensure_user(app, "member", "enterprise", org="东岭功率半导体")
    return app, event_id, ids, login(app.test_client(), "bureau")


def test_targeting_filters_strength_and_invitations(tmp_path):
    app, event_id, ids, organiser = _setup(tmp_path)
    from webapp.services import targeting
    from webapp.visibility import viewer_for

    with app.test_request_context():
        from sqlalchemy import select

        from webapp.db import db
        from webapp.models import Event, User

        viewer = viewer_for(db.session.scalar(select(User).where(User.username == "bureau")))
        event = db.session.get(Event, event_id)
        rows = targeting.candidates(viewer, event)
        by_name = {r["organisation"].name: r for r in rows}
        assert by_name["西岭中药"]["strength"] == 0.0  # nothing in common with the event's capabilities
        assert by_name["东岭功率半导体"]["strength"] > 0 and by_name["东岭功率半导体"]["capability_id"] == "C1"
        assert by_name["南岭芯测"]["capability_id"] == "C2" and by_name["南岭芯测"]["capability_title"] is None
        assert [r["organisation"].name for r in rows][-1] == "西岭中药"  # strongest first
        assert [r["organisation"].name for r in targeting.candidates(viewer, event, tier="高新技术企业")] == ["东岭功率半导体"]
        assert {r["organisation"].name for r in targeting.candidates(viewer, event, town="东岭镇")} == {"东岭功率半导体", "南岭芯测"}
        assert [r["organisation"].name for r in targeting.candidates(viewer, event, industry="C35")] == ["南岭芯测"]
        assert "西岭中药" not in {r["organisation"].name for r in targeting.candidates(viewer, event, min_strength=0.01)}
    page = organiser.get(f"/events/{event_id}/targeting").get_data(as_text=True)
    assert "东岭功率半导体" in page and SECRET not in page and "涉密成果，不列标题" in page
    assert organiser.post(f"/events/{event_id}/invitations",
                          data={"org_id": [ids["东岭功率半导体"], ids["南岭芯测"]]}).status_code == 302
    assert organiser.post(f"/events/{event_id}/invitations", data={"org_id": ["999"]},
                          follow_redirects=True).get_data(as_text=True).count("所选单位不在企业库中") == 1
    from webapp.models import Invitation
    with app.app_context():
        from webapp.db import db

        invitation = db.session.query(Invitation).filter_by(org_id=ids["东岭功率半导体"]).one()
    organiser.post(f"/events/{event_id}/invitations/{invitation.id}", data={"attended": "1"})
    book = openpyxl.load_workbook(io.BytesIO(organiser.get(f"/events/{event_id}/invitations.xlsx").data))
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[4], r[5], r[7]) for r in rows] == [("东岭功率半导体", "高新技术企业", "bureau", "到会"),
                                                        ("南岭芯测", None, "bureau", None)]
    member = login(app.test_client(), "member")
    for response in (member.get(f"/events/{event_id}/targeting"), member.get(f"/events/{event_id}/invitations.xlsx"),
                     member.post(f"/events/{event_id}/invitations", data={"org_id": [ids["西岭中药"]]})):
        assert response.status_code in (403, 404)
