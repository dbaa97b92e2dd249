"""The organiser flow in a real browser (Debian's chromium through Playwright) against a real server.

The server is waitress in a subprocess on a free loopback port with its own instance
folder. Screenshots of every page land in the test's tmp folder and are copied to
``/tmp/webshots`` for people to look at.
"""
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from browser_helpers import chromium, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data"
SHOTS_COPY = Path("/tmp/webshots")
USERNAME, PASSWORD = "browser-admin", "browser-password-1"


@pytest.fixture
def server(tmp_path):
    """Base URL of a waitress server running the app with a fresh instance folder."""
    instance = tmp_path / "instance"
    instance.mkdir()
    # Plain http on loopback: the test server turns off the Secure cookie flag.
    (instance / "config.py").write_text("SECRET_KEY = 'browser-test'\nMATCHER_WEIGHTS = {'semantic': 0.0}\n"
                                        "SESSION_COOKIE_SECURE = False\n")
    env = dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "create-user", USERNAME, "--role", "admin",
                    "--password-stdin"], input=PASSWORD + "\n", text=True, cwd=ROOT, env=env, check=True)
    with serve(instance, tmp_path / "server.log") as base:
        yield base


@pytest.fixture
def page(tmp_path):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True,
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()


class Shots:
    """Numbered full-page screenshots in the tmp folder, copied to /tmp/webshots."""

    def __init__(self, folder):
        self.folder, self.count = folder, 0
        folder.mkdir()

    def __call__(self, page, name):
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        try:
            SHOTS_COPY.mkdir(exist_ok=True)
            shutil.copy(path, SHOTS_COPY / path.name)
        except OSError:
            pass  # the copy is a convenience for people; the tmp folder keeps the originals


def needs_with_one_bad_row(tmp_path):
    lines = (SAMPLE / "needs.csv").read_text(encoding="utf-8").splitlines()
    bad = "N900,坏数据有限公司,,这一行缺少需求名称，应被拒绝。,电子信息,测试,高新区,张工,3,合作开发,无"
    path = tmp_path / "企业需求（含一行错误）.csv"
    path.write_text("\n".join(lines[:11] + [bad] + lines[11:]) + "\n", encoding="utf-8")
    return path  # the bad row is spreadsheet row 12


def test_organiser_flow_in_chromium(server, page, tmp_path):
    shot = Shots(tmp_path / "screenshots")
    if SHOTS_COPY.exists():
        shutil.rmtree(SHOTS_COPY, ignore_errors=True)

    # 0. Log in (every page needs an account).
    page.goto(server + "/")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    shot(page, "login")
    page.get_by_role("button", name="登录").click()

    # 1. Create an event.
    page.get_by_text("还没有对接会").wait_for()
    shot(page, "events-empty")
    page.get_by_role("link", name="新建第一场对接会").click()
    page.fill("#name", "2025 年军民科技合作项目对接会")
    page.fill("#date", "2025-06-18")
    page.fill("#venue", "高新区科技大厦三楼")
    page.fill("#slots", "6")
    page.fill("#tables", "20")
    page.fill("#max_meetings", "4")
    shot(page, "event-form")
    page.get_by_role("button", name="创建对接会").click()
    page.get_by_text("已创建对接会").wait_for()
    event_url = page.url.rsplit("/imports", 1)[0]
    shot(page, "imports")

    # 2. Upload needs with one bad row: the report names it; download the rejects; confirm.
    page.set_input_files("#file-need", str(needs_with_one_bad_row(tmp_path)))
    page.locator("form:has(#file-need) input[name=no_classified]").check()
    page.locator("form:has(#file-need) button").click()
    page.get_by_role("heading", name="校验报告：企业需求（含一行错误）.csv").wait_for()
    row = page.locator("table.problems tbody tr")
    assert row.count() == 1
    assert row.locator("td").all_inner_texts()[:2] == ["12", "需求名称"]
    assert "必填项为空" in row.inner_text()
    shot(page, "needs-report")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载问题行（CSV）").click()
    download = info.value
    assert download.suggested_filename == "未通过校验的行-企业需求.csv"
    rejects = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "N900" in rejects and "企业需求（含一行错误）.csv 第 12 行，“需求名称”列：必填项为空" in rejects
    page.get_by_role("button", name="确认导入 82 行有效数据").click()
    page.get_by_text("已导入 82 行（新增 82，更新 0）").wait_for()

    # 3. Upload the capabilities and confirm.
    page.set_input_files("#file-capability", str(SAMPLE / "capabilities.csv"))
    page.locator("form:has(#file-capability) input[name=no_classified]").check()
    page.locator("form:has(#file-capability) button").click()
    page.get_by_role("button", name="确认导入 88 行有效数据").click()
    page.get_by_text("已导入 88 行").wait_for()
    shot(page, "imports-done")

    # 4. Run the ranking in the background and wait for the page to refresh itself.
    page.get_by_role("link", name="需求推荐").click()
    page.get_by_role("button", name="计算推荐").click()
    page.get_by_role("columnheader", name="首选推荐").wait_for()
    page.locator("table tbody tr").first.wait_for()
    page.wait_for_function("!document.querySelector('[data-job-url]')", timeout=120_000)
    shot(page, "needs-ranked")

    # 5. See suggestions for one need, with shared terms marked; accept the best one.
    page.goto(event_url + "/needs/N001")
    first = page.locator("article.suggestion").first
    assert first.locator("mark").count() > 0
    assert "手性药物不对称催化合成路线开发" in first.locator("h4").inner_text()
    shot(page, "need-suggestions")
    first.get_by_role("button", name="接受").click()
    page.get_by_text("已接受该配对").wait_for()
    assert page.locator("article.suggestion").first.get_by_text("已接受").count() >= 1
    page.goto(event_url + "/capabilities/C037")
    shot(page, "capability-suggestions")

    # 6. Pairings: bulk-accept the top suggestion of every other need.
    page.get_by_role("link", name="对接配对").click()
    page.locator("#per_need").select_option("1")
    page.locator("form.filters").get_by_role("button", name="批量接受").click()
    page.get_by_text("已批量接受").wait_for()
    shot(page, "pairings")

    # 7. Schedule (background job), then the grid, agendas and the roadshow.
    page.get_by_role("link", name="会面日程").click()
    page.get_by_role("button", name="生成日程").click()
    page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    assert page.locator(".meeting").count() > 20
    shot(page, "schedule")
    with page.expect_download() as info:
        page.get_by_role("link", name="日程工作簿").click()
    download = info.value
    assert download.suggested_filename == "2025 年军民科技合作项目对接会-个人日程.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert {"会面总表", "会面清单", "未安排", "路演安排"} <= set(workbook.sheetnames)
    page.goto(event_url + "/agendas")
    organisations = page.locator("article.agenda").count()
    assert organisations > 10
    pdf = page.pdf(format="A4")  # print CSS: one organisation per page
    (tmp_path / "agendas.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == organisations
    page.emulate_media(media="print")
    shot(page, "agendas-print")
    page.emulate_media(media="screen")
    page.goto(event_url + "/roadshow")
    shot(page, "roadshow")
    page.goto(event_url + "/exports")
    shot(page, "exports")

    # 8. After the event: signed outcomes on the dashboard.
    page.goto(event_url)
    page.locator("#description").fill("手性中间体新路线联合开发")
    page.locator("#domain").select_option("生物医药")
    page.locator("#count").fill("2")
    page.get_by_role("button", name="登记签约成果").click()
    page.get_by_text("2 项：2 生物医药").wait_for()
    shot(page, "dashboard")

    # 9. Persistence through the JSON API.
    event_id = event_url.rsplit("/", 1)[-1]
    decisions = page.request.get(f"{server}/api/events/{event_id}/decisions").json()["decisions"]
    assert ("N001", "C037", "accepted") in {(d["need_id"], d["capability_id"], d["status"]) for d in decisions}
    schedule = page.request.get(f"{server}/api/events/{event_id}/schedule").json()
    assert schedule["run"]["status"] == "optimal" and len(schedule["meetings"]) > 20

    # 10. Institute view: organisation page, meeting request, search; then English.
    page.goto(event_url + "/orgs/晶拓半导体材料有限公司")
    request_form = page.locator("details:has-text('申请会面')").first
    request_form.locator("summary").click()
    request_form.locator("input[name=requester]").fill("区科技局代录")  # an administrator names the requester
    request_form.get_by_role("button", name="提交申请").click()
    page.get_by_text("会面申请已提交").wait_for()
    shot(page, "organisation")
    page.goto(event_url + "/requests")
    shot(page, "requests")
    page.goto(event_url + "/search")
    page.fill("#q", "我们在碳化硅外延与器件可靠性方面有多年积累，能做缺陷表征")
    page.get_by_label("找企业需求（我是院所）").check()
    page.get_by_role("button", name="检索").click()
    page.locator("article.suggestion").first.wait_for()
    shot(page, "search")
    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Search by description").wait_for()
    page.goto(event_url)
    page.get_by_role("heading", name="By domain", exact=True).wait_for()
    page.get_by_role("heading", name="Signed projects by domain").wait_for()  # the report charts, in English too
    shot(page, "dashboard-english")
