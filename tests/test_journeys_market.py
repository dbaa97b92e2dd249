"""Browser journey through the standing market (issue 16) at 1280 and 390 px, with the fixtures of
test_journeys.py: an enterprise submits a need → the bureau reviews and publishes it → a visitor without an
account finds it in the public catalogue (no contact shown) → an institute member requests the contact →
the enterprise accepts → the institute sees the contact. Screenshots land in /tmp/journeys."""
import pytest
from test_journeys import WIDTHS, browser, instance_template, people, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

TITLE = "缓释制剂辅料相容性评价"
CONTACT = "刘经理 139****0021"


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_need_submitted_reviewed_found_and_contact_released(people, width):  # noqa: F811 (fixture)
    enterprise, bureau = people("market-enterprise", width), people("market-bureau", 1280)
    visitor, institute = people("market-visitor", width), people("market-institute", width)
    page = enterprise.login("ent")
    enterprise.go("/library")
    page.get_by_role("link", name="发布需求").click()
    page.fill("#title", TITLE)
    page.fill("#description", "我公司开发盐酸二甲双胍缓释片，需要评价新型辅料与原料药的相容性并建立加速稳定性方法。")
    page.select_option("#domain", "生物医药")
    page.fill("#trl", "5")
    page.select_option("#cooperation", "技术服务")
    page.fill("#contact", CONTACT)
    enterprise.shot("form")
    page.get_by_role("button", name="保存草稿").click()
    enterprise.see("已保存为草稿")
    page.get_by_label("本条信息不含涉密内容").check()
    page.get_by_role("button", name="提交审核").click()
    enterprise.see("待审核")
    enterprise.shot("submitted")
    # The bureau reviews it in another browser: sets 公开 and publishes.
    bureau_page = bureau.login("org-a")
    bureau.go("/library")
    bureau_page.get_by_role("link", name=TITLE).click()
    bureau_page.select_option("#classification", "公开")
    bureau_page.get_by_role("button", name="发布", exact=True).click()
    bureau.see("已更新：已发布")
    bureau.shot("published")
    # A visitor without an account finds it by text and filter; no contact details anywhere.
    visitor_page = visitor.go("/market")
    visitor_page.fill("#q", "缓释 辅料")
    visitor_page.select_option("#domain", "生物医药")
    visitor_page.get_by_role("button", name="检索").click()
    visitor_page.get_by_role("link", name=TITLE).click()
    visitor.see("登录后申请联系方式")
    assert CONTACT not in visitor_page.content()
    visitor.shot("catalogue-item")
    # An institute member asks for the contact; the enterprise accepts; the contact appears.
    institute_page = institute.login("inst")
    institute.go("/market?q=缓释")
    institute_page.get_by_role("link", name=TITLE).click()
    institute_page.fill("#message", "我院药剂学团队可做辅料相容性与稳定性研究。")
    institute_page.get_by_role("button", name="申请联系方式").click()
    institute.see("已发送联系申请")
    assert CONTACT not in institute_page.content()
    enterprise.go("/inbox")
    enterprise.see("申请获取")
    page.get_by_role("link", name=TITLE, exact=False).first.click()
    page.get_by_role("button", name="同意并提供联系方式").click()
    enterprise.see("已同意，对方现在可以看到联系方式")
    enterprise.shot("accepted")
    institute.go("/inbox")
    institute.see("已同意您的联系申请")
    institute_page.get_by_role("link", name=TITLE, exact=False).first.click()
    institute.see(CONTACT)
    institute.shot("contact-released")
