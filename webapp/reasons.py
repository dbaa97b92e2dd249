"""matcher's Chinese reasons in the page's language: the planner's (``matcher.planning``,
``matcher.constraints``) and each suggestion's (``matcher.reasons.explain``).

matcher writes a fixed set of phrases, some with numbers, tiers, domains or terms in them; each
pattern below is one of them, and the page shows its catalogue text. A suggestion's reason is a
list of such phrases joined by "；"; quoted record text (the matching sentences, the shared terms)
stays as written. A phrase no pattern knows is shown as it is.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from .ui import VOCABULARY

#: (pattern over the planner's text, catalogue text with the pattern's named groups).
PATTERNS = [
    (r"已被否决", _l("已被否决")),
    (r"同一单位", _l("同一单位")),
    (r"双方无共同空闲时段", _l("双方无共同空闲时段")),
    (r"时段已满/双方无共同空闲时段", _l("时段已满或双方无共同空闲时段")),
    (r"得分低于已安排的会面（容量不足）", _l("得分低于已安排的会面（容量不足）")),
    (r"企业已达会面上限 (?P<k>\d+) 场", _l("企业已达会面上限 %(k)s 场")),
    (r"院所已达会面上限 (?P<k>\d+) 场", _l("院所已达会面上限 %(k)s 场")),
    (r"保密资质不足：企业资质 (?P<clearance>\S+)，成果密级 (?P<tier>\S+)", _l("保密资质不足：企业资质 %(clearance)s，成果密级 %(tier)s")),
    (r"保密资质不足", _l("保密资质不足")),
    (r"已排除（名单或已对接过）", _l("已排除（名单或已对接过）")),
    (r"不见", _l("一方标记为不见")),
    (r"往届已会面", _l("往届已会面（无人提出再见）")),
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（可会面的候选单位只有 (?P<k>\d+) 个）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（可会面的候选单位只有 %(k)s 个）")),
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（空闲时段只有 (?P<k>\d+) 个）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（空闲时段只有 %(k)s 个）")),
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（时段或桌位容量不足，或候选单位已满）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（时段或桌位容量不足，或候选单位已满）")),
]
_COMPILED = [(re.compile(f"^{pattern}$"), text) for pattern, text in PATTERNS]

#: The phrases of a suggestion's reason (``matcher.reasons.explain``); named groups as above.
SUGGESTION_PATTERNS = [
    (r"共同术语：(?P<terms>.+)", _l("共同术语：%(terms)s")),
    (r"无共同术语（依据语义相似）", _l("无共同术语（依据语义相似）")),
    (r"无共同术语", _l("无共同术语")),
    (r"需求「(?P<need>.*)」↔ 成果「(?P<capability>.*)」", _l("需求「%(need)s」↔ 成果「%(capability)s」")),
    (r"领域一致（(?P<domain>[^（）]+)）", _l("领域一致（%(domain)s）")),
    (r"跨领域（(?P<need_domain>[^（）]+) → (?P<capability_domain>[^（）]+)）",
     _l("跨领域（%(need_domain)s → %(capability_domain)s）")),
    (r"匹配强度 (?P<strength>[\d.]+)（(?P<band>[^（）]+)）", _l("匹配强度 %(strength)s（%(band)s）")),
    (r"语义相似度 (?P<semantic>[\d.]+)，词汇匹配 (?P<lexical>[\d.]+)，近邻重合度 (?P<neighbourhood>[\d.]+)",
     _l("语义相似度 %(semantic)s，词汇匹配 %(lexical)s，近邻重合度 %(neighbourhood)s")),
    (r"语义相似度 (?P<semantic>[\d.]+)，词汇匹配 (?P<lexical>[\d.]+)",
     _l("语义相似度 %(semantic)s，词汇匹配 %(lexical)s")),
    (r"词汇匹配 (?P<lexical>[\d.]+)，近邻重合度 (?P<neighbourhood>[\d.]+)",
     _l("词汇匹配 %(lexical)s，近邻重合度 %(neighbourhood)s")),
    (r"词汇匹配 (?P<lexical>[\d.]+)", _l("词汇匹配 %(lexical)s")),
]
_SUGGESTION_COMPILED = [(re.compile(f"^{pattern}$"), text) for pattern, text in SUGGESTION_PATTERNS]
#: Groups holding record text or numbers, shown as written (the others are vocabulary: tiers, domains).
_VERBATIM = {"terms", "need", "capability", "strength", "semantic", "lexical", "neighbourhood", "n", "m", "k"}


def _phrase(text, compiled):
    for pattern, catalogue in compiled:
        found = pattern.match(text)
        if found:
            values = {k: v if k in _VERBATIM else str(VOCABULARY.get(v, v)) for k, v in found.groupdict().items()}
            return str(catalogue % values) if values else str(catalogue)
    return None


def localise(reason):
    """The planner's reason in the current language (tiers named in it too); unknown text unchanged."""
    reason = "" if reason is None else str(reason)
    found = _phrase(reason.strip(), _COMPILED)
    return reason if found is None else found


def localise_suggestion(reason):
    """A suggestion's reason in the current language, phrase by phrase; unknown phrases unchanged."""
    reason = "" if reason is None else str(reason)
    if not reason:
        return reason
    phrases = [(_phrase(part.strip(), _SUGGESTION_COMPILED) or part) for part in reason.split("；")]
    return str(_l("；")).join(phrases)


def init_app(app):
    app.jinja_env.filters["planner_reason"] = localise
    app.jinja_env.filters["suggestion_reason"] = localise_suggestion
