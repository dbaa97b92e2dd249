"""matcher.NearDuplicateIndex: the same cosines as refitting scikit-learn's TF-IDF per query, kept incrementally."""
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher import InputError, NearDuplicateIndex

BASE = ["碳化硅外延片缺陷表征与高温栅偏可靠性试验", "高通量基因测序服务，提供全基因组测序", "激光熔覆修复轴类零件 laser cladding",
        "锂电池热失控早期预警 BMS", "中药材指纹图谱 HPLC 质量控制", "碳纤维复合材料热压罐外成型工艺"]


def refit(query, texts):
    """The cosine of ``query`` with each text, refitting TfidfVectorizer on query + texts (the old check)."""
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2), sublinear_tf=True).fit_transform([query] + texts)
    return (matrix[1:] @ matrix[0].T).toarray().ravel()


def variants(rng, n):
    out = []
    for _ in range(n):
        text = BASE[rng.integers(len(BASE))]
        cut = rng.integers(0, len(text))
        out.append(text[:cut] + "，" + BASE[rng.integers(len(BASE))][: rng.integers(3, 12)] + text[cut:])
    return out


def test_similarities_equal_a_refit_through_adds_removes_and_compaction():
    rng = np.random.default_rng(4)
    texts = variants(rng, 200)
    index = NearDuplicateIndex().add(range(200), texts)
    held = dict(enumerate(texts))
    checked = 0
    for round_ in range(6):
        gone = [int(i) for i in rng.choice(list(held), size=25, replace=False)]
        index.remove(gone)
        for i in gone:
            del held[i]
        new = {1000 * (round_ + 1) + i: t for i, t in enumerate(variants(rng, 10))}
        index.add(list(new), list(new.values()))
        held.update(new)
        for query in variants(rng, 3) + ["完全无关的文本 quantum", ""]:
            ids = list(held)
            expected = refit(query, [held[i] for i in ids])
            found = dict(index.similar(query, threshold=-1.0, limit=len(ids)))
            assert {i for i, e in zip(ids, expected) if e > 1e-6} <= set(found) <= set(ids)
            np.testing.assert_allclose([found.get(i, 0.0) for i in ids], expected, atol=1e-5)
            for threshold in (0.3, 0.8):  # the prefix filter finds exactly the texts at or above the threshold
                above = dict(index.similar(query, threshold=threshold, limit=len(ids)))
                assert set(above) == {i for i, e in zip(ids, expected) if e >= threshold + 1e-6} | (
                    set(above) & {i for i, e in zip(ids, expected) if abs(e - threshold) <= 1e-6})
                checked += len(above)
    assert checked > 100  # near copies were there to be found
    assert index.n_texts_ == len(held) and len(index._ids) < 260  # compacted after most of the first texts left


def test_threshold_limit_order_and_errors():
    index = NearDuplicateIndex().add(["a", "b", "c"], [BASE[0], BASE[0] + "。", BASE[1]])
    found = index.similar(BASE[0] + "！", threshold=0.8)
    assert [i for i, _ in found] == ["a", "b"] and all(s >= 0.8 for _, s in found)
    assert index.similar(BASE[0], threshold=0.8, limit=1)[0][0] == "a"
    assert NearDuplicateIndex().similar(BASE[0]) == []
    index.add(["a"], [BASE[2]])  # replacing a text
    assert "a" not in [i for i, _ in index.similar(BASE[0], threshold=0.8)]
    with pytest.raises(InputError, match="'z'"):
        index.remove(["z"])
