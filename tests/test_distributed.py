"""Catalogue encoding on Ray: one local worker fills the cache the embedder reads."""
import numpy as np
import pytest

from matcher import Embedder


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::ResourceWarning")
def test_ray_encoding_fills_the_embedding_cache(tmp_path, embedder):
    pytest.importorskip("ray", reason="Ray is the optional 'cluster' extra (make setup installs it)")
    from matcher.distributed import encode_catalogue

    texts = ["碳化硅功率器件栅氧可靠性", "铝合金压铸件气孔检测", "聚乳酸结晶改性提高耐热性", "卫星支架拓扑优化减重"]
    assert encode_catalogue(texts, workers=1, cache_dir=tmp_path, batch_size=2, show_progress=False) == len(texts)
    cached = Embedder(cache_dir=tmp_path)
    vectors = cached.encode(texts, role="passage")
    assert cached.n_encoded_ == 0  # everything came from the cache Ray filled
    local = embedder.encode(texts, role="passage")
    assert np.all(np.sum(vectors * local, axis=1) > 0.999)
    assert encode_catalogue(texts, workers=1, cache_dir=tmp_path, show_progress=False) == 0
