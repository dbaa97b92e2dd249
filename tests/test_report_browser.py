"""The dashboard's and the reports' charts in a real browser (Debian chromium through Playwright), 1280 and 390 px.

Each chart must be drawn (ECharts renders SVG into its container) with its table beside it, with no console
error, no failed request (the library is served from webapp/static/vendor) and no page wider than the screen.
Screenshots land in /tmp/journeys (see test_journeys.Person.shot).
"""
import pytest
from test_journeys import WIDTHS, browser, instance_template, people, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
SECTIONS = ("signed", "amount_type", "amount_domain", "funnel", "tiers", "institutes")


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("response", lambda response: problems.append(f"{response.status}: {response.url}")
            if response.status >= 400 else None)
    return problems


def charts_drawn(page, prefix, keys):
    for key in keys:
        section = page.locator(f"#{prefix}section-{key}")
        section.locator(".report-chart svg").first.wait_for()
        assert section.locator(".report-chart svg path, .report-chart svg text").count() > 0, key
        assert section.locator("table tbody tr").count() >= 1, key
        box = section.locator(".report-chart").bounding_box()
        assert box["width"] > 200 and box["height"] > 200, (key, box)


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_dashboard_and_reports_draw_every_chart(people, width):  # noqa: F811 (the imported fixture)
    me = people("reports", width)
    page = me.login("org-a")
    problems = watch(page)
    page.goto(me.base + "/events/1")
    # A signed outcome recorded on the dashboard enters the pipeline at 签约 and the charts.
    page.fill("#description", "压铸件气孔缺陷联合攻关")
    page.select_option("#domain", "先进制造与自动化")
    page.select_option("#contract_type", "技术开发")
    page.fill("#amount", "120")
    page.get_by_role("button", name="登记签约成果").click()
    me.see("签约成果已记录")
    charts_drawn(page, "dash-", SECTIONS)
    signed = page.locator("#dash-section-signed table")
    assert "先进制造与自动化" in signed.inner_text()
    assert "120" in page.locator("#dash-section-amount_type table").inner_text()
    page.locator("#charts").scroll_into_view_if_needed()
    me.shot("dashboard-charts")
    page.goto(me.base + "/events/1/report")
    charts_drawn(page, "", SECTIONS)
    me.shot("event-report")
    page.goto(me.base + "/reports")
    charts_drawn(page, "", ("trend", *SECTIONS))
    me.shot("period-report")
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator(".print-only").first.is_visible()
    page.emulate_media(media="screen")
    assert problems == []
    # An enterprise member opens the same dashboard: charts drawn, no amount of a deal it is not party to.
    other = people("reports-member", width)
    page = other.login("ent")
    problems = watch(page)
    page.goto(other.base + "/events/1")
    charts_drawn(page, "dash-", SECTIONS)
    assert "120" not in page.locator("#dash-section-amount_type table").inner_text()
    other.shot("member-dashboard-charts")
    assert problems == []
