"""matcher.export: safe and readable CSV/XLSX files (frozen header, fitted widths, rounded numbers)."""
import openpyxl
import pandas as pd
import pytest

from matcher import InputError
from matcher.export import MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH, display_width, write_frame, write_workbook


@pytest.fixture
def frame():
    return pd.DataFrame({"id": ["N1", "N2"], "单位": ["东岭压铸有限公司", "甲"], "name": ["Dongling Die Casting", "x"],
                         "score": [0.8234567, 1 / 3], "rank": [1, 2], "note": ["长" * 200, ""],
                         "mixed": [None, 0.123456]})


def test_display_width_counts_cjk_and_full_width_characters_double():
    assert display_width("abc") == 3 and display_width("压铸") == 4 and display_width("SiC 外延（一）") == 14
    assert display_width("短\n更长的一行") == 10 and display_width("") == 0


def test_xlsx_has_frozen_header_fitted_widths_and_rounded_scores(frame, tmp_path):
    path = write_frame(frame, tmp_path / "out.xlsx", sheet_name="配对")
    sheet = openpyxl.load_workbook(path)["配对"]
    assert sheet.freeze_panes == "A2"
    widths = {sheet.cell(1, i).value: sheet.column_dimensions[letter].width
              for i, letter in enumerate("ABCDEFG", start=1)}
    assert widths["id"] == MIN_COLUMN_WIDTH                       # short content: the minimum
    assert widths["单位"] == display_width("东岭压铸有限公司") + 2 == 18   # CJK counts double
    assert widths["name"] == len("Dongling Die Casting") + 2
    assert widths["note"] == MAX_COLUMN_WIDTH                     # long text: capped
    assert [sheet.cell(r, 4).value for r in (2, 3)] == [0.823, 0.333]
    assert sheet.cell(2, 4).number_format == "0.000" and sheet.cell(2, 5).value == 1
    assert sheet.cell(3, 7).value == 0.123


def test_csv_is_rounded_too_and_decimals_none_keeps_precision(frame, tmp_path):
    rounded = pd.read_csv(write_frame(frame, tmp_path / "out.csv"), encoding="utf-8-sig")
    assert rounded["score"].tolist() == [0.823, 0.333]
    exact = pd.read_csv(write_frame(frame, tmp_path / "exact.csv", decimals=None), encoding="utf-8-sig")
    assert exact["score"].tolist() == pytest.approx([0.8234567, 1 / 3], abs=1e-12)


def test_workbook_formats_every_sheet_and_neutralises_formulas(tmp_path):
    sheets = {"一": pd.DataFrame({"a": ["=1+1"]}), "二": pd.DataFrame({"会面单位名称": ["x"], "score": [2.0]})}
    book = openpyxl.load_workbook(write_workbook(sheets, tmp_path / "book.xlsx"))
    assert book.sheetnames == ["一", "二"]
    assert all(sheet.freeze_panes == "A2" for sheet in book)
    assert book["一"]["A2"].value == "'=1+1" and book["一"]["A2"].data_type != "f"
    assert book["二"].column_dimensions["A"].width == display_width("会面单位名称") + 2


def test_workbook_refuses_other_suffixes_and_no_sheets(tmp_path):
    with pytest.raises(InputError, match="must end in .xlsx"):
        write_workbook({"a": pd.DataFrame()}, tmp_path / "book.csv")
    with pytest.raises(InputError, match="at least one sheet"):
        write_workbook({}, tmp_path / "book.xlsx")
    assert list(tmp_path.iterdir()) == []
