"""Importing needs and capabilities: every kind of bad upload, the report, confirmation, upserts, atomicity."""
import io
from pathlib import Path

import openpyxl
import pytest
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


def test_missing_required_columns_are_refused(client, app, event_id):
    header = [h for h in NEED_HEADER if h != "需求描述"]
    rows = [[v for h, v in zip(NEED_HEADER, need_row("N1")) if h != "需求描述"]]
    response = upload(client, event_id, "need", csv_bytes(header, rows), "needs.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "missing required column(s) for needs: description" in page
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


def test_rejected_rows_download_as_csv(client, app, event_id):
    location = upload(client, event_id, "need", bad_rows_csv(), "企业需求.csv").headers["Location"]
    response = client.get(location + "/rejected.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="rejected-needs.csv"; filename*=UTF-8\'\'')
    assert "%E6%9C%AA%E9%80%9A%E8%BF%87" in disposition  # 未通过…
    body = response.data.decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].endswith("source_row,reason") and len(lines) == 6
    assert "row 3, column '需求名称': title must not be empty" in body


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
    files = stored_files(app)
    assert len(files) == 1 and files[0].name == "needs.csv"
    assert files[0].is_relative_to(uploads_folder(app) / f"event-{event_id}")
    with app.app_context():
        from webapp.db import db

        batch = db.session.query(ImportBatch).one()
        assert batch.original_name == "passwd.csv" and ".." not in batch.stored_path


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


def test_templates_download_with_chinese_headers(client):
    response = client.get("/imports/template/need.csv")
    assert response.data.decode("utf-8-sig").strip() == ",".join(NEED_HEADER)
    assert "filename*=UTF-8''%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF" in response.headers["Content-Disposition"]
    response = client.get("/imports/template/capability.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]] == CAPABILITY_HEADER
    assert client.get("/imports/template/robot.csv").status_code == 404


def test_import_history_lists_batches(client, event_id):
    import_file(client, event_id, "need", csv_bytes(NEED_HEADER, [need_row("N1")]), "第一批.csv")
    page = client.get(f"/events/{event_id}/imports").get_data(as_text=True)
    assert "第一批.csv" in page and "已导入" in page
