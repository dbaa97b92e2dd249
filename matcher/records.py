"""Load and validate enterprise needs and institute capabilities.

``load_needs`` and ``load_capabilities`` accept a path (CSV in UTF-8, UTF-8
with BOM or GB18030/GBK; XLSX; JSON) or a DataFrame, map Chinese or English
headers onto canonical English column names, check every row and either raise
one :class:`~matcher.errors.InputError` listing every problem or, with
``errors="collect"``, return the valid rows and the rejected ones with reasons.

Problems come in :func:`~matcher.errors.problem`'s one shape. A row problem names the row, the
column as written and the canonical ``field``. A problem with the header row has ``field``
"header": a missing required column has ``column`` None, ``value`` the headers found and
``allowed`` the header names accepted for it (its canonical name first); two columns meaning the
same field have ``column`` the second, ``value`` the first and ``allowed`` the accepted names.
A row whose id starts with "示例" or "example" (:func:`is_example_id`) is the import template's
example row: it is rejected with its own reason (``field`` "id"), never imported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from . import taxonomy
from .errors import InputError, problem
from .sources import header_key, read_table

#: How many problems an error message lists before summarising the rest.
MAX_LISTED_PROBLEMS = 20

_COMMON = {
    "id": ("id", "编号", "编码", "序号id", "项目编号"),
    "org": ("org", "organisation", "organization", "单位名称", "单位", "机构名称", "所属单位"),
    "domain": ("domain", "所属领域", "领域", "技术领域", "行业领域", "所属行业"),
    "keywords": ("keywords", "keyword", "关键词", "关键字"),
    "region": ("region", "地区", "所在地区", "区域", "所在地"),
    "contact": ("contact", "联系人", "联系方式", "联系人及电话", "联系电话"),
    "trl": ("trl", "技术成熟度", "成熟度", "技术成熟度trl", "trl等级"),
    "cooperation": ("cooperation", "合作方式", "合作模式", "拟合作方式"),
}
NEED_COLUMNS = {
    **_COMMON,
    "id": _COMMON["id"] + ("需求编号",),
    "org": _COMMON["org"] + ("企业名称", "需求单位", "需求企业"),
    "title": ("title", "需求名称", "名称", "标题", "项目名称"),
    "description": ("description", "需求描述", "需求内容", "需求简介", "技术需求描述", "描述", "内容"),
    "clearance": ("clearance", "保密资质", "保密资质等级", "资质等级", "保密资格"),
}
CAPABILITY_COLUMNS = {
    **_COMMON,
    "id": _COMMON["id"] + ("成果编号", "能力编号"),
    "org": _COMMON["org"] + ("院所名称", "成果单位", "依托单位", "完成单位", "高校院所"),
    "title": ("title", "成果名称", "能力名称", "技术名称", "名称", "标题", "项目名称"),
    "description": ("description", "成果简介", "成果描述", "能力简介", "能力描述", "技术简介", "简介",
                    "描述", "内容", "摘要", "abstract"),
    "classification": ("classification", "密级", "公开程度", "可见级别", "发布范围"),
}
REQUIRED = ("id", "title", "description")
#: An id starting with one of these (any case) marks the example row of an import template.
EXAMPLE_ID_PREFIXES = ("示例", "example")
_KEYWORD_SPLIT = re.compile(r"\s*[;；,，、|]\s*")
_TRL = re.compile(r"^(?:trl)?\s*(\d+)(?:\.0+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class _Kind:
    noun: str
    columns: dict
    tier_column: str

    @property
    def aliases(self):
        return {header_key(a): canon for canon, names in self.columns.items() for a in names}


_NEEDS = _Kind("need", NEED_COLUMNS, "clearance")
_CAPABILITIES = _Kind("capability", CAPABILITY_COLUMNS, "classification")


def load_needs(src, *, errors="raise", sheet=0):
    """Load enterprise technology needs (企业技术需求).

    Parameters
    ----------
    src : str, pathlib.Path or pandas.DataFrame
        CSV (UTF-8, UTF-8 with BOM, GB18030/GBK), XLSX or JSON file, or a DataFrame.
        Chinese headers (编号, 单位名称, 需求名称, 需求描述, 所属领域, 关键词,
        保密资质, 技术成熟度, 合作方式, …) and English ones are accepted.
    errors : {"raise", "collect"}, default "raise"
        "raise" raises one InputError listing every bad row; "collect" returns
        ``(valid, rejected)`` instead.
    sheet : int or str, default 0
        Worksheet of an XLSX file.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.DataFrame)
        Columns ``id, org, title, description, domain, domain_inferred, keywords,
        region, contact, trl, cooperation, clearance, source_row`` (plus any extra
        columns of the source). ``rejected`` keeps the original columns plus
        ``source_row`` and ``reason``.

    Raises
    ------
    InputError
        Unreadable file, missing required columns, or (with ``errors="raise"``)
        any bad row; the message names file, row, column, value and what is allowed.

    Examples
    --------
    >>> needs = load_needs("data/needs.csv")
    >>> needs[["id", "org", "domain", "clearance"]].head()
    """
    return _load(src, _NEEDS, errors=errors, sheet=sheet)


def load_capabilities(src, *, errors="raise", sheet=0):
    """Load institute capabilities and achievements (院所能力/科技成果).

    Same as :func:`load_needs`, with ``classification`` (密级: 公开, 内部, 秘密,
    机密) instead of ``clearance``. A source without a classification column is
    taken as all 公开; an empty cell in that column is an error, never a guess.

    Examples
    --------
    >>> capabilities = load_capabilities("data/capabilities.csv")
    >>> capabilities["classification"].value_counts()
    """
    return _load(src, _CAPABILITIES, errors=errors, sheet=sheet)


def _load(src, kind, *, errors, sheet):
    if errors not in ("raise", "collect"):
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    table = read_table(src, aliases=kind.aliases, sheet=sheet)
    columns = _map_columns(table, kind)
    frame = pd.DataFrame({canon: table.frame[original] for canon, original in columns.items()})
    frame = frame.reindex(columns=list(kind.columns), fill_value="")
    problems = _validate(frame, table, kind, columns)
    clean = _clean(frame, kind, columns)
    extra = [c for c in table.frame.columns if c not in columns.values()]
    for name in extra:
        clean[name] = table.frame[name].to_numpy()
    clean["source_row"] = table.rows
    bad = sorted({index for index, _problem in problems})
    if errors == "raise":
        if problems:
            listed = [p for _index, p in problems]
            raise InputError(_summary(listed, table, kind), problems=listed)
        return _finish(clean)
    rejected = table.frame.iloc[bad].copy()
    rejected["source_row"] = [table.rows[i] for i in bad]
    rejected["reason"] = ["; ".join(p["message"] for index, p in problems if index == i) for i in bad]
    valid = clean.drop(index=clean.index[bad])
    return _finish(valid), rejected.reset_index(drop=True)


def is_example_id(value):
    """Whether ``value`` marks the example row of an import template (starts with "示例" or "example").

    Examples
    --------
    >>> is_example_id("示例-001"), is_example_id("N001")
    (True, False)
    """
    return str(value).strip().casefold().startswith(EXAMPLE_ID_PREFIXES)


def _map_columns(table, kind):
    aliases, columns = kind.aliases, {}
    found = [str(c) for c in table.frame.columns]
    for original in table.frame.columns:
        canon = aliases.get(header_key(original))
        if canon is None:
            continue
        if canon in columns:
            message = f"{table.name}: columns '{columns[canon]}' and '{original}' both mean '{canon}'; keep one"
            raise InputError(message, problems=[problem(message, file=table.name, column=str(original), field="header",
                                                        value=str(columns[canon]), allowed=kind.columns[canon])])
        columns[canon] = original
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        wanted = "; ".join(f"{c} (e.g. {', '.join(kind.columns[c][1:3])})" for c in missing)
        message = f"{table.name}: missing required column(s) for {kind.noun}s: {wanted}; found columns {found}"
        raise InputError(message, problems=[problem(f"{table.name}: missing required column {c}", file=table.name,
                                                    field="header", value=found, allowed=kind.columns[c])
                                            for c in missing])
    return columns


def _validate(frame, table, kind, columns):
    """``[(frame index, problem dict)]`` for every problem of every row."""
    problems = []

    def report(index, canon, value, message, allowed=None):
        where = f"{table.row_label} {table.rows[index]}"
        header = columns.get(canon, canon)
        problems.append((index, problem(f"{where}, column '{header}': {message}; got {value!r}", file=table.name,
                                        row=table.rows[index], column=header, field=canon, value=value,
                                        allowed=allowed)))

    first_seen = {}
    for index, row in enumerate(frame.itertuples(index=False)):
        record = row._asdict()
        if is_example_id(record["id"]):
            report(index, "id", record["id"], "the import template's example row (its id starts with "
                   f"{' or '.join(map(repr, EXAMPLE_ID_PREFIXES))}) is never imported; delete it or give it a real id")
            continue
        for canon in REQUIRED:
            if not record[canon].strip():
                report(index, canon, record[canon], f"{canon} must not be empty")
        key = record["id"].strip()
        if key and key in first_seen:
            report(index, "id", key, f"duplicate id, first used in {table.row_label} {table.rows[first_seen[key]]}")
        first_seen.setdefault(key, index)
        _check_vocabulary(record, index, kind, columns, report)
    return problems


def _check_vocabulary(record, index, kind, columns, report):
    domain = record["domain"].strip()
    if domain and taxonomy.normalise_domain(domain) is None:
        report(index, "domain", domain, f"unknown domain; allowed: {', '.join(taxonomy.DOMAINS)} (or leave empty "
               "to infer)", allowed=taxonomy.DOMAINS)
    trl = record["trl"].strip()
    if trl and not (_TRL.match(trl) and 1 <= int(_TRL.match(trl).group(1)) <= 9):
        report(index, "trl", trl, "TRL must be a whole number from 1 to 9", allowed="1-9")
    tier = record[kind.tier_column].strip()
    if kind.tier_column == "clearance":
        if taxonomy.normalise_clearance(tier) is None:
            report(index, "clearance", tier, f"unknown security qualification; allowed: "
                   f"{', '.join(taxonomy.CLEARANCES)}", allowed=taxonomy.CLEARANCES)
    elif "classification" in columns and (not tier or taxonomy.normalise_classification(tier) is None):
        report(index, "classification", tier,
               f"classification must be one of {', '.join(taxonomy.CLASSIFICATIONS)}", allowed=taxonomy.CLASSIFICATIONS)


def _clean(frame, kind, columns):
    out = pd.DataFrame({
        "id": frame["id"].str.strip(),
        "org": frame["org"].map(_squash),
        "title": frame["title"].map(_squash),
        "description": frame["description"].map(_squash),
        "domain": frame["domain"].map(lambda v: taxonomy.normalise_domain(v) or ""),
        "keywords": frame["keywords"].map(_keywords),
        "region": frame["region"].map(_squash),
        "contact": frame["contact"].map(_squash),
        "trl": pd.array([_trl(v) for v in frame["trl"]], dtype="Int64"),
        "cooperation": frame["cooperation"].map(_squash),
    })
    if kind.tier_column == "clearance":
        out["clearance"] = frame["clearance"].map(lambda v: taxonomy.normalise_clearance(v) or "无")
    else:
        out["classification"] = frame["classification"].map(lambda v: taxonomy.normalise_classification(v) or "公开")
    return out


def _finish(frame):
    frame = frame.reset_index(drop=True)
    missing = frame["domain"] == ""
    frame.insert(5, "domain_inferred", missing.to_numpy())
    if missing.any():
        texts = (frame.loc[missing, "title"] + " " + frame.loc[missing, "keywords"] + " "
                 + frame.loc[missing, "description"]).tolist()
        frame.loc[missing, "domain"] = taxonomy.infer_domains(texts)
    return frame


def _squash(value):
    return " ".join(str(value).split())


def _keywords(value):
    return ";".join(k for k in _KEYWORD_SPLIT.split(str(value).strip()) if k)


def _trl(value):
    match = _TRL.match(str(value).strip())
    if match and 1 <= int(match.group(1)) <= 9:
        return int(match.group(1))
    return pd.NA


def _summary(problems, table, kind):
    lines = [f"{table.name}: {len(problems)} problem(s) in {kind.noun} records:"]
    lines += [f"  - {p['message']}" for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  … and {len(problems) - MAX_LISTED_PROBLEMS} more")
    return "\n".join(lines)


def record_texts(frame):
    """Text embedded and indexed for each record: title, description and keywords.

    The title is left out where the description already contains it, and
    empty parts leave no stray separators.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``title``, ``description`` and optionally ``keywords``.

    Returns
    -------
    list of str, one per row

    Examples
    --------
    >>> record_texts(pd.DataFrame({"title": ["压铸"], "description": ["压铸件气孔"], "keywords": ["X光"]}))
    ['压铸件气孔。X光']
    """
    keywords = frame["keywords"].fillna("").str.replace(";", "，") if "keywords" in frame else [""] * len(frame)
    texts = []
    for title, description, words in zip(frame["title"].fillna(""), frame["description"].fillna(""), keywords):
        parts = [title] if title and title not in description else []
        parts += [part for part in (description, words) if part]
        texts.append("。".join(parts))
    return texts
