"""Publishing, withdrawing and submitting library items through the web app's services, in a library of a given size.

    python benchmarks/market_web_publish.py --json                # 10,000 items
    python benchmarks/market_web_publish.py --sizes 10000 30000 --json

Unlike ``market_publish.py`` (``StandingMatches`` alone, stand-in vectors), this times what a reviewer's
"publish" costs in the app: the commit with the catalogue's word index, the process's index catching up
with the change log, the item's matches, the changed lists stored with their calibrated strengths
(``StandingStrength``) and the notices. The library (half needs, half capabilities, synthetic texts from
CSL sentences, ``benchmarks/synthetic.py``) is written straight into a fresh SQLite database; the
semantic signal is off (hashed character vectors, as in the tests), so no model runs. ``build_s`` is a
process's first use (one blocked recomputation of every list), ``publish_ms`` / ``withdraw_ms`` medians
over ``--items`` items, ``submit_ms`` the owner's submission with its near-duplicate check.
"""
import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from synthetic import load_papers, make_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def fill(app, papers, size, seed):
    from sqlalchemy import insert

    from webapp.db import db
    from webapp.models import LibraryItem
    from webapp.services import market_search

    now, until = dt.datetime.now(), dt.date.today() + dt.timedelta(days=180)
    rows = []
    for kind in ("need", "capability"):
        frame, _vectors = make_records(papers, size // 2, kind, seed=seed + (kind == "need"))
        rows += [{"kind": kind, "org": org, "title": title, "description": description, "keywords": keywords,
                  "domain": "", "region": "", "cooperation": "", "ip_status": "", "price": "", "contact": "",
                  "classification": "公开", "declared_unclassified": True, "status": "published", "review_comment": "",
                  "reviewed_by": "", "version": 1, "published_at": now, "expires_on": until, "created_at": now,
                  "updated_at": now} for org, title, description, keywords in
                 zip(frame["org"], frame["title"], frame["description"], frame["keywords"])]
    with app.app_context():
        db.session.execute(insert(LibraryItem.__table__), rows)
        market_search.rebuild(db.session.connection())
        db.session.commit()
    return make_records(papers, 200, "capability", seed=seed + 7)[0]


def run(papers, size, n_items, seed):
    from webapp.db import db
    from webapp.models import User
    from webapp.services import library, library_matching
    from webapp.services.accounts import create_user
    from webapp.visibility import viewer_for
    from webapp_helpers import make_app

    folder = Path(tempfile.mkdtemp(prefix="market-web-"))
    app = make_app(folder)
    new = fill(app, papers, size, seed)
    with app.app_context():
        create_user("bench-institute", "bench-password-1", "institute", org="测试研究院")
        create_user("bench-bureau", "bench-password-1", "organiser")
    with app.test_request_context():
        owner, bureau = (viewer_for(db.session.query(User).filter_by(username=name).one())
                         for name in ("bench-institute", "bench-bureau"))
        start = time.perf_counter()
        library_matching.current_index()
        db.session.commit()
        build = time.perf_counter() - start
        submit, publish, withdraw, items = [], [], [], []
        for title, description in zip(new["title"][:n_items], new["description"][:n_items]):
            item = library.create(owner, "capability", {"title": title, "description": description})
            start = time.perf_counter()
            library.submit(owner, item, declared=True, accept_duplicates=True)
            submit.append(time.perf_counter() - start)
            start = time.perf_counter()
            library.review(bureau, item, action="publish", classification="公开")
            publish.append(time.perf_counter() - start)
            items.append(item)
        for item in items:
            start = time.perf_counter()
            library.withdraw(owner, item)
            withdraw.append(time.perf_counter() - start)
    app.extensions["matcher_jobs"].shutdown()

    def median_ms(values):
        return round(1000 * statistics.median(values), 1)

    return {"library_items": size, "build_s": round(build, 1), "publish_ms": median_ms(publish),
            "publish_p90_ms": round(1000 * sorted(publish)[int(0.9 * len(publish))], 1),
            "withdraw_ms": median_ms(withdraw), "submit_ms": median_ms(submit), "items_timed": n_items,
            "load_avg": round(os.getloadavg()[0], 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    papers = load_papers()
    results = [run(papers, size, args.items, args.seed) for size in args.sizes]
    if args.json:
        print(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "results": results}, indent=1))
    else:
        for row in results:
            print(row)


if __name__ == "__main__":
    main()
