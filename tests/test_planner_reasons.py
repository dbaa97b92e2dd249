"""The planner's Chinese reasons read in the page's language (issue 13): every reason the planner can write
has an English text, with its numbers and tiers."""
import re

import pandas as pd

from matcher import schedule_meetings
from webapp.reasons import localise, localise_suggestion

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
                                "已排除（名单或已对接过）", "不见", "往届已会面", "会面 0 场，少于最少 2 场（空闲时段只有 1 个）"]
    assert len(set(reasons)) >= 8
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        english = [localise(reason) for reason in reasons]
    assert all(not CJK.search(text) for text in english), [t for t in english if CJK.search(t)]
    assert "Insufficient qualification: the enterprise holds None, the capability is Confidential" in english
    with app.test_request_context():
        assert localise("企业已达会面上限 3 场") == "企业已达会面上限 3 场"
    assert localise("something else") == "something else"


def test_every_suggestion_reason_reads_in_english(app, needs, capabilities):
    """Reasons written by the ranking itself (every phrase kind: shared terms or none, same or cross domain,
    with and without the semantic and neighbourhood figures) read in English; record text stays as written."""
    from matcher import rank_pairs

    frames = [rank_pairs(needs, capabilities, top_k=5, weights={"semantic": 0.0, "neighbourhood": weight})
              for weight in (0.0, 0.3)]
    reasons = [r for frame in frames for r in frame["reason"]]
    reasons += ["共同术语：压铸；需求「气孔」↔ 成果「压铸」；领域一致（新材料）；词汇匹配 0.50",  # written before strength
                ("无共同术语（依据语义相似）；需求「电机过热」↔ 成果「高真空压铸」；跨领域（电子信息 → 新材料）；"
                 "语义相似度 0.87，词汇匹配 0.00，近邻重合度 0.12")]
    kinds = {part.split("（")[0].split("：")[0].split(" ")[0] for r in reasons for part in r.split("；")}
    assert {"共同术语", "无共同术语", "领域一致", "跨领域", "匹配强度", "词汇匹配", "语义相似度"} <= kinds
    assert any("匹配强度" in r for frame in frames for r in frame["reason"])
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        english = [localise_suggestion(r) for r in reasons]
    for text in english:
        # What may stay Chinese: the quoted sentences and the shared terms (record text).
        assert not CJK.search(re.sub(r"“[^”]*”|Shared terms: [^;]*", "", text)), text
    assert english[-1] == ("No shared terms (matched on meaning); Need “电机过热” ↔ capability “高真空压铸”; "
                           "Across domains (Electronic information → New materials); "
                           "semantic similarity 0.87, lexical match 0.00, neighbourhood overlap 0.12")
    with app.test_request_context():
        assert localise_suggestion(reasons[-1]) == reasons[-1]
        assert localise_suggestion("未知短语；词汇匹配 0.50") == "未知短语；词汇匹配 0.50"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert localise_suggestion("未知短语；词汇匹配 0.50") == "未知短语; lexical match 0.50"
