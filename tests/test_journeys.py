"""Browser journeys per role, as people use the app (issue 13): Debian's chromium through Playwright against a
real waitress server, several sessions at once, logins and logouts, pages served from the page cache, at
1280 px and at 390 px (a phone). Each journey asserts what is on screen, not only status codes.

* organiser: create an event → import → rank → curate → schedule → agendas → roadshow → exports → outcome;
* two organisers and two sessions of one organiser on cached pages: every form works for every session;
* institute member: search → request a meeting → the organiser approves (another browser) → inbox → my agenda
  → log out and in again;
* enterprise member: own needs only, no organiser controls → request → my agenda on a phone → calendar file.

Screenshots of the key steps land in the test's tmp folder and in /tmp/journeys (not committed).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import chromium, serve
from icalendar import Calendar

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data"
SHOTS = Path("/tmp/journeys")
PASSWORD = "journey-password-1"
ENTERPRISE, INSTITUTE = "康衡药业股份有限公司", "东湖大学药学院"
USERS = {"org-a": ("organiser", ["--event", "1"]), "org-b": ("organiser", ["--event", "1"]),
         "ent": ("enterprise", ["--org", ENTERPRISE]), "inst": ("institute", ["--org", INSTITUTE])}
WIDTHS = {"desktop": 1280, "phone": 390}


def flask(env, *args, stdin=None):
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", *args], input=stdin, text=True, cwd=ROOT,
                   env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def instance_template(tmp_path_factory):
    """An instance folder holding the ranked sample event and one account per role (built once)."""
    instance = tmp_path_factory.mktemp("journey-template") / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SECRET_KEY = 'journeys'\nMATCHER_WEIGHTS = {'semantic': 0.0}\n"
                                        "SESSION_COOKIE_SECURE = False\nWARM_UP_MODEL = False\n")
    env = dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), HF_HUB_OFFLINE="1")
    flask(env, "load-sample")
    for username, (role, options) in USERS.items():
        flask(env, "create-user", username, "--role", role, *options, "--password-stdin", stdin=PASSWORD + "\n")
    return instance


@pytest.fixture
def server(tmp_path, instance_template):
    instance = tmp_path / "instance"
    shutil.copytree(instance_template, instance)
    with serve(instance, tmp_path / "server.log", "--threads=8") as base:
        yield base


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


class Person:
    """One browser context (a person's own cookies) at one width, taking numbered screenshots."""

    def __init__(self, browser, base, folder, name, width):
        self.base, self.folder, self.name, self.count = base, folder, name, 0
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.width = width

    def go(self, path):
        self.page.goto(self.base + path)
        return self.page

    def login(self, username):
        page = self.go("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("button", name="退出").wait_for()
        return page

    def logout(self):
        self.page.get_by_role("button", name="退出").click()
        self.page.get_by_text("已退出登录").wait_for()

    def see(self, text):
        self.page.get_by_text(text).first.wait_for()

    def shot(self, step):
        self.count += 1
        path = self.folder / f"{self.name}-{self.width}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        try:
            SHOTS.mkdir(exist_ok=True)
            shutil.copy(path, SHOTS / path.name)
        except OSError:
            pass
        # Nothing sideways on a phone: the page is exactly as wide as the screen.
        overflow = self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{step}: the page is {overflow} px wider than the screen"

    def close(self):
        self.context.close()


@pytest.fixture
def people(browser, server, tmp_path):
    folder = tmp_path / "screens"
    folder.mkdir()
    made = []

    def make(name, width):
        person = Person(browser, server, folder, name, width)
        made.append(person)
        return person
    yield make
    for person in made:
        person.close()


def wait_for_job(page):
    page.wait_for_function("!document.querySelector('[data-job-url]')", timeout=120_000)


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_organiser_runs_an_event_from_creation_to_outcome(people, width):
    me = people("organiser", width)
    page = me.login("org-a")
    me.shot("events")
    page.get_by_role("link", name="新建对接会").click()
    page.fill("#name", "五月对接会")
    page.fill("#date", "2026-05-20")
    page.fill("#venue", "区科技大厦")
    page.get_by_role("button", name="创建对接会").click()
    me.see("已创建对接会“五月对接会”")
    event_url = page.url.rsplit("/imports", 1)[0]
    for kind, name, count in (("need", "needs.csv", 82), ("capability", "capabilities.csv", 88)):
        page.set_input_files(f"#file-{kind}", str(SAMPLE / name))
        page.locator(f"form:has(#file-{kind}) input[name=no_classified]").check()
        page.locator(f"form:has(#file-{kind}) button").click()
        me.see("数据预览")
        if kind == "need":
            me.shot("import-preview")
        page.get_by_role("button", name=f"确认导入 {count} 行有效数据").click()
        me.see(f"已导入 {count} 行")
    page.goto(event_url + "/needs")
    page.get_by_role("button", name="计算推荐").click()
    wait_for_job(page)
    me.see("共 82 项")
    me.shot("needs")
    page.goto(event_url + "/needs/N001")
    first = page.locator("article.suggestion").first
    assert "手性药物不对称催化合成路线开发" in first.locator("h4").inner_text()
    first.get_by_role("button", name="接受").click()
    me.see("已接受该配对")
    me.shot("need-accepted")
    page.goto(event_url + "/pairings")
    page.locator("#per_need").select_option("1")
    page.locator("form.filters").get_by_role("button", name="批量接受").click()
    me.see("已批量接受")
    me.shot("pairings")
    page.goto(event_url + "/schedule")
    page.get_by_role("button", name="生成日程").click()
    page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    assert page.locator(".meeting").count() > 20
    me.shot("schedule")
    page.goto(event_url + f"/my-agenda?org={ENTERPRISE}")
    assert page.locator(".meeting-card").count() >= 1
    me.shot("agenda-of-a-participant")
    page.goto(event_url + "/roadshow")
    me.see("分会场")
    me.shot("roadshow")
    page.goto(event_url + "/exports")
    with page.expect_download() as download:
        page.get_by_role("link", name="对接配对").filter(has_text="XLSX").or_(
            page.locator("a[href$='/exports/pairings.xlsx']")).first.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.goto(event_url)
    page.locator("#pair").select_option(index=1)
    page.locator("#contract_type").select_option("技术开发")
    page.fill("#amount", "85")
    page.get_by_role("button", name="登记签约成果").click()
    me.see("签约成果已记录")
    assert "技术开发" in page.locator("#outcomes").inner_text()
    me.shot("outcome")
    me.logout()


def test_every_session_can_use_the_forms_of_cached_pages(people):
    """Organiser A fills the cache; organiser B, and A's second session, submit every form on those pages."""
    first, second = people("org-a", 1280), people("org-b", 1280)
    first.login("org-a")
    for path in ("/events/1", "/events/1/pairings", "/events/1/needs/N002", "/events/1/schedule"):
        first.go(path)  # fills the page cache for these pages
    page = second.login("org-b")
    second.go("/events/1/pairings")
    page.locator("#per_need").select_option("1")
    page.locator("form.filters").get_by_role("button", name="批量接受").click()
    second.see("已批量接受")
    second.go("/events/1/needs/N002")
    page.locator("article.suggestion").nth(1).get_by_role("button", name="拒绝").click()
    second.see("已拒绝该配对")
    second.go("/events/1/schedule")
    page.get_by_role("button", name="生成日程").click()
    page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    cell = page.locator(".meeting").first
    cell.locator("summary").click()
    cell.locator("input[name=slot]").fill("1")
    cell.locator("input[name=table]").fill("1")
    cell.get_by_role("button", name="移动并锁定").click()
    second.see("会面已锁定到新位置")
    wait_for_job(page)
    second.go("/events/1")
    page.locator("#description").fill("联合攻关")
    page.locator("#domain").select_option("生物医药")
    page.get_by_role("button", name="登记签约成果").click()
    second.see("签约成果已记录")
    second.shot("b-after-every-form")
    # A logs out and in again, in the same browser, and the cached pages still work for the new session.
    first.logout()
    page = first.login("org-a")
    first.go("/events/1/pairings")
    page.locator("#per_need").select_option("2")
    page.locator("form.filters").get_by_role("button", name="批量接受").click()
    first.see("已批量接受")
    assert "表单已过期" not in page.content()
    second.logout()
    first.logout()


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_institute_requests_a_meeting_and_finds_it_in_its_agenda(people, width):
    member, organiser = people("institute", width), people("organiser", 1280)
    page = member.login("inst")
    member.go("/events/1/search")
    page.fill("#q", "手性中间体 不对称催化 收率")
    page.locator("input[name=target][value=need]").check()
    page.get_by_role("button", name="检索").click()
    member.see("抗凝原料药关键中间体收率提升")
    member.shot("search")
    member.go(f"/events/1/orgs/{ENTERPRISE}")
    assert page.get_by_role("button", name="接受").count() == 0  # no organiser controls for a member
    request = page.locator(".suggestion:has-text('手性药物不对称催化合成路线开发') details").first
    request.locator("summary").click()
    assert INSTITUTE in request.inner_text()  # the request names the member's own organisation
    request.locator("input[name=contact]").fill("董研究员 187****3319")
    request.get_by_role("button", name="提交申请").click()
    member.see("会面申请已提交")
    member.go("/events/1/requests")
    member.see("待审核")
    member.shot("request-pending")
    # The organiser, in another browser, approves it and plans the meetings.
    organiser_page = organiser.login("org-a")
    organiser.go("/events/1/requests")
    organiser_page.get_by_role("button", name="批准").first.click()
    organiser.see("已批准")
    organiser.go("/events/1/schedule")
    organiser_page.get_by_role("button", name="生成日程").click()
    organiser_page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    # The member learns of it in the inbox and sees the meeting in the agenda.
    member.go("/events/1")
    assert page.locator(".count-badge").inner_text() == "1"
    member.go("/inbox")
    member.see("已获组织方批准")
    member.shot("inbox")
    member.go("/events/1/my-agenda")
    assert page.locator(f".meeting-card:has-text('{ENTERPRISE}')").count() == 1
    member.shot("my-agenda")
    member.logout()
    page = member.login("inst")
    member.go("/events/1/my-agenda")
    assert page.locator(f".meeting-card:has-text('{ENTERPRISE}')").count() == 1
    member.logout()


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_enterprise_sees_its_own_needs_and_its_agenda(people, width, tmp_path):
    member, organiser = people("enterprise", width), people("organiser", 1280)
    page = member.login("ent")
    member.go("/events/1/needs")
    rows = page.locator("table.stack tbody tr")
    own_needs = sum(1 for line in (SAMPLE / "needs.csv").read_text(encoding="utf-8").splitlines() if f",{ENTERPRISE}," in line)
    assert rows.count() == own_needs and all(ENTERPRISE in text for text in rows.all_inner_texts())
    member.shot("own-needs")
    member.go("/events/1/needs/N001")
    assert page.get_by_role("button", name="接受").count() == 0 and page.get_by_role("button", name="锁定").count() == 0
    assert page.get_by_text("隐藏当前不符合保密资质规则的推荐").count() == 0
    member.see("手性药物不对称催化合成路线开发")
    member.shot("need")
    organiser_page = organiser.login("org-a")
    organiser.go("/events/1/pairings")
    organiser_page.locator("#per_need").select_option("2")
    organiser_page.locator("form.filters").get_by_role("button", name="批量接受").click()
    organiser.go("/events/1/schedule")
    organiser_page.get_by_role("button", name="生成日程").click()
    organiser_page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    member.go("/events/1/my-agenda")
    cards = page.locator(".meeting-card")
    assert cards.count() >= 1 and INSTITUTE in page.content()
    member.shot("my-agenda")
    with page.expect_download() as download:
        page.get_by_role("link", name="加入日历（.ics）").click()
    events = list(Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT"))
    assert len(events) == cards.count()
    member.logout()
