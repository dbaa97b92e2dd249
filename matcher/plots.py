"""Plots for the analyst notebooks: domain heatmap, 2-D map of embeddings, score histograms.

Display only: each function draws what the other modules computed on a matplotlib
``Axes`` and returns it; nothing here scores or ranks. Chinese labels need a CJK
font, so every function takes ``lang`` ("zh" or "en") and :func:`configure_fonts`
says which one the machine can draw.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .taxonomy import DOMAINS

LANGUAGES = ("zh", "en")
#: Display names of :data:`matcher.DOMAINS` for plots drawn without a CJK font.
DOMAIN_LABELS_EN = {
    "电子信息": "Electronic information",
    "新材料": "New materials",
    "先进制造与自动化": "Manufacturing & automation",
    "高技术服务": "High-tech services",
    "生物医药": "Biomedicine",
    "其他": "Other",
}
#: CJK sans-serif families tried in order (Debian, Adobe, WenQuanYi, Windows, macOS).
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Sans CJK JP")
PROJECTIONS = ("pca", "tsne")
_TEXT = {
    "need_domain": ("需求领域", "Need domain"),
    "capability_domain": ("成果领域", "Capability domain"),
    "need": ("需求", "need"),
    "capability": ("成果", "capability"),
    "score": ("融合得分", "Fused score"),
    "density": ("密度", "Density"),
    "all_pairs": ("全部可推荐对", "all allowed pairs"),
}


def configure_fonts():
    """Use a CJK font in matplotlib when one is installed; say which labels to draw.

    Sets ``font.sans-serif`` (and turns off the Unicode minus, which CJK fonts lack)
    for the rest of the session when a font of :data:`CJK_FONTS` is found.

    Returns
    -------
    str
        "zh" when a CJK font is now in use, else "en" (pass it as ``lang``).

    Examples
    --------
    >>> lang = configure_fonts()
    >>> domain_heatmap(domain_counts(pairs), lang=lang)
    """
    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        return "en"
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [found, *matplotlib.rcParams["font.sans-serif"]]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return "zh"


def domain_labels(domains, *, lang="zh"):
    """Display names of canonical domains: as they are for "zh", translated for "en".

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        Unknown ``lang`` or a value that is not one of :data:`matcher.DOMAINS`.

    Examples
    --------
    >>> domain_labels(["新材料", "其他"], lang="en")
    ['New materials', 'Other']
    """
    _check_lang(lang)
    unknown = sorted({str(d) for d in domains if d not in DOMAIN_LABELS_EN})
    if unknown:
        raise InputError(f"unknown domain(s) {unknown}; allowed: {', '.join(DOMAINS)}")
    return [d if lang == "zh" else DOMAIN_LABELS_EN[d] for d in domains]


def domain_counts(pairs):
    """Count suggested pairs by need domain × capability domain.

    Parameters
    ----------
    pairs : pandas.DataFrame
        As returned by :func:`matcher.rank_pairs` (``need_domain``, ``capability_domain``).

    Returns
    -------
    pandas.DataFrame of int, shape (6, 6)
        Rows are need domains and columns capability domains, both in :data:`matcher.DOMAINS` order.

    Examples
    --------
    >>> counts = domain_counts(rank_pairs(needs, capabilities, top_k=5))
    >>> int(np.trace(counts)) / int(counts.to_numpy().sum())  # share within the need's own domain
    """
    missing = {"need_domain", "capability_domain"} - set(pairs.columns)
    if missing:
        raise InputError(f"pairs lack column(s) {sorted(missing)}; pass the frame rank_pairs returns")
    counts = pd.crosstab(pairs["need_domain"], pairs["capability_domain"])
    counts = counts.reindex(index=list(DOMAINS), columns=list(DOMAINS), fill_value=0).astype(int)
    counts.index.name, counts.columns.name = "need_domain", "capability_domain"
    return counts


def domain_heatmap(counts, *, ax=None, lang="zh", cmap="Blues"):
    """Draw a need domain × capability domain count table as an annotated heatmap.

    Parameters
    ----------
    counts : pandas.DataFrame
        As returned by :func:`domain_counts`.
    ax : matplotlib.axes.Axes, optional
        Drawn on a new figure when omitted.
    lang : {"zh", "en"}, default "zh"
    cmap : str, default "Blues"

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        Unknown ``lang`` or a label that is not a canonical domain.

    Examples
    --------
    >>> pairs = rank_pairs(needs, capabilities, top_k=5)
    >>> domain_heatmap(domain_counts(pairs), lang=configure_fonts())
    """
    ax = _axes(ax, figsize=(7, 6))
    values = counts.to_numpy()
    image = ax.imshow(values, cmap=cmap)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(values.shape[1]), domain_labels(counts.columns, lang=lang), rotation=35, ha="right")
    ax.set_yticks(range(values.shape[0]), domain_labels(counts.index, lang=lang))
    ax.set_xlabel(_text("capability_domain", lang))
    ax.set_ylabel(_text("need_domain", lang))
    threshold = values.max() / 2 if values.size else 0
    for (row, column), value in np.ndenumerate(values):
        ax.text(column, row, str(value), ha="center", va="center",
                color="white" if value > threshold else "black", fontsize=9)
    return ax


def embedding_map(needs, capabilities, need_vectors, capability_vectors, *, method="pca", ax=None, lang="zh",
                  random_state=0):
    """Project needs and capabilities into one 2-D map, coloured by domain.

    Parameters
    ----------
    needs, capabilities : pandas.DataFrame
        Validated records (``domain`` column).
    need_vectors : numpy.ndarray, shape (n_needs, dim)
    capability_vectors : numpy.ndarray, shape (n_capabilities, dim)
    method : {"pca", "tsne"}, default "pca"
        scikit-learn PCA, or t-SNE (cosine metric, perplexity at most 30).
    ax : matplotlib.axes.Axes, optional
    lang : {"zh", "en"}, default "zh"
    random_state : int, default 0
        Seeds t-SNE.

    Returns
    -------
    matplotlib.axes.Axes
        Needs are circles, capabilities triangles.

    Raises
    ------
    InputError
        Unknown ``method``, or vectors whose row count differs from the records'.

    Examples
    --------
    >>> need_vectors = embedder.encode(record_texts(needs), role="query")
    >>> capability_vectors = embedder.encode(record_texts(capabilities), role="passage")
    >>> embedding_map(needs, capabilities, need_vectors, capability_vectors, method="tsne")
    """
    if method not in PROJECTIONS:
        raise InputError(f"method must be one of {PROJECTIONS}; got {method!r}")
    for name, frame, vectors in (("need", needs, need_vectors), ("capability", capabilities, capability_vectors)):
        if len(vectors) != len(frame):
            raise InputError(f"{name}_vectors has {len(vectors)} rows but there are {len(frame)} {name}s")
    from matplotlib.lines import Line2D

    points = _project(np.vstack([need_vectors, capability_vectors]), method, random_state)
    ax = _axes(ax, figsize=(8, 7))
    colours = dict(zip(DOMAINS, _palette(len(DOMAINS))))
    kinds = (("need", needs, points[:len(needs)], "o"), ("capability", capabilities, points[len(needs):], "^"))
    for _, frame, xy, marker in kinds:
        ax.scatter(xy[:, 0], xy[:, 1], marker=marker, s=36, alpha=0.8, edgecolors="none",
                   color=[colours[d] for d in frame["domain"]])
    handles = [Line2D([], [], ls="", marker="s", color=colours[d], label=label)
               for d, label in zip(DOMAINS, domain_labels(DOMAINS, lang=lang))]
    handles += [Line2D([], [], ls="", marker=marker, color="grey", label=_text(kind, lang))
                for kind, _, _, marker in kinds]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title({"pca": "PCA", "tsne": "t-SNE"}[method])
    return ax


def score_histogram(scores, *, highlight=None, label=None, ax=None, bins=40, lang="zh"):
    """Histogram of the fused scores of all allowed pairs, with a subset overlaid.

    Parameters
    ----------
    scores : matcher.ScoreMatrix
    highlight : pandas.DataFrame, optional
        Pairs (``need_id``, ``capability_id``) to overlay, e.g. the top-1 suggestions or the
        judged relevant pairs of a benchmark; pairs not allowed by the rules are skipped.
    label : str, optional
        Legend text of the overlay (default "highlighted").
    ax : matplotlib.axes.Axes, optional
    bins : int, default 40
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        ``highlight`` names an id that is not in ``scores``.

    Examples
    --------
    >>> scores = score_matrix(needs, capabilities)
    >>> best = rank_pairs(needs, capabilities, top_k=1, scores=scores)
    >>> score_histogram(scores, highlight=best, label="top-1")
    """
    ax = _axes(ax, figsize=(7, 4))
    allowed = scores.values[scores.allowed]
    edges = np.histogram_bin_edges(allowed, bins=bins) if allowed.size else bins
    ax.hist(allowed, bins=edges, density=True, alpha=0.5, label=_text("all_pairs", lang))
    if highlight is not None:
        values = scores.values[_positions(highlight["need_id"], scores.need_ids, "need_id"),
                               _positions(highlight["capability_id"], scores.capability_ids, "capability_id")]
        ax.hist(values[np.isfinite(values)], bins=edges, density=True, alpha=0.6, label=label or "highlighted")
    ax.set_xlabel(_text("score", lang))
    ax.set_ylabel(_text("density", lang))
    ax.legend(fontsize=8)
    return ax


def _check_lang(lang):
    if lang not in LANGUAGES:
        raise InputError(f"lang must be one of {LANGUAGES}; got {lang!r}")


def _text(key, lang):
    _check_lang(lang)
    return _TEXT[key][LANGUAGES.index(lang)]


def _axes(ax, *, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, layout="constrained")[1]


def _palette(n):
    from matplotlib import colormaps

    return [colormaps["tab10"](i) for i in range(n)]


def _project(vectors, method, random_state):
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2).fit_transform(vectors)
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    return TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity,
                random_state=random_state).fit_transform(vectors)


def _positions(ids, known, column):
    index = {value: i for i, value in enumerate(known)}
    missing = sorted({str(i) for i in ids if i not in index})
    if missing:
        shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise InputError(f"highlight {column} not in the score matrix: {shown}")
    return np.array([index[i] for i in ids], dtype=int)
