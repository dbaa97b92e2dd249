"""The near-duplicate check on submission: refitting a TF-IDF per check (before) against the incremental index.

    python benchmarks/market_duplicates.py --json                 # libraries of 10,000 and 100,000 texts
    python benchmarks/market_duplicates.py --sizes 10000 --json

Texts are synthetic library items from real CSL sentences (``benchmarks/synthetic.py``: title and two to
five sentences). ``refit_ms`` is the check as it was: ``TfidfVectorizer(char_wb bigrams, sublinear tf)``
fitted on the library plus the submitted text, cosine of the text with every item (median over
``--refits`` checks); ``index_ms`` is :meth:`matcher.NearDuplicateIndex.similar` on an index holding
the same library (median over ``--checks`` checks), ``build_s`` the one-time build of that index in a
process, ``add_ms`` / ``remove_ms`` the upkeep per item. Every timed check's duplicates (cosine ≥ 0.8)
are compared between the two and ``same_answer`` says whether they agreed each time.
"""
import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from synthetic import load_papers, make_records

from matcher import NearDuplicateIndex

THRESHOLD = 0.8


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def library_texts(papers, n, seed):
    frame, _vectors = make_records(papers, n, "capability", seed=seed)
    return [f"{title} {description}" for title, description in zip(frame["title"], frame["description"])]


def refit_check(texts, query):
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2), sublinear_tf=True).fit_transform([query] + texts)
    similarity = (matrix[1:] @ matrix[0].T).toarray().ravel()
    order = np.argsort(-similarity, kind="stable")[:5]
    return [(int(i), float(similarity[i])) for i in order if similarity[i] >= THRESHOLD]


def run(papers, size, n_refits, n_checks, seed):
    texts = library_texts(papers, size, seed)
    rng = np.random.default_rng(seed)
    # Submissions: half near copies of a library text (a duplicate to find), half new texts.
    fresh = library_texts(papers, n_checks, seed + 1)
    queries = [texts[i] + "。" if k % 2 == 0 else fresh[k] for k, i in enumerate(rng.integers(0, size, n_checks))]
    start = time.perf_counter()
    index = NearDuplicateIndex().add(range(size), texts)
    build = time.perf_counter() - start
    indexed, answers = [], []
    for query in queries:
        start = time.perf_counter()
        answers.append(index.similar(query, threshold=THRESHOLD, limit=5))
        indexed.append(time.perf_counter() - start)
    refits, same = [], True
    for query, answer in zip(queries[:n_refits], answers):
        start = time.perf_counter()
        expected = refit_check(texts, query)
        refits.append(time.perf_counter() - start)
        same &= [i for i, _ in expected] == [i for i, _ in answer] and np.allclose(
            [s for _, s in expected], [s for _, s in answer], atol=1e-5)
    add, remove = [], []
    for k, text in enumerate(fresh[:n_checks]):
        start = time.perf_counter()
        index.add([size + k], [text])
        add.append(time.perf_counter() - start)
    for k in range(n_checks):
        start = time.perf_counter()
        index.remove([size + k])
        remove.append(time.perf_counter() - start)
    refit_ms, index_ms = 1000 * statistics.median(refits), 1000 * statistics.median(indexed)
    return {"library_items": size, "refit_ms": round(refit_ms, 1), "index_ms": round(index_ms, 1),
            "index_p90_ms": round(1000 * sorted(indexed)[int(0.9 * len(indexed))], 1),
            "speed_up": round(refit_ms / index_ms, 1), "build_s": round(build, 1),
            "add_ms": round(1000 * statistics.median(add), 2), "remove_ms": round(1000 * statistics.median(remove), 2),
            "duplicates_found": sum(bool(a) for a in answers), "checks": len(indexed), "refits": len(refits),
            "same_answer": bool(same), "load_avg": round(os.getloadavg()[0], 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--refits", type=int, default=5)
    parser.add_argument("--checks", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    papers = load_papers()
    results = [run(papers, size, args.refits, args.checks, args.seed) for size in args.sizes]
    if args.json:
        print(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "results": results}, indent=1))
    else:
        for row in results:
            print(row)


if __name__ == "__main__":
    main()
