"""Organisation profiles in the district database: credit code, industry, size, tiers with validity, history.

Who may do what:

* organisers (the bureau's staff, who target enterprises for every event) and administrators see and
  edit every profile; analysts read them;
* a member (enterprise or institute account) sees its own organisation's profile and edits its
  descriptive fields (industry, town, staff, revenue band, products, disciplines, teams); the credit
  code and the tier memberships, which the bureau counts, stay with organisers;
* security officers keep the 保密资质 (:mod:`webapp.services.qualifications`), which is not edited here.

Every changed field is written as an :class:`~webapp.models.OrgChange` with the value before and
after, who changed it and from where (the form, or the imported file and row).
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from matcher.organisations import (
    credit_code_problem,
    industry_code_problem,
    industry_section,
    normalise_credit_code,
)

from ..db import db
from ..errors import ValidationFailed
from ..models import Organisation, OrgChange, OrgProfile, OrgTier

KINDS = ("enterprise", "institute")
#: Tiers of the district's enterprise database, from the broadest to the most selective.
TIERS = ("科技型中小企业", "高新技术企业", "专精特新中小企业", "专精特新“小巨人”企业", "创新型企业", "领军企业")
#: Tiers whose register or certificate number must be given.
NUMBER_REQUIRED = ("科技型中小企业", "高新技术企业", "专精特新中小企业", "专精特新“小巨人”企业")
#: Longest validity in years: the 入库 of a 科技型中小企业 is renewed each year; the others are certified for three.
MAX_YEARS = {"科技型中小企业": 1, "高新技术企业": 3, "专精特新中小企业": 3, "专精特新“小巨人”企业": 3}
#: 高新技术企业证书编号: GR (GF before 2008) + year + province + six digits, e.g. GR202332001234.
HIGH_TECH_NUMBER = re.compile(r"^G[RF]\d{12}$")
INSTITUTE_TYPES = ("高校", "国防科研院所", "国家重点实验室", "省重点实验室", "新型研发机构", "企业研发中心")
REVENUE_BANDS = ("500万元以下", "500万–2000万元", "2000万–1亿元", "1亿–10亿元", "10亿元以上")
#: Days before expiry that a tier (and a 保密资质 certificate, webapp.services.qualifications) appears on the reminder list.
EXPIRY_NOTICE_DAYS = 90
#: Profile fields a member may edit for its own organisation.
MEMBER_FIELDS = ("industry_code", "town", "rd_staff", "revenue_band", "main_products", "disciplines", "teams")
PROFILE_FIELDS = ("credit_code", "institute_type", *MEMBER_FIELDS)
FIELD_LABELS = {
    "name": _l("单位名称"), "kind": _l("单位类型"), "credit_code": _l("统一社会信用代码"),
    "industry_code": _l("行业代码"), "town": _l("所在镇街"), "rd_staff": _l("研发人员数"),
    "revenue_band": _l("营业收入区间"), "main_products": _l("主要产品"), "institute_type": _l("院所类型"),
    "disciplines": _l("学科方向"), "teams": _l("科研团队"), "tier": _l("梯队"), "number": _l("编号"),
    "valid_from": _l("起始日期"), "valid_until": _l("有效期至"),
}
_CREDIT_RULES = {
    "length": _l("须为 18 位"), "characters": _l("只能含数字和除 I、O、Z、S、V 以外的大写字母"),
    "authority": _l("第 1–2 位须为登记管理部门代码和该部门登记的机构类别代码"),
    "region": _l("第 3–8 位须为 6 位行政区划代码"), "check": _l("第 18 位校验码与前 17 位按 GB 32100-2015 算出的不符"),
}


def may_view(viewer, organisation):
    if viewer.everything or viewer.role in ("organiser", "analyst"):
        return True
    return viewer.role in ("enterprise", "institute") and bool(viewer.org) and organisation.name == viewer.org


def may_edit_all(viewer):
    """Organisers and administrators edit every field and the tiers; members only their own descriptive fields."""
    return viewer.everything or viewer.role == "organiser"


def tier_status(tier, today=None):
    """"valid", "expiring" (within :data:`EXPIRY_NOTICE_DAYS`), "expired" or "pending" (not yet in force)."""
    today = today or dt.date.today()
    if tier.valid_from is not None and tier.valid_from > today:
        return "pending"
    if tier.valid_until is None:
        return "valid"
    if tier.valid_until < today:
        return "expired"
    return "expiring" if (tier.valid_until - today).days <= EXPIRY_NOTICE_DAYS else "valid"


def current_tiers(org_ids, today=None):
    """Tiers in force today of each organisation: ``{org_id: [tier, …]}`` in :data:`TIERS` order."""
    out = {}
    for row in db.session.scalars(select(OrgTier).where(OrgTier.org_id.in_(list(org_ids)))):
        if tier_status(row, today) in ("valid", "expiring"):
            out.setdefault(row.org_id, []).append(row.tier)
    return {k: sorted(v, key=TIERS.index) for k, v in out.items()}


def listing(viewer, *, kind="", tier="", town="", industry="", text=""):
    """Organisations the viewer may see with their profile and tiers in force, filtered; by name.

    Returns
    -------
    list of dict
        ``organisation, profile (OrgProfile or None), tiers (list of str)``.
    """
    if not (viewer.everything or viewer.role in ("organiser", "analyst")):
        return []
    query = select(Organisation, OrgProfile).outerjoin(OrgProfile, OrgProfile.org_id == Organisation.id)
    if kind in KINDS:
        query = query.where(Organisation.kind == kind)
    if town:
        query = query.where(OrgProfile.town == town)
    if industry:
        query = query.where(OrgProfile.industry_code.startswith(industry.strip().upper()))
    if text:
        query = query.where(Organisation.name.contains(text.strip()) | OrgProfile.main_products.contains(text.strip()))
    rows = db.session.execute(query.order_by(Organisation.name)).all()
    tiers = current_tiers(o.id for o, _p in rows)
    out = [{"organisation": o, "profile": p, "tiers": tiers.get(o.id, [])} for o, p in rows]
    return [r for r in out if not tier or tier in r["tiers"]]


def get(viewer, org_id):
    """The organisation, or 404 when it does not exist or the viewer may not see it (the same answer)."""
    organisation = db.session.get(Organisation, org_id)
    if organisation is None or not may_view(viewer, organisation):
        raise NotFound()
    return organisation


def details(viewer, org_id):
    """Everything the profile page shows: organisation, profile (possibly unsaved), tiers, history (newest first)."""
    organisation = get(viewer, org_id)
    profile = db.session.get(OrgProfile, org_id) or OrgProfile(org_id=org_id, industry_code="", town="",
                                                              revenue_band="", main_products="",
                                                              institute_type="", disciplines="", teams="")
    tiers = db.session.scalars(select(OrgTier).where(OrgTier.org_id == org_id)).all()
    changes = db.session.scalars(select(OrgChange).where(OrgChange.org_id == org_id)
                                 .order_by(OrgChange.id.desc()).limit(200)).all()
    return organisation, profile, sorted(tiers, key=lambda t: TIERS.index(t.tier)), changes


def check_profile(values, kind):
    """Validate one organisation's profile fields (a form or a spreadsheet row).

    Parameters
    ----------
    values : mapping
        Field → text as typed; absent fields are left out of the result.
    kind : {"enterprise", "institute"}

    Returns
    -------
    (dict, list of dict)
        Clean values by field, and problems (``field, value, message``) naming the rule broken.
    """
    clean, problems = {}, []

    def refuse(field, value, message):
        problems.append({"field": field, "value": value, "message": message})

    for field in PROFILE_FIELDS:
        if field not in values:
            continue
        raw = str(values.get(field) or "").strip()
        if field == "credit_code":
            code = normalise_credit_code(raw)
            rule = credit_code_problem(code) if code else None
            if not code and kind == "enterprise":
                refuse(field, raw, _("企业须填写统一社会信用代码。"))
            elif rule:
                refuse(field, raw, _("统一社会信用代码“%(code)s”无效：%(rule)s。", code=raw, rule=_CREDIT_RULES[rule]))
            clean[field] = code or None
        elif field == "industry_code":
            code = raw.upper()
            if code and industry_code_problem(code):
                refuse(field, raw, _("行业代码“%(code)s”无效：须为 GB/T 4754-2017 门类字母加 2–4 位数字且二者一致，"
                                     "如 C3911。", code=raw))
            elif code and not code[0].isalpha():
                code = industry_section(code) + code  # stored with its section letter, as the bureau writes it
            clean[field] = code
        elif field == "rd_staff":
            clean[field] = None
            if raw:
                if not raw.isdigit() or int(raw) > 1_000_000:
                    refuse(field, raw, _("研发人员数须为 0–1000000 的整数。"))
                else:
                    clean[field] = int(raw)
        elif field == "revenue_band":
            if raw and raw not in REVENUE_BANDS:
                refuse(field, raw, _("营业收入区间须为：%(allowed)s。", allowed="、".join(REVENUE_BANDS)))
            clean[field] = raw
        elif field == "institute_type":
            if raw and (kind != "institute" or raw not in INSTITUTE_TYPES):
                refuse(field, raw, _("院所类型只用于院所，须为：%(allowed)s。", allowed="、".join(INSTITUTE_TYPES)))
            clean[field] = raw
        elif field in ("disciplines", "teams"):
            clean[field] = "、".join(p for p in re.split(r"\s*[;；,，、]\s*", raw) if p)[:2000]
        else:
            clean[field] = raw[:2000 if field == "main_products" else 100]
    return clean, problems


def check_tier(tier, number, valid_from, valid_until):
    """Validate one tier membership; returns ``(clean dict, problems)`` like :func:`check_profile`."""
    problems = []
    number = (number or "").strip()
    start, end = _date(valid_from), _date(valid_until)
    if tier not in TIERS:
        problems.append({"field": "tier", "value": tier, "message": _("梯队须为：%(allowed)s。", allowed="、".join(TIERS))})
        return {}, problems
    if tier in NUMBER_REQUIRED and not number:
        problems.append({"field": "number", "value": number, "message": _("%(tier)s须填写编号。", tier=tier)})
    if tier == "高新技术企业" and number and not HIGH_TECH_NUMBER.match(number.upper()):
        problems.append({"field": "number", "value": number,
                         "message": _("高新技术企业证书编号“%(number)s”格式不对：应为 GR 加 12 位数字，如 GR202332001234。",
                                      number=number)})
    for field, raw, parsed in (("valid_from", valid_from, start), ("valid_until", valid_until, end)):
        if (raw or "").strip() and parsed is None:
            problems.append({"field": field, "value": raw, "message": _("日期“%(value)s”须写成 YYYY-MM-DD。", value=raw)})
    if tier in MAX_YEARS and end is None and not (valid_until or "").strip():
        problems.append({"field": "valid_until", "value": "", "message": _("%(tier)s须填写有效期至。", tier=tier)})
    if start and end and end <= start:
        problems.append({"field": "valid_until", "value": valid_until, "message": _("有效期至须晚于起始日期。")})
    elif start and end and tier in MAX_YEARS and end > _add_years(start, MAX_YEARS[tier]):
        problems.append({"field": "valid_until", "value": valid_until,
                         "message": _("%(tier)s有效期最长 %(years)s 年。", tier=tier, years=MAX_YEARS[tier])})
    number = number.upper() if tier == "高新技术企业" else number
    return {"tier": tier, "number": number[:40], "valid_from": start, "valid_until": end}, problems


def credit_code_owner(code, except_org_id=None):
    """The organisation that already holds ``code``, or None."""
    if not code:
        return None
    query = select(Organisation).join(OrgProfile, OrgProfile.org_id == Organisation.id).where(
        OrgProfile.credit_code == code)
    if except_org_id is not None:
        query = query.where(Organisation.id != except_org_id)
    return db.session.scalar(query)


_LOOKUP = object()


def apply_profile(organisation, clean, *, username, source, profile=_LOOKUP):
    """Write clean profile values and one :class:`OrgChange` per changed field (no commit); count the changes.

    ``profile`` is the stored profile (or None) when the caller has already loaded it; by default it is read.
    """
    if profile is _LOOKUP:
        profile = db.session.get(OrgProfile, organisation.id)
    if profile is None:
        profile = OrgProfile(org_id=organisation.id, industry_code="", town="", revenue_band="", main_products="",
                             institute_type="", disciplines="", teams="")
        db.session.add(profile)
    changed = 0
    for field, value in clean.items():
        before = getattr(profile, field)
        if (before or None) != (value or None) and not (before == 0 and value == 0):
            setattr(profile, field, value)
            _log(organisation, field, before, value, username, source)
            changed += 1
    return changed


def apply_tier(organisation, clean, *, username, source, row=_LOOKUP):
    """Create or replace one tier membership (no commit); whether anything changed.

    ``row`` is the stored membership (or None) when the caller has already loaded it; by default it is read.
    """
    if row is _LOOKUP:
        row = db.session.scalar(select(OrgTier).filter_by(org_id=organisation.id, tier=clean["tier"]))
    before = _tier_text(row)
    if row is None:
        row = OrgTier(org_id=organisation.id, tier=clean["tier"])
        db.session.add(row)
    row.number, row.valid_from, row.valid_until = clean["number"], clean["valid_from"], clean["valid_until"]
    after = _tier_text(row)
    if before != after:
        _log(organisation, f"tier:{clean['tier']}", before, after, username, source)
    return before != after


def create(viewer, form):
    """Create an organisation with its profile from the list page's form; returns it.

    Raises
    ------
    ValidationFailed
        Not an organiser; name missing or taken; any profile rule broken; a credit code already held.
    """
    if not may_edit_all(viewer):
        raise ValidationFailed(_("只有组织方可以新建单位档案。"))
    name, kind = (form.get("name") or "").strip()[:200], form.get("kind", "enterprise")
    problems = []
    if not name:
        problems.append({"field": "name", "message": _("请填写单位名称。")})
    elif db.session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        problems.append({"field": "name", "value": name, "message": _("单位“%(name)s”已存在。", name=name)})
    if kind not in KINDS:
        problems.append({"field": "kind", "value": kind, "message": _("单位类型须为企业或院所。")})
    clean, more = check_profile({f: form.get(f, "") for f in PROFILE_FIELDS}, kind)
    problems += more + _duplicate_code(clean.get("credit_code"), None)
    _refuse(problems)
    organisation = Organisation(name=name, kind=kind)
    db.session.add(organisation)
    db.session.flush()
    _log(organisation, "name", "", name, viewer.username, _("表单"))
    apply_profile(organisation, clean, username=viewer.username, source=_("表单"))
    db.session.commit()
    return organisation


def update(viewer, org_id, form):
    """Save the profile form; a member's form may carry only :data:`MEMBER_FIELDS`. Returns the changed-field count.

    Raises
    ------
    NotFound
        The viewer may not see the organisation.
    ValidationFailed
        A member editing another organisation or a bureau-only field; any profile rule broken.
    """
    organisation = get(viewer, org_id)
    fields = PROFILE_FIELDS if may_edit_all(viewer) else MEMBER_FIELDS
    if not may_edit_all(viewer) and (viewer.role not in ("enterprise", "institute") or viewer.org != organisation.name):
        raise ValidationFailed(_("您不能修改该单位的档案。"))
    clean, problems = check_profile({f: form.get(f, "") for f in fields if f in form}, organisation.kind)
    problems += _duplicate_code(clean.get("credit_code"), organisation.id)
    _refuse(problems)
    changed = apply_profile(organisation, clean, username=viewer.username, source=_("表单"))
    db.session.commit()
    return changed


def set_tier(viewer, org_id, form):
    """Add or replace a tier membership from the profile page (organisers only)."""
    organisation = get(viewer, org_id)
    if not may_edit_all(viewer):
        raise ValidationFailed(_("梯队认定由组织方维护。"))
    if organisation.kind != "enterprise":
        raise ValidationFailed(_("梯队只用于企业。"))
    clean, problems = check_tier(form.get("tier", ""), form.get("number", ""), form.get("valid_from", ""),
                                 form.get("valid_until", ""))
    _refuse(problems)
    apply_tier(organisation, clean, username=viewer.username, source=_("表单"))
    db.session.commit()


def remove_tier(viewer, org_id, tier_id):
    organisation = get(viewer, org_id)
    if not may_edit_all(viewer):
        raise ValidationFailed(_("梯队认定由组织方维护。"))
    row = db.session.scalar(select(OrgTier).filter_by(id=tier_id, org_id=organisation.id))
    if row is None:
        raise NotFound()
    _log(organisation, f"tier:{row.tier}", _tier_text(row), "", viewer.username, _("表单"))
    db.session.delete(row)
    db.session.commit()


def expiring(viewer, today=None, days=EXPIRY_NOTICE_DAYS):
    """Tier certificates that expired or expire within ``days``, soonest first (organisers and administrators).

    Returns
    -------
    list of (OrgTier, Organisation, int)
        The tier, its organisation and the days left (negative: expired that many days ago).
    """
    if not may_edit_all(viewer):
        return []
    today = today or dt.date.today()
    rows = db.session.execute(select(OrgTier, Organisation).join(Organisation, Organisation.id == OrgTier.org_id)
                              .where(OrgTier.valid_until.is_not(None),
                                     OrgTier.valid_until <= today + dt.timedelta(days=days))
                              .order_by(OrgTier.valid_until, Organisation.name)).all()
    return [(tier, organisation, (tier.valid_until - today).days) for tier, organisation in rows]


def _duplicate_code(code, org_id):
    owner = credit_code_owner(code, org_id)
    if owner is None:
        return []
    return [{"field": "credit_code", "value": code,
             "message": _("统一社会信用代码 %(code)s 已属于“%(name)s”，不能重复。", code=code, name=owner.name)}]


def _refuse(problems):
    if problems:
        raise ValidationFailed("；".join(f"{FIELD_LABELS.get(p['field'], p['field'])}：{p['message']}" for p in problems),
                               problems)


def _log(organisation, field, before, after, username, source):
    db.session.add(OrgChange(org_id=organisation.id, field=field, before="" if before is None else str(before),
                             after="" if after is None else str(after), username=username, source=source[:200]))


def _tier_text(row):
    if row is None:
        return ""
    span = f"{row.valid_from or ''}–{row.valid_until or ''}"
    return f"{row.number} {span}".strip()


def _date(text):
    text = str(text or "").strip()
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
