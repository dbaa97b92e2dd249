"""Before/after of ranking levers on dev halves, test halves and the frozen sets, with paired bootstrap intervals.

Run from the repository root:

    python benchmarks/honest.py --split dev  --configs default,first-order        # tuning figures
    python benchmarks/honest.py --split test --configs default,first-order        # test halves + frozen sets
    python benchmarks/honest.py --split test --compare default:first-order --json # paired intervals

Splits: CSL by its own dev/test halves (T4 unseen keywords → abstract, MRR@10; T3 same-discipline
P@10 of 工学 abstracts); docking_zh / docking_en by ``split.csv`` beside each set (drawn once at
random, 25/25 needs for docking_zh and 14/15 for docking_en; the file, not a seed, is the
record; every need still ranks against all capabilities). ``--split test``
also runs the frozen sets, which are never used for tuning: holdout_zh (nDCG@10 over the needs that
have a partner, the visibility rule applied, graded pairs the rule forbids left out of the ideal
ranking; leaks = forbidden pairs in any top 10) and expertise_en (queries ranked against all 60
experts, each expert's score aggregated over their records; nDCG@10 over the 50 answerable queries
and the pairwise loss its README defines).

Per-query figures are cached in ``out/honest/`` so ``--compare`` re-uses them. Intervals: 95 %
paired bootstrap over queries (10,000 resamples, seed 0) of the difference after − before.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import quality

import matcher
from matcher.evaluate import query_metrics
from matcher.routing import RoutedEmbedder

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
OUT = ROOT / "out" / "honest"

#: name → keyword arguments of matcher.score_matrix (plus "model" for the Embedder and "aggregate").
CONFIGS = {
    "default": {},
    "first-order": {"weights": {"neighbourhood": 0.0}},
    # Before English routing (e5 alone for English text too), and routing at other shares.
    "e5-only": {"route": False},
    "english-0.3": {"english_share": 0.3},
    "english-0.7": {"english_share": 0.7},
    # Person/team aggregation over records (expertise_en; "max" by default).
    "mean-of-records": {"aggregate": "mean"},
    "mean-of-top2": {"aggregate": "top2"},
    "mean-of-top3": {"aggregate": "top3"},
    "lexical": {"weights": {"semantic": 0.0, "lexical": 1.0, "domain": 0.0, "neighbourhood": 0.0}},
    "dense-e5": {"weights": {"semantic": 1.0, "lexical": 0.0, "domain": 0.0, "neighbourhood": 0.0}},
}
#: Metric per task, and whether lower is better.
TASKS = {
    "csl_t4": ("mrr10", False), "csl_t3": ("p10", False),
    "docking_zh": ("ndcg10", False), "docking_en": ("ndcg10", False),
    "holdout_zh": ("ndcg10", False), "expertise_en": ("loss", True), "expertise_en_ndcg": ("ndcg10", False),
}
FROZEN = ("holdout_zh", "expertise_en", "expertise_en_ndcg")


def register(name, **options):
    """Add a configuration (used by the lever scripts that import this module)."""
    CONFIGS[name] = options


def _options(config):
    options = dict(CONFIGS[config])
    model = options.pop("model", None)
    options.pop("aggregate", None)
    embedder = _embedder(model)
    if "english_share" in options:  # English routing at this share (rank_pairs routes at ENGLISH_SHARE)
        embedder = RoutedEmbedder(embedder, english_share=options.pop("english_share"))
    elif options.pop("route", True) is False:
        embedder = _Plain(embedder)
    options["embedder"] = embedder
    return options


class _Plain:
    """The embedder as it is: not a matcher.Embedder, so rank_pairs does not route English text."""

    def __init__(self, embedder):
        self.embedder = embedder

    @property
    def dim_(self):
        return self.embedder.dim_

    def encode(self, texts, *, role="passage"):
        return self.embedder.encode(texts, role=role)


_EMBEDDERS = {}


def _embedder(model):
    if model not in _EMBEDDERS:
        _EMBEDDERS[model] = quality.make_embedder(model or "multilingual-e5-small")
    return _EMBEDDERS[model]


def csl_tasks(config, half):
    papers = quality.load_csl()
    chosen = papers[papers["half"] == half]
    documents = quality.corpus(papers)
    options = _options(config)
    t4 = quality.unseen_keywords(chosen)
    scores = matcher.score_matrix(t4, documents, **options)
    qrels = pd.DataFrame({"need_id": t4["id"], "capability_id": t4["id"], "grade": 1})
    t4_rows = query_metrics(scores, qrels, k=10)
    engineering = papers[(papers["category"] == "工学") & (papers["half"] == half)]
    needs = matcher.load_needs(pd.DataFrame({"id": engineering["id"], "org": "", "title": engineering["title"],
                                             "description": engineering["abstract"]}))
    exclude = pd.DataFrame({"need_id": needs["id"], "capability_id": needs["id"]})
    t3 = matcher.score_matrix(needs, documents, exclude=exclude, **options)
    discipline = dict(zip(papers["id"], papers["discipline"]))
    top = np.argsort(-t3.values, axis=1, kind="stable")[:, :10]
    precision = [np.mean([discipline[t3.capability_ids[j]] == discipline[need] for j in row])
                 for need, row in zip(t3.need_ids, top)]
    return {"csl_t4": dict(zip(t4_rows["need_id"], t4_rows["mrr_at_k"])),
            "csl_t3": dict(zip(t3.need_ids, map(float, precision)))}


def docking_task(name, config, half):
    folder = DATA / name
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = matcher.evaluate.load_qrels(folder / "qrels.csv")
    split = pd.read_csv(folder / "split.csv", dtype=str)
    chosen = set(split.loc[split["half"] == half, "need_id"])
    scores = matcher.score_matrix(needs, capabilities, **_options(config))
    rows = query_metrics(scores, qrels[qrels["need_id"].isin(chosen)], k=10)
    return {name: dict(zip(rows["need_id"], rows["ndcg_at_k"]))}


def holdout_task(config):
    folder = DATA / "holdout_zh"
    needs = matcher.load_needs(folder / "needs.csv")
    capabilities = matcher.load_capabilities(folder / "capabilities.csv")
    qrels = matcher.evaluate.load_qrels(folder / "qrels.csv")
    scores = matcher.score_matrix(needs, capabilities, **_options(config))
    allowed = pd.DataFrame(scores.allowed, index=scores.need_ids, columns=scores.capability_ids)
    visible = qrels[[bool(allowed.at[n, c]) for n, c in zip(qrels["need_id"], qrels["capability_id"])]]
    top = matcher.rank_pairs(needs, capabilities, top_k=10, scores=scores)
    clearance = dict(zip(needs["id"], needs["clearance"]))
    tier = dict(zip(capabilities["id"], capabilities["classification"]))
    leaks = int(sum(not matcher.clearance_allows(clearance[n], tier[c])
                    for n, c in zip(top["need_id"], top["capability_id"])))
    rows = query_metrics(top, visible, k=10)
    return {"holdout_zh": dict(zip(rows["need_id"], rows["ndcg_at_k"])), "holdout_zh_leaks": leaks,
            "holdout_zh_forbidden_graded": int(len(qrels) - len(visible))}


def expertise_frames():
    folder = DATA / "expertise_en"
    records = pd.read_csv(folder / "records.csv", dtype=str, keep_default_na=False)
    queries = pd.read_csv(folder / "queries.csv", dtype=str, keep_default_na=False)
    qrels = pd.read_csv(folder / "qrels.csv", dtype={"query_id": str, "expert_id": str, "grade": int})
    needs = matcher.load_needs(pd.DataFrame({"id": queries["query_id"], "org": "", "title": queries["title"],
                                             "description": queries["description"]}))
    capabilities = matcher.load_capabilities(pd.DataFrame({
        "id": records["record_id"], "org": records["expert_id"], "title": records["title"],
        "description": records["abstract"], "keywords": records["keywords"]}))
    experts = sorted(pd.read_csv(folder / "experts.csv", dtype=str)["expert_id"])
    return needs, capabilities, qrels, experts


def expert_scores(scores, capabilities, experts, aggregate="max"):
    """(n_queries, n_experts) scores aggregated over each expert's records."""
    owner = dict(zip(capabilities["id"], capabilities["org"]))
    columns = np.array([owner[c] for c in scores.capability_ids])
    out = np.zeros((len(scores.need_ids), len(experts)))
    for j, expert in enumerate(experts):
        block = np.sort(np.asarray(scores.values)[:, columns == expert], axis=1)[:, ::-1]
        if aggregate == "max":
            out[:, j] = block[:, 0]
        elif aggregate == "mean":
            out[:, j] = block.mean(axis=1)
        elif aggregate.startswith("top"):
            out[:, j] = block[:, :int(aggregate[3:])].mean(axis=1)
        else:
            raise ValueError(f"unknown aggregate {aggregate!r}")
    return out


def expertise_task(config):
    needs, capabilities, qrels, experts = expertise_frames()
    options = _options(config)
    aggregate = CONFIGS[config].get("aggregate", "max")
    scores = matcher.score_matrix(needs, capabilities, **options)
    values = expert_scores(scores, capabilities, experts, aggregate)
    loss, ndcg = {}, {}
    for i, query_id in enumerate(scores.need_ids):
        judged = qrels[qrels["query_id"] == query_id]
        if judged.empty:
            continue
        grade = np.array([dict(zip(judged["expert_id"], judged["grade"])).get(e, 0) for e in experts])
        row = values[i]
        better = grade[:, None] > grade[None, :]
        above = row[:, None] > row[None, :]
        tied = row[:, None] == row[None, :]
        # a triple (a, b) with g(a) > g(b): 0 if a above b, 0.5 if tied, 1 if b above a
        losses = np.where(above, 0.0, np.where(tied, 0.5, 1.0))[better]
        loss[query_id] = (float(losses.sum()), int(better.sum()))
        order = np.argsort(-row, kind="stable")[:10]
        gains = 2.0 ** grade[order] - 1
        ideal = np.sort(2.0 ** grade - 1)[::-1][:10]
        discount = 1 / np.log2(np.arange(2, 12))
        ndcg[query_id] = float((gains * discount[:len(gains)]).sum() / (ideal * discount[:len(ideal)]).sum())
    return {"expertise_en": loss, "expertise_en_ndcg": ndcg}


def run(config, split):
    """Per-query figures of ``config`` on ``split`` (cached in out/honest)."""
    path = OUT / f"{config}.{split}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = {}
    if quality.CSL.is_file():
        result.update(csl_tasks(config, split))
    for name in ("docking_zh", "docking_en"):
        result.update(docking_task(name, config, split))
    if split == "test":
        result.update(holdout_task(config))
        result.update(expertise_task(config))
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False))
    return result


def summary(per_query, task):
    values = per_query.get(task)
    if not values:
        return None
    if task == "expertise_en":  # pooled over all triples
        total = np.array(list(values.values()))
        return float(total[:, 0].sum() / total[:, 1].sum())
    return float(np.mean(list(values.values())))


def paired_interval(before, after, task, *, n_resamples=10_000, seed=0):
    """(mean difference, low, high) of after − before, bootstrap over the shared queries."""
    keys = sorted(set(before[task]) & set(after[task]))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(keys), size=(n_resamples, len(keys)))
    if task == "expertise_en":
        a = np.array([before[task][k] for k in keys], dtype=float)
        b = np.array([after[task][k] for k in keys], dtype=float)
        point = b[:, 0].sum() / b[:, 1].sum() - a[:, 0].sum() / a[:, 1].sum()
        draws = b[picks, 0].sum(1) / b[picks, 1].sum(1) - a[picks, 0].sum(1) / a[picks, 1].sum(1)
    else:
        difference = np.array([after[task][k] - before[task][k] for k in keys])
        point, draws = difference.mean(), difference[picks].mean(1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(point), float(low), float(high)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--configs", default="default")
    parser.add_argument("--compare", default="", help="before:after[,before:after…]")
    parser.add_argument("--fresh", action="store_true", help="ignore cached per-query figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not quality.CSL.is_file():
        print(f"note: CSL not found at {quality.CSL}; CSL tasks skipped", file=sys.stderr)
    names = [c for c in args.configs.split(",") if c]
    pairs = [tuple(p.split(":")) for p in args.compare.split(",") if p]
    for name in dict.fromkeys(names + [c for p in pairs for c in p]):
        if name not in CONFIGS:
            sys.exit(f"unknown config {name!r}; known: {', '.join(CONFIGS)}")
        if args.fresh:
            (OUT / f"{name}.{args.split}.json").unlink(missing_ok=True)
    rows = []
    for name in names:
        result = run(name, args.split)
        row = {"config": name, "split": args.split,
               **{task: summary(result, task) for task in TASKS if summary(result, task) is not None}}
        if "holdout_zh_leaks" in result:
            row["holdout_leaks"] = result["holdout_zh_leaks"]
        rows.append(row)
        if args.json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if rows and not args.json:
        print(pd.DataFrame(rows).set_index("config").round(4).to_string())
    for before, after in pairs:
        first, second = run(before, args.split), run(after, args.split)
        for task in TASKS:
            if task in first and task in second:
                point, low, high = paired_interval(first, second, task)
                line = {"before": before, "after": after, "split": args.split, "task": task,
                        "metric": TASKS[task][0], "before_value": summary(first, task),
                        "after_value": summary(second, task), "difference": point, "low": low, "high": high,
                        "n_queries": len(set(first[task]) & set(second[task]))}
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in line.items()},
                                 ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
