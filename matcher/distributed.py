"""Catalogue-scale (re)encoding on Ray Data: the model loaded once per worker, results in the embedding cache.

Runs on this machine with no cluster (``address=None`` starts a local Ray) or on
a running cluster given its address; either way the vectors land in the same
SQLite embedding cache :class:`~matcher.Embedder` reads, so a later ranking
encodes nothing. Ray is an optional extra: ``pip install -e '.[cluster]'``.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .embed import ROLES, Embedder
from .errors import InputError


def encode_catalogue(texts, *, role="passage", model=None, cache_dir=None, address=None, workers=2,
                     threads_per_worker=1, batch_size=32, max_tokens=480, show_progress=None):
    """Encode every text not yet in the embedding cache on Ray workers and store the vectors there.

    Parameters
    ----------
    texts : sequence of str
        E.g. :func:`matcher.records.record_texts` of a catalogue.
    role : {"query", "passage"}, default "passage"
        "query" for needs, "passage" for capabilities (as :func:`matcher.rank_pairs` encodes them).
    model, cache_dir, max_tokens
        As for :class:`~matcher.Embedder`.
    address : str, optional
        A Ray cluster (``"ray://head:10001"`` or ``"auto"``); None starts Ray on this machine.
    workers : int, default 2
        Ray actors, each loading the model once.
    threads_per_worker : int, default 1
        CPUs (and torch threads) per worker.
    batch_size : int, default 32
        Texts per batch sent to a worker.
    show_progress : bool, optional
        Progress bar; ``None`` shows it on a terminal only.

    Returns
    -------
    int
        Texts encoded (the rest were cached already).

    Examples
    --------
    >>> encode_catalogue(record_texts(capabilities), workers=2)
    1989
    """
    if role not in ROLES:
        raise InputError(f"role must be one of {ROLES}; got {role!r}")
    if workers < 1 or threads_per_worker < 1:
        raise InputError(f"workers and threads_per_worker must be at least 1; got {workers}, {threads_per_worker}")
    import ray

    driver = Embedder(model, cache_dir=cache_dir, max_tokens=max_tokens)
    texts = list(dict.fromkeys("" if t is None else str(t) for t in texts))
    keys = {text: driver._key(text, role) for text in texts}
    cached = driver._cache().get(list(keys.values()))
    todo = [text for text in texts if keys[text] not in cached]
    if not todo:
        return 0
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else workers * threads_per_worker,
                 include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        dataset = ray.data.from_items([{"text": text} for text in todo])
        vectors = dataset.map_batches(
            _Worker, batch_size=batch_size, batch_format="numpy", concurrency=workers, num_cpus=threads_per_worker,
            fn_constructor_kwargs={"model": model, "cache_dir": cache_dir, "max_tokens": max_tokens, "role": role,
                                   "threads": threads_per_worker})
        disable = (not show_progress) if show_progress is not None else None
        with tqdm(total=len(todo), desc="encoding (ray)", unit="text", disable=disable) as bar:
            for batch in vectors.iter_batches(batch_size=256, batch_format="numpy"):
                driver._cache().put({keys[str(text)]: vector for text, vector in zip(batch["text"], batch["vector"])})
                bar.update(len(batch["text"]))
    finally:
        if started_here:
            ray.shutdown()
    return len(todo)


class _Worker:
    """One Ray actor: loads the model once, encodes batches (no cache of its own: the driver writes it)."""

    def __init__(self, *, model, cache_dir, max_tokens, role, threads):
        import torch

        torch.set_num_threads(threads)
        self.embedder = Embedder(model, cache_dir=cache_dir, use_cache=False, max_tokens=max_tokens,
                                 show_progress=False)
        self.role = role

    def __call__(self, batch):
        texts = [str(text) for text in batch["text"]]
        return {"text": np.asarray(texts, dtype=object), "vector": self.embedder.encode(texts, role=self.role)}
