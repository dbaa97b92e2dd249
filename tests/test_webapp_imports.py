"""Importing needs and capabilities: every kind of bad upload, the report, confirmation, upserts, atomicity."""
import csv
import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import text
from webapp_helpers import (
    CAPABILITY_HEADER,
    NEED_HEADER,
    capability_row,
    create_event,
    csv_bytes,
    db_count,
    import_file,
    need_row,
    upload,
)

from matcher import CLASSIFICATIONS, CLEARANCES, DOMAINS
from matcher.export import display_width
from matcher.taxonomy import COOPERATION_MODES
from webapp.models import Capability, ImportBatch, Need


@pytest.fixture
def event_id(client):
    return create_event(client)


def uploads_folder(app):
    return Path(app.instance_path) / "uploads"


def stored_files(app):
    folder = uploads_folder(app)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def assert_nothing_stored(app):
    assert db_count(app, Need) == 0 and db_count(app, Capability) == 0
    assert db_count(app, ImportBatch) == 0
    assert stored_files(app) == []


def test_wrong_file_type_is_refused(client, app, event_id):
    response = upload(client, event_id, "need", b"%PDF-1.4", "needs.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "不支持的文件类型“.pdf”：请上传 .csv 或 .xlsx 文件。" in page and "没有写入任何数据" in page
    assert_nothing_stored(app)


def test_wrong_encoding_is_refused(client, app, event_id):
    content = csv_bytes(NEED_HEADER, [need_row("N1")]) + b"\xff\xfe\xff broken\n"
    response = upload(client, event_id, "need", content, "needs.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "无法读取该文件：请检查编码（UTF-8 或 GBK）、文件格式和表头。" in page
    assert "cannot read the file as text" in page and "needs.csv: line 3" in page
    assert_nothing_stored(app)


def test_gbk_csv_from_chinese_excel_is_accepted(client, app, event_id):
    content = csv_bytes(NEED_HEADER, [need_row("N1"), need_row("N2", title="压铸件气孔缺陷")], encoding="gbk")
    response = upload(client, event_id, "need", content, "需求（GBK）.csv")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "需求（GBK）.csv" in page and "确认导入 2 行有效数据" in page


def test_missing_required_columns_are_refused_in_the_ui_language_naming_the_file(client, app, event_id):
    header = [h for h in NEED_HEADER if h not in ("需求描述", "编号")]
    rows = [[v for h, v in zip(NEED_HEADER, need_row("N1")) if h in header]]
    response = upload(client, event_id, "need", csv_bytes(header, rows), "三月需求.csv")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "文件“三月需求.csv”缺少必填列“编号”（也可写作：id、编码" in page
    assert "文件“三月需求.csv”缺少必填列“需求描述”（也可写作：description、需求内容" in page
    assert "文件中的列：单位名称、需求名称、所属领域" in page
    assert "needs.csv" not in page and "missing required" not in page  # neither the stored name nor matcher's English
    client.get("/lang/en")
    page = html.unescape(upload(client, event_id, "need", csv_bytes(header, rows), "march.csv").get_data(as_text=True))
    assert "The file “march.csv” lacks the required column “Description” (also accepted: 需求描述, 需求内容" in page
    assert "The file “march.csv” lacks the required column “ID” (also accepted: 编号, 编码" in page
    assert page.count("Columns in the file: 单位名称, 需求名称, 所属领域") == 1
    assert_nothing_stored(app)


def test_two_columns_meaning_the_same_are_refused_in_the_ui_language(client, app, event_id):
    header = NEED_HEADER + ["名称"]
    rows = [need_row("N1") + ["别名"]]
    response = upload(client, event_id, "need", csv_bytes(header, rows), "重复列.csv")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "文件“重复列.csv”中的“需求名称”和“名称”两列都表示“需求名称”，请只保留一列。" in page
    assert_nothing_stored(app)


def test_empty_file_and_missing_file(client, app, event_id):
    response = upload(client, event_id, "need", b"", "needs.csv")
    assert response.status_code == 422 and "文件是空的" in response.get_data(as_text=True)
    response = client.post(f"/events/{event_id}/imports", data={"kind": "need", "no_classified": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要上传的文件" in response.get_data(as_text=True)
    response = upload(client, event_id, "need", csv_bytes(NEED_HEADER, []), "needs.csv")
    assert response.status_code == 422 and "文件中没有数据行" in response.get_data(as_text=True)
    assert_nothing_stored(app)


def test_unknown_kind_is_a_bad_request(client, event_id):
    response = upload(client, event_id, "robot", csv_bytes(NEED_HEADER, [need_row("N1")]), "needs.csv")
    assert response.status_code == 400


def bad_rows_csv():
    rows = [
        need_row("N1"),
        need_row("N2", title=""),                       # row 3: empty title
        need_row("N3", domain="航天"),                   # row 4: unknown domain
        need_row("N1", title="重复编号的需求"),            # row 5: duplicate id
        need_row("N5", clearance="绝密"),                # row 6: unknown qualification
        need_row("N6"),
    ]
    rows[5][8] = "12"                                   # row 7: TRL out of range
    return csv_bytes(NEED_HEADER, rows)


def test_bad_rows_are_reported_and_not_stored_before_confirmation(client, app, event_id):
    response = upload(client, event_id, "need", bad_rows_csv(), "企业需求.csv")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert db_count(app, Need) == 0
    expected = [("3", "需求名称", "必填项为空"), ("4", "所属领域", "未知领域“航天”"), ("5", "编号", "编号重复"),
                ("6", "保密资质", "未知保密资质“绝密”"), ("7", "技术成熟度", "技术成熟度须为 1–9 的整数，收到“12”")]
    for row, column, reason in expected:
        assert f'<td class="num">{row}</td><td>{column}</td>' in page
        assert reason in page
    assert "确认导入 1 行有效数据" in page and "下载问题行（CSV）" in page


def test_rejected_rows_download_as_csv_with_reasons_in_the_ui_language(client, app, event_id):
    location = upload(client, event_id, "need", bad_rows_csv(), "企业需求.csv").headers["Location"]
    response = client.get(location + "/rejected.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="rejected-needs.csv"; filename*=UTF-8\'\'')
    assert "%E6%9C%AA%E9%80%9A%E8%BF%87" in disposition  # 未通过…
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert list(rows[0])[:len(NEED_HEADER)] == NEED_HEADER and list(rows[0])[-2:] == ["行号", "原因"]
    assert [r["行号"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert rows[0]["原因"] == "企业需求.csv 第 3 行，“需求名称”列：必填项为空"
    assert rows[3]["原因"] == "企业需求.csv 第 6 行，“保密资质”列：未知保密资质“绝密”，可选：无、三级、二级、一级"
    client.get("/lang/en")
    rows = list(csv.DictReader(io.StringIO(client.get(location + "/rejected.csv").data.decode("utf-8-sig"))))
    assert list(rows[0])[-2:] == ["Row", "Reason"]
    assert rows[0]["Reason"].startswith("企业需求.csv, row 3, column “需求名称”: ")
    assert "needs.csv" not in str(rows)


def test_rejected_row_reasons_on_the_report_name_the_uploaded_file_in_both_languages(client, event_id):
    location = upload(client, event_id, "need", bad_rows_csv(), "三月需求.csv").headers["Location"]
    page = html.unescape(client.get(location).get_data(as_text=True))
    assert "问题行：三月需求.csv（5 行，共 5 处问题）" in page
    assert 'title="三月需求.csv 第 4 行，“所属领域”列：未知领域“航天”' in page
    client.get("/lang/en")
    page = html.unescape(client.get(location).get_data(as_text=True))
    assert "Rows with problems in 三月需求.csv (5 rows, 5 problems)" in page
    assert 'title="三月需求.csv, row 4, column “所属领域”: ' in page
    assert "needs.csv" not in page.replace("三月需求.csv", "")


def test_confirm_stores_valid_rows_only(client, app, event_id):
    location = upload(client, event_id, "need", bad_rows_csv(), "企业需求.csv").headers["Location"]
    response = client.post(location + "/confirm", follow_redirects=True)
    assert "已导入 1 行（新增 1，更新 0）" in response.get_data(as_text=True)
    assert db_count(app, Need) == 1
    again = client.post(location + "/confirm", follow_redirects=True)
    assert "该导入已处理过" in again.get_data(as_text=True) and db_count(app, Need) == 1


def test_discard_stores_nothing_and_deletes_the_upload(client, app, event_id):
    location = upload(client, event_id, "need", bad_rows_csv(), "企业需求.csv").headers["Location"]
    assert stored_files(app)
    response = client.post(location + "/discard", follow_redirects=True)
    assert "已放弃本次导入" in response.get_data(as_text=True)
    assert db_count(app, Need) == 0 and stored_files(app) == []
    assert client.get(location + "/rejected.csv").status_code == 404


def test_upload_is_saved_under_a_generated_name(client, app, event_id):
    upload(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "../../../etc/passwd.csv")
    files = [f for f in stored_files(app) if f.name != "preview.json"]
    assert len(files) == 1 and files[0].name == "needs.csv"
    assert files[0].is_relative_to(uploads_folder(app) / f"event-{event_id}")
    with app.app_context():
        from webapp.db import db

        batch = db.session.query(ImportBatch).one()
        assert batch.original_name == "passwd.csv" and ".." not in batch.stored_path


def test_report_previews_the_parsed_valid_rows_before_confirmation(client, app, event_id):
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N01"), need_row("N02")]), "v1.csv")
    rows = [need_row(f"N{i:02d}", domain="" if i == 3 else "电子信息", clearance="二级" if i == 4 else "无")
            for i in range(1, 26)]
    rows[1][2] = "碳化硅外延缺陷控制（修订）"
    rows[5][2] = ""  # row 7 is rejected and not previewed
    location = upload(client, event_id, "need", csv_bytes(NEED_HEADER, rows), "v2.csv").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert db_count(app, Need) == 2
    assert "数据预览：v2.csv" in page and "校验后读到的前 20 行有效数据（共 24 行）" in page
    preview = page.split('<table class="preview">')[1].split("</table>")[0]
    ids = re.findall(r'<td class="nowrap">(N\d+)</td>', preview)
    assert ids == [f"N{i:02d}" for i in range(1, 27) if i != 6][:20]
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in preview.split("<tr>")[2:]]
    assert cells[0].endswith("电子信息 无 5 无变化") and cells[1].endswith("电子信息 无 5 更新")
    assert "（推断）" in cells[2] and cells[3].endswith("二级 5 新增")
    assert "华芯功率半导体有限公司" in cells[0] and "碳化硅外延缺陷控制（修订）" in cells[1]


def test_reimport_of_unchanged_data_says_nothing_changed_and_changes_nothing(client, app, event_id):
    from webapp.db import db
    from webapp.models import Event

    def stored():
        with app.app_context():
            rows = db.session.query(Need).order_by(Need.need_id).all()
            return db.session.get(Event, event_id).records_version, [
                {c.name: getattr(n, c.name) for c in Need.__table__.columns} for n in rows]

    content = csv_bytes(NEED_HEADER, [need_row("N1"), need_row("N2", domain="")])  # N2's domain is inferred
    import_file(client, event_id, "need", content, "v1.csv")
    version, records = stored()
    location = upload(client, event_id, "need", content, "v1-again.csv").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "没有变化：文件中的 2 行有效数据与已导入的数据完全相同" in page
    assert '<div><strong>0</strong>将新增</div>' in page and '<div><strong>0</strong>将更新</div>' in page
    assert '<div><strong>2</strong>无变化</div>' in page
    response = client.post(location + "/confirm", follow_redirects=True)
    assert "没有变化：2 行与已导入的数据完全相同（新增 0，更新 0）。" in response.get_data(as_text=True)
    assert stored() == (version, records)  # not a field touched; the ranking stays current
    client.get("/lang/en")
    location = upload(client, event_id, "need", content, "v1-english.csv").headers["Location"]
    page = html.unescape(client.get(location).get_data(as_text=True))
    assert "Nothing changed: the file's 2 valid rows are identical to the stored data" in page
    response = client.post(location + "/confirm", follow_redirects=True)
    assert "Nothing changed: the 2 rows are identical to the stored data (0 new, 0 updated)." in response.get_data(
        as_text=True)
    updated = csv_bytes(NEED_HEADER, [need_row("N1", title="改过的标题"), need_row("N2", domain="")])
    import_file(client, event_id, "need", updated, "v2.csv")
    assert stored()[0] == version + 1


def test_reimport_updates_rows_by_id_and_never_duplicates(client, app, event_id):
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1"), need_row("N2")]), "v1.csv")
    updated = csv_bytes(NEED_HEADER, [need_row("N1", title="碳化硅外延缺陷控制（修订）"), need_row("N2"), need_row("N3")])
    location = upload(client, event_id, "need", updated, "v2.csv").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert '<div><strong>1</strong>将新增</div>' in page and '<div><strong>1</strong>将更新</div>' in page
    client.post(location + "/confirm")
    assert db_count(app, Need) == 3
    records = client.get(f"/api/events/{event_id}/needs").get_json()["needs"]
    assert [r["id"] for r in records] == ["N1", "N2", "N3"]
    assert records[0]["title"] == "碳化硅外延缺陷控制（修订）"


def test_the_same_id_in_another_event_is_a_different_record(client, app, event_id):
    other = create_event(client, "另一场")
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "a.csv")
    import_file(client, other, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "b.csv")
    assert db_count(app, Need) == 2


def test_import_is_one_transaction(client, app, event_id):
    """A database failure on the third row leaves no row of the file behind."""
    from webapp.db import db

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER refuse_n3 BEFORE INSERT ON needs WHEN NEW.need_id = 'N3' "
                                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"))
    rows = [need_row(f"N{i}") for i in range(1, 6)]
    location = upload(client, event_id, "need", csv_bytes(NEED_HEADER, rows), "needs.csv").headers["Location"]
    response = client.post(location + "/confirm", follow_redirects=True)
    assert "导入失败，数据库未写入任何行" in response.get_data(as_text=True)
    assert db_count(app, Need) == 0
    assert db_count(app, ImportBatch, status="validated") == 1


def test_xlsx_upload_with_title_row(client, app, event_id):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2025 年院所成果征集表"])
    sheet.append(CAPABILITY_HEADER)
    sheet.append(capability_row("C1"))
    sheet.append(capability_row("C2", title="", classification="机密"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    location = upload(client, event_id, "capability", buffer.getvalue(), "成果.xlsx").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert '<td class="num">4</td><td>成果名称</td>' in page  # spreadsheet row 4 (title row, header, C1, C2)
    client.post(location + "/confirm")
    assert db_count(app, Capability) == 1


def test_csv_template_is_the_header_and_an_example_row(client):
    response = client.get("/imports/template/need.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == NEED_HEADER and len(rows) == 2 and rows[1][0] == "示例-001"
    assert rows[1][2].startswith("示例：")
    assert "filename*=UTF-8''%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF" in response.headers["Content-Disposition"]
    assert client.get("/imports/template/robot.csv").status_code == 404


def test_xlsx_template_has_example_lists_widths_frozen_header_and_a_guide(client):
    book = openpyxl.load_workbook(io.BytesIO(client.get("/imports/template/capability.xlsx").data))
    assert book.sheetnames == ["院所成果", "填写说明"]
    sheet = book["院所成果"]
    assert [c.value for c in sheet[1]] == CAPABILITY_HEADER and sheet.freeze_panes == "A2"
    example = dict(zip(CAPABILITY_HEADER, [c.value for c in sheet[2]]))
    assert example["编号"] == "示例-001" and example["成果名称"].startswith("示例：") and sheet.max_row == 2
    assert example["所属领域"] in DOMAINS and example["密级"] in CLASSIFICATIONS and example["技术成熟度"] == 6
    letter = {h: get_column_letter(i) for i, h in enumerate(CAPABILITY_HEADER, start=1)}
    assert sheet.column_dimensions[letter["成果简介"]].width == 60  # long text: capped
    assert sheet.column_dimensions[letter["单位名称"]].width == display_width(example["单位名称"]) + 2
    lists = {str(v.sqref): (v.formula1, v.errorStyle) for v in sheet.data_validations.dataValidation}
    assert lists[f"{letter['所属领域']}2:{letter['所属领域']}1048576"] == ('"' + ",".join(DOMAINS) + '"', "stop")
    assert lists[f"{letter['密级']}2:{letter['密级']}1048576"][0] == '"' + ",".join(CLASSIFICATIONS) + '"'
    assert lists[f"{letter['技术成熟度']}2:{letter['技术成熟度']}1048576"][0] == '"1,2,3,4,5,6,7,8,9"'
    assert lists[f"{letter['合作方式']}2:{letter['合作方式']}1048576"] == ('"' + ",".join(COOPERATION_MODES) + '"',
                                                                       "warning")
    guide = [[c.value for c in row] for row in book["填写说明"].iter_rows()]
    assert guide[0] == ["列名", "是否必填", "可填写的值", "示例", "备注"]
    by_column = {row[0]: row for row in guide[1:12]}
    assert list(by_column) == CAPABILITY_HEADER
    assert by_column["编号"][1] == "必填" and by_column["所属领域"][1] == "选填"
    assert by_column["所属领域"][2] == "、".join(DOMAINS) and by_column["技术成熟度"][3] == 6
    assert any("示例" in (row[0] or "") and "不会导入" in (row[0] or "") for row in guide[12:])
    need = openpyxl.load_workbook(io.BytesIO(client.get("/imports/template/need.xlsx").data))
    lists = {v.formula1 for v in need.worksheets[0].data_validations.dataValidation}
    assert '"' + ",".join(CLEARANCES) + '"' in lists


def test_template_in_english_has_english_headers_and_guide_that_import_all_the_same(client, app, event_id):
    client.get("/lang/en")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/imports/template/need.xlsx").data))
    assert book.sheetnames == ["Enterprise needs", "How to fill in"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["ID", "Organisation", "Title", "Description", "Domain", "Keywords",
                                           "Region", "Contact", "TRL", "Cooperation", "Clearance"]
    guide = [[c.value for c in row] for row in book["How to fill in"].iter_rows()]
    assert guide[0] == ["Column", "Required?", "Allowed values", "Example", "Notes"] and guide[1][1] == "Required"
    sheet["A2"] = "N1"  # the example row with a real id is a valid record
    buffer = io.BytesIO()
    book.save(buffer)
    location = upload(client, event_id, "need", buffer.getvalue(), "filled.xlsx").headers["Location"]
    client.post(location + "/confirm")
    assert db_count(app, Need) == 1


@pytest.mark.parametrize("kind", ["need", "capability"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_importing_the_untouched_template_imports_nothing(client, app, event_id, kind, fmt):
    template = client.get(f"/imports/template/{kind}.{fmt}").data
    location = upload(client, event_id, kind, template, f"template.{fmt}").headers["Location"]
    page = html.unescape(client.get(location).get_data(as_text=True))
    assert "没有可导入的有效行" in page and "确认导入" not in page
    assert "模板中的填写示例（编号以“示例”开头），不会导入" in page
    client.post(location + "/confirm")
    assert db_count(app, Need) == 0 and db_count(app, Capability) == 0


def test_template_example_row_is_skipped_when_real_rows_follow_it(client, app, event_id):
    book = openpyxl.load_workbook(io.BytesIO(client.get("/imports/template/need.xlsx").data))
    book.worksheets[0].append(need_row("N1"))
    buffer = io.BytesIO()
    book.save(buffer)
    location = upload(client, event_id, "need", buffer.getvalue(), "filled.xlsx").headers["Location"]
    assert "确认导入 1 行有效数据" in client.get(location).get_data(as_text=True)
    client.post(location + "/confirm")
    records = client.get(f"/api/events/{event_id}/needs").get_json()["needs"]
    assert [r["id"] for r in records] == ["N1"]


def test_import_history_lists_batches(client, event_id):
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "第一批.csv")
    page = client.get(f"/events/{event_id}/imports").get_data(as_text=True)
    assert "第一批.csv" in page and "已导入" in page
