"""Score every need × capability pair and rank suggestions with reasons.

Signals: dense cosine of the embeddings (``semantic``), BM25 over characters
and character bigrams (``lexical``) and domain agreement (``domain``). The
semantic and lexical signals are min–max normalised per query over its allowed
candidates and summed with weights; per-query normalised score sums measured
better than reciprocal-rank fusion on Chinese abstracts (FACTS.md). That
first-order score is then mixed with a second-order one (``neighbourhood``,
see :mod:`matcher.neighbourhood`): how much the query's best candidates are
each candidate's own nearest neighbours, weighted more for longer queries.

Rules that always hold: a capability is never suggested to a need whose
enterprise qualification is below the capability's tier, never to the same
organisation, and never for an excluded pair; such pairs hold ``-inf``.

Inside, everything is query-major (rows are the queries of ``direction``,
:mod:`matcher.blockwise`); the one transpose happens at the :class:`ScoreMatrix`
boundary. Small inputs get the dense :class:`ScoreMatrix`; large ones go through
:func:`search_pairs`, which scores blocks of queries and keeps only their top-k.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import blockwise, candidates
from .ann import VectorIndex
from .candidates import DEFAULT_CANDIDATES
from .constraints import RULE_NAMES, allowed_pairs, pair_rules
from .embed import DEFAULT_MODEL, Embedder
from .errors import InputError
from .lexical import BM25
from .neighbourhood import query_weights
from .progress import StageProgress
from .reasons import describe_pairs
from .records import record_texts
from .routing import RoutedEmbedder, all_english
from .strength import add_strength

#: Shipped fusion weights; see README "Matching quality" for how they were chosen.
DEFAULT_WEIGHTS = {"semantic": 0.6, "lexical": 0.4, "domain": 0.1, "neighbourhood": 0.8}
SIGNALS = tuple(DEFAULT_WEIGHTS)
DIRECTIONS = ("need", "capability")
#: Pairs (n_needs × n_capabilities) above which :func:`rank_pairs` switches from the dense
#: :class:`ScoreMatrix` to :func:`search_pairs` (about 200 MB of float32 per dense array here).
LARGE_THRESHOLD = 50_000_000
#: Candidates above which the dense signal is searched approximately (HNSW) unless an index is given.
#: At 154,000 candidates exact search was as fast as HNSW at recall 0.97 on two cores (README "Scale").
ANN_THRESHOLD = 500_000


@dataclass
class ScoreMatrix:
    """Fused scores of every pair; rows are needs, columns capabilities.

    Attributes
    ----------
    values : numpy.ndarray, shape (n_needs, n_capabilities)
        Fused score; ``-inf`` where a rule forbids the pair.
    need_ids, capability_ids : numpy.ndarray of str
    components : dict of str to numpy.ndarray, each (n_needs, n_capabilities)
        ``semantic`` (cosine), ``lexical`` (raw BM25), ``lexical_norm`` (BM25
        scaled to [0, 1] per query), ``domain`` (1.0 when domains agree) and
        ``neighbourhood`` (profile cosine in [0, 1]; zeros when its weight is 0).
    excluded_by : numpy.ndarray of str, shape (n_needs, n_capabilities)
        Empty where allowed, else the rule: ``clearance``, ``same_org`` or ``excluded``.
    direction : str
        "need" when each need is a query, "capability" when each capability is.
    lexical_index : BM25, optional
        The fitted lexical index; its IDF weights the shared terms of the reasons.
    """

    values: np.ndarray
    need_ids: np.ndarray
    capability_ids: np.ndarray
    components: dict = field(default_factory=dict)
    excluded_by: np.ndarray = None
    direction: str = "need"
    lexical_index: BM25 = None

    @property
    def allowed(self):
        """Boolean mask (n_needs, n_capabilities) of pairs that may be suggested."""
        return np.isfinite(self.values)

    def top_k(self, k, *, chunk_size=1024):
        """Best ``k`` allowed partners per query as a tidy frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``need_id, capability_id, rank, score``; ranks start at 1.
        """
        return _matrix_pairs(self, k, chunk_size=chunk_size)[["need_id", "capability_id", "rank", "score"]]


def semantic_scores(need_vectors, capability_vectors):
    """Cosine similarity of unit vectors.

    Parameters
    ----------
    need_vectors : numpy.ndarray, shape (n_needs, dim)
    capability_vectors : numpy.ndarray, shape (n_capabilities, dim)

    Returns
    -------
    numpy.ndarray of float32, shape (n_needs, n_capabilities)
    """
    return np.asarray(need_vectors, dtype=np.float32) @ np.asarray(capability_vectors, dtype=np.float32).T


def fuse_scores(components, weights, allowed, *, direction="need"):
    """Weighted sum of per-query min–max normalised signals; ``-inf`` where not allowed.

    Parameters
    ----------
    components : dict with ``semantic``, ``lexical``, ``domain`` arrays (n_needs, n_capabilities)
    weights : dict of str to float
    allowed : numpy.ndarray of bool, shape (n_needs, n_capabilities)
    direction : {"need", "capability"}
        Normalise over each row (need queries) or each column.

    Returns
    -------
    numpy.ndarray of float32, shape (n_needs, n_capabilities)
    """
    orient = _orientation(direction)
    fused = blockwise.fuse_scores({name: orient(np.asarray(value)) for name, value in components.items()}, weights,
                                  orient(allowed))
    return orient(fused)


def score_matrix(needs, capabilities, *, embedder=None, weights=None, exclude=None, direction="need"):
    """Score every need against every capability.

    Parameters
    ----------
    needs, capabilities : pandas.DataFrame
        As returned by :func:`matcher.load_needs` / :func:`matcher.load_capabilities`
        (at least ``id``, ``title``, ``description``).
    embedder : matcher.Embedder, optional
        Defaults to the bundled offline model; not loaded when ``weights["semantic"]`` is 0.
        With that model, a ranking whose texts are all English also reads them with
        all-MiniLM-L6-v2 (:mod:`matcher.routing`).
    weights : dict, optional
        Any of ``semantic``, ``lexical``, ``domain``, ``neighbourhood`` (non-negative
        floats; ``neighbourhood`` is the largest share of the second-order signal, reached
        by queries of 30 terms or more, and 0 turns it off); missing keys take
        :data:`DEFAULT_WEIGHTS`.
    exclude : pandas.DataFrame, optional
        Pairs never to suggest: columns ``need_id`` and ``capability_id``, or
        ``need_org`` and ``capability_org``.
    direction : {"need", "capability"}, default "need"
        Which side is the query (decides the normalisation axis).

    Returns
    -------
    ScoreMatrix
        ``values`` of shape (n_needs, n_capabilities): dense, so for small inputs
        (see :func:`search_pairs` for large ones).

    Examples
    --------
    >>> scores = score_matrix(needs, capabilities, weights={"semantic": 0.0})
    >>> scores.values.shape
    (64, 66)
    """
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    problem = _problem(needs, capabilities, embedder=embedder, weights=weights, exclude=exclude, direction=direction)
    values, components, codes = blockwise.score_block(problem, np.arange(problem.shape[0]),
                                                      blockwise.neighbourhoods(problem))
    orient = _orientation(direction)
    return ScoreMatrix(orient(values), needs["id"].to_numpy(dtype=object), capabilities["id"].to_numpy(dtype=object),
                       {name: orient(value) for name, value in components.items()},
                       orient(np.array(RULE_NAMES, dtype=object)[codes]), direction, problem.index)


def search_pairs(needs, capabilities, *, top_k=10, direction="need", embedder=None, weights=None, exclude=None,
                 n_candidates=DEFAULT_CANDIDATES, vector_index=None, ann_threshold=ANN_THRESHOLD, block_size=256,
                 show_progress=None):
    """Best ``top_k`` partners per query in bounded memory, without an n × m array of any kind.

    Each query's candidates are proposed by cheap searches (its ``n_candidates``
    best by the dense signal, by BM25 over selective terms and by neighbourhood
    overlap, plus the least similar and a few probe records so that the per-query
    scaling sees its minima); every signal is computed exactly on those pairs and
    fused as :func:`score_matrix` fuses whole rows. The rules are applied per
    block; a query only ever searches the tiers it may see. With
    ``n_candidates=None`` every candidate is scored (exact: the pairs and scores of
    ``score_matrix(...).top_k(top_k)``, in blocks of ``block_size`` queries).

    Parameters
    ----------
    needs, capabilities, embedder, weights, exclude, direction
        As in :func:`score_matrix`.
    top_k : int, default 10
    n_candidates : int or None, default :data:`DEFAULT_CANDIDATES`
        Candidates per signal and query; None scores every pair.
    vector_index : matcher.VectorIndex, optional
        A saved index of the candidate side's vectors (ids = record ids); by
        default one is built: exact search up to ``ann_threshold`` candidates, HNSW above.
    ann_threshold : int, default :data:`ANN_THRESHOLD`
    block_size : int, default 256
        Queries scored at once.
    show_progress : bool, optional
        Progress bars; ``None`` shows them on a terminal only.

    Returns
    -------
    pandas.DataFrame
        ``need_id, capability_id, rank, score, score_semantic, semantic_z, score_lexical,
        lexical_coverage, score_neighbourhood, domain_match, strength, strength_band,
        no_strong_match``, one row per suggestion (see :mod:`matcher.strength`).

    Examples
    --------
    >>> pairs = search_pairs(needs, capabilities, top_k=3, weights={"semantic": 0.0})
    >>> pairs.groupby("need_id").size().max()
    3
    """
    _check_top_k(top_k)
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    problem = _problem(needs, capabilities, embedder=embedder, weights=weights, exclude=exclude, direction=direction)
    labels = {"neighbours": "neighbour profiles", "queries": f"ranking per {direction}"}
    with StageProgress(show_progress, labels) as progress:
        if n_candidates is None:
            found = blockwise.top_k_frame(problem, int(top_k), block_size=block_size,
                                          progress=lambda n: progress("queries", n, problem.shape[0]))
        else:
            candidate_ids = (capabilities if direction == "need" else needs)["id"].to_numpy(dtype=object)
            if vector_index is None and problem.candidate_vectors is not None and problem.shape[1] > ann_threshold:
                vector_index = VectorIndex(method="hnsw").build(candidate_ids, problem.candidate_vectors,
                                                                problem.rules.candidate_levels)
            found = candidates.top_k_frame(problem, int(top_k), n_candidates=int(n_candidates),
                                           vector_index=vector_index, candidate_ids=candidate_ids,
                                           block_size=block_size, progress=progress)
    return add_strength(_pairs_frame(found, needs, capabilities, direction),
                        semantic=problem.query_vectors is not None, direction=direction)


def rank_pairs(needs, capabilities, *, top_k=10, direction="need", embedder=None, weights=None, exclude=None,
               scores=None, large_threshold=LARGE_THRESHOLD, show_progress=None):
    """Suggest the best partners for each need (or each capability), with reasons.

    Parameters
    ----------
    needs, capabilities : pandas.DataFrame
        Validated records (see :func:`matcher.load_needs`).
    top_k : int, default 10
        Suggestions per query.
    direction : {"need", "capability"}, default "need"
        "need" ranks capabilities for each need; "capability" ranks needs for
        each capability (institutes browsing).
    embedder, weights, exclude
        As in :func:`score_matrix`.
    scores : ScoreMatrix, optional
        Reuse a matrix computed before (its direction must match).
    large_threshold : int, default :data:`LARGE_THRESHOLD`
        Above this many pairs (n_needs × n_capabilities) the suggestions come
        from :func:`search_pairs` (bounded memory, candidates proposed per query) instead of a
        dense :class:`ScoreMatrix`.
    show_progress : bool, optional
        Progress bars of the large path; ``None`` shows them on a terminal only.

    Returns
    -------
    pandas.DataFrame
        One row per suggestion: ``need_id, capability_id, rank, score,
        score_semantic, semantic_z, score_lexical, lexical_coverage, score_neighbourhood, domain_match,
        strength, strength_band, no_strong_match, reason, shared_terms,
        need_org, need_title, need_domain, capability_org, capability_title,
        capability_domain, need_clearance, capability_classification``.

    Examples
    --------
    >>> pairs = rank_pairs(needs, capabilities, top_k=3)
    >>> pairs.loc[0, "reason"]
    '共同术语：碳化硅、外延；…'
    """
    _check_top_k(top_k)
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    if scores is None and len(needs) * len(capabilities) > large_threshold:
        pairs = search_pairs(needs, capabilities, top_k=top_k, direction=direction, embedder=embedder,
                             weights=weights, exclude=exclude, show_progress=show_progress)
        side = capabilities if direction == "need" else needs
        weight = BM25().fit(record_texts(side)).term_weight
        return describe_pairs(pairs, needs, capabilities, weight=weight,
                              semantic=_check_weights(weights)["semantic"] > 0,
                              neighbourhood=bool(pairs["score_neighbourhood"].any()))
    scores = _scores_for(needs, capabilities, scores, embedder=embedder, weights=weights, exclude=exclude,
                         direction=direction)
    used = {name: bool(np.any(scores.components.get(name, 0))) for name in ("semantic", "neighbourhood")}
    pairs = add_strength(_matrix_pairs(scores, int(top_k)), semantic=used["semantic"], direction=direction)
    index = scores.lexical_index
    if index is None:
        index = BM25().fit(record_texts(capabilities if direction == "need" else needs))
    return describe_pairs(pairs, needs, capabilities, weight=index.term_weight, **used)


def rank_organisations(needs, capabilities, *, top_k=5, direction="need", embedder=None, weights=None,
                       exclude=None, scores=None, large_threshold=LARGE_THRESHOLD, depth=None, show_progress=None):
    """Organisation-level view: the best partner organisations per need (or capability).

    An institute's score for a need is its best capability's score; its matching
    capabilities are listed best first.

    Parameters
    ----------
    large_threshold : int, default :data:`LARGE_THRESHOLD`
        Above this many pairs the partners come from :func:`search_pairs` (bounded
        memory) instead of every pair of a dense :class:`ScoreMatrix`.
    depth : int, optional
        On the large path, the pairs per query aggregated (default ``max(50, 10 · top_k)``).
        The organisations ranked are exactly the dense path's whenever a query's ``depth``
        best pairs span at least ``top_k`` organisations (an organisation outside them
        scores at most the ``depth``-th pair); their lists and counts then hold the
        partner's records among those ``depth`` pairs only.

    Returns
    -------
    pandas.DataFrame
        ``direction="need"``: ``need_id, capability_org, rank, score, capability_ids,
        n_capabilities``; ``direction="capability"``: ``capability_id, need_org, rank,
        score, need_ids, n_needs``.
    """
    _check_top_k(top_k)
    needs, capabilities = _prepare(needs, "need"), _prepare(capabilities, "capability")
    if scores is None and len(needs) * len(capabilities) > large_threshold:
        pairs = search_pairs(needs, capabilities, top_k=depth or max(50, 10 * int(top_k)), direction=direction,
                             embedder=embedder, weights=weights, exclude=exclude, show_progress=show_progress)
    else:
        scores = _scores_for(needs, capabilities, scores, embedder=embedder, weights=weights, exclude=exclude,
                             direction=direction)
        pairs = scores.top_k(scores.values.shape[1 if direction == "need" else 0])
    query, partner, side = (("need_id", "capability_id", capabilities) if direction == "need"
                            else ("capability_id", "need_id", needs))
    org_column = "capability_org" if direction == "need" else "need_org"
    pairs[org_column] = pairs[partner].map(dict(zip(side["id"], side["org"])))
    grouped = (pairs.sort_values([query, "score"], ascending=[True, False])
               .groupby([query, org_column], sort=False)
               .agg(score=("score", "max"), ids=(partner, ";".join), count=(partner, "size")).reset_index())
    grouped = grouped.sort_values([query, "score"], ascending=[True, False])
    grouped["rank"] = grouped.groupby(query).cumcount() + 1
    grouped = grouped[grouped["rank"] <= top_k]
    ids, count = ("capability_ids", "n_capabilities") if direction == "need" else ("need_ids", "n_needs")
    grouped = grouped.rename(columns={"ids": ids, "count": count})
    return grouped[[query, org_column, "rank", "score", ids, count]].reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def default_embedder():
    """The process-wide default :class:`~matcher.Embedder` (loaded once, on first use)."""
    from .embed import Embedder

    return Embedder()


def _problem(needs, capabilities, *, embedder, weights, exclude, direction):
    """The query-major :class:`~matcher.blockwise.Problem` of one ranking."""
    weights = _check_weights(weights)
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}; got {direction!r}")
    texts = {"need": record_texts(needs), "capability": record_texts(capabilities)}
    vectors = {"need": None, "capability": None}
    if weights["semantic"] and len(needs) and len(capabilities):
        embedder = _routed(embedder if embedder is not None else default_embedder(), texts)
        vectors = {"need": embedder.encode(texts["need"], role="query"),
                   "capability": embedder.encode(texts["capability"], role="passage")}
    rules = pair_rules(needs, capabilities, exclude=exclude)
    oriented = rules if direction == "need" else rules.transpose()
    query, candidate = ("need", "capability") if direction == "need" else ("capability", "need")
    frames = {"need": needs, "capability": capabilities}
    index = BM25().fit(texts[candidate], background=_seen_by_all(oriented))
    return blockwise.Problem(
        texts[query], texts[candidate], vectors[query], vectors[candidate], index,
        index.query_terms(texts[query]), index.document_counts_,
        blockwise.domain_codes(frames[query]["domain"]), blockwise.domain_codes(frames[candidate]["domain"]),
        frames[query]["domain_inferred"].to_numpy(dtype=bool), frames[candidate]["domain_inferred"].to_numpy(dtype=bool),
        oriented, weights,
        query_weights(texts[query], weights["neighbourhood"]))


def _seen_by_all(rules):
    """Candidates every query that sees any candidate may see (their lengths set BM25's average).

    Queries that see nothing are left out: they are never scored.
    """
    seen = [columns for n_visible, (_, columns) in sorted(blockwise.visibility_groups(rules).items()) if n_visible]
    return seen[0] if seen else None


def _routed(embedder, texts):
    """The default e5 embedder fused with the English model when every text is English (matcher.routing)."""
    if isinstance(embedder, Embedder) and (embedder.model is None or str(embedder.model) == DEFAULT_MODEL) \
            and all_english(texts["need"], texts["capability"]):
        return RoutedEmbedder(embedder)
    return embedder


def _pairs_frame(found, needs, capabilities, direction):
    """Query-major positions → the tidy pairs frame with ids (the only place positions turn into ids)."""
    need_at, capability_at = ((found["query"], found["candidate"]) if direction == "need"
                              else (found["candidate"], found["query"]))
    return pd.DataFrame({
        "need_id": needs["id"].to_numpy(dtype=object)[need_at.to_numpy(dtype=int)],
        "capability_id": capabilities["id"].to_numpy(dtype=object)[capability_at.to_numpy(dtype=int)],
        "rank": found["rank"].to_numpy(dtype=int), "score": found["score"].to_numpy(dtype=np.float32),
        "score_semantic": found["semantic"].to_numpy(dtype=np.float32),
        "semantic_z": found["semantic_z"].to_numpy(dtype=np.float32),
        "score_lexical": found["lexical_norm"].to_numpy(dtype=np.float32),
        "lexical_coverage": found["lexical_coverage"].to_numpy(dtype=np.float32),
        "score_neighbourhood": found["neighbourhood"].to_numpy(dtype=np.float32),
        "domain_match": found["domain"].to_numpy() > 0,
    })


def _matrix_pairs(scores, k, *, chunk_size=1024):
    """Top-k of a :class:`ScoreMatrix` with its components, as :func:`search_pairs` returns them."""
    orient = _orientation(scores.direction)
    values = orient(scores.values)
    # A matrix built by hand may lack components: missing signals read as 0.
    zeros = np.zeros(values.shape, dtype=np.float32)
    components = {name: orient(scores.components[source]) if source in scores.components else zeros
                  for name, source in (("semantic", "semantic"), ("semantic_z", "semantic_z"),
                                       ("lexical_norm", "lexical_norm"),
                                       ("lexical_coverage", "lexical_coverage"),
                                       ("neighbourhood", "neighbourhood"), ("domain", "domain"))}
    parts = []
    for start in range(0, values.shape[0], chunk_size):
        row, column, rank = blockwise.top_k_positions(values[start:start + chunk_size], k)
        row = row + start
        parts.append(pd.DataFrame({"query": row, "candidate": column, "rank": rank, "score": values[row, column],
                                   **{name: value[row, column] for name, value in components.items()}}))
    found = pd.concat(parts, ignore_index=True) if parts else blockwise.empty_top_k()
    ids = {"need": pd.DataFrame({"id": scores.need_ids}), "capability": pd.DataFrame({"id": scores.capability_ids})}
    return _pairs_frame(found, ids["need"], ids["capability"], scores.direction)


def _orientation(direction):
    return (lambda matrix: matrix) if direction == "need" else np.transpose


def _scores_for(needs, capabilities, scores, *, embedder, weights, exclude, direction):
    """The caller's matrix with the rules re-applied, or a freshly computed one."""
    if scores is None:
        return score_matrix(needs, capabilities, embedder=embedder, weights=weights, exclude=exclude,
                            direction=direction)
    return _enforce_rules(scores, needs, capabilities, exclude, direction)


def _enforce_rules(scores, needs, capabilities, exclude, direction):
    """A caller's matrix with the visibility, same-organisation and exclusion rules applied again."""
    if scores.direction != direction:
        raise InputError(f"scores were computed for direction {scores.direction!r}, not {direction!r}")
    if scores.values.shape != (len(needs), len(capabilities)) or \
            list(scores.need_ids) != needs["id"].tolist() or list(scores.capability_ids) != capabilities["id"].tolist():
        raise InputError("scores do not match these needs and capabilities (ids or order differ)")
    excluded_by = allowed_pairs(needs, capabilities, exclude=exclude)
    if scores.excluded_by is not None:  # keep the rules the matrix was computed with (e.g. its own exclusions)
        excluded_by = np.where(excluded_by == "", scores.excluded_by, excluded_by)
    values = np.where(excluded_by == "", scores.values, -np.inf).astype(np.float32)
    return dataclasses.replace(scores, values=values, excluded_by=excluded_by)


def _prepare(frame, kind):
    """Accept validated records or a raw DataFrame (validated on the fly)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{kind}s must be a pandas DataFrame (use matcher.load_{kind}s for files); "
                         f"got {type(frame).__name__}")
    if "source_row" in frame and "domain_inferred" in frame:
        return frame.reset_index(drop=True)
    from .records import load_capabilities, load_needs

    return (load_needs if kind == "need" else load_capabilities)(frame)


def _check_top_k(top_k):
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise InputError(f"top_k must be a positive integer; got {top_k!r}")


def _check_weights(weights):
    merged = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise InputError(f"unknown weight {name!r}; allowed: {', '.join(SIGNALS)}")
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise InputError(f"weights[{name!r}] must be a non-negative number; got {value!r}")
        merged[name] = float(value)
    if not (merged["semantic"] or merged["lexical"]):
        raise InputError("weights['semantic'] and weights['lexical'] cannot both be 0")
    return merged
