"""The planner's Chinese reasons read in the page's language (issue 13): every reason the planner can write
has an English text, with its numbers and tiers."""
import re

import pandas as pd

from matcher import schedule_meetings
from webapp.reasons import localise

CJK = re.compile(r"[\u4e00-\u9fff]")


def every_reason():
    """A plan whose unscheduled list holds every kind of reason the planner writes."""
    pairs = pd.DataFrame([
        ("N1", "C1", "甲", "乙", 0.9, "无", "公开"), ("N1", "C2", "甲", "丙", 0.8, "无", "秘密"),
        ("N1", "C3", "甲", "甲", 0.7, "无", "公开"), ("N1", "C4", "甲", "丁", 0.6, "无", "公开"),
        ("N2", "C5", "戊", "乙", 0.5, "无", "公开"), ("N3", "C6", "己", "乙", 0.4, "无", "公开"),
    ], columns=["need_id", "capability_id", "need_org", "capability_org", "score", "need_clearance",
                "capability_classification"])
    vetoed = pd.DataFrame({"need_id": ["N1"], "capability_id": ["C4"]})
    plan = schedule_meetings(pairs, slots=1, tables=1, max_meetings=1, min_meetings=1, vetoed=vetoed)
    return list(plan.unscheduled["reason"])


def test_every_planner_reason_reads_in_english(app):
    reasons = every_reason() + ["企业已达会面上限 3 场", "时段已满/双方无共同空闲时段", "双方无共同空闲时段",
                                "已排除（名单或已对接过）", "会面 0 场，少于最少 2 场（空闲时段只有 1 个）"]
    assert len(set(reasons)) >= 8
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        english = [localise(reason) for reason in reasons]
    assert all(not CJK.search(text) for text in english), [t for t in english if CJK.search(t)]
    assert "Insufficient qualification: the enterprise holds None, the capability is Confidential" in english
    with app.test_request_context():
        assert localise("企业已达会面上限 3 场") == "企业已达会面上限 3 场"
    assert localise("something else") == "something else"
