"""Organisation profiles: the GB 32100-2015 credit-code check, tier validity, who may see and edit, imports."""
import datetime as dt
import io

import openpyxl
import pytest
from webapp_helpers import admin_client, csv_bytes, db_count, ensure_user, login, make_app

from matcher.organisations import (
    credit_code_check_character,
    credit_code_problem,
    industry_code_problem,
)

# Worked by hand with values 0-9, A=10 … H=17, J=18 … N=22, P=23, Q=24, R=25, T=26, U=27, W=28, X=29, Y=30
# and weights 3**(i-1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28:
# 91350100M000100Y4: 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + M(21)·20 + 1·8 + Y(30)·30 + 4·28 = 1640 = 52·31 + 28 → 31-28 = 3
# 12100000400000624: 1·1 + 2·3 + 1·9 + 4·20 + 6·10 + 2·30 + 4·28 = 328 = 10·31 + 18 → 31-18 = 13 = D
# 91320500000000002: 9·1 + 1·3 + 3·9 + 2·27 + 5·26 + 2·28 = 279 = 9·31 → remainder 0 gives check character 0
VALID = ["91350100M000100Y43", "12100000400000624D", "913205000000000020"]


@pytest.mark.parametrize("code", VALID)
def test_valid_credit_codes(code):
    assert credit_code_check_character(code[:17]) == code[17]
    assert credit_code_problem(code) is None


@pytest.mark.parametrize("code, rule", [
    ("91350100M000100Y44", "check"),        # one off in the check character
    ("91350100M000100Y4", "length"),
    ("91350100M000100Y433", "length"),
    ("91350100M00O100Y43", "characters"),   # letter O is not in the set
    ("96350100M000100Y43", "authority"),    # 工商 (9) registers categories 1-3 only
    ("Z1350100M000100Y43", "characters"),
    ("9135A100M000100Y43", "region"),       # administrative division must be six digits
    ("12100000400000624C", "check"),
])
def test_invalid_credit_codes(code, rule):
    assert credit_code_problem(code) == rule


def test_industry_codes():
    assert industry_code_problem("C3911") is None and industry_code_problem("3911") is None
    assert industry_code_problem("C") is None and industry_code_problem("M73") is None
    assert industry_code_problem("A3911") == "section"  # 39 is 制造业 (C), not 农林牧渔 (A)
    assert industry_code_problem("C99") == "section"
    assert industry_code_problem("X12") == "format" and industry_code_problem("C39111") == "format"


def test_tier_validity_rules(app):
    from webapp.services.organisations import check_tier, tier_status

    with app.test_request_context():
        clean, problems = check_tier("高新技术企业", "gr202332001234", "2024-12-01", "2027-12-01")
        assert problems == [] and clean["number"] == "GR202332001234"
        fields = lambda *args: [p["field"] for p in check_tier(*args)[1]]
        assert fields("高新技术企业", "GR202332001234", "2024-12-01", "2028-12-02") == ["valid_until"]  # > 3 years
        assert fields("高新技术企业", "A123", "2024-12-01", "2026-12-01") == ["number"]
        assert fields("高新技术企业", "GR202332001234", "", "") == ["valid_until"]  # expiry required
        assert fields("科技型中小企业", "", "2025-01-01", "2025-12-31") == ["number"]
        assert fields("科技型中小企业", "202532011500001234", "2025-01-01", "2026-06-30") == ["valid_until"]
        assert fields("专精特新“小巨人”企业", "工信部2023-12", "2023-07-01", "2023-06-30") == ["valid_until"]
        assert fields("领军企业", "", "", "") == []
        assert fields("未来企业", "", "", "") == ["tier"]
        assert fields("高新技术企业", "GR202332001234", "2024/12/01", "2026-12-01") == ["valid_from"]

    class Tier:
        def __init__(self, start, end):
            self.valid_from, self.valid_until = start, end

    today = dt.date(2026, 6, 1)
    assert tier_status(Tier(dt.date(2025, 1, 1), dt.date(2026, 5, 31)), today) == "expired"
    assert tier_status(Tier(dt.date(2025, 1, 1), dt.date(2026, 6, 1)), today) == "expiring"
    assert tier_status(Tier(dt.date(2025, 1, 1), dt.date(2026, 8, 30)), today) == "expiring"
    assert tier_status(Tier(dt.date(2025, 1, 1), dt.date(2026, 8, 31)), today) == "valid"
    assert tier_status(Tier(dt.date(2026, 7, 1), dt.date(2027, 8, 31)), today) == "pending"


def _profile(app, name):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Organisation, OrgProfile, OrgTier

    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.name == name))
        profile = db.session.get(OrgProfile, org.id)
        tiers = {t.tier: (t.number, t.valid_until) for t in db.session.scalars(select(OrgTier).filter_by(org_id=org.id))}
        return org.id, profile.credit_code if profile else None, profile, tiers


def test_profile_form_refuses_bad_and_duplicate_codes_and_keeps_history(tmp_path):
    app = make_app(tmp_path)
    admin = admin_client(app)
    ensure_user(app, "bureau", "organiser")
    organiser = login(app.test_client(), "bureau")
    response = organiser.post("/organisations", data={"name": "东岭精密", "kind": "enterprise",
                                                      "credit_code": "91350100M000100Y44"})
    assert response.status_code == 302
    assert "统一社会信用代码" in organiser.get("/organisations").get_data(as_text=True)
    from webapp.models import Organisation
    assert db_count(app, Organisation, name="东岭精密") == 0
    response = organiser.post("/organisations", data={"name": "东岭精密", "kind": "enterprise",
                                                      "credit_code": "91350100m000100y43", "industry_code": "3911",
                                                      "town": "东岭镇"})
    org_id, code, profile, _tiers = _profile(app, "东岭精密")
    assert code == "91350100M000100Y43" and profile.industry_code == "C3911"
    # The same code for a second enterprise is refused, naming the holder.
    response = admin.post("/organisations", data={"name": "西岭精密", "kind": "enterprise",
                                                  "credit_code": "91350100M000100Y43"}, follow_redirects=True)
    assert "已属于“东岭精密”" in response.get_data(as_text=True)
    assert db_count(app, Organisation, name="西岭精密") == 0
    assert organiser.post(f"/organisations/{org_id}", data={"town": "西岭镇", "rd_staff": "42"}).status_code == 302
    page = organiser.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert "东岭镇" in page and "西岭镇" in page and "bureau" in page  # before, after, who
    assert organiser.post(f"/organisations/{org_id}/tiers", data={
        "tier": "高新技术企业", "number": "GR202332001234", "valid_from": str(dt.date.today() - dt.timedelta(days=1000)),
        "valid_until": str(dt.date.today() + dt.timedelta(days=30))}).status_code == 302
    assert _profile(app, "东岭精密")[3]["高新技术企业"][0] == "GR202332001234"
    expiring = organiser.get("/organisations/expiring").get_data(as_text=True)
    assert "东岭精密" in expiring and "GR202332001234" in expiring


def test_members_see_and_edit_only_their_own_descriptive_fields(tmp_path):
    app = make_app(tmp_path)
    admin = admin_client(app)
    admin.post("/organisations", data={"name": "东岭精密", "kind": "enterprise", "credit_code": VALID[0]})
    admin.post("/organisations", data={"name": "江川理工大学", "kind": "institute", "credit_code": VALID[1],
                                       "institute_type": "高校"})
    own_id, other_id = _profile(app, "东岭精密")[0], _profile(app, "江川理工大学")[0]
    ensure_user(app, "member", "enterprise", org="东岭精密")
    member = login(app.test_client(), "member")
    assert member.get(f"/organisations/{other_id}").status_code == 404
    assert member.get("/organisations").status_code == 403
    assert member.get("/organisations/expiring").status_code == 403
    assert member.get(f"/organisations/{own_id}").status_code == 200
    # The credit code and tiers are the bureau's: a member's form cannot change them.
    member.post(f"/organisations/{own_id}", data={"credit_code": VALID[2], "main_products": "精密压铸件"})
    _id, code, profile, _tiers = _profile(app, "东岭精密")
    assert code == VALID[0] and profile.main_products == "精密压铸件"
    assert member.post(f"/organisations/{own_id}/tiers", data={"tier": "领军企业"}).status_code == 403
    assert member.post(f"/organisations/{other_id}", data={"town": "X"}).status_code == 404
    assert _profile(app, "江川理工大学")[2].town == ""


HEADER = ["单位名称", "单位类型", "统一社会信用代码", "行业代码", "所在镇街", "研发人员数", "院所类型",
          "高新技术企业证书编号", "高新技术企业发证日期", "高新技术企业有效期至"]


def _import(client, rows, name="orgs.csv"):
    return client.post("/organisations/import", data={"file": (io.BytesIO(csv_bytes(HEADER, rows)), name)},
                       content_type="multipart/form-data")


def test_import_names_every_bad_row_and_stores_nothing(tmp_path):
    from webapp.models import Organisation, OrgChange, OrgTier

    app = make_app(tmp_path)
    admin = admin_client(app)
    rows = [
        ["东岭精密", "企业", VALID[0], "C3911", "东岭镇", "40", "", "GR202332001234", "2024-12-01", "2027-12-01"],
        ["西岭精密", "企业", "91350100M000100Y44", "C3911", "西岭镇", "x", "", "", "", ""],
        ["南岭材料", "企业", VALID[0], "A3911", "", "", "", "GR2023", "2024-12-01", "2028-12-01"],
        ["江川理工大学", "院所", VALID[1], "", "", "", "研究院", "", "", ""],
    ]
    response = _import(admin, rows, "园区企业.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    expected = [(3, "统一社会信用代码"), (3, "研发人员数"), (4, "统一社会信用代码"), (4, "行业代码"),
                (4, "高新技术企业证书编号"), (4, "高新技术企业有效期至"), (5, "院所类型")]
    from webapp.db import db
    from webapp.services import org_imports

    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        from webapp.errors import ValidationFailed
        from webapp.visibility import SYSTEM

        with pytest.raises(ValidationFailed) as failure:
            org_imports.import_organisations(SYSTEM, FileStorage(io.BytesIO(csv_bytes(HEADER, rows)), "园区企业.csv"))
        found = [(p["row"], p["column"]) for p in failure.value.errors]
        assert all(p["file"] == "园区企业.csv" for p in failure.value.errors)
        db.session.rollback()
    assert sorted(found) == sorted(expected)
    assert "与第 2 行重复" in page and "第 18 位校验码" in page and "园区企业.csv" in page
    assert db_count(app, Organisation) == 0 and db_count(app, OrgTier) == 0 and db_count(app, OrgChange) == 0
    assert not list((tmp_path / "instance" / "uploads" / "organisations").glob("*/*"))


def test_import_merges_by_credit_code(tmp_path):
    from webapp.models import Organisation

    app = make_app(tmp_path)
    admin = admin_client(app)
    admin.post("/organisations", data={"name": "东岭精密制造有限公司", "kind": "enterprise", "credit_code": VALID[0],
                                       "town": "东岭镇"})
    admin.post("/organisations", data={"name": "江川理工大学", "kind": "institute"})
    rows = [
        # Same code under the bureau's short name: updates the stored organisation, keeps its name.
        ["东岭精密", "企业", VALID[0], "C3911", "东岭镇", "45", "", "GR202332001234", "2024-12-01", "2027-12-01"],
        ["江川理工大学", "院所", VALID[1], "", "大学城", "", "高校", "", "", ""],       # by name, code added
        ["北辰新材料", "企业", VALID[2], "C3985", "北辰街道", "12", "", "", "", ""],     # new
    ]
    response = _import(admin, rows)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "新建 1 个单位，更新 2 个" in response.get_data(as_text=True)
    assert db_count(app, Organisation) == 3
    org_id, code, profile, tiers = _profile(app, "东岭精密制造有限公司")
    assert code == VALID[0] and profile.rd_staff == 45 and tiers["高新技术企业"][0] == "GR202332001234"
    assert _profile(app, "江川理工大学")[1] == VALID[1] and _profile(app, "江川理工大学")[2].institute_type == "高校"
    history = admin.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert "导入：orgs.csv 第 2 行" in history
    # The same file again changes nothing.
    assert "无变化 3 个" in _import(admin, rows).get_data(as_text=True)
    # A known name with a different code is a conflict, and the whole file is refused.
    response = _import(admin, [["北辰新材料", "企业", VALID[1].replace("12", "91", 1)[:17] + "0", "", "", "", "", "", "", ""]])
    assert response.status_code == 422


def test_organisation_api(tmp_path):
    app = make_app(tmp_path)
    admin = admin_client(app)
    admin.post("/organisations", data={"name": "东岭精密", "kind": "enterprise", "credit_code": VALID[0],
                                       "industry_code": "C3911"})
    admin.post("/organisations", data={"name": "江川理工大学", "kind": "institute", "institute_type": "高校"})
    own_id, other_id = _profile(app, "东岭精密")[0], _profile(app, "江川理工大学")[0]
    admin.post(f"/organisations/{own_id}/tiers", data={"tier": "领军企业"})
    body = admin.get("/api/organisations?tier=领军企业").get_json()
    assert [o["name"] for o in body["organisations"]] == ["东岭精密"]
    assert body["organisations"][0]["credit_code"] == VALID[0]
    assert body["organisations"][0]["tiers"] == [{"tier": "领军企业", "number": "", "valid_from": None,
                                                 "valid_until": None, "status": "valid"}]
    ensure_user(app, "member", "enterprise", org="东岭精密")
    member = login(app.test_client(), "member")
    assert member.get("/api/organisations").status_code == 403
    assert member.get(f"/api/organisations/{own_id}").get_json()["organisation"]["industry_code"] == "C3911"
    assert member.get(f"/api/organisations/{other_id}").status_code == 404


def test_import_template_filled_in_imports_and_its_example_passes_every_rule(tmp_path):
    from webapp.models import Organisation, OrgTier
    from webapp.services.import_templates import ORGANISATION_EXAMPLE

    app = make_app(tmp_path)
    admin = admin_client(app)
    assert "/organisations/import/template.xlsx" in admin.get("/organisations/import").get_data(as_text=True)
    response = admin.get("/organisations/import/template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    data, guide = book.worksheets
    header = [c.value for c in data[1]]
    assert header[:4] == ["单位名称", "单位类型", "统一社会信用代码", "行业代码"]
    assert {"高新技术企业编号", "高新技术企业起始日期", "高新技术企业有效期至", "科技型中小企业编号",
            "专精特新“小巨人”企业有效期至", "领军企业编号"} <= set(header)
    example = dict(zip(header, [c.value for c in data[2]]))
    assert example["单位名称"].startswith("示例") and example["统一社会信用代码"] == ORGANISATION_EXAMPLE["credit_code"]
    assert data["C2"].number_format == "@"  # the credit code stays text in Excel
    rules = {row[0]: row for row in guide.iter_rows(min_row=2, values_only=True) if row[0]}
    assert set(header) <= set(rules)  # every column is explained
    assert "GB 32100-2015" in rules["统一社会信用代码"][2] and "GR" in rules["高新技术企业编号"][2]
    assert "GB/T 4754-2017" in rules["行业代码"][2] and "YYYY-MM-DD" in rules["高新技术企业有效期至"][2]
    assert "3 年" in rules["高新技术企业有效期至"][4] and "1 年" in rules["科技型中小企业有效期至"][4]
    # Filled in below the example, as a clerk would: an enterprise with two tiers and an institute.
    column = {name: index + 1 for index, name in enumerate(header)}
    for row, values in ((3, {"单位名称": "东岭精密", "单位类型": "企业", "统一社会信用代码": VALID[0], "行业代码": "3911",
                             "研发人员数": 40, "高新技术企业编号": "GR202432000001", "高新技术企业起始日期": "2024-01-01",
                             "高新技术企业有效期至": "2026-12-31", "专精特新中小企业编号": "ZJTX-2025-017",
                             "专精特新中小企业有效期至": "2027-12-31"}),
                        (4, {"单位名称": "江川理工大学", "单位类型": "院所", "院所类型": "高校", "学科方向": "材料；机械"})):
        for name, value in values.items():
            data.cell(row=row, column=column[name], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    response = admin.post("/organisations/import", data={"file": (io.BytesIO(buffer.getvalue()), "模板.xlsx")},
                          content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "新建 2 个单位" in page and "第 2 行是模板的填写示例" in page
    assert db_count(app, Organisation) == 2 and db_count(app, OrgTier) == 2
    _org_id, _code, profile, tiers = _profile(app, "东岭精密")
    assert profile.industry_code == "C3911" and tiers["专精特新中小企业"][0] == "ZJTX-2025-017"
    assert _profile(app, "江川理工大学")[2].disciplines == "材料、机械"
    # The example row itself passes every rule: under a real name it imports with both of its tiers.
    data.cell(row=2, column=1, value="某某精密机械有限公司")
    data.delete_rows(3, 2)
    buffer = io.BytesIO()
    book.save(buffer)
    response = admin.post("/organisations/import", data={"file": (io.BytesIO(buffer.getvalue()), "示例.xlsx")},
                          content_type="multipart/form-data")
    assert response.status_code == 200 and "新建 1 个单位" in response.get_data(as_text=True)
    _org_id, code, profile, tiers = _profile(app, "某某精密机械有限公司")
    assert code == ORGANISATION_EXAMPLE["credit_code"] and profile.revenue_band == ORGANISATION_EXAMPLE["revenue_band"]
    assert set(tiers) == {"高新技术企业", "科技型中小企业"}
    # A file holding nothing but the example is refused, and members cannot fetch the template.
    only_example = admin.post("/organisations/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(admin.get("/organisations/import/template.xlsx").data), "模板.xlsx")})
    assert only_example.status_code == 422 and "只有填写示例行" in only_example.get_data(as_text=True)
    ensure_user(app, "member", "enterprise", org="东岭精密")
    assert login(app.test_client(), "member").get("/organisations/import/template.xlsx").status_code == 403


def test_expiry_list_shows_qualification_certificates_to_those_who_see_qualifications(tmp_path):
    from webapp_helpers import NEED_HEADER, create_event, import_file, need_row

    from webapp.db import db
    from webapp.models import Organisation

    app = make_app(tmp_path)
    admin = admin_client(app)
    first, second = create_event(admin, "第一场"), create_event(admin, "第二场")
    import_file(admin, first, "need", csv_bytes(NEED_HEADER, [need_row("N1", org="东岭精密"),
                                                             need_row("N2", org="远期资质企业")]), "needs.csv")
    import_file(admin, second, "need", csv_bytes(NEED_HEADER, [need_row("N1", org="西岭材料"),
                                                              need_row("N2", org="撤销资质企业")]), "needs.csv")
    today = dt.date.today()
    officer_password = "officer-password-1"
    ensure_user(app, "officer", "security", officer_password)
    officer = login(app.test_client(), "officer", officer_password)
    for name, expires in (("东岭精密", today + dt.timedelta(days=30)), ("远期资质企业", today + dt.timedelta(days=400)),
                          ("西岭材料", today + dt.timedelta(days=60)), ("撤销资质企业", today + dt.timedelta(days=10))):
        assert officer.post("/admin/organisations", data={"name": name, "clearance": "二级", "certificate_no": f"BM-{name}",
                                                          "expires_on": str(expires)}).status_code == 302
    officer.post("/admin/organisations", data={"name": "撤销资质企业", "clearance": "无"})  # withdrawn: no expiry
    with app.app_context():  # 西岭's certificate lapsed 10 days ago (verify refuses past dates, time moves on)
        organisation = db.session.scalar(db.select(Organisation).where(Organisation.name == "西岭材料"))
        organisation.expires_on = today - dt.timedelta(days=10)
        db.session.commit()
    with app.app_context():
        dongling = db.session.scalar(db.select(Organisation.id).where(Organisation.name == "东岭精密"))
    admin.post(f"/organisations/{dongling}/tiers", data={"tier": "高新技术企业", "number": "GR202332001234",
                                                         "valid_from": str(today - dt.timedelta(days=1000)),
                                                         "valid_until": str(today + dt.timedelta(days=20))})
    ensure_user(app, "bureau", "organiser", event_ids=[first])
    ensure_user(app, "member", "enterprise", org="东岭精密")
    ensure_user(app, "analyst", "analyst")

    def sections(client):
        response = client.get("/organisations/expiring")
        page = response.get_data(as_text=True)
        qualifications = page.split('id="expiring-qualifications"')[1] if response.status_code == 200 else ""
        return response.status_code, ('id="expiring-tiers"' in page), qualifications

    status, tiers, listed = sections(officer)  # every organisation's certificate, no tier section
    assert status == 200 and not tiers
    assert "BM-东岭精密" in listed and "BM-西岭材料" in listed and "已过期 10 天" in listed
    assert listed.index("西岭材料") < listed.index("东岭精密")  # soonest first
    assert "远期资质企业" not in listed and "撤销资质企业" not in listed  # outside the window; withdrawn
    status, tiers, listed = sections(login(app.test_client(), "bureau"))  # organiser of the first event only
    assert status == 200 and tiers and "BM-东岭精密" in listed and "西岭材料" not in listed
    status, tiers, listed = sections(admin)
    assert status == 200 and tiers and "BM-东岭精密" in listed and "BM-西岭材料" in listed
    assert "GR202332001234" in admin.get("/organisations/expiring").get_data(as_text=True)
    for username in ("member", "analyst"):
        assert sections(login(app.test_client(), username))[0] == 403
    from webapp.services import qualifications
    from webapp.visibility import ANONYMOUS, SYSTEM

    with app.app_context():
        assert [(o.name, left) for o, left in qualifications.expiring(SYSTEM, today=today)] == [
            ("西岭材料", -10), ("东岭精密", 30)]
        assert qualifications.expiring(ANONYMOUS, today=today) == []
        assert [o.name for o, _left in qualifications.expiring(SYSTEM, today=today, days=500)][-1] == "远期资质企业"
