"""Proof that nobody sees more than their rights, on every page, API endpoint, search and export.

Users across every role and qualification state (verified, unverified, expired) and records
across every tier in two events, all carrying unique marker strings (ids, titles, contacts).
Every GET route of the app's url_map is requested as every user with concrete ids (including
other events' ids), and no response body (HTML, JSON, CSV, XLSX, ZIP) may contain a marker of
something the user may not see. The oracle below is written from the issue's rules, not from
``webapp.visibility``.
"""
import datetime as dt
import io
import random
import re
import zipfile

import pytest
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    admin_client,
    create_event,
    csv_bytes,
    ensure_user,
    import_file,
    login,
    make_app,
    rank,
    wait_for_job,
)

from matcher import CLEARANCES, clearance_allows

PASSWORD = "matrix-password-1"
TIERS = ("公开", "内部", "秘密", "机密")
TOPIC = "碳化硅 外延 缺陷 表征 可靠性 器件 良率"


def marker(rng, prefix):
    return f"{prefix}{rng.randrange(16**8):08x}"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rng = random.Random(20261128)
    folder = tmp_path_factory.mktemp("matrix")
    app = make_app(folder)
    admin = admin_client(app)
    enterprises = {  # org → (declared clearance, verification state)
        "甲企业": ("一级", "verified"), "乙企业": ("二级", "verified"), "丙企业": ("三级", "verified"),
        "丁企业": ("二级", "unverified"), "戊企业": ("一级", "expired"), "己企业": ("无", "none"),
    }
    institutes = ["子研究所", "丑研究所", "寅大学"]
    events, items = {}, []
    for label in ("A", "B"):
        name = marker(rng, f"EV{label}")
        event_id = create_event(admin, name, tracks=["电子信息"], slots="4", tables="6", max_meetings="3")
        events[label] = {"id": event_id, "name": name}
        needs, capabilities = [], []
        # 寅大学 and 己企业 only take part in event A: event B must stay invisible to their members.
        for org in [o for o in enterprises if label == "A" or o != "己企业"]:
            for _ in range(2):
                item = {"kind": "need", "event": label, "org": org, "id": marker(rng, "ND"),
                        "title": marker(rng, "NT"), "contact": marker(rng, "NC"), "tier": None}
                needs.append([item["id"], org, f"{item['title']} {TOPIC}", f"{item['title']}：{TOPIC} 需求",
                              "电子信息", "碳化硅;外延", "高新区", item["contact"], "5", "合作开发",
                              enterprises[org][0]])
                items.append(item)
        for org in [o for o in institutes if label == "A" or o != "寅大学"]:
            for tier in TIERS:
                item = {"kind": "capability", "event": label, "org": org, "id": marker(rng, "CP"),
                        "title": marker(rng, "CT"), "contact": marker(rng, "CC"), "tier": tier}
                capabilities.append([item["id"], org, f"{item['title']} {TOPIC}", f"{item['title']}：{TOPIC} 成果",
                                     "电子信息", "碳化硅;外延", "大学城", item["contact"], "6", "技术服务", tier])
                items.append(item)
        rng.shuffle(needs)
        rng.shuffle(capabilities)
        import_file(admin, event_id, "need", csv_bytes(NEED_HEADER, needs), "needs.csv")
        import_file(admin, event_id, "capability", csv_bytes(CAPABILITY_HEADER, capabilities), "capabilities.csv")
        rank(admin, event_id)
        assert admin.post(f"/events/{event_id}/pairings/bulk", data={"per_need": "2"}).status_code == 302
    event_a = events["A"]["id"]
    assert admin.post(f"/events/{event_a}/schedule/run").status_code == 302
    from webapp_helpers import latest_job_id

    assert wait_for_job(admin, event_a, latest_job_id(app, event_a, "schedule"))["status"] == "done"
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Decision, MeetingRequest, Organisation, Outcome

    today = dt.date.today()
    users = {"admin": {"role": "admin"}, "analyst": {"role": "analyst", "org": None}}
    with app.app_context():
        for org, (declared, state) in enterprises.items():
            ensure_user(app, f"ent-{org}", "enterprise", PASSWORD, org=org)
            organisation = db.session.scalar(select(Organisation).where(Organisation.name == org))
            organisation.clearance = declared
            if state in ("verified", "expired"):
                organisation.verified_at = dt.datetime(2026, 1, 1)
                organisation.certificate_no = marker(rng, "CERT")
                organisation.expires_on = today + dt.timedelta(days=300 if state == "verified" else -1)
            db.session.commit()
            users[f"ent-{org}"] = {"role": "enterprise", "org": org,
                                   "clearance": declared if state == "verified" else "无"}
        for org in institutes:
            ensure_user(app, f"inst-{org}", "institute", PASSWORD, org=org)
            users[f"inst-{org}"] = {"role": "institute", "org": org}
        for label, event in events.items():
            ensure_user(app, f"org-{label}", "organiser", PASSWORD, event_ids=[event["id"]])
            users[f"org-{label}"] = {"role": "organiser", "event": label}
        ensure_user(app, "analyst", "analyst", PASSWORD)
        ensure_user(app, "officer", "security", PASSWORD)  # verifies qualifications; sees no event data
        users["officer"] = {"role": "security", "org": None}
        accepted = {(d.event_id, d.need_id, d.capability_id) for d in db.session.scalars(
            select(Decision).where(Decision.status == "accepted"))}
        by_id = {i["id"]: i for i in items}
        for event_id, need_id, capability_id in sorted(accepted)[:6]:
            request_contact = marker(rng, "RC")
            db.session.add(MeetingRequest(event_id=event_id, need_id=need_id, capability_id=capability_id,
                                          requester=by_id[need_id]["org"], contact=request_contact, message="m"))
            db.session.add(Outcome(event_id=event_id, need_id=need_id, capability_id=capability_id,
                                   need_org=by_id[need_id]["org"], capability_org=by_id[capability_id]["org"],
                                   description=marker(rng, "OD"), domain="电子信息", count=1))
            by_id[need_id].setdefault("requests", []).append(request_contact)
        db.session.commit()
    library = add_library_items(app, rng, institutes, list(enterprises))
    library += add_call(app, rng)
    label_of = {e["id"]: label for label, e in events.items()}
    accepted_by_label = {(label_of[e], n, c) for e, n, c in accepted}
    yield {"app": app, "events": events, "items": items, "users": users, "accepted": accepted_by_label,
           "library": library}
    app.extensions["matcher_jobs"].shutdown()


def add_library_items(app, rng, institutes, enterprises):
    """Standing library items: every tier of each institute's achievements listed, plus drafts, withdrawn and
    expired ones, and enterprises' needs; each with marker title and contact."""
    from webapp.db import db
    from webapp.models import LibraryItem

    today, library = dt.date.today(), []
    states = [("published", tier, 30) for tier in TIERS] + [("draft", "", 30), ("withdrawn", "公开", 30),
                                                             ("pending", "公开", 30), ("published", "公开", -1)]
    with app.app_context():
        for org, kind in [(o, "capability") for o in institutes] + [(o, "need") for o in enterprises[:3]]:
            for status, tier, days in states:
                row = LibraryItem(kind=kind, org=org, title=marker(rng, "LT"), description=TOPIC,
                                  contact=marker(rng, "LC"), classification=tier, status=status,
                                  expires_on=today + dt.timedelta(days=days), declared_unclassified=True,
                                  published_at=dt.datetime(2026, 11, 1) if status == "published" else None)
                db.session.add(row)
                db.session.flush()
                library.append({"id": row.id, "org": org, "title": row.title, "contact": row.contact,
                                "tier": tier, "listed": status == "published" and days > 0, "status": status})
        db.session.commit()
    return library


def add_call(app, rng):
    """A 揭榜挂帅 call of 甲企业 and a proposal of 子研究所: the proposal (marker summary and contact) is the
    poster's, the proposer's and reviewers' only; the call is open to every logged-in user."""
    from webapp.db import db
    from webapp.models import ChallengeCall, Proposal

    with app.app_context():
        call = ChallengeCall(org="甲企业", title=marker(rng, "CALL"), requirements=TOPIC,
                             deadline=dt.date.today() + dt.timedelta(days=30))
        db.session.add(call)
        db.session.flush()
        proposal = Proposal(call_id=call.id, org="子研究所", summary=marker(rng, "PS"), contact=marker(rng, "PC"))
        db.session.add(proposal)
        db.session.commit()
        return [{"id": None, "org": "子研究所", "title": proposal.summary, "contact": proposal.contact,
                 "tier": "公开", "listed": False, "status": "proposal", "poster": "甲企业", "call_id": call.id}]


def may_see_library(user, item):
    """The library's rule, restated: drafts are their owners'; reviewers see the rest; others listed items
    of a tier their (verified) qualification allows (institute members and analysts: 公开)."""
    role, own = user["role"], user.get("org") is not None and item["org"] == user.get("org")
    if item["status"] == "proposal":
        return role in ("admin", "organiser", "security") or own or user.get("org") == item["poster"]
    if role == "admin" or (own and role in ("institute", "enterprise")):
        return True
    if item["status"] == "draft":
        return False
    if role in ("organiser", "security"):
        return True
    if not item["listed"]:
        return False
    if role == "enterprise":
        return clearance_allows(user["clearance"], item["tier"])
    return item["tier"] == "公开"


def may_see_library_contact(user, item):
    if item["status"] == "proposal":
        return may_see_library(user, item)
    own = user.get("org") is not None and item["org"] == user.get("org")
    return may_see_library(user, item) and (user["role"] in ("admin", "organiser", "security") or own)


def participates(world, org, label):
    return any(i["org"] == org and i["event"] == label for i in world["items"])


def may_see_event(world, user, label):
    role = user["role"]
    if role in ("admin", "analyst"):
        return True
    if role == "organiser":
        return user["event"] == label
    if role == "security":
        return False
    return participates(world, user["org"], label)


def may_see(world, user, item):
    """The issue's rule, restated independently of webapp.visibility."""
    if not may_see_event(world, user, item["event"]):
        return False
    role = user["role"]
    if role in ("admin", "organiser"):
        return True
    if item["kind"] == "need":
        return role in ("institute", "analyst") or item["org"] == user.get("org")
    if role == "enterprise":
        return item["org"] == user["org"] or clearance_allows(user["clearance"], item["tier"])
    if role == "institute":
        return item["org"] == user["org"]
    return item["tier"] == "公开"  # analyst


def may_see_contact(world, user, item):
    if not may_see(world, user, item):
        return False
    if user["role"] in ("admin", "organiser"):
        return True
    if user["role"] == "analyst":
        return False
    if item["org"] == user["org"]:
        return True
    own = {i["id"] for i in world["items"] if i["org"] == user["org"] and i["event"] == item["event"]}
    for label, need_id, capability_id in world["accepted"]:
        if label == item["event"] and item["id"] in (need_id, capability_id) and {need_id, capability_id} & own:
            return True
    return False


def forbidden_markers(world, user):
    """``[(item label, [markers])]`` that must not appear anywhere in this user's responses."""
    out = []
    for item in world["items"]:
        if not may_see(world, user, item):
            out.append((item["id"], [item["id"], item["title"], item["contact"]] + item.get("requests", [])))
        elif not may_see_contact(world, user, item):
            out.append((item["id"] + ":contact", [item["contact"]] + item.get("requests", [])))
    for label, event in world["events"].items():
        if not may_see_event(world, user, label):
            out.append((event["name"], [event["name"]]))
    for item in world["library"]:
        if not may_see_library(user, item):
            out.append((f"library {item['id']}", [item["title"], item["contact"]]))
        elif not may_see_library_contact(user, item):
            out.append((f"library {item['id']}:contact", [item["contact"]]))
    return out


def body_text(data):
    """Response text, unpacking XLSX and ZIP downloads (recursively)."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(body_text(archive.read(name)) for name in archive.namelist())
    return data.decode("utf-8", "ignore")


def concrete_urls(app, world):
    """Every GET route with concrete values: both events' ids, every record id and organisation."""
    events = world["events"]
    ids = {"need_id": [i["id"] for i in world["items"] if i["kind"] == "need"] + ["NOPE"],
           "capability_id": [i["id"] for i in world["items"] if i["kind"] == "capability"] + ["NOPE"],
           "org": sorted({i["org"] for i in world["items"]})}
    from webapp.services.exports import EXPORTS

    values = {"event_id": [e["id"] for e in events.values()] + [999], "what": list(EXPORTS), "fmt": ["csv", "xlsx"],
              "kind": ["need", "capability"], "batch_id": [1, 2, 3, 4], "job_id": [1, 2, 3, 4, 5],
              "code": ["en"], "org_id": list(range(1, 13)) + [999],
              "item_id": [i["id"] for i in world["library"] if i["id"]] + [999_999],
              "call_id": [i["call_id"] for i in world["library"] if i.get("call_id")] + [999], **ids}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.login", "site.set_language"):
            continue
        combos = [{}]
        for argument in rule.arguments:
            combos = [dict(c, **{argument: v}) for c in combos for v in values[argument]]
        for combo in combos:
            path = rule.rule
            for key, value in combo.items():
                path = re.sub(rf"<(?:[a-z]+:)?{key}>", str(value), path)
            urls.append((rule.endpoint, path))
    for event in events.values():
        base = f"/events/{event['id']}"
        for target in ("capability", "need"):
            urls += [("search.search", f"{base}/search?q={TOPIC}&target={target}"),
                     ("api.search", f"/api{base}/search?q={TOPIC}&target={target}&limit=50")]
        urls += [("api.suggestions", f"/api{base}/suggestions?{key}={value}&limit=100&eligible=0")
                 for key in ("need_id", "capability_id") for value in ids[key]]
        urls += [("planning.agendas", f"{base}/agendas?org={org}") for org in ids["org"]]
        urls += [("suggestions.need", f"{base}/needs/{n}?eligible=0") for n in ids["need_id"]]
    urls += [("market.index", f"/market?q={TOPIC.split()[0]}&page={page}") for page in (1, 2)]
    urls += [("market.index", f"/market?kind={kind}&sort=title") for kind in ("need", "capability")]
    return urls


def test_nobody_sees_more_than_their_rights(world, capsys):
    app = world["app"]
    urls = concrete_urls(app, world)
    checked, leaks, responses = 0, [], 0
    for username, user in world["users"].items():
        client = app.test_client()
        if username == "admin":
            client = admin_client(app)
        else:
            login(client, username, PASSWORD)
        forbidden = forbidden_markers(world, user)
        forbidden_ids = {label for label, _markers in forbidden}
        for endpoint, url in urls:
            response = client.get(url)
            responses += 1
            assert response.status_code < 500, (username, url, response.status_code)
            hidden = re.search(r"/events/\d+/(?:needs|capabilities)/([A-Za-z0-9]+)", url)
            if hidden and hidden.group(1) in forbidden_ids:
                # An id the user may not see answers exactly like one that does not exist.
                assert response.status_code == 404, (username, url)
            text = body_text(response.get_data())
            for label, markers in forbidden:
                checked += 1
                # A marker the URL itself carries is the user's own input echoed back (e.g. in the
                # language links of a 404 page), not a leak; 404s are compared separately.
                found = [m for m in markers if m in text and m not in url]
                if found:
                    leaks.append((username, url, label, found))
    with capsys.disabled():
        print(f"\nvisibility matrix: {len(world['users'])} users × {len(urls)} URLs = {responses} responses; "
              f"{checked} (user, route, item) combinations checked; {len(leaks)} leaks")
    assert leaks == [], sorted({(u, re.sub(r"[0-9a-f]{8}", "…", url), label) for u, url, label, _ in leaks})[:40]
    assert checked > 10_000


def test_every_user_sees_what_they_may(world):
    """Positive control: the matrix is not vacuous; each user's API listing shows exactly their records."""
    app = world["app"]
    for username, user in world["users"].items():
        client = admin_client(app) if username == "admin" else login(app.test_client(), username, PASSWORD)
        for label, event in world["events"].items():
            expected_needs = {i["id"] for i in world["items"] if i["kind"] == "need" and i["event"] == label
                              and may_see(world, user, i)}
            expected_capabilities = {i["id"] for i in world["items"] if i["kind"] == "capability"
                                     and i["event"] == label and may_see(world, user, i)}
            response = client.get(f"/api/events/{event['id']}/needs")
            if not may_see_event(world, user, label):
                assert response.status_code == 404
                continue
            assert {n["id"] for n in response.get_json()["needs"]} == expected_needs, (username, label)
            capabilities = client.get(f"/api/events/{event['id']}/capabilities").get_json()["capabilities"]
            assert {c["id"] for c in capabilities} == expected_capabilities, (username, label)
            listing = {e["id"]: e for e in client.get("/api/events").get_json()["events"]}
            assert listing[event["id"]]["needs"] == len(expected_needs)
            assert listing[event["id"]]["capabilities"] == len(expected_capabilities)
    tiers_seen = {user: {i["tier"] for i in world["items"] if i["kind"] == "capability" and may_see(world, u, i)}
                  for user, u in world["users"].items() if u["role"] == "enterprise"}
    assert tiers_seen["ent-甲企业"] == set(TIERS) and tiers_seen["ent-丁企业"] == {"公开"}
    assert tiers_seen["ent-戊企业"] == {"公开"} and tiers_seen["ent-丙企业"] == {"公开", "内部", "秘密"}
    assert set(CLEARANCES) >= {u.get("clearance", "无") for u in world["users"].values()}


def test_no_write_path_breaks_the_clearance_rule(world):
    """The matrix for writes: every user tries random accepts, locks, requests, verifications and a schedule run
    across both events and every tier. Each attempt must succeed exactly when the issue's rules allow it, and
    afterwards no accepted, locked, requested or scheduled pair breaks the clearance rule. Runs last: it changes
    the world."""
    from sqlalchemy import func, select

    from webapp.db import db
    from webapp.models import Decision, Meeting, MeetingRequest, Need, Organisation
    from webapp.visibility import effective_clearance

    app, rng = world["app"], random.Random(20261130)
    clearance = {u["org"]: u["clearance"] for u in world["users"].values() if u["role"] == "enterprise"}
    needs = [i for i in world["items"] if i["kind"] == "need"]
    capabilities = [i for i in world["items"] if i["kind"] == "capability"]
    with app.app_context():
        pending = {(r.event_id, r.need_id, r.capability_id) for r in db.session.scalars(
            select(MeetingRequest).where(MeetingRequest.status == "pending"))}
    event_id = {label: e["id"] for label, e in world["events"].items()}
    attempts = successes = 0
    for username, user in world["users"].items():
        client = admin_client(app) if username == "admin" else login(app.test_client(), username, PASSWORD)
        for _ in range(25):
            need, capability = rng.choice(needs), rng.choice(capabilities)
            same_event = need["event"] == capability["event"]
            label = need["event"]
            rule = clearance_allows(clearance.get(need["org"], "无"), capability["tier"])
            runs = user["role"] == "admin" or (user["role"] == "organiser" and user["event"] == label)
            action = rng.choice(["accept", "lock"])
            response = client.post(f"/api/events/{event_id[label]}/decisions",
                                   json={"need_id": need["id"], "capability_id": capability["id"], "action": action})
            attempts += 1
            expected = runs and same_event and rule
            assert (response.status_code == 200) == expected, (username, need, capability, response.status_code)
            successes += expected
            # A meeting request, as a form post; stored exactly when the requester's organisation is a side,
            # both records are visible to it, the rule holds and no request for the pair is pending.
            with app.app_context():
                before = db.session.scalar(select(func.count()).select_from(MeetingRequest))
            client.post(f"/events/{event_id[label]}/requests", data={
                "need_id": need["id"], "capability_id": capability["id"], "requester": "probe", "contact": "x"})
            with app.app_context():
                stored = db.session.scalar(select(func.count()).select_from(MeetingRequest)) - before
            member = user["role"] in ("institute", "enterprise") and user["org"] in (need["org"], capability["org"])
            may = (member and may_see(world, user, need) and may_see(world, user, capability)) or \
                user["role"] in ("admin",) or (user["role"] == "organiser" and user["event"] == label)
            key = (event_id[label], need["id"], capability["id"])
            expected = may and same_event and rule and key not in pending
            assert stored == int(expected), (username, need["id"], capability["id"], stored)
            if stored:
                pending.add(key)
        if user["role"] not in ("admin", "security"):
            target = rng.choice(sorted(clearance))
            response = client.post("/admin/organisations", data={
                "name": target, "clearance": "一级", "certificate_no": "FAKE-1", "expires_on": "2099-12-31"})
            assert response.status_code == 403, (username, response.status_code)
    assert successes > 10 and attempts > 200
    admin = admin_client(app)
    assert admin.post(f"/events/{event_id['A']}/schedule/run").status_code == 302
    from webapp_helpers import latest_job_id

    assert wait_for_job(admin, event_id["A"], latest_job_id(app, event_id["A"], "schedule"))["status"] == "done"
    with app.app_context():
        tiers = {i["id"]: i["tier"] for i in capabilities}
        orgs = {n.need_id: n.org for n in db.session.scalars(select(Need))}
        today = dt.date.today()
        verified = {o.name: effective_clearance(o, today) for o in db.session.scalars(select(Organisation))}
        assert {k: v for k, v in verified.items() if k in clearance} == clearance  # nobody raised a qualification
        pairs = [(d.need_id, d.capability_id, "decision") for d in db.session.scalars(
            select(Decision).where(Decision.status == "accepted"))]
        pairs += [(r.need_id, r.capability_id, "request") for r in db.session.scalars(
            select(MeetingRequest).where(MeetingRequest.status.in_(("pending", "approved"))))]
        meetings = [(m.need_id, m.capability_id, "meeting") for m in db.session.scalars(select(Meeting))]
        assert meetings
        broken = [p for p in pairs + meetings
                  if not clearance_allows(verified.get(orgs[p[0]], "无"), tiers[p[1]])]
    assert broken == []


def test_library_positive_control(world):
    """Each user opens exactly the catalogue and library item pages the library's rule allows (not vacuous)."""
    app = world["app"]
    for username, user in world["users"].items():
        client = admin_client(app) if username == "admin" else login(app.test_client(), username, PASSWORD)
        for item in world["library"]:
            if item["status"] == "proposal":
                page = client.get(f"/calls/{item['call_id']}").get_data(as_text=True)
                assert (item["title"] in page) == may_see_library(user, item), (username, item)
                continue
            listed = may_see_library(user, item) and item["listed"]
            assert (client.get(f"/market/{item['id']}").status_code == 200) == listed, (username, item)
            assert (client.get(f"/library/{item['id']}").status_code == 200) == may_see_library(user, item), \
                (username, item)
