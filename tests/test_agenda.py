"""Tests for matcher.agenda.write_agenda and the ``matcher schedule`` command."""
import dataclasses

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.errors import InputError
from matcher.export import display_width
from matcher.planning.agenda import write_agenda
from matcher.planning.roadshow import plan_roadshow
from matcher.planning.schedule import schedule_meetings

INJECTION = '=HYPERLINK("http://evil.example","点我")'
LONG_NAME = "某某省某某市国防科技工业技术研究院第七研究所[总体]部"


@pytest.fixture
def pairs():
    rows = [("N1", "C1", INJECTION, "A所", 0.9, "新材料"),
            ("N2", "C2", "乙企业", "A所", 0.6, "新材料"),
            ("N2", "C3", "乙企业", LONG_NAME, 0.8, "电子信息"),
            ("N3", "C4", "丙企业", LONG_NAME + "二", 0.7, "电子信息"),
            ("N3", "C3", "丙企业", LONG_NAME, 0.1, "电子信息"),
            ("N4", "C2", "-丁企业", "A所", 0.3, "新材料")]
    return pd.DataFrame(rows, columns=["need_id", "capability_id", "need_org", "capability_org",
                                       "score", "capability_domain"])


@pytest.fixture
def plan(pairs):
    return schedule_meetings(pairs, slots=2, tables=2, max_meetings=2)


def test_workbook_sheets_and_neutralised_cells(plan, pairs, tmp_path):
    target = tmp_path / "agenda.xlsx"
    written = write_agenda(plan, target, roadshow=plan_roadshow(pairs))
    assert written == [target]
    book = openpyxl.load_workbook(target)
    names = book.sheetnames
    assert names[:2] == ["会面总表", "会面清单"] and names[-2:] == ["未安排", "路演安排"]
    organisation_sheets = names[2:-2]
    assert len(organisation_sheets) == 7 == len(set(organisation_sheets))
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\")
               for name in organisation_sheets)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"], "a cell became a formula"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'" + INJECTION in texts and "'-丁企业" in texts
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@"))]
    grid = book["会面总表"]
    assert [c.value for c in grid[1]] == ["slot", "table 1", "table 2"]
    assert any("↔" in str(c.value) for row in grid.iter_rows(min_row=2) for c in row)
    assert not [p for p in tmp_path.iterdir() if p != target], "temporary files left behind"


def test_personal_agenda_lists_partner_and_ids(plan, tmp_path):
    write_agenda(plan, tmp_path / "agenda.xlsx")
    book = openpyxl.load_workbook(tmp_path / "agenda.xlsx")
    rows = list(book["乙企业"].iter_rows(values_only=True))
    assert rows[0] == ("slot", "table", "role", "partner", "need_id", "capability_id", "score")
    assert {r[3] for r in rows[1:]} == set(
        plan.meetings.loc[plan.meetings["need_org"] == "乙企业", "capability_org"])


LABELS = {"sheet.grid": "Grid", "sheet.meetings": "Meetings", "sheet.unscheduled": "Not scheduled",
          "sheet.roadshow": "Roadshow", "table {n}": "Table {n}", "role.need": "Enterprise",
          "role.capability": "Institute",
          "kind.pair": "Pair", "slot": "Slot", "table": "Table", "role": "Role", "partner": "Partner",
          "need_id": "Need ID", "capability_id": "Capability ID", "score": "Score", "org": "Organisation"}


def test_labels_name_sheets_headers_and_values(plan, pairs, tmp_path):
    write_agenda(plan, tmp_path / "agenda.xlsx", roadshow=plan_roadshow(pairs), labels=LABELS)
    book = openpyxl.load_workbook(tmp_path / "agenda.xlsx")
    assert book.sheetnames[:2] == ["Grid", "Meetings"] and book.sheetnames[-2:] == ["Not scheduled", "Roadshow"]
    assert [c.value for c in book["Grid"][1]] == ["Slot", "Table 1", "Table 2"]
    rows = list(book["乙企业"].iter_rows(values_only=True))
    assert rows[0] == ("Slot", "Table", "Role", "Partner", "Need ID", "Capability ID", "Score")
    assert {r[2] for r in rows[1:]} == {"Enterprise"}
    assert "need_org" in [c.value for c in book["Meetings"][1]]  # no label given: the column keeps its name
    assert {c.value for c in book["Not scheduled"]["A"][1:]} <= {"Pair", "participant"}


def test_every_sheet_is_formatted_and_scores_rounded(plan, tmp_path):
    plan.meetings["score"] = plan.meetings["score"] + 1 / 3
    write_agenda(plan, tmp_path / "agenda.xlsx")
    book = openpyxl.load_workbook(tmp_path / "agenda.xlsx")
    assert all(sheet.freeze_panes == "A2" for sheet in book)
    meetings = book["会面清单"]
    header = [c.value for c in meetings[1]]
    scores = [row[header.index("score")] for row in meetings.iter_rows(min_row=2, values_only=True)]
    assert scores and all(round(s, 3) == s for s in scores)
    widest = max(display_width(org) for org in plan.meetings["capability_org"])
    assert meetings.column_dimensions["F"].width == min(60, widest + 2)  # capability_org fitted, CJK double


def test_empty_organisation_names_make_no_sheet(plan, tmp_path):
    """A stored plan has "" (not NaN) for the org of an unscheduled pair: that is no organisation."""
    left_out = plan.unscheduled.copy()
    left_out.loc[len(left_out)] = {"kind": "pair", "need_id": "N9", "capability_id": "C9", "need_org": "乙企业",
                                   "capability_org": "A所", "org": "", "score": 0.1, "reason": "x"}
    left_out = left_out.fillna({"org": "", "need_org": "", "capability_org": ""})
    write_agenda(dataclasses.replace(plan, unscheduled=left_out), tmp_path / "agenda.xlsx")
    names = openpyxl.load_workbook(tmp_path / "agenda.xlsx").sheetnames
    assert "_" not in names and "" not in names and len(names) == 2 + 7 + 1


def test_csv_variant(plan, pairs, tmp_path):
    written = write_agenda(plan, tmp_path / "agenda.csv", roadshow=plan_roadshow(pairs))
    assert [p.name for p in written] == ["agenda_meetings.csv", "agenda_grid.csv",
                                         "agenda_unscheduled.csv", "agenda_agendas.csv",
                                         "agenda_roadshow.csv"]
    assert all(p.exists() for p in written)
    agendas = pd.read_csv(tmp_path / "agenda_agendas.csv", encoding="utf-8-sig")
    assert {"org", "slot", "table", "partner"} <= set(agendas.columns)
    assert len(agendas) == 2 * len(plan.meetings)
    text = (tmp_path / "agenda_meetings.csv").read_text(encoding="utf-8-sig")
    assert ",'" + INJECTION.replace('"', '""') in text or "'=HYPERLINK" in text


def test_bad_suffix_is_an_input_error(plan, tmp_path):
    with pytest.raises(InputError, match="must end in .xlsx or .csv; got '.txt'"):
        write_agenda(plan, tmp_path / "agenda.txt")


# --------------------------------------------------------------------------- CLI


def test_cli_success_with_gb18030_csv(pairs, tmp_path):
    source = tmp_path / "pairs.csv"
    pairs.to_csv(source, index=False, encoding="gb18030")
    locked = tmp_path / "locked.xlsx"
    pd.DataFrame({"need_id": ["N2"], "capability_id": ["C2"], "slot": [2]}).to_excel(
        locked, index=False)
    result = CliRunner().invoke(cli, ["schedule", 
        str(source), "--slots", "2", "--tables", "2", "--max-meetings", "2", "--locked",
        str(locked), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 0, result.output
    assert "status: optimal" in result.output and "wrote" in result.output
    assert (tmp_path / "out.xlsx").exists()
    meetings = pd.read_excel(tmp_path / "out.xlsx", sheet_name="会面清单")
    locked_row = (meetings["need_id"] == "N2") & (meetings["capability_id"] == "C2")
    assert meetings.loc[locked_row, ["slot", "locked"]].values.tolist() == [[2, True]]


def test_cli_csv_output(pairs, tmp_path):
    source = tmp_path / "pairs.xlsx"
    # pandas would store the injection string as a live formula, so leave it out here.
    pairs.replace({INJECTION: "甲企业"}).to_excel(source, index=False)
    result = CliRunner().invoke(cli, ["schedule", str(source), "--slots", "2", "--tables", "1",
                                                   "--no-fairness", "-o",
                                                   str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a_grid.csv").exists() and (tmp_path / "a_meetings.csv").exists()


@pytest.mark.parametrize("content, pattern", [
    ("need_id,capability_id,need_org\nN1,C1,甲\n", "missing column(s) 'capability_org', 'score'"),
    ("need_id,capability_id,need_org,capability_org,score\nN1,C1,甲,乙,high\n",
     "score 'high' is not a finite number"),
])
def test_cli_bad_file_gives_one_line_error(tmp_path, content, pattern):
    source = tmp_path / "pairs.csv"
    source.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["schedule", str(source), "--slots", "2", "--tables", "1",
                                                   "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and pattern in lines[0]
    assert not (tmp_path / "out.xlsx").exists()


def test_cli_missing_file(tmp_path):
    result = CliRunner().invoke(cli, ["schedule", str(tmp_path / "nope.csv"), "--slots", "2",
                                                   "--tables", "1", "-o",
                                                   str(tmp_path / "out.xlsx")])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: pairs file {str(tmp_path / 'nope.csv')!r} does not exist"]
