"""Synthetic needs and capabilities at any size, from real CSL sentences, with stand-in embeddings.

Each record takes two to four sentences of one CSL paper (its topic) and often
one sentence of another paper of the same discipline, so texts read like real
abstracts and related records share real vocabulary. Its stand-in embedding is
the normalised sum of one random unit vector per source paper, one per
discipline and noise: records of the same paper or discipline are close, as
real embeddings of such texts are, so approximate search meets a realistic
neighbourhood structure, while no model runs (only the ranking path is timed).

Organisations repeat (same-organisation pairs exist), tiers and qualifications
follow a realistic mix (most 公开 / 无) and a third of the domains are left
empty to be inferred.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

CSL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "csl" / "csl_papers.tsv"
DIM = 384
_SENTENCE = re.compile(r"[^。；;!?！？]+[。；;!?！？]?")
_DOMAIN_OF = {"工学": "先进制造与自动化", "理学": "新材料", "医学": "生物医药", "管理学": "高技术服务",
              "农学": "其他", "经济学": "高技术服务", "教育学": "其他", "法学": "其他", "文学": "其他"}


def load_papers(path=CSL):
    papers = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    papers["sentences"] = [[s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 8]
                           or [text] for text in papers["abstract"]]
    return papers


def make_records(papers, n, kind, *, seed):
    """``n`` synthetic needs (``kind="need"``) or capabilities, and their stand-in vectors.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray of float32 (n, 384))
    """
    rng = np.random.default_rng(seed)
    paper_vectors = _unit(np.random.default_rng(1).normal(size=(len(papers), DIM)))
    disciplines = pd.factorize(papers["discipline"])[0]
    discipline_vectors = _unit(np.random.default_rng(2).normal(size=(disciplines.max() + 1, DIM)))
    by_discipline = pd.Series(np.arange(len(papers))).groupby(disciplines).apply(np.asarray).to_dict()
    topics = rng.integers(0, len(papers), n)
    titles, descriptions, keywords, vectors = [], [], [], np.empty((n, DIM), dtype=np.float32)
    for row, topic in enumerate(topics):
        sentences = papers["sentences"].iat[topic]
        take = rng.choice(len(sentences), size=min(len(sentences), rng.integers(2, 5)), replace=False)
        parts = [sentences[i] for i in sorted(take)]
        vector = paper_vectors[topic] * len(parts) + 0.8 * discipline_vectors[disciplines[topic]]
        if rng.random() < 0.6:
            other = rng.choice(by_discipline[disciplines[topic]])
            extra = papers["sentences"].iat[other]
            parts.append(extra[rng.integers(len(extra))])
            vector = vector + paper_vectors[other]
        vectors[row] = vector + rng.normal(scale=1.5 / np.sqrt(DIM), size=DIM) * len(parts)
        title = papers["title"].iat[topic]
        titles.append(title[: rng.integers(8, 30)])
        descriptions.append("".join(parts))
        keywords.append(papers["keywords"].iat[topic] if rng.random() < 0.5 else "")
    prefix = "N" if kind == "need" else "C"
    n_orgs = max(2, n // 15)
    orgs = [f"{'企业' if kind == 'need' else '院所'}{i % (n_orgs // 2 + 1)}" if rng.random() < 0.9 else f"共建单位{i % 50}"
            for i in rng.integers(0, n_orgs, n)]
    domains = [_DOMAIN_OF.get(papers["category"].iat[t], "其他") if rng.random() < 0.67 else "" for t in topics]
    frame = pd.DataFrame({"id": [f"{prefix}{i:07d}" for i in range(n)], "org": orgs, "title": titles,
                          "description": descriptions, "keywords": keywords, "domain": domains})
    if kind == "need":
        frame["clearance"] = rng.choice(["无", "三级", "二级", "一级"], size=n, p=[0.75, 0.12, 0.09, 0.04])
    else:
        frame["classification"] = rng.choice(["公开", "内部", "秘密", "机密"], size=n, p=[0.85, 0.06, 0.05, 0.04])
    return frame, _unit(vectors)


class StandInEmbedder:
    """An ``Embedder`` look-alike that returns the stand-in vectors of known texts (nothing is encoded)."""

    def __init__(self, texts, vectors):
        self._by_text = dict(zip(texts, vectors))
        self.dim_ = DIM

    def encode(self, texts, *, role="passage"):
        return np.stack([self._by_text[text] for text in texts]) if len(texts) else np.zeros((0, DIM), np.float32)


def _unit(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
