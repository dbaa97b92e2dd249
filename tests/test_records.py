"""Loading and validating needs and capabilities: one test per class of bad input."""
import json

import pandas as pd
import pytest
from openpyxl import Workbook

from matcher import InputError, load_capabilities, load_needs

NEED_HEADER = "编号,单位名称,需求名称,需求描述,所属领域,关键词,技术成熟度,合作方式,保密资质\n"
GOOD_NEED = "N1,东岭压铸有限公司,压铸件气孔多,铝合金压铸件内部气孔多，不合格率8%。,先进制造与自动化,压铸；气孔,6,合作开发,无\n"
CAPABILITY_HEADER = "编号,单位名称,成果名称,成果简介,所属领域,关键词,技术成熟度,密级\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_chinese_headers_map_to_canonical_columns(tmp_path):
    needs = load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED))
    assert list(needs.columns[:13]) == ["id", "org", "title", "description", "domain", "domain_inferred", "keywords",
                                        "region", "contact", "trl", "cooperation", "clearance", "source_row"]
    row = needs.iloc[0]
    assert (row["id"], row["org"], row["keywords"], row["trl"], row["clearance"]) == (
        "N1", "东岭压铸有限公司", "压铸;气孔", 6, "无")
    assert row["source_row"] == 2 and not row["domain_inferred"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_common_chinese_encodings_are_read(tmp_path, encoding):
    needs = load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED, encoding))
    assert needs.loc[0, "title"] == "压铸件气孔多"


def test_wrong_encoding_names_file_and_line(tmp_path):
    path = tmp_path / "needs.csv"
    path.write_bytes((NEED_HEADER + GOOD_NEED).encode("utf-8") + b"N2,\xff\xfe\xfa\x00bad,x,y,,,,,\n")
    with pytest.raises(InputError, match=r"needs\.csv: line 3: cannot read the file as text"):
        load_needs(path)


def test_duplicate_id_names_both_rows(tmp_path):
    path = write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + GOOD_NEED)
    with pytest.raises(InputError, match=r"row 3, column '编号': duplicate id, first used in row 2; got 'N1'"):
        load_needs(path)


@pytest.mark.parametrize("column, line", [
    ("需求名称", "N2,甲公司,,描述,,,,,无\n"),
    ("需求描述", "N2,甲公司,标题, ,,,,,无\n"),
    ("编号", ",甲公司,标题,描述,,,,,无\n"),
])
def test_empty_required_text(tmp_path, column, line):
    with pytest.raises(InputError, match=rf"row 3, column '{column}': .* must not be empty"):
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + line))


def test_unknown_domain_lists_allowed_values(tmp_path):
    line = "N2,甲公司,标题,描述,航空航天,,,,无\n"
    with pytest.raises(InputError, match=r"row 3, column '所属领域': unknown domain; allowed: 电子信息, 新材料"):
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + line))


def test_unknown_clearance(tmp_path):
    line = "N2,甲公司,标题,描述,,,,,四级\n"
    with pytest.raises(InputError, match=r"row 3, column '保密资质': unknown security qualification; allowed: 无, 三级"):
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + line))


@pytest.mark.parametrize("value", ["绝密", ""])
def test_unknown_or_empty_classification(tmp_path, value):
    text = CAPABILITY_HEADER + f"C1,某研究所,成果,简介,新材料,,5,{value}\n"
    with pytest.raises(InputError, match=r"row 2, column '密级': classification must be one of 公开, 内部, 秘密, 机密"):
        load_capabilities(write(tmp_path, "caps.csv", text))


def test_missing_classification_column_means_public(tmp_path):
    text = "编号,单位名称,成果名称,成果简介\nC1,某研究所,成果,简介\n"
    assert load_capabilities(write(tmp_path, "caps.csv", text)).loc[0, "classification"] == "公开"


@pytest.mark.parametrize("value", ["0", "10", "高", "6.5"])
def test_trl_out_of_range(tmp_path, value):
    line = f"N2,甲公司,标题,描述,,,{value},,无\n"
    with pytest.raises(InputError, match=rf"row 3, column '技术成熟度': TRL must be a whole number from 1 to 9; got '{value}'"):
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + line))


def test_all_problems_reported_at_once(tmp_path):
    lines = "N1,甲,标题,描述,,,12,,无\nN3,乙,,描述,太空,,,,无\n"
    with pytest.raises(InputError) as caught:
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + lines))
    fields = sorted((p["row"], p["field"]) for p in caught.value.problems)
    assert fields == [(3, "id"), (3, "trl"), (4, "domain"), (4, "title")]
    assert str(caught.value).startswith("needs.csv: 4 problem(s) in need records:")


def test_missing_required_column(tmp_path):
    with pytest.raises(InputError, match=r"missing required column\(s\) for needs: description"):
        load_needs(write(tmp_path, "needs.csv", "编号,需求名称\nN1,标题\n"))


def test_missing_required_columns_are_structured_header_problems(tmp_path):
    with pytest.raises(InputError) as caught:
        load_capabilities(write(tmp_path, "成果.csv", "编号,名称\nC1,标题\n"))
    problems = caught.value.problems
    assert [p["field"] for p in problems] == ["header"]
    assert problems[0]["file"] == "成果.csv" and problems[0]["column"] is None
    assert problems[0]["value"] == ["编号", "名称"] and problems[0]["allowed"][:2] == ["description", "成果简介"]


def test_two_columns_meaning_one_field_is_a_header_problem(tmp_path):
    with pytest.raises(InputError, match="both mean 'title'") as caught:
        load_needs(write(tmp_path, "needs.csv", "编号,需求名称,名称,需求描述\nN1,标题,标题,描述\n"))
    (found,) = caught.value.problems
    assert (found["field"], found["column"], found["value"]) == ("header", "名称", "需求名称")
    assert "title" in found["allowed"]


@pytest.mark.parametrize("example_id", ["示例-001", "示例", "Example-2", " example"])
def test_template_example_row_is_rejected_with_its_own_reason(tmp_path, example_id):
    example = GOOD_NEED.replace("N1,", f"{example_id},", 1)
    valid, rejected = load_needs(write(tmp_path, "needs.csv", NEED_HEADER + example + GOOD_NEED), errors="collect")
    assert valid["id"].tolist() == ["N1"]
    assert rejected["source_row"].tolist() == [2]
    assert "example row" in rejected.loc[0, "reason"] and "never imported" in rejected.loc[0, "reason"]
    with pytest.raises(InputError) as caught:
        load_needs(write(tmp_path, "needs.csv", NEED_HEADER + example))
    assert [(p["row"], p["field"]) for p in caught.value.problems] == [(2, "id")]


def test_collect_returns_rejected_rows_with_reasons_and_loses_nothing(tmp_path):
    lines = "N2,甲,标题,描述,,,12,,无\nN3,乙,,描述,,,,,无\nN4,丙,标题四,描述四,,,,,三级\n"
    valid, rejected = load_needs(write(tmp_path, "needs.csv", NEED_HEADER + GOOD_NEED + lines), errors="collect")
    assert valid["id"].tolist() == ["N1", "N4"]
    assert rejected["编号"].tolist() == ["N2", "N3"]
    assert rejected["source_row"].tolist() == [3, 4]
    assert "TRL must be a whole number" in rejected.loc[0, "reason"]
    assert "title must not be empty" in rejected.loc[1, "reason"]
    assert len(valid) + len(rejected) == 4


def test_xlsx_with_title_row_above_header(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年第三期军民科技对接会 企业需求汇总表"])
    sheet.append(["编号", "单位名称", "需求名称", "需求描述", "技术成熟度", "保密资质"])
    sheet.append(["N1", "甲公司", "标题一", "描述一", 5, "二级"])
    sheet.append(["N2", "乙公司", "标题二", "", 4, "无"])
    book.save(tmp_path / "needs.xlsx")
    with pytest.raises(InputError, match=r"row 4, column '需求描述'"):
        load_needs(tmp_path / "needs.xlsx")
    valid, rejected = load_needs(tmp_path / "needs.xlsx", errors="collect")
    assert valid.loc[0, "trl"] == 5 and valid.loc[0, "clearance"] == "二级"
    assert rejected["source_row"].tolist() == [4]


def test_not_an_xlsx(tmp_path):
    path = write(tmp_path, "needs.xlsx", NEED_HEADER)
    with pytest.raises(InputError, match=r"needs\.xlsx: not a valid \.xlsx workbook"):
        load_needs(path)


def test_json_records_with_english_keys(tmp_path):
    records = [{"id": "N1", "org": "Acme", "title": "SiC wafer dicing", "description": "Chipping at edges.",
                "domain": "Electronic Information", "clearance": "none"}]
    path = tmp_path / "needs.json"
    path.write_text(json.dumps({"needs": records}), encoding="utf-8")
    needs = load_needs(path)
    assert (needs.loc[0, "domain"], needs.loc[0, "clearance"]) == ("电子信息", "无")


def test_invalid_json(tmp_path):
    path = write(tmp_path, "needs.json", '[{"id": "N1",]')
    with pytest.raises(InputError, match=r"needs\.json: invalid JSON at line 1"):
        load_needs(path)


def test_dataframe_input_and_domain_inference(needs):
    loaded = load_needs(needs)
    assert loaded["domain_inferred"].tolist() == [False, False, False, True]
    assert loaded.loc[3, "domain"] in ("先进制造与自动化", "新材料")
    assert loaded["clearance"].tolist() == ["无", "三级", "无", "二级"]


def test_unsupported_file_type(tmp_path):
    with pytest.raises(InputError, match=r"unsupported file type '\.pdf'"):
        load_needs(write(tmp_path, "needs.pdf", "x"))


def test_errors_argument_is_checked(needs):
    with pytest.raises(InputError, match="errors must be 'raise' or 'collect'"):
        load_needs(needs, errors="ignore")


def test_sample_data_loads_cleanly():
    from webapp_helpers import SAMPLE

    needs = load_needs(SAMPLE / "needs.csv")
    capabilities = load_capabilities(SAMPLE / "capabilities.csv")
    assert len(needs) >= 60 and len(capabilities) >= 60
    assert needs["domain_inferred"].any() and capabilities["domain_inferred"].any()
    assert set(needs["clearance"]) >= {"无", "三级", "二级"}
    assert set(capabilities["classification"]) >= {"公开", "内部", "秘密", "机密"}
    assert isinstance(needs, pd.DataFrame)
