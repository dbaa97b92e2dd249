"""Time the organisation database's paths on generated enterprises: import (new, then unchanged), targeting for
the sample event, the event and period reports and the organisation list, in-process through the test client.

    python benchmarks/org_database.py [--n 2000] [--json]

Enterprises get random valid credit codes (GB 32100-2015), an industry code, a town, two main products and,
for every third, a 高新技术企业 certificate; the sample event (data/) supplies the capabilities.
"""
from __future__ import annotations

import argparse
import io
import json
import platform
import random
import tempfile
import time
from pathlib import Path

from matcher.organisations import CREDIT_CODE_CHARACTERS, credit_code_check_character

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = ["碳化硅外延片", "精密压铸件", "锂电池隔膜", "中药饮片", "工业机器人减速器", "光纤传感器", "医用导管", "数控刀具"]
HEADER = ["单位名称", "单位类型", "统一社会信用代码", "行业代码", "所在镇街", "研发人员数", "主要产品",
          "高新技术企业证书编号", "高新技术企业发证日期", "高新技术企业有效期至"]


def enterprises(n, seed=17):
    rng, rows, seen = random.Random(seed), [], set()
    while len(rows) < n:
        body = "913205" + "".join(rng.choice("0123456789") for _ in range(2)) + \
            "".join(rng.choice(CREDIT_CODE_CHARACTERS) for _ in range(9))
        code = body + credit_code_check_character(body)
        if code in seen:
            continue
        seen.add(code)
        i = len(rows)
        tier = [f"GR2024320{i:05d}", "2024-01-01", "2026-12-31"] if i % 3 == 0 else ["", "", ""]
        rows.append([f"企业{i:05d}", "企业", code, f"C39{i % 100:02d}", f"镇{i % 12}", str(i % 200),
                     "、".join(rng.sample(PRODUCTS, 2)), *tier])
    buffer = io.StringIO()
    buffer.write(",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return buffer.getvalue().encode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from webapp import create_app
    from webapp.services.accounts import create_user

    folder = Path(tempfile.mkdtemp(prefix="org-bench-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder / "instance"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}", "WTF_CSRF_ENABLED": False,
                      "MATCHER_WEIGHTS": {"semantic": 0.0}, "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        create_user("bench", "bench-password-1", "admin")
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "bench-password-1"})
    response = client.post("/events/new", data={"name": "基准会", "date": "2026-05-20", "tracks": ["电子信息"],
                                                 "slots": "4", "slot_minutes": "20", "start_time": "09:00",
                                                 "tables": "6", "max_meetings": "4"})
    event = int(response.headers["Location"].split("/")[2])
    for kind, name in (("need", "needs.csv"), ("capability", "capabilities.csv")):
        response = client.post(f"/events/{event}/imports", content_type="multipart/form-data", data={
            "kind": kind, "no_classified": "1", "file": (io.BytesIO((ROOT / "data" / name).read_bytes()), name)})
        batch = response.headers["Location"].rstrip("/").split("/")[-1]
        client.post(f"/events/{event}/imports/{batch}/confirm")
    data, results = enterprises(args.n), {}
    for label in ("import_new", "import_unchanged"):
        start = time.perf_counter()
        response = client.post("/organisations/import", content_type="multipart/form-data",
                               data={"file": (io.BytesIO(data), "orgs.csv")})
        assert response.status_code == 200, response.status_code
        results[label] = round(time.perf_counter() - start, 2)
    for label, url in (("targeting", f"/events/{event}/targeting"), ("event_report", f"/events/{event}/report"),
                       ("event_report_xlsx", f"/events/{event}/report.xlsx"), ("period_report", "/reports"),
                       ("organisation_list", "/organisations")):
        start = time.perf_counter()
        assert client.get(url).status_code == 200, url
        results[label] = round(time.perf_counter() - start, 2)
    report = {"enterprises": args.n, "seconds": results, "python": platform.python_version(),
              "machine": platform.machine()}
    print(json.dumps(report, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v} s" for k, v in results.items()))


if __name__ == "__main__":
    main()
