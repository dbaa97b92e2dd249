"""Helpers shared by the web app tests: building an app, accounts, uploads, jobs (fixtures are in conftest.py).

Every test gets its own app with a real SQLite file and instance folder in ``tmp_path``;
the semantic signal is off for speed except in the tests that load the real model.
"""
import csv
import io
import time
from pathlib import Path

from webapp import create_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data"
CSL = ROOT.parent / "shared" / "data" / "csl" / "csl_papers.tsv"
NEED_HEADER = ["编号", "单位名称", "需求名称", "需求描述", "所属领域", "关键词", "地区", "联系人", "技术成熟度",
               "合作方式", "保密资质"]
CAPABILITY_HEADER = ["编号", "单位名称", "成果名称", "成果简介", "所属领域", "关键词", "地区", "联系人", "技术成熟度",
                     "合作方式", "密级"]


def make_app(tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'webapp.sqlite'}",
        "WTF_CSRF_ENABLED": False,
        "MATCHER_WEIGHTS": {"semantic": 0.0},
        "SAMPLE_DATA_DIR": str(SAMPLE),
        "SCHEDULE_TIME_LIMIT": 20.0,
        "SESSION_COOKIE_SECURE": False,
    }
    config.update(overrides)
    return create_app(config)


ADMIN_PASSWORD = "admin-password-1"


def ensure_user(app, username, role="admin", password=ADMIN_PASSWORD, **options):
    """Create the account unless it exists; return its id."""
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import User
    from webapp.services.accounts import create_user

    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username))
        return found if found is not None else create_user(username, password, role, **options).id


def login(client, username, password=ADMIN_PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def admin_client(app):
    """A test client logged in as an administrator (created on first use)."""
    ensure_user(app, "test-admin")
    return login(app.test_client(), "test-admin")


def csrf_login(app, username="test-admin", password=ADMIN_PASSWORD, role="admin"):
    """Log in through the real form with CSRF on; return (client, token)."""
    import re

    ensure_user(app, username, role, password)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def csv_bytes(header, rows, encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def need_row(need_id, title="碳化硅外延缺陷控制", org="华芯功率半导体有限公司", domain="电子信息", clearance="无",
             description=None):
    description = description or f"{title}：希望降低外延层缺陷密度，提高器件可靠性与良率。"
    return [need_id, org, title, description, domain, "碳化硅;外延", "高新区", "王工", "5", "合作开发", clearance]


def capability_row(capability_id, title="碳化硅外延生长与缺陷表征", org="江川理工大学", domain="电子信息",
                   classification="公开", description=None):
    description = description or f"{title}：团队掌握外延生长工艺与缺陷表征方法，可降低缺陷密度。"
    return [capability_id, org, title, description, domain, "碳化硅;外延", "大学城", "李老师", "6", "技术服务",
            classification]


def create_event(client, name="测试对接会", **fields):
    form = {"name": name, "date": "2025-05-20", "venue": "报告厅", "tracks": ["电子信息", "新材料"], "slots": "4",
            "slot_minutes": "20", "start_time": "09:00", "tables": "6", "max_meetings": "4", **fields}
    response = client.post("/events/new", data=form)
    assert response.status_code == 302, response.data.decode()
    return int(response.headers["Location"].split("/")[2])


def upload(client, event_id, kind, content, filename, declared=True):
    data = {"kind": kind, "file": (io.BytesIO(content), filename)}
    if declared:
        data["no_classified"] = "1"
    return client.post(f"/events/{event_id}/imports", data=data, content_type="multipart/form-data")


def import_file(client, event_id, kind, content, filename):
    """Upload and confirm; return the batch id."""
    response = upload(client, event_id, kind, content, filename)
    assert response.status_code == 302, response.data.decode()
    batch_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert client.post(f"/events/{event_id}/imports/{batch_id}/confirm").status_code == 302
    return batch_id


def load_sample(client, event_id):
    for kind, name in (("need", "needs.csv"), ("capability", "capabilities.csv")):
        import_file(client, event_id, kind, (SAMPLE / name).read_bytes(), name)


def wait_for_job(client, event_id, job_id, timeout=120.0):
    """Poll the job status endpoint (as the page's script does) until it finishes, within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/events/{event_id}/jobs/{job_id}").get_json()["job"]
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def rank(client, event_id):
    response = client.post(f"/api/events/{event_id}/rank")
    assert response.status_code == 202, response.get_json()
    job = wait_for_job(client, event_id, response.get_json()["job"]["id"])
    assert job["status"] == "done", job
    return job


def latest_job_id(app, event_id, kind):
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Job

    with app.app_context():
        return db.session.scalar(select(Job.id).where(Job.event_id == event_id, Job.kind == kind)
                                 .order_by(Job.id.desc()))


def db_session():
    from webapp.db import db

    return db.session


def db_count(app, model, **filters):
    from sqlalchemy import func, select

    from webapp.db import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))
