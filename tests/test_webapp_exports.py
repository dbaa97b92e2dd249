"""Exports as organisers open them: frozen header, fitted widths, rounded scores, headers in the UI language."""
import io
import zipfile

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from webapp_helpers import create_event, db_count, latest_job_id, upload, wait_for_job

from matcher.export import MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH, display_width
from webapp.models import Need
from webapp.services.exports import EXPORTS

ENGLISH_HEADERS = {
    "pairings": ["Need ID", "Enterprise", "Need", "Capability ID", "Institute", "Capability", "Score"],
    "needs": ["ID", "Organisation", "Title", "Description", "Domain", "Keywords", "Region", "Contact", "TRL",
              "Cooperation", "Clearance"],
    "capabilities": ["ID", "Organisation", "Title", "Description", "Domain", "Keywords", "Region", "Contact", "TRL",
                     "Cooperation", "Classification"],
}
AGENDA_HEADERS = {"zh": ("时段", "桌号", "角色", "对方单位", "需求编号", "成果编号", "得分"),
                  "en": ("Slot", "Table", "Role", "Partner", "Need ID", "Capability ID", "Score")}


@pytest.fixture
def planned(client, app, sample_event):
    """The sample event with the top suggestion of every need accepted and a schedule planned."""
    client.post(f"/events/{sample_event}/pairings/bulk", data={"per_need": "1"})
    assert client.post(f"/events/{sample_event}/schedule/run").status_code == 302
    job = wait_for_job(client, sample_event, latest_job_id(app, sample_event, "schedule"))
    assert job["status"] == "done", job
    return sample_event


def workbook(client, event_id, what):
    response = client.get(f"/events/{event_id}/exports/{what}.xlsx")
    assert response.status_code == 200, what
    return openpyxl.load_workbook(io.BytesIO(response.data))


def assert_readable(sheet):
    """Frozen header, every column fitted to its content (CJK double), scores rounded to 3 decimals."""
    assert sheet.freeze_panes == "A2", sheet.title
    for position, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        widest = max(display_width("" if value is None else value) for value in column)
        width = sheet.column_dimensions[get_column_letter(position)].width
        assert width == min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, widest + 2)), (sheet.title, column[0])
    header = [c.value for c in sheet[1]]
    for name in ("得分", "Score", "score"):
        if name in header:
            cells = [row[header.index(name)] for row in sheet.iter_rows(min_row=2)]
            assert all(c.value is None or round(c.value, 3) == c.value for c in cells), sheet.title
            assert all(c.number_format == "0.000" for c in cells if isinstance(c.value, float)), sheet.title


def test_every_xlsx_export_is_readable_with_chinese_headers(client, planned):
    for what in EXPORTS:
        book = workbook(client, planned, what)
        for sheet in book:
            assert_readable(sheet)
            header = [c.value for c in sheet[1]]
            assert not [h for h in header if h and h.isascii() and h not in ("TRL", "API")], (what, header)
    meetings = workbook(client, planned, "meetings").active
    header = [c.value for c in meetings[1]]
    assert header[-1] == "签到" and meetings.max_row > 10
    assert {row[-1] for row in meetings.iter_rows(min_row=2, values_only=True)} == {"□ 企业　□ 院所"}
    scores = [row[header.index("得分")] for row in meetings.iter_rows(min_row=2, values_only=True)]
    assert any(score != round(score, 2) for score in scores)  # 3 decimals kept, not fewer


def test_agendas_workbook_has_localized_headers_and_no_stray_sheet(client, app, planned):
    book = workbook(client, planned, "agendas")
    assert book.sheetnames[:2] == ["会面总表", "会面清单"] and book.sheetnames[-2:] == ["未安排", "路演安排"]
    assert "_" not in book.sheetnames
    unscheduled = book["未安排"]
    header = [c.value for c in unscheduled[1]]
    assert header[:2] == ["类型", "需求编号"] and "配对" in {r[0] for r in unscheduled.iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in book["会面总表"][1]][:3] == ["时段", "1 号桌", "2 号桌"]
    organisations = book.sheetnames[2:-2]
    assert organisations
    assert all(tuple(c.value for c in book[name][1]) == AGENDA_HEADERS["zh"] for name in organisations)
    roles = {row[2] for name in organisations for row in book[name].iter_rows(min_row=2, values_only=True)}
    assert roles == {"企业", "院所"}
    bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/events/{planned}/exports/agendas.csv").data))
    agendas = pd.read_csv(io.BytesIO(bundle.read("agenda_agendas.csv")), encoding="utf-8-sig")
    assert list(agendas.columns) == ["单位", *AGENDA_HEADERS["zh"]]


def test_every_export_in_english_has_english_headers(client, planned):
    client.get("/lang/en")
    for what, expected in ENGLISH_HEADERS.items():
        assert [c.value for c in workbook(client, planned, what).active[1]][:len(expected)] == expected
        text = client.get(f"/events/{planned}/exports/{what}.csv").data.decode("utf-8-sig")
        assert text.startswith(",".join(expected))
    meetings = workbook(client, planned, "meetings").active
    assert [c.value for c in meetings[1]][-3:] == ["Score", "Lock", "Check-in"]
    assert meetings.cell(2, meetings.max_column).value == "□ enterprise  □ institute"
    book = workbook(client, planned, "agendas")
    assert book.sheetnames[:2] == ["Meeting grid", "meetings"] and book.sheetnames[-2:] == ["Not scheduled", "Roadshow"]
    assert [c.value for c in book["Meeting grid"][1]][:2] == ["Slot", "Table 1"]
    assert tuple(c.value for c in book[book.sheetnames[2]][1]) == AGENDA_HEADERS["en"]
    for what in EXPORTS:
        for sheet in workbook(client, planned, what):
            assert_readable(sheet)
            assert not [c.value for c in sheet[1] if c.value and any("\u4e00" <= ch <= "\u9fff" for ch in c.value)], \
                (what, sheet.title)


def test_english_records_export_imports_again(client, app, sample_event):
    client.get("/lang/en")
    content = client.get(f"/events/{sample_event}/exports/needs.xlsx").data
    other = create_event(client, "Re-import")
    location = upload(client, other, "need", content, "needs-en.xlsx").headers["Location"]
    client.post(location + "/confirm")
    with app.app_context():
        assert db_count(app, Need, event_id=other) == db_count(app, Need, event_id=sample_event) > 0
