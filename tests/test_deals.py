"""Deal pipeline: 意向 → 洽谈 → 签约 → 登记, one step at a time, and who sees the amounts."""
import datetime as dt

import pytest
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    capability_row,
    create_event,
    csv_bytes,
    db_count,
    ensure_user,
    import_file,
    login,
    make_app,
    need_row,
)

AMOUNT = "1234.56"


@pytest.fixture
def world(tmp_path):
    app = make_app(tmp_path)
    admin = admin_client(app)
    event_id = create_event(admin, "合作进度测试会")
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, [
        need_row("N1", org="东岭精密"), need_row("N2", org="西岭材料", domain="新材料")]), "needs.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, [
        capability_row("C1", org="江川理工大学"), capability_row("C2", org="北辰研究所", domain="新材料")]),
        "capabilities.csv")
    ensure_user(app, "bureau", "organiser", event_ids=[event_id])
    return {"app": app, "admin": admin, "event": event_id, "organiser": login(app.test_client(), "bureau")}


def _deal(app, event_id, need_id):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Outcome

    with app.app_context():
        return db.session.scalar(select(Outcome).filter_by(event_id=event_id, need_id=need_id))


def _advance(client, event_id, deal_id, **form):
    return client.post(f"/events/{event_id}/deals/{deal_id}/advance", data=form, follow_redirects=True)


def test_transitions_go_forward_one_stage_at_a_time(world):
    from webapp.models import DealStep

    app, event_id, organiser = world["app"], world["event"], world["organiser"]
    assert organiser.post(f"/events/{event_id}/deals", data={"pair": "N1|C1"}).status_code == 302
    deal = _deal(app, event_id, "N1")
    assert deal.stage == "意向"
    page = organiser.post(f"/events/{event_id}/deals", data={"pair": "N1|C1"}, follow_redirects=True)
    assert "该配对已在跟进中" in page.get_data(as_text=True)
    assert organiser.post(f"/events/{event_id}/deals", data={"pair": "N1|C9"}, follow_redirects=True).status_code == 200
    assert db_count(app, DealStep) == 1
    # Skipping a stage is refused.
    assert "只能进入“洽谈”" in _advance(organiser, event_id, deal.id, to="签约", contract_type="技术开发",
                                      amount=AMOUNT).get_data(as_text=True)
    _advance(organiser, event_id, deal.id, to="洽谈")
    assert _deal(app, event_id, "N1").stage == "洽谈"
    # 签约 needs a known contract type, an amount above 0 and a signing date not in the future.
    tomorrow = str(dt.date.today() + dt.timedelta(days=1))
    for form in ({"contract_type": "技术开发"}, {"contract_type": "技术赠与", "amount": AMOUNT},
                 {"contract_type": "技术开发", "amount": "0"},
                 {"contract_type": "技术开发", "amount": AMOUNT, "signed_on": tomorrow}):
        _advance(organiser, event_id, deal.id, to="签约", **form)
        assert _deal(app, event_id, "N1").stage == "洽谈", form
    _advance(organiser, event_id, deal.id, to="签约", contract_type="技术开发", amount=AMOUNT, signed_on="2026-03-02")
    deal = _deal(app, event_id, "N1")
    assert (deal.stage, deal.contract_type, deal.amount, deal.signed_on) == ("签约", "技术开发", 1234.56,
                                                                              dt.date(2026, 3, 2))
    # Backwards is refused; 登记 needs a number and a date between signing and today.
    assert "不能从“签约”进入“洽谈”" in _advance(organiser, event_id, deal.id, to="洽谈").get_data(as_text=True)
    _advance(organiser, event_id, deal.id, to="登记", registration_no="2026320100000123", registered_on="2026-03-01")
    _advance(organiser, event_id, deal.id, to="登记", registration_no="", registered_on="2026-03-05")
    assert _deal(app, event_id, "N1").stage == "签约"
    _advance(organiser, event_id, deal.id, to="登记", registration_no="2026320100000123", registered_on="2026-03-05")
    deal = _deal(app, event_id, "N1")
    assert (deal.stage, deal.registration_no, deal.registered_on) == ("登记", "2026320100000123", dt.date(2026, 3, 5))
    assert "之后只能进入“—”" in _advance(organiser, event_id, deal.id, to="登记").get_data(as_text=True)
    assert db_count(app, DealStep) == 4


def test_only_signed_deals_count_and_dashboard_outcomes_continue(world):
    app, event_id, organiser = world["app"], world["event"], world["organiser"]
    organiser.post(f"/events/{event_id}/deals", data={"pair": "N2|C2"})
    from webapp.services import outcomes
    from webapp.visibility import SYSTEM

    with app.test_request_context():
        assert outcomes.outcome_summary(SYSTEM, event_id) == ""  # a deal at 意向 is not a signed project
    # An outcome recorded on the dashboard (no type, no amount) enters at 签约 and completes them at 登记.
    organiser.post(f"/events/{event_id}/outcomes", data={"pair": "N1|C1", "count": "1"})
    deal = _deal(app, event_id, "N1")
    assert deal.stage == "签约"
    with app.test_request_context():
        assert outcomes.outcome_summary(SYSTEM, event_id) == "1 项：1 电子信息"
    _advance(organiser, event_id, deal.id, to="登记", registration_no="R-1", registered_on=str(dt.date.today()))
    assert _deal(app, event_id, "N1").stage == "签约"  # type and amount missing
    _advance(organiser, event_id, deal.id, to="登记", registration_no="R-1", registered_on=str(dt.date.today()),
             contract_type="技术服务", amount="88")
    deal = _deal(app, event_id, "N1")
    assert (deal.stage, deal.contract_type, deal.amount) == ("登记", "技术服务", 88.0)


def test_amounts_only_for_organisers_and_the_two_parties(world):
    app, event_id, organiser = world["app"], world["event"], world["organiser"]
    organiser.post(f"/events/{event_id}/deals", data={"pair": "N1|C1"})
    deal = _deal(app, event_id, "N1")
    _advance(organiser, event_id, deal.id, to="洽谈")
    _advance(organiser, event_id, deal.id, to="签约", contract_type="技术开发", amount=AMOUNT)
    for name, role, org in (("need-party", "enterprise", "东岭精密"), ("capability-party", "institute", "江川理工大学"),
                            ("analyst", "analyst", None), ("other-institute", "institute", "北辰研究所"),
                            ("other-enterprise", "enterprise", "西岭材料")):
        ensure_user(app, name, role, org=org)
    shown = {"bureau": organiser, "need-party": login(app.test_client(), "need-party"),
             "capability-party": login(app.test_client(), "capability-party")}
    hidden = {name: login(app.test_client(), name) for name in ("analyst", "other-institute", "other-enterprise")}
    for name, client in {**shown, **hidden}.items():
        pages = [client.get(f"/events/{event_id}/deals"), client.get(f"/events/{event_id}"),
                 client.get(f"/api/events/{event_id}/deals")]
        text = "".join(p.get_data(as_text=True) for p in pages)
        assert all(p.status_code == 200 for p in pages), name
        assert ("1,234.56" in text or AMOUNT in text) == (name in shown), name
    body = hidden["analyst"].get(f"/api/events/{event_id}/deals").get_json()
    assert [(d["stage"], d["amount"], d["amount_visible"]) for d in body["deals"]] == [("签约", None, False)]
    # Analysts read the pipeline and move nothing; members of other organisations do not see this deal (404,
    # as for a missing one); a party may not enter 登记 (organisers only).
    form = {"to": "登记", "registration_no": "X", "registered_on": "2026-01-01"}
    expected = {"analyst": 403, "other-institute": 404, "other-enterprise": 404, "need-party": 403}
    for name, client in (*hidden.items(), ("need-party", shown["need-party"])):
        assert client.post(f"/events/{event_id}/deals/{deal.id}/advance", data=form).status_code == expected[name], name
    assert _deal(app, event_id, "N1").stage == "签约"


def _steps(app, deal_id):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import DealStep

    with app.app_context():
        return [(s.from_stage, s.to_stage, s.username, s.note)
                for s in db.session.scalars(select(DealStep).filter_by(outcome_id=deal_id).order_by(DealStep.id))]


def test_parties_move_their_own_deal_to_talks_and_write_notes(world):
    app, event_id, organiser = world["app"], world["event"], world["organiser"]
    for pair in ("N1|C1", "N2|C2"):  # 东岭精密 ↔ 江川理工大学, 西岭材料 ↔ 北辰研究所
        organiser.post(f"/events/{event_id}/deals", data={"pair": pair})
    first, second = _deal(app, event_id, "N1").id, _deal(app, event_id, "N2").id
    for name, role, org in (("need-party", "enterprise", "东岭精密"), ("capability-party", "institute", "江川理工大学"),
                            ("other-enterprise", "enterprise", "西岭材料"), ("analyst", "analyst", None)):
        ensure_user(app, name, role, org=org)
    ensure_user(app, "other-organiser", "organiser", event_ids=[create_event(world["admin"], "另一场")])
    need_party, capability_party, other, analyst, other_organiser = (
        login(app.test_client(), name) for name in ("need-party", "capability-party", "other-enterprise", "analyst",
                                                    "other-organiser"))
    page = need_party.get(f"/events/{event_id}/deals").get_data(as_text=True)
    assert f"/deals/{first}/advance" in page and f"/deals/{second}/advance" not in page  # its own deal only
    # A party cannot skip to 签约, moves its deal into 洽谈 with a note, and cannot go on to 签约 itself.
    assert "只能进入“洽谈”" in _advance(need_party, event_id, first, to="签约", contract_type="技术开发",
                                      amount=AMOUNT).get_data(as_text=True)
    assert need_party.post(f"/events/{event_id}/deals/{first}/advance",
                           data={"to": "洽谈", "note": "首轮技术交流已完成"}).status_code == 302
    assert _deal(app, event_id, "N1").stage == "洽谈"
    refused = capability_party.post(f"/events/{event_id}/deals/{first}/advance", data={
        "to": "签约", "contract_type": "技术开发", "amount": AMOUNT, "signed_on": "2026-03-02"})
    assert refused.status_code == 403 and "由组织方根据合同" in refused.get_data(as_text=True)
    assert _deal(app, event_id, "N1").stage == "洽谈" and _deal(app, event_id, "N1").amount is None
    page = capability_party.get(f"/events/{event_id}/deals").get_data(as_text=True)
    assert f"/deals/{first}/advance" not in page and "由组织方根据合同和登记证明录入" in page
    # Either party writes notes; empty or overlong notes are refused.
    assert capability_party.post(f"/events/{event_id}/deals/{first}/notes",
                                 data={"note": "合同已于 3 月 2 日签订，请登记"}).status_code == 302
    for note in ("", "长" * 2001):
        capability_party.post(f"/events/{event_id}/deals/{first}/notes", data={"note": note})
    assert _steps(app, first) == [("", "意向", "bureau", ""), ("意向", "洽谈", "need-party", "首轮技术交流已完成"),
                                  ("洽谈", "洽谈", "capability-party", "合同已于 3 月 2 日签订，请登记")]
    # Outsiders: another organisation's member sees neither the deal nor its notes (404), an analyst may not
    # write (403) and reads no notes, another event's organiser gets 404; the other pair's party moves its own.
    for client, status in ((other, 404), (analyst, 403), (other_organiser, 404)):
        assert client.post(f"/events/{event_id}/deals/{first}/advance", data={"to": "签约"}).status_code == status
        assert client.post(f"/events/{event_id}/deals/{first}/notes", data={"note": "x"}).status_code == status
    text = analyst.get(f"/events/{event_id}/deals").get_data(as_text=True)
    assert "首轮技术交流已完成" not in text and "请登记" not in text and "/advance" not in text
    assert other.post(f"/events/{event_id}/deals/{second}/advance", data={"to": "洽谈"}).status_code == 302
    assert _deal(app, event_id, "N2").stage == "洽谈"
    # The organiser reads the notes and confirms the signing.
    page = organiser.get(f"/events/{event_id}/deals").get_data(as_text=True)
    assert "首轮技术交流已完成" in page and "合同已于 3 月 2 日签订，请登记" in page
    _advance(organiser, event_id, first, to="签约", contract_type="技术开发", amount=AMOUNT, signed_on="2026-03-02",
             note="按合同录入")
    assert _deal(app, event_id, "N1").stage == "签约" and _steps(app, first)[-1] == ("洽谈", "签约", "bureau", "按合同录入")
