"""The planner's Chinese reasons (``matcher.planning``, ``matcher.constraints``) in the page's language.

The planner writes a fixed set of reasons, some with numbers or tiers in them; each pattern below is
one of them, and the page shows its catalogue text. A reason no pattern knows is shown as it is.
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
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（可会面的候选单位只有 (?P<k>\d+) 个）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（可会面的候选单位只有 %(k)s 个）")),
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（空闲时段只有 (?P<k>\d+) 个）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（空闲时段只有 %(k)s 个）")),
    (r"会面 (?P<n>\d+) 场，少于最少 (?P<m>\d+) 场（时段或桌位容量不足，或候选单位已满）",
     _l("会面 %(n)s 场，少于最少 %(m)s 场（时段或桌位容量不足，或候选单位已满）")),
]
_COMPILED = [(re.compile(f"^{pattern}$"), text) for pattern, text in PATTERNS]


def localise(reason):
    """The planner's reason in the current language (tiers named in it too); unknown text unchanged."""
    reason = "" if reason is None else str(reason)
    for pattern, text in _COMPILED:
        found = pattern.match(reason.strip())
        if found:
            values = {k: str(VOCABULARY.get(v, v)) for k, v in found.groupdict().items()}
            return str(text % values) if values else str(text)
    return reason


def init_app(app):
    app.jinja_env.filters["planner_reason"] = localise
