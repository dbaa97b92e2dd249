"""Import templates: the record columns in the UI language, and the blank workbooks organisers fill in.

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
