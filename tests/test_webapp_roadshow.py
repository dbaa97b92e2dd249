"""The roadshow programme in the web app: classified talks only in closed sessions, shown and invited by qualification.

One event: an institute with a capability of every tier, each titled with a unique marker, and
enterprises whose verified qualifications span the tiers (plus one whose declared 二级 was never
verified). The open programme must never name a classified capability, to anyone; a member sees
the closed sessions its verified qualification allows and no other; a closed session invites only
enterprises whose verified qualification allows its tier, checked again when the programme is built.
"""
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    create_event,
    csv_bytes,
    ensure_user,
    import_file,
    latest_job_id,
    login,
    make_app,
    rank,
    wait_for_job,
)

PASSWORD = "roadshow-password-1"
TOPIC = "碳化硅 外延 缺陷 表征 可靠性 器件 良率"
TIERS = ("公开", "内部", "秘密", "机密")
#: Capability id → (tier, unique title marker); two institutes so each closed session has a talk from each.
CAPABILITIES = {f"RC{i}{k}": (tier, f"RSMARK{tier_code}{i}{k}x")
                for i, (tier, tier_code) in enumerate(zip(TIERS, ("OPEN", "INTL", "SECR", "TOPS")))
                for k in range(2)}
INSTITUTE = {0: "子研究所", 1: "丑研究所"}
#: Enterprise → (declared qualification, verified?).
ENTERPRISES = {"甲企业": ("一级", True), "乙企业": ("二级", True), "丙企业": ("三级", True), "丁企业": ("二级", False),
               "己企业": ("无", False)}


def classified(tier=None):
    """Markers (ids and titles) of the classified capabilities, or of one tier."""
    return [m for cid, (t, title) in CAPABILITIES.items() if t != "公开" and tier in (None, t) for m in (cid, title)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("roadshow"))
    admin = admin_client(app)
    event_id = create_event(admin, "路演测试会", tracks=["电子信息"], slots="4", tables="6", max_meetings="4")
    needs = [[f"RN{i}{k}", org, f"{org}需求{k} {TOPIC}", f"{TOPIC} 需求描述{k}", "电子信息", "碳化硅;外延", "高新区",
              "王工", "5", "合作开发", declared] for i, (org, (declared, _v)) in enumerate(ENTERPRISES.items())
             for k in range(2)]
    capabilities = [[cid, INSTITUTE[int(cid[-1])], f"{title} {TOPIC}", f"{title}：{TOPIC} 成果", "电子信息",
                     "碳化硅;外延", "大学城", "李老师", "6", "技术服务", tier]
                    for cid, (tier, title) in CAPABILITIES.items()]
    import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, needs), "needs.csv")
    import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, capabilities), "capabilities.csv")
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Organisation

    with app.app_context():
        for org, (declared, verified) in ENTERPRISES.items():
            ensure_user(app, f"ent-{org}", "enterprise", PASSWORD, org=org)
            organisation = db.session.scalar(select(Organisation).where(Organisation.name == org))
            organisation.clearance = declared
            if verified:
                organisation.verified_at, organisation.certificate_no = dt.datetime(2026, 1, 1), f"CERT-{org}"
                organisation.expires_on = dt.date.today() + dt.timedelta(days=300)
            db.session.commit()
        ensure_user(app, "inst-子研究所", "institute", PASSWORD, org="子研究所")
        ensure_user(app, "organiser", "organiser", PASSWORD, event_ids=[event_id])
        ensure_user(app, "analyst", "analyst", PASSWORD)
    rank(admin, event_id)
    yield {"app": app, "event": event_id, "admin": admin}
    app.extensions["matcher_jobs"].shutdown()


def page_of(world, username):
    client = login(world["app"].test_client(), username, PASSWORD)
    response = client.get(f"/events/{world['event']}/roadshow?invite_top=10")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def sessions(page):
    """``{session: html}`` of the page's roadshow sessions, in page order."""
    parts = re.split(r'<section class="roadshow-session" data-session="([^"]+)">', page)
    return dict(zip(parts[1::2], parts[2::2]))


def invitations(html):
    return set(re.findall(r'class="chip chip-org"[^>]*>([^<]+)</a>', html))


@pytest.mark.parametrize("username", ["ent-己企业", "ent-丁企业", "analyst"])
def test_unqualified_viewers_never_see_a_classified_title(world, username):
    page = page_of(world, username)
    assert list(sessions(page)) == ["公开"]
    assert all(CAPABILITIES[c][1] in page for c in ("RC00", "RC01"))  # the open talks are there
    assert [m for m in classified() if m in page] == []
    assert "badge tier" not in page  # no closed-session heading (its tier badge)


def test_the_organisers_open_programme_never_names_a_classified_capability(world):
    page = page_of(world, "organiser")
    shown = sessions(page)
    assert list(shown) == list(TIERS)
    assert all(CAPABILITIES[c][1] in shown["公开"] for c in ("RC00", "RC01"))
    assert [m for m in classified() if m in shown["公开"]] == []
    for tier in TIERS[1:]:
        own = classified(tier)
        assert all(m in shown[tier] for m in own[1::2])  # every title of the tier, in its own session
        assert [m for m in classified() if m in shown[tier] and m not in own] == []
        assert "badge tier" in shown[tier] and "闭门路演" in shown[tier]


@pytest.mark.parametrize("username, expected", [
    ("ent-甲企业", TIERS), ("ent-乙企业", TIERS), ("ent-丙企业", ("公开", "内部", "秘密")),
])
def test_a_qualified_enterprise_sees_the_closed_sessions_it_may(world, username, expected):
    page = page_of(world, username)
    shown = sessions(page)
    assert tuple(shown) == expected
    for tier in expected[1:]:
        assert all(m in shown[tier] for m in classified(tier)[1::2])
    assert [m for tier in TIERS[1:] if tier not in expected for m in classified(tier) if m in page] == []
    org = username.removeprefix("ent-")
    # Among the invited, a member sees its own organisation only (other enterprises' needs are not visible).
    assert set().union(*map(invitations, shown.values())) <= {org}


def test_an_institute_sees_its_own_talks_only(world):
    shown = sessions(page_of(world, "inst-子研究所"))
    assert list(shown) == list(TIERS)
    text = "".join(shown.values())
    assert "丑研究所" not in text and all(CAPABILITIES[f"RC{i}0"][1] in text for i in range(4))
    assert [m for cid, (_t, title) in CAPABILITIES.items() if cid.endswith("1") for m in (cid, title)
            if m in text] == []


def test_closed_sessions_invite_only_verified_qualified_enterprises(world):
    from webapp.db import db
    from webapp.models import Event, Organisation
    from webapp.services.roadshow import roadshow_frame
    from webapp.visibility import SYSTEM

    app = world["app"]
    with app.app_context():
        plan = roadshow_frame(SYSTEM, db.session.get(Event, world["event"]), invite_top=10)
    invited = {s: set(";".join(plan.loc[plan["session"] == s, "invited_orgs"]).split(";")) - {""} for s in TIERS}
    assert invited == {"公开": set(ENTERPRISES), "内部": {"甲企业", "乙企业", "丙企业"},
                       "秘密": {"甲企业", "乙企业", "丙企业"}, "机密": {"甲企业", "乙企业"}}
    shown = sessions(page_of(world, "organiser"))
    assert {s: invitations(html) for s, html in shown.items()} == invited
    # 丙企业's qualification lapses after the ranking: its stored suggestions remain, its invitations do not.
    with app.app_context():
        organisation = db.session.query(Organisation).filter_by(name="丙企业").one()
        organisation.expires_on, before = dt.date.today() - dt.timedelta(days=1), organisation.expires_on
        db.session.commit()
    try:
        shown = sessions(page_of(world, "organiser"))
        assert "丙企业" in invitations(shown["公开"])
        assert all("丙企业" not in invitations(shown[t]) for t in TIERS[1:])
        assert list(sessions(page_of(world, "ent-丙企业"))) == ["公开"]
    finally:
        with app.app_context():
            db.session.query(Organisation).filter_by(name="丙企业").one().expires_on = before
            db.session.commit()


def test_the_agendas_export_follows_the_same_rule(world):
    admin, event_id = world["admin"], world["event"]
    assert admin.post(f"/events/{event_id}/pairings/bulk", data={"per_need": "2"}).status_code == 302
    assert admin.post(f"/events/{event_id}/schedule/run").status_code == 302
    assert wait_for_job(admin, event_id, latest_job_id(world["app"], event_id, "schedule"))["status"] == "done"

    def roadshow_sheet(username):
        client = login(world["app"].test_client(), username, PASSWORD)
        response = client.get(f"/events/{event_id}/exports/agendas.xlsx")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data))["路演安排"]
        rows = list(sheet.iter_rows(values_only=True))
        return [dict(zip(rows[0], row)) for row in rows[1:]]

    everything = roadshow_sheet("organiser")
    by_session = {}
    for row in everything:
        by_session.setdefault(row["场次（密级）"], set()).update(row["路演成果"].split(";"))
    assert by_session == {tier: {c for c, (t, _m) in CAPABILITIES.items() if t == tier} for tier in TIERS}
    for username, allowed in (("ent-己企业", {"公开"}), ("ent-丙企业", {"公开", "内部", "秘密"})):
        rows = roadshow_sheet(username)
        assert {r["场次（密级）"] for r in rows} == allowed
        text = repr(rows)
        assert [m for tier in TIERS[1:] if tier not in allowed for m in classified(tier) if m in text] == []
