"""Experiment (dropped lever): abbreviations mined from the corpus as lexical expansion, CSL T4 MRR@10.

Run from the repository root: ``python benchmarks/try_abbreviations.py dev`` (tuning half only; the
lever was dropped on dev, so it was never run on test). Pairs 全称（ABBR） are mined from every
indexed text (long form: the last jieba words before the bracket, at most 2 × len(ABBR) + 2
characters, the most frequent per abbreviation); a text with the abbreviation gets the long form
appended and vice versa, for BM25 only (the embeddings are unchanged). The index is patched here
rather than in matcher because the lever did not help: dev 0.5286 → 0.5277 with 357 pairs mined.
"""
import collections
import re
import sys

import pandas as pd
import quality

import matcher
from matcher.evaluate import query_metrics
from matcher.terms import tokenizer_for

PAT = re.compile(r'([\u4e00-\u9fff]{2,20})\s*[（(]\s*([A-Za-z][A-Za-z0-9\-]{1,11})\s*[)）]')
def mine(texts):
    tok = tokenizer_for(frozenset())
    votes = collections.defaultdict(collections.Counter)
    for t in texts:
        for run, abbr in PAT.findall(t):
            words = tok.lcut(run)
            long = ""
            for w in reversed(words):
                if len(long) + len(w) > max(4, 2 * len(abbr) + 2):
                    break
                long = w + long
            if len(long) >= 2:
                votes[abbr.lower()][long] += 1
    return {a: c.most_common(1)[0][0] for a, c in votes.items()}

def expand(texts, pairs):
    out = []
    for t in texts:
        low = t.lower(); extra = []
        for a, l in pairs.items():
            if l in t and not re.search(r'(?<![a-z0-9])' + re.escape(a) + r'(?![a-z0-9])', low):
                extra.append(a)
            elif re.search(r'(?<![a-z0-9])' + re.escape(a) + r'(?![a-z0-9])', low) and l not in t:
                extra.append(l)
        out.append(t + (" " + " ".join(extra) if extra else ""))
    return out

orig_fit = matcher.lexical.BM25.fit
orig_qt = matcher.lexical.BM25.query_terms
STATE = {}
def fit(self, documents):
    documents = list(documents)
    if STATE.get('on'):
        STATE['pairs'] = mine(documents + STATE.get('extra', []))
        documents = expand(documents, STATE['pairs'])
    return orig_fit(self, documents)
def qt(self, queries):
    queries = list(queries)
    if STATE.get('on') and 'pairs' in STATE:
        queries = expand(queries, STATE['pairs'])
    return orig_qt(self, queries)
matcher.lexical.BM25.fit = fit; matcher.lexical.BM25.query_terms = qt

papers = quality.load_csl(); documents = quality.corpus(papers)
emb = quality.make_embedder("multilingual-e5-small")
half = sys.argv[1]
t4 = quality.unseen_keywords(papers[papers["half"] == half])
qrels = pd.DataFrame({"need_id": t4["id"], "capability_id": t4["id"], "grade": 1})
for on in (False, True):
    STATE.clear(); STATE['on'] = on
    s = matcher.score_matrix(t4, documents, embedder=emb)
    r = query_metrics(s, qrels, k=10)
    print(half, 'abbr' if on else 'base', round(r['mrr_at_k'].mean(), 4), len(STATE.get('pairs', {})))
