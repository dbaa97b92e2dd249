"""Approximate nearest neighbours on stand-in vectors: build time, ms per query and recall@50 against exact.

    python benchmarks/ann.py      # 154,000 items, 2,000 queries; prints JSON

Compares hnswlib, FAISS (HNSW and IVF) and usearch at 2 threads (README "Scale"). Only hnswlib is a
dependency; for the others ``pip install faiss-cpu==1.15.1 usearch==2.26.6`` first.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

papers = synthetic.load_papers()
_, base = synthetic.make_records(papers, 154000, "capability", seed=11)
_, queries = synthetic.make_records(papers, 2000, "need", seed=10)
K = 50
t = time.perf_counter(); S = queries @ base.T; exact = np.argsort(-S, axis=1)[:, :K]; tex = time.perf_counter() - t
print("exact", tex, flush=True)
def recall(found): return np.mean([len(set(f[:K]) & set(e)) / K for f, e in zip(found, exact)])
out = {}
import faiss

faiss.omp_set_num_threads(2)
for M, efc in ((32, 80),):
    idx = faiss.IndexHNSWFlat(384, M, faiss.METRIC_INNER_PRODUCT); idx.hnsw.efConstruction = efc
    t = time.perf_counter(); idx.add(base); b = time.perf_counter() - t
    for ef in (64, 128, 256):
        idx.hnsw.efSearch = ef
        t = time.perf_counter(); _, I = idx.search(queries, K); s = time.perf_counter() - t
        out[f"faiss_hnsw M{M} ef{ef}"] = dict(build=b, ms_per_query=s / len(queries) * 1e3, recall=recall(I)); print(out, flush=True)
for nlist in (1024,):
    q = faiss.IndexFlatIP(384); idx = faiss.IndexIVFFlat(q, 384, nlist, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter(); idx.train(base[::4]); idx.add(base); b = time.perf_counter() - t
    for nprobe in (16, 32, 64):
        idx.nprobe = nprobe
        t = time.perf_counter(); _, I = idx.search(queries, K); s = time.perf_counter() - t
        out[f"faiss_ivf{nlist} np{nprobe}"] = dict(build=b, ms_per_query=s / len(queries) * 1e3, recall=recall(I)); print(out, flush=True)
import hnswlib

idx = hnswlib.Index(space="ip", dim=384); idx.init_index(max_elements=len(base), M=32, ef_construction=80); idx.set_num_threads(2)
t = time.perf_counter(); idx.add_items(base); b = time.perf_counter() - t
for ef in (64, 128, 256):
    idx.set_ef(ef); t = time.perf_counter(); I, _ = idx.knn_query(queries, k=K); s = time.perf_counter() - t
    out[f"hnswlib M32 ef{ef}"] = dict(build=b, ms_per_query=s / len(queries) * 1e3, recall=recall(I)); print(out, flush=True)
from usearch.index import Index

idx = Index(ndim=384, metric="ip", dtype="f32", connectivity=32, expansion_add=80)
t = time.perf_counter(); idx.add(np.arange(len(base)), base, threads=2); b = time.perf_counter() - t
for ef in (64, 128, 256):
    idx.expansion_search = ef
    t = time.perf_counter(); r = idx.search(queries, K, threads=2); s = time.perf_counter() - t
    out[f"usearch M32 ef{ef}"] = dict(build=b, ms_per_query=s / len(queries) * 1e3, recall=recall(r.keys)); print(out, flush=True)
print(json.dumps(out, indent=1))
