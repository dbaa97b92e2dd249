"""The large path: block-wise and candidate ranking against the dense matrix, rules, hidden items, vector index."""
import numpy as np
import pandas as pd
import pytest
from webapp_helpers import SAMPLE as SAMPLE_DATA

import matcher
from matcher import VectorIndex, search_pairs
from matcher.records import record_texts

LEXICAL = {"semantic": 0.0}


@pytest.fixture(scope="module")
def sample():
    needs = matcher.load_needs(SAMPLE_DATA / "needs.csv")
    capabilities = matcher.load_capabilities(SAMPLE_DATA / "capabilities.csv")
    # Every tier and qualification occurs in the sample; add exclusions by pair and by organisation.
    exclude = pd.DataFrame({"need_id": [needs.id[0], needs.id[3]], "capability_id": [capabilities.id[1], capabilities.id[5]],
                            "need_org": [needs.org[2], None], "capability_org": [capabilities.org[4], capabilities.org[7]]})
    return needs, capabilities, exclude


class Vectors:
    """Deterministic unit vectors per text: a real-code stand-in for array-level tests, never for quality."""

    def __init__(self, dim=24):
        self.dim_ = dim

    def encode(self, texts, *, role="passage"):
        out = np.zeros((len(texts), self.dim_), dtype=np.float32)
        for i, text in enumerate(texts):
            # Character-count features: texts sharing characters point the same way, so ranks are structured.
            for char in text:
                out[i, hash(char) % self.dim_] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def _dense_top_k(needs, capabilities, k, **options):
    scores = matcher.score_matrix(needs, capabilities, **options)
    pairs = matcher.rank_pairs(needs, capabilities, top_k=k, scores=scores, direction=options.get("direction", "need"),
                               exclude=options.get("exclude"))
    return pairs[["need_id", "capability_id", "rank", "score", "score_semantic", "semantic_z", "score_lexical",
                  "lexical_coverage", "score_neighbourhood", "domain_match", "strength", "strength_band",
                  "no_strong_match"]]


@pytest.mark.parametrize("direction", ["need", "capability"])
@pytest.mark.parametrize("block_size", [5, 17])
def test_block_path_equals_the_dense_matrix(sample, direction, block_size):
    needs, capabilities, exclude = sample
    options = {"weights": LEXICAL, "exclude": exclude, "direction": direction}
    expected = _dense_top_k(needs, capabilities, 7, **options)
    got = search_pairs(needs, capabilities, top_k=7, n_candidates=None, block_size=block_size, **options)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_candidate_path_with_every_candidate_equals_the_dense_matrix(sample, direction):
    needs, capabilities, exclude = sample
    options = {"exclude": exclude, "direction": direction, "embedder": Vectors()}
    expected = _dense_top_k(needs, capabilities, 6, **options)
    got = search_pairs(needs, capabilities, top_k=6, n_candidates=len(needs) + len(capabilities), block_size=17,
                       **options)
    assert got[["need_id", "capability_id", "rank"]].equals(expected[["need_id", "capability_id", "rank"]])
    np.testing.assert_allclose(got["score"], expected["score"], atol=1e-5)


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_candidate_path_keeps_every_rule(sample, direction):
    needs, capabilities, exclude = sample
    pairs = search_pairs(needs, capabilities, top_k=10, n_candidates=8, block_size=5, exclude=exclude,
                         direction=direction, embedder=Vectors())
    allowed = matcher.score_matrix(needs, capabilities, weights=LEXICAL, exclude=exclude).allowed
    need_at = pd.Index(needs["id"]).get_indexer(pairs["need_id"])
    capability_at = pd.Index(capabilities["id"]).get_indexer(pairs["capability_id"])
    assert allowed[need_at, capability_at].all()
    query = "need_id" if direction == "need" else "capability_id"
    assert (pairs.groupby(query).size() <= 10).all()
    assert pairs.groupby(query)["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()


@pytest.mark.parametrize("n_candidates", [None, 6])
def test_a_hidden_capability_has_no_influence_on_uncleared_needs(sample, n_candidates):
    # Classified capabilities move onto the first public capability's vector, where they would top
    # every list they could enter; uncleared needs must not see any difference at all. (Their texts
    # stay: the BM25 index spans every capability, as in the dense path.)
    needs, capabilities, _ = sample
    secret = np.flatnonzero(capabilities["classification"] != "公开")
    vectors = Vectors()

    class Moved(Vectors):
        def encode(self, texts, *, role="passage"):
            out = super().encode(texts, role=role)
            if role == "passage":
                out[secret] = out[0]
            return out

    options = {"top_k": 8, "n_candidates": n_candidates, "block_size": 17}
    before = search_pairs(needs, capabilities, embedder=vectors, **options)
    after = search_pairs(needs, capabilities, embedder=Moved(), **options)
    ids = set(needs.loc[needs["clearance"] == "无", "id"])
    pick = lambda frame: frame[frame["need_id"].isin(ids)].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(pick(before), pick(after))
    assert not before.equals(after)  # cleared needs do see them


@pytest.mark.parametrize("n_candidates", [None, 6, "dense"])
def test_a_hidden_capability_s_words_change_no_bm25_statistic_of_uncleared_needs(sample, n_candidates):
    # Classified capabilities are rewritten to repeat uncleared needs' own words: with IDF or the
    # average length counted over every capability, every uncleared need's lexical scores would move.
    needs, capabilities, _ = sample
    secret = capabilities["classification"] != "公开"
    uncleared = needs["clearance"] == "无"
    rewritten = capabilities.copy()
    words = "".join(needs.loc[uncleared, "description"].head(5))
    rewritten.loc[secret, "description"] = [words * (1 + i % 3) for i in range(int(secret.sum()))]

    def ranked(caps):
        if n_candidates == "dense":
            return _dense_top_k(needs, caps, 8, weights=LEXICAL)
        return search_pairs(needs, caps, top_k=8, n_candidates=n_candidates, block_size=17, weights=LEXICAL)

    before, after = ranked(capabilities), ranked(rewritten)
    pick = lambda frame: frame[frame["need_id"].isin(needs.loc[uncleared, "id"])].reset_index(drop=True)  # noqa: E731
    assert len(pick(before))
    pd.testing.assert_frame_equal(pick(before), pick(after))
    cleared = lambda frame: frame[~frame["need_id"].isin(needs.loc[uncleared, "id"])]  # noqa: E731
    assert not cleared(before)["score_lexical"].reset_index(drop=True).equals(
        cleared(after)["score_lexical"].reset_index(drop=True))  # cleared needs do see them


def test_rank_pairs_switches_to_the_large_path_past_the_threshold(sample):
    needs, capabilities, exclude = sample
    dense = matcher.rank_pairs(needs, capabilities, top_k=3, weights=LEXICAL, exclude=exclude)
    large = matcher.rank_pairs(needs, capabilities, top_k=3, weights=LEXICAL, exclude=exclude, large_threshold=0)
    assert list(large.columns) == list(dense.columns)
    key = lambda frame: set(zip(frame["need_id"], frame["capability_id"]))  # noqa: E731
    assert len(key(large) & key(dense)) / len(key(dense)) >= 0.95
    common = dense.merge(large, on=["need_id", "capability_id"], suffixes=("", "_large"))
    assert (common["shared_terms"] == common["shared_terms_large"]).all()
    # The same reason up to the scores it quotes (the large path scales with per-query estimates).
    assert (common["reason"].str.rsplit("；", n=1).str[0] == common["reason_large"].str.rsplit("；", n=1).str[0]).all()


@pytest.fixture(scope="module")
def csl_records(csl):
    """600 needs and 700 capabilities from real CSL text (keywords as needs, abstracts as capabilities)."""
    rng = np.random.default_rng(0)
    papers = csl.sample(1300, random_state=0).reset_index(drop=True)
    needs = pd.DataFrame({"id": [f"N{i}" for i in range(600)], "title": papers["title"][:600],
                          "description": papers["abstract"][:600].str.slice(0, 120),
                          "org": [f"企业{i % 97}" for i in range(600)],
                          "clearance": rng.choice(["无", "三级", "二级", "一级"], 600, p=[0.7, 0.1, 0.1, 0.1])})
    capabilities = pd.DataFrame({"id": [f"C{i}" for i in range(700)], "title": papers["title"][600:].to_numpy(),
                                 "description": papers["abstract"][600:].to_numpy(),
                                 "org": [f"院所{i % 53}" for i in range(700)],
                                 "classification": rng.choice(["公开", "内部", "秘密", "机密"], 700, p=[0.8, 0.1, 0.05, 0.05])})
    return matcher.load_needs(needs), matcher.load_capabilities(capabilities)


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_candidate_path_recall_on_real_text(csl_records, direction):
    needs, capabilities = csl_records
    options = {"top_k": 10, "direction": direction, "embedder": Vectors(64), "block_size": 128}
    exact = search_pairs(needs, capabilities, n_candidates=None, **options)
    found = search_pairs(needs, capabilities, n_candidates=40, **options)
    key = lambda frame: set(zip(frame["need_id"], frame["capability_id"]))  # noqa: E731
    assert len(key(exact) & key(found)) / len(key(exact)) >= 0.97


@pytest.mark.parametrize("method", ["exact", "hnsw"])
def test_vector_index_updated_incrementally_equals_a_rebuild(tmp_path, method):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(120, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.array([f"C{i}" for i in range(120)], dtype=object)
    levels = rng.integers(0, 3, 120)
    queries = vectors[:7] + 0.1
    options = {"method": method, "ef_search": 200}
    grown = VectorIndex(**options).build(ids[:80], vectors[:80], levels[:80])
    grown.add(ids[80:], vectors[80:], levels[80:]).withdraw(ids[10:30])
    grown.add(ids[15:16], vectors[15:16], levels[15:16])  # withdrawn, then added back
    keep = np.r_[0:10, 15, 30:120]
    rebuilt = VectorIndex(**options).build(ids[keep], vectors[keep], levels[keep])
    grown.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index")
    for level in range(3):
        expected = rebuilt.ids_[rebuilt.search(queries, 5, level)[0]]
        for index in (grown, loaded):
            labels, similarities = index.search(queries, 5, level)
            assert (index.ids_[labels] == expected).all()
            assert np.all(np.diff(similarities, axis=1) <= 1e-6)


def test_a_saved_vector_index_serves_search_pairs(sample, tmp_path):
    needs, capabilities, _ = sample
    vectors = Vectors()
    index = VectorIndex().build(capabilities["id"], vectors.encode(record_texts(capabilities), role="passage"),
                                [matcher.CLASSIFICATIONS[c] for c in capabilities["classification"]])
    index.save(tmp_path / "library")
    options = {"top_k": 5, "n_candidates": 8, "embedder": vectors}
    with_index = search_pairs(needs, capabilities, vector_index=VectorIndex.load(tmp_path / "library"), **options)
    assert with_index.equals(search_pairs(needs, capabilities, **options))
    index.withdraw([capabilities["id"].iloc[0]])
    with pytest.raises(matcher.InputError, match="lacks 1 candidate"):
        search_pairs(needs, capabilities, vector_index=index, **options)


def test_web_ranking_of_a_large_event_stores_no_dense_table(tmp_path):
    from webapp_helpers import admin_client, create_event, db_session, load_sample, make_app, rank

    from webapp.models import Event, ScoreTable, Suggestion
    from webapp.services.events import verify_declared_qualifications
    from webapp.services.ranking import SCORED_PER_NEED, pair_score

    app = make_app(tmp_path, MATCHER_LARGE_THRESHOLD=0)
    try:
        client = admin_client(app)
        event_id = create_event(client, "大型对接会")
        load_sample(client, event_id)
        with app.app_context():
            verify_declared_qualifications(db_session().get(Event, event_id))
        rank(client, event_id)
        with app.app_context():
            table = db_session().query(ScoreTable).filter_by(event_id=event_id).one()
            assert table.layout == "pairs"
            n_pairs = len(table.need_ids) * len(table.capability_ids)
            assert len(table.values) // 4 < n_pairs  # sparse: not every pair
            suggestions = db_session().query(Suggestion).filter_by(event_id=event_id, direction="need").all()
            assert suggestions and all(s.reason for s in suggestions)
            for suggestion in suggestions[:20]:
                score, rule = pair_score(event_id, suggestion.need_id, suggestion.capability_id)
                assert rule == "" and score == pytest.approx(suggestion.score)
            needs = matcher.load_needs(SAMPLE_DATA / "needs.csv")
            capabilities = matcher.load_capabilities(SAMPLE_DATA / "capabilities.csv")
            uncleared = needs.loc[needs["clearance"] == "无", "id"].iloc[0]
            secret = capabilities.loc[capabilities["classification"] == "机密", "id"].iloc[0]
            assert pair_score(event_id, uncleared, secret) == (float("-inf"), "clearance")
            same = needs.merge(capabilities, on="org").iloc[0]
            assert pair_score(event_id, same["id_x"], same["id_y"]) == (float("-inf"), "same_org")
            assert SCORED_PER_NEED >= 10
    finally:
        app.extensions["matcher_jobs"].shutdown()


def test_hnsw_past_the_ann_threshold_finds_what_exact_search_finds(sample):
    needs, capabilities, _ = sample
    options = {"top_k": 5, "n_candidates": 10, "embedder": Vectors(), "block_size": 17}
    exact = search_pairs(needs, capabilities, **options)
    approximate = search_pairs(needs, capabilities, ann_threshold=0, **options)
    key = lambda frame: set(zip(frame["need_id"], frame["capability_id"]))  # noqa: E731
    assert len(key(exact) & key(approximate)) / len(key(exact)) >= 0.98


@pytest.mark.parametrize("direction", ["need", "capability"])
def test_rank_organisations_takes_the_large_path_past_the_threshold(sample, direction):
    needs, capabilities, exclude = sample
    options = {"top_k": 3, "weights": LEXICAL, "exclude": exclude, "direction": direction}
    dense = matcher.rank_organisations(needs, capabilities, **options)
    large = matcher.rank_organisations(needs, capabilities, large_threshold=0, **options)
    assert list(large.columns) == list(dense.columns)
    query, org = (("need_id", "capability_org") if direction == "need" else ("capability_id", "need_org"))
    key = lambda frame: set(zip(frame[query], frame[org]))  # noqa: E731
    assert len(key(large) & key(dense)) / len(key(dense)) >= 0.95
    assert (large.groupby(query)["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1)))).all()
    # Every listed partner record belongs to that organisation and may be paired with the query.
    side = capabilities if direction == "need" else needs
    owner = dict(zip(side["id"], side["org"]))
    ids = "capability_ids" if direction == "need" else "need_ids"
    assert all(owner[i] == row[org] for _, row in large.iterrows() for i in row[ids].split(";"))
    allowed = matcher.score_matrix(needs, capabilities, weights=LEXICAL, exclude=exclude)
    for _, row in large.iterrows():
        for partner in row[ids].split(";"):
            need, capability = (row[query], partner) if direction == "need" else (partner, row[query])
            assert allowed.allowed[allowed.need_ids.tolist().index(need), allowed.capability_ids.tolist().index(capability)]


@pytest.mark.parametrize("k, far", [(1, 0), (7, 3), (40, 4)])
def test_row_extremes_finds_the_same_ends_as_a_full_sort(k, far):
    from matcher.kernels import row_extremes

    rng = np.random.default_rng(k)
    scores = rng.standard_normal((33, 301)).astype(np.float32)
    top, bottom = row_extremes(scores, k, far)
    order = np.argsort(-scores, axis=1, kind="stable")
    np.testing.assert_array_equal(top, order[:, :k])
    np.testing.assert_array_equal(np.sort(bottom, axis=1), np.sort(order[:, scores.shape[1] - far:], axis=1))
    tied = np.round(scores, 1)  # many ties: the values chosen are still the k largest, best first
    top, bottom = row_extremes(tied, k, far)
    expected = -np.sort(-tied, axis=1)[:, :k]
    np.testing.assert_array_equal(np.take_along_axis(tied, top, axis=1), expected)
    np.testing.assert_array_equal(np.sort(np.take_along_axis(tied, bottom, axis=1), axis=1),
                                  np.sort(tied, axis=1)[:, :far])


def test_large_libraries_walk_only_each_query_s_rarest_terms(sample, monkeypatch):
    from matcher import candidates
    from matcher.rank import _problem

    needs, capabilities, exclude = sample
    monkeypatch.setattr(candidates, "PRUNE_ABOVE", 0)
    monkeypatch.setattr(candidates, "QUERY_TERMS", 5)
    problem = _problem(needs, capabilities, embedder=Vectors(), weights=None, exclude=exclude, direction="need")
    search = candidates.CandidateSearch(problem, None, 8)
    walked = search.walked_terms(problem.query_terms)
    assert (np.diff(walked.indptr) <= 5).all() and walked.nnz > 0
    impact = problem.query_terms.multiply(problem.index.idf_ * search.selective).tocsr()
    for row in range(0, problem.shape[0], 7):
        kept = walked.indices[walked.indptr[row]:walked.indptr[row + 1]]
        values = impact[row].toarray().ravel()
        assert set(kept) <= set(np.flatnonzero(values))
        if len(kept):  # the kept terms are the row's highest-impact ones
            assert values[kept].min() >= np.sort(values)[::-1][len(kept) - 1]
    # Suggestions still come out whole and allowed (the dense signal and exact fusion carry them).
    pairs = search_pairs(needs, capabilities, top_k=5, n_candidates=8, exclude=exclude, embedder=Vectors())
    assert (pairs.groupby("need_id").size() == 5).all()
