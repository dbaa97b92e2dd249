"""Shared view helpers: the current event, safe redirects, flashing errors, template filters."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

import matcher
from matcher import DOMAINS
from matcher.strength import BANDS

from .db import db
from .models import Event

#: Event tabs: (endpoint, label, key).
EVENT_TABS = (
    ("outcomes.show", _l("概览"), "dashboard"),
    ("imports.index", _l("导入数据"), "imports"),
    ("suggestions.needs", _l("需求推荐"), "needs"),
    ("suggestions.capabilities", _l("成果推荐"), "capabilities"),
    ("search.orgs", _l("参会单位"), "orgs"),
    ("pairs.index", _l("对接配对"), "pairings"),
    ("deals.index", _l("合作进度"), "deals"),
    ("targeting.index", _l("企业邀约"), "targeting"),
    ("meeting_requests.index", _l("会面申请"), "requests"),
    ("participation.agenda", _l("我的日程"), "my_agenda"),
    ("planning.show", _l("会面日程"), "schedule"),
    ("roadshow.show", _l("路演安排"), "roadshow"),
    ("exports.index", _l("导出"), "exports"),
    ("events.edit", _l("设置"), "settings"),
)

#: Display names of the controlled vocabularies (the stored values stay canonical Chinese).
VOCABULARY = {
    "电子信息": _l("电子信息"), "新材料": _l("新材料"), "先进制造与自动化": _l("先进制造与自动化"),
    "高技术服务": _l("高技术服务"), "生物医药": _l("生物医药"), "其他": _l("其他"),
    "无": _l("无"), "三级": _l("三级"), "二级": _l("二级"), "一级": _l("一级"),
    "公开": _l("公开"), "内部": _l("内部"), "秘密": _l("秘密"), "机密": _l("机密"),
    "技术开发": _l("技术开发"), "技术转让": _l("技术转让"), "技术许可": _l("技术许可"), "技术咨询": _l("技术咨询"),
    "技术服务": _l("技术服务"),
    "强": _l("强"), "中": _l("中"), "弱": _l("弱"),
    "科技型中小企业": _l("科技型中小企业"), "高新技术企业": _l("高新技术企业"), "专精特新中小企业": _l("专精特新中小企业"),
    "专精特新“小巨人”企业": _l("专精特新“小巨人”企业"), "创新型企业": _l("创新型企业"), "领军企业": _l("领军企业"),
    "高校": _l("高校"), "国防科研院所": _l("国防科研院所"), "国家重点实验室": _l("国家重点实验室"),
    "省重点实验室": _l("省重点实验室"), "新型研发机构": _l("新型研发机构"), "企业研发中心": _l("企业研发中心"),
    "500万元以下": _l("500万元以下"), "500万–2000万元": _l("500万–2000万元"), "2000万–1亿元": _l("2000万–1亿元"),
    "1亿–10亿元": _l("1亿–10亿元"), "10亿元以上": _l("10亿元以上"),
    "意向": _l("意向"), "洽谈": _l("洽谈"), "签约": _l("签约"), "登记": _l("登记"), "未入库": _l("未入库"),
    "未分类": _l("未分类"),
}

#: Display names of the account roles.
ROLE_LABELS = {"admin": _l("管理员"), "organiser": _l("组织方"), "institute": _l("院所成员"),
               "enterprise": _l("企业成员"), "analyst": _l("分析员"),
               "security": _l("保密审查员")}

#: Badge colour of qualifications and tiers: from open (0) to most restricted (3).
TIER_CLASS = {"无": 0, "公开": 0, "三级": 1, "内部": 1, "二级": 2, "秘密": 2, "一级": 3, "机密": 3}


def get_event(event_id):
    """The event or 404 (also when the viewer may not see it); made available to templates as ``event``."""
    from .visibility import can_see_event, current_viewer

    event = g.get("event")
    if event is not None and event.id == event_id:
        return event
    event = db.session.get(Event, event_id)
    if event is None or not can_see_event(current_viewer(), event_id):
        abort(404)
    g.event = event
    return event


#: Rows per page of long lists.
PER_PAGE = 25


def listing(items, *, text, sorts, default):
    """One page of a long list, filtered by the query string's ``q``, sorted by ``sort``, paged by ``page``.

    Parameters
    ----------
    items : list
    text : callable
        ``item -> str`` searched by ``q`` (case-insensitive substring).
    sorts : dict
        ``name -> (key function, descending)``; an unknown ``sort`` falls back to ``default``.

    Returns
    -------
    (list, dict)
        The page's items and ``{"page", "pages", "total", "q", "sort", "sorts"}`` for the list controls.
    """
    query = request.args.get("q", "").strip()
    if query:
        needle = query.casefold()
        items = [item for item in items if needle in text(item).casefold()]
    sort = request.args.get("sort", default)
    sort = sort if sort in sorts else default
    key, descending = sorts[sort]
    items = sorted(items, key=key, reverse=descending)
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    return items[(page - 1) * PER_PAGE: page * PER_PAGE], {"page": page, "pages": pages, "total": len(items),
                                                           "q": query, "sort": sort, "sorts": list(sorts)}


def page_url(**changes):
    """The current page's URL with some query arguments changed (for pagers and sort links)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def back(default):
    """Redirect to the form's ``next`` field when it is a local path, else to ``default``."""
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    # "//host" and "/\\host" are other sites to a browser; only plain local paths are followed.
    if target.startswith("/") and not target.startswith(("//", "/\\")) and not parts.scheme and not parts.netloc:
        return redirect(target)
    return redirect(default)


def flash_failure(error):
    """Flash a ValidationFailed (and its field messages) as an error."""
    flash(str(error.description), "error")
    for problem in getattr(error, "errors", []):
        if problem.get("message") and problem.get("field"):
            flash(problem["message"], "error")


def attachment(content, filename, mimetype, fallback):
    """A download response with an RFC 5987 ``filename*`` (UTF-8) and an ASCII ``filename`` fallback."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "", ascii_name)
    if not re.search(r"[A-Za-z0-9]", ascii_name.rsplit(".", 1)[0]):
        ascii_name = fallback
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["Cache-Control"] = "no-store"
    return response


def highlight(text, terms):
    """Escape ``text`` and wrap every occurrence of ``terms`` in ``<mark>`` (longest term first)."""
    text = "" if text is None else str(text)
    terms = sorted({t for t in (terms or []) if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces += [escape(text[last:match.start()]), Markup("<mark>"), escape(match.group(0)), Markup("</mark>")]
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def _context():
    return {"event": g.get("event"), "EVENT_TABS": EVENT_TABS}


def _stage_label(stage):
    from .services.ranking import STAGES

    return STAGES.get(stage, stage)


def init_app(app):
    from . import visibility
    from .services import inbox

    # Templates render inside a request: their helpers ask about the request's viewer.
    app.jinja_env.globals.update(
        role_label=lambda role: ROLE_LABELS.get(role, role),
        contact=lambda record: visibility.contact(visibility.current_viewer(), record),
        is_organiser=lambda event_id: visibility.is_organiser(visibility.current_viewer(), event_id),
        inbox_unread=lambda: inbox.unread_count(visibility.current_viewer()))
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["label"] = lambda value: VOCABULARY.get(value, value)
    app.jinja_env.filters["keywords"] = lambda value: _l("、").join(k for k in str(value or "").split(";") if k)
    app.context_processor(_context)
    app.jinja_env.globals.update(page_url=page_url)
    from .services.phases import PHASES
    from .services.phases import label as phase_label
    from .services.wishes import LABELS as WISH_LABELS

    app.jinja_env.globals.update(phase_label=phase_label, PHASES=PHASES, WISH_LABELS=WISH_LABELS)
    app.jinja_env.globals.update(VERSION=matcher.__version__, DOMAIN_CLASS={d: i for i, d in enumerate(DOMAINS)}, TIER_CLASS=TIER_CLASS,
                                 stage_label=_stage_label, STRONG_MATCH_FROM=dict(BANDS)["中"],
                                 BAND_CLASS=dict(zip((name for name, _ in BANDS), ("strong", "medium", "weak"))))
