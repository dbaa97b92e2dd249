"""Browser journey of the event day (issue 18) at 1280 px and 390 px: a member wishes for a partner, the organiser
opens the day, checks people in at the desk, marks a no-show, re-plans (the wished standby pair takes the freed
place, nothing published moves), the member gives feedback and the organiser reads the KPIs.

Uses the server, browser and people fixtures of ``test_journeys``; screenshots land in /tmp/journeys too.
"""
import pytest
from test_journeys import (  # noqa: F401  (fixtures)
    ENTERPRISE,
    WIDTHS,
    browser,
    instance_template,
    people,
    server,
)

pytestmark = pytest.mark.browser


def set_phase(page, event_url, phase):
    page.goto(event_url + "/settings")
    page.locator("#phase-select").select_option(phase)
    page.get_by_role("button", name="保存阶段").click()
    page.get_by_text("阶段已更新").first.wait_for()


def meeting_rows(page):
    return [row.inner_text() for row in page.locator("#meetings tbody tr").all()]


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_the_day_check_in_no_show_standby_feedback(people, width):  # noqa: F811
    organiser, member = people("day-organiser", width), people("day-member", width)
    page = organiser.login("org-a")
    event_url = organiser.base + "/events/1"
    page.goto(event_url + "/pairings")
    page.locator("#per_need").select_option("1")
    page.locator("form.filters").get_by_role("button", name="批量接受").click()
    organiser.see("已批量接受")
    page.goto(event_url + "/schedule")
    page.get_by_role("button", name="生成日程").click()
    page.get_by_role("heading", name="时段 × 洽谈桌").wait_for(timeout=120_000)
    page.goto(event_url + f"/my-agenda?org={ENTERPRISE}")
    partners = page.locator(".meeting-card").all_inner_texts()
    # Wishes are open: the enterprise marks a partner it does not meet yet as 愿见.
    set_phase(page, event_url, "open")
    mine = member.login("ent")
    mine.goto(member.base + "/events/1/needs/N001")
    for article in mine.locator("article.suggestion").all():
        org = article.locator(".org").inner_text().split(" · ")[0].strip()
        if article.locator("select[name=level]").count() and not any(org in text for text in partners):
            article.locator("select[name=level]").select_option("want")
            article.get_by_role("button", name="保存意向").click()
            break
    else:
        pytest.fail("no suggestion of N001 to wish for")
    member.see("意向已保存")
    member.shot("wish")
    # The day: the organiser checks people in at the desk.
    set_phase(page, event_url, "onsite")
    page.goto(event_url + "/desk")
    standby = page.locator("#standby li").first.inner_text()
    assert org in standby and ENTERPRISE in standby
    for name in (ENTERPRISE, org):
        page.fill("#q", name)
        page.get_by_role("button", name="查找").click()
        page.locator("#checkin tbody tr").filter(has_text=name).get_by_role("button", name="签到").click()
        organiser.see(f"已签到：{name}")
    organiser.shot("desk-checked-in")
    before = meeting_rows(page)
    row = page.locator("#meetings tbody tr").filter(has_text=ENTERPRISE).first
    freed = row.inner_text()
    row.get_by_role("button", name="标记缺席").click()
    organiser.see("已标记缺席")
    assert page.locator("#meetings .badge.no").count() == 1
    organiser.shot("no-show")
    page.fill("#from_slot", "1")
    page.get_by_role("button", name="补排空闲时段").click()
    organiser.see("已补排")
    after = meeting_rows(page)
    organiser.shot("replanned")
    assert freed not in after and len(after) == len(before)  # the freed place went to the standby pair
    assert set(before) - {freed} <= set(after)  # nothing published moved
    assert any(ENTERPRISE in text and org in text for text in after)
    # After the meeting the enterprise answers in one form.
    mine.goto(member.base + "/events/1/feedback")
    form = mine.locator("section.feedback").first
    form.get_by_label("已举行").check()
    form.get_by_label("继续洽谈").check()
    form.locator("input[name=next_step]").fill("下周寄送样品")
    form.get_by_role("button", name="保存反馈").click()
    member.see("反馈已保存")
    member.shot("feedback")
    page.goto(event_url + "/kpis")
    assert page.locator("[data-kpi=no_show_rate]").inner_text().endswith(")")
    assert "(1)" in page.locator("[data-kpi=no_show_rate]").inner_text()
    assert page.locator("[data-kpi=second_meeting]").inner_text() == "100.0%"
    organiser.shot("kpis")
