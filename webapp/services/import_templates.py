"""Import templates: the record columns in the UI language, and the blank workbooks organisers fill in
(needs and capabilities per event; the organisation database, see :func:`organisation_template_bytes`).

The Excel template has one example row (its id starts with 示例, so the loaders reject it with its
own reason and it is never imported), drop-down lists built from the vocabularies the loaders
validate against, fitted widths, a frozen header and a second sheet (填写说明) explaining every
column. The CSV template is the header and the example row.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from flask_babel import gettext as _
from flask_babel import pgettext
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from matcher import CLASSIFICATIONS, CLEARANCES, DOMAINS
from matcher.export import write_frame, write_workbook
from matcher.taxonomy import COOPERATION_MODES

from .frames import column_limit, model_of

#: Canonical columns of each kind, in template and export order.
COLUMNS = {
    "need": ("id", "org", "title", "description", "domain", "keywords", "region", "contact", "trl", "cooperation",
             "clearance"),
    "capability": ("id", "org", "title", "description", "domain", "keywords", "region", "contact", "trl",
                   "cooperation", "classification"),
}
#: Rows of the data sheet that get drop-down lists (Excel's own row limit).
LAST_ROW = 1048576
TRL_LEVELS = tuple(str(level) for level in range(1, 10))


def record_headers(kind):
    """``{canonical column: header}`` in the UI language, in template order.

    Every header is one the loaders accept (Chinese, or the English column name), so an
    exported file imports again unchanged whatever language it was downloaded in.
    """
    # The context keeps these apart from the same Chinese words used elsewhere with other translations.
    labels = {
        "id": pgettext("column", "编号"), "org": pgettext("column", "单位名称"),
        "title": pgettext("column", "需求名称") if kind == "need" else pgettext("column", "成果名称"),
        "description": pgettext("column", "需求描述") if kind == "need" else pgettext("column", "成果简介"),
        "domain": pgettext("column", "所属领域"), "keywords": pgettext("column", "关键词"),
        "region": pgettext("column", "地区"), "contact": pgettext("column", "联系人"),
        "trl": pgettext("column", "技术成熟度"), "cooperation": pgettext("column", "合作方式"),
        "clearance": pgettext("column", "保密资质"), "classification": pgettext("column", "密级"),
    }
    return {column: labels[column] for column in COLUMNS[kind]}


def template_bytes(kind, fmt):
    """The ``.csv`` or ``.xlsx`` import template of ``kind`` ("need" or "capability") in the UI language."""
    headers = record_headers(kind)
    example = pd.DataFrame([_example(kind)]).rename(columns=headers)[list(headers.values())]
    with tempfile.TemporaryDirectory(prefix="matcher-template-") as folder:
        if fmt == "csv":
            return write_frame(example, Path(folder) / "template.csv").read_bytes()
        data = _("企业需求") if kind == "need" else _("院所成果")
        path = write_workbook({data: example, _("填写说明"): _guide(kind, headers)}, Path(folder) / "template.xlsx")
        book = openpyxl.load_workbook(path)
    _add_lists(book.worksheets[0], kind)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _example(kind):
    """A fictional row the loaders would accept, but for its 示例 id."""
    if kind == "need":
        return {"id": "示例-001", "org": _("示例：某某精密机械有限公司"), "title": _("示例：铝合金压铸件气孔缺陷控制"),
                "description": _("示例：壳体压铸件内部气孔导致 X 光检测不合格率约 8%，希望与院所合作把不合格率降到 2% 以下。"),
                "domain": "先进制造与自动化", "keywords": _("压铸;气孔;X光检测"), "region": _("示例区"),
                "contact": _("示例：张工"), "trl": 5, "cooperation": "合作开发", "clearance": "无"}
    return {"id": "示例-001", "org": _("示例：某某理工大学材料学院"), "title": _("示例：真空压铸与局部挤压补缩工艺"),
            "description": _("示例：基于凝固模拟优化排气系统，结合真空压铸与局部挤压补缩，铸件气孔率降低约 70%。"),
            "domain": "先进制造与自动化", "keywords": _("真空压铸;补缩;凝固模拟"), "region": _("示例区"),
            "contact": _("示例：李老师"), "trl": 6, "cooperation": "技术服务", "classification": "公开"}


def _guide(kind, headers):
    """The 填写说明 sheet: one row per column (required?, allowed values, example, notes), then general notes."""
    separator = _("、")
    required, expected, optional = _("必填"), _("建议填写"), _("选填")
    rules = {
        "id": (required, _("本文件内不重复，最多 %(n)s 个字符", n=column_limit(kind, model_of(kind)[1])),
               _("重复导入同一编号会更新原记录；以“示例”开头的编号是填写示例，不会导入")),
        "org": (expected, _("文字"), _("同一单位的需求与成果不会互相推荐")),
        "title": (required, _("文字"), ""),
        "description": (required, _("文字"), _("写清问题、指标和现有条件，推荐越准")),
        "domain": (optional, separator.join(DOMAINS), _("留空则根据名称和描述自动推断")),
        "keywords": (optional, _("多个关键词用分号、逗号或顿号分隔"), ""),
        "region": (optional, _("文字"), ""),
        "contact": (optional, _("文字"), _("只有组织方和已接受配对的对方能看到")),
        "trl": (optional, _("1–9 的整数"), _("技术成熟度（TRL）")),
        "cooperation": (optional, separator.join(COOPERATION_MODES), _("也可填写其他方式")),
        "clearance": (optional, separator.join(CLEARANCES), _("留空视为“无”；配对时以保密审查员核验过的资质为准")),
        "classification": (required, separator.join(CLASSIFICATIONS),
                           _("决定哪些企业能看到该成果：内部需任一保密资质，秘密需三级及以上，机密需二级及以上")),
    }
    example = _example(kind)
    rows = [{_("列名"): headers[c], _("是否必填"): rules[c][0], _("可填写的值"): rules[c][1], _("示例"): example[c],
             _("备注"): rules[c][2]} for c in COLUMNS[kind]]
    notes = [_("第 1 行是表头，请不要改动列名；数据从第 2 行开始，一行一条记录。"),
             _("第 2 行是填写示例（编号以“示例”开头），导入时不会导入，可以直接覆盖或删除。"),
             _("有下拉列表的列请从列表中选择；上传后会逐行校验，确认前不会写入任何数据。")]
    first = _("列名")
    return pd.DataFrame(rows + [{first: ""}] + [{first: note} for note in notes]).fillna("")


def _add_lists(sheet, kind):
    """Drop-down lists (data validation) for the columns with a fixed vocabulary."""
    columns = list(COLUMNS[kind])
    lists = {"domain": (DOMAINS, "stop", _("请从列表中选择领域，或留空由系统推断。")),
             "trl": (TRL_LEVELS, "stop", _("技术成熟度须为 1–9 的整数。")),
             "cooperation": (COOPERATION_MODES, "warning", _("不在列表中的合作方式也可以保留。")),
             "clearance": (tuple(CLEARANCES), "stop", _("请从列表中选择保密资质，留空视为“无”。")),
             "classification": (tuple(CLASSIFICATIONS), "stop", _("请从列表中选择密级。"))}
    for column, (values, style, message) in lists.items():
        if column not in columns:
            continue
        letter = get_column_letter(columns.index(column) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                    showDropDown=False, showErrorMessage=True, errorStyle=style,
                                    error=message, errorTitle=_("请检查输入"))
        validation.add(f"{letter}2:{letter}{LAST_ROW}")
        sheet.add_data_validation(validation)


#: A fictional organisation that passes every rule of the organisation import but for its 示例 name
#: (credit code 91320583MA1XQ7KT81: GB 32100-2015 check character 1).
ORGANISATION_EXAMPLE = {
    "name": "示例：某某精密机械有限公司", "kind": "企业", "credit_code": "91320583MA1XQ7KT81", "industry_code": "C3484",
    "town": "示例镇", "rd_staff": 36, "revenue_band": "2000万–1亿元", "main_products": "精密压铸件、减速器壳体",
    "institute_type": "", "disciplines": "", "teams": "",
    "高新技术企业|number": "GR202332001234", "高新技术企业|valid_from": "2023-11-06",
    "高新技术企业|valid_until": "2026-11-05",
    "科技型中小企业|number": "202532058300001234", "科技型中小企业|valid_from": "2025-04-01",
    "科技型中小企业|valid_until": "2026-03-31",
}
#: Tier columns the template writes: the register or certificate number, start and expiry.
TIER_HEADERS = {"number": "编号", "valid_from": "起始日期", "valid_until": "有效期至"}


def organisation_headers():
    """``{field: header}`` of the organisation import template, in column order (Chinese, as the bureau writes them).

    Profile fields use the first name :data:`webapp.services.org_imports.COLUMNS` accepts; each tier
    has three columns, e.g. ``高新技术企业编号``, ``高新技术企业起始日期``, ``高新技术企业有效期至``.
    """
    from .org_imports import COLUMNS as ORG_COLUMNS
    from .organisations import TIERS

    headers = {field: names[0] for field, names in ORG_COLUMNS.items()}
    for tier in TIERS:
        headers.update({f"{tier}|{part}": tier + suffix for part, suffix in TIER_HEADERS.items()})
    return headers


def organisation_template_bytes():
    """The ``.xlsx`` template of the organisation import: header, one example row, drop-down lists, 填写说明.

    The example row's name starts with 示例, so an import reports it and stores nothing from it; every
    other value in it passes the import's rules (credit code, industry code, tier numbers and dates).
    """
    from .organisations import INSTITUTE_TYPES, REVENUE_BANDS

    headers = organisation_headers()
    example = pd.DataFrame([{headers[f]: ORGANISATION_EXAMPLE.get(f, "") for f in headers}])
    with tempfile.TemporaryDirectory(prefix="matcher-template-") as folder:
        path = write_workbook({_("单位档案"): example, _("填写说明"): _organisation_guide(headers)},
                              Path(folder) / "template.xlsx")
        book = openpyxl.load_workbook(path)
    sheet, fields = book.worksheets[0], list(headers)
    for field, values, message in (("kind", ("企业", "院所"), _("单位类型须为“企业”或“院所”。")),
                                   ("revenue_band", REVENUE_BANDS, _("请从列表中选择营业收入区间。")),
                                   ("institute_type", INSTITUTE_TYPES, _("请从列表中选择院所类型。"))):
        letter = get_column_letter(fields.index(field) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                    showErrorMessage=True, errorStyle="stop", error=message,
                                    errorTitle=_("请检查输入"))
        validation.add(f"{letter}2:{letter}{LAST_ROW}")
        sheet.add_data_validation(validation)
    # Codes, numbers and dates stay text: Excel would turn an all-digit credit code into a rounded number.
    for index, field in enumerate(fields, start=1):
        if field in ("credit_code", "industry_code") or "|" in field:
            sheet.column_dimensions[get_column_letter(index)].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _organisation_guide(headers):
    """The 填写说明 sheet of the organisation template: one row per column with its rule, then general notes."""
    from .organisations import INSTITUTE_TYPES, MAX_YEARS, NUMBER_REQUIRED, REVENUE_BANDS, TIERS

    separator = _("、")
    required, optional = _("必填"), _("选填")
    rules = {
        "name": (required, _("文字，最多 200 个字符"),
                 _("已有单位按统一社会信用代码合并（保留原名称），没有代码时按名称合并；以“示例”开头的行不导入")),
        "kind": (optional, _("企业、院所"), _("留空视为企业")),
        "credit_code": (_("企业必填"),
                        _("18 位，只含数字和除 I、O、Z、S、V 以外的大写字母；第 1 位登记管理部门代码、第 2 位机构类别代码、"
                          "第 3–8 位行政区划代码；第 18 位为按 GB 32100-2015 算出的校验码"),
                        _("同一代码只能属于一个单位；小写字母和空格会自动纠正")),
        "industry_code": (optional, _("GB/T 4754-2017 门类字母加 2–4 位数字，二者须一致，如 C3911"),
                          _("只填数字时自动补上门类字母")),
        "town": (optional, _("文字"), ""),
        "rd_staff": (optional, _("0–1000000 的整数"), ""),
        "revenue_band": (optional, separator.join(REVENUE_BANDS), ""),
        "main_products": (optional, _("文字"), _("用于按产品筛选和邀约时的匹配")),
        "institute_type": (_("仅院所"), separator.join(INSTITUTE_TYPES), _("企业行须留空")),
        "disciplines": (_("仅院所"), _("多个用分号、逗号或顿号分隔"), ""),
        "teams": (_("仅院所"), _("多个用分号、逗号或顿号分隔"), ""),
    }
    for tier in TIERS:
        number_rule = _("GR（2008 年前为 GF）加 12 位数字，如 GR202332001234") if tier == "高新技术企业" else _("文字，最多 40 个字符")
        number_need = _("填写该梯队时必填") if tier in NUMBER_REQUIRED else optional
        until_need = _("填写该梯队时必填") if tier in MAX_YEARS else optional
        until_note = (_("不晚于起始日期后 %(years)s 年", years=MAX_YEARS[tier]) if tier in MAX_YEARS else "")
        rules[f"{tier}|number"] = (number_need, number_rule, _("梯队只用于企业；三列都留空表示不改动该梯队"))
        rules[f"{tier}|valid_from"] = (optional, _("日期 YYYY-MM-DD"), "")
        rules[f"{tier}|valid_until"] = (until_need, _("日期 YYYY-MM-DD，晚于起始日期"), until_note)
    first = _("列名")
    rows = [{first: headers[f], _("是否必填"): rules[f][0], _("可填写的值"): rules[f][1],
             _("示例"): str(ORGANISATION_EXAMPLE.get(f, "")), _("备注"): rules[f][2]} for f in headers]
    notes = [_("第 1 行是表头，请不要改动列名；数据从第 2 行开始，一行一个单位。"),
             _("第 2 行是填写示例（单位名称以“示例”开头），导入时不会导入，可以直接覆盖或删除。"),
             _("梯队为：%(tiers)s；每个梯队三列：编号、起始日期、有效期至。", tiers=separator.join(TIERS)),
             _("上传后逐行校验：任何一处出错都不导入任何数据，并列出每处错误的行、列和规则。")]
    return pd.DataFrame(rows + [{first: ""}] + [{first: note} for note in notes]).fillna("")
