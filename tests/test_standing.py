"""Matching as items arrive (matcher.standing): incremental lists equal a full recomputation's top-k."""
import numpy as np
import pytest

from matcher import CLASSIFICATIONS, CLEARANCES, InputError, StandingMatches


def unit(rng, n, dim):
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def oracle(items, top_k, excluded=frozenset()):
    """Brute force over every active pair with the rule (other organisation, tiers both ways, organisation
    pairs not excluded: ``excluded`` holds (need organisation, capability organisation))."""
    out = {}
    for key, (side, vector, level, org, org_level) in items.items():
        scored = []
        for other_key, (other_side, other_vector, other_level, other_org, other_org_level) in items.items():
            pair = (org, other_org) if side == "need" else (other_org, org)
            if other_side != side and other_org != org and other_level <= org_level and level <= other_org_level \
                    and pair not in excluded:
                scored.append((float(vector @ other_vector), other_key[1]))
        out[key] = sorted(scored, key=lambda x: (-x[0], str(x[1])))[:top_k]
    return out


def assert_equal_lists(library, items, top_k, excluded=frozenset()):
    expected = oracle(items, top_k, excluded)
    assert set(library.matches_) == set(expected)
    for key, entries in expected.items():
        got = library.matches_[key]
        assert [i for _, i in got] == [i for _, i in entries], key
        np.testing.assert_allclose([s for s, _ in got], [s for s, _ in entries], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("top_k", [3, 7])
def test_incremental_equals_full_recomputation_through_publish_and_withdraw(top_k):
    rng = np.random.default_rng(7)
    dim, n = 16, 120
    vectors = unit(rng, n, dim)
    library, items = StandingMatches(dim, top_k=top_k), {}
    tiers = list(CLASSIFICATIONS.values())
    for i in range(n):
        side = "need" if i % 2 else "capability"
        key = (side, f"{side[0]}{i}")
        org_level = int(rng.choice(list(CLEARANCES.values())))
        items[key] = (side, vectors[i], int(rng.choice(tiers)), f"org{i % 9}", org_level)
        library.publish(side, key[1], vectors[i], level=items[key][2], org=items[key][3], org_level=org_level)
        if i % 17 == 16:  # withdraw a random earlier item now and then
            gone = list(items)[int(rng.integers(len(items)))]
            library.withdraw(*gone)
            del items[gone]
    assert_equal_lists(library, items, top_k)
    # Republishing a withdrawn-and-changed item replaces it everywhere.
    key = next(iter(items))
    side, _vector, level, org, org_level = items[key]
    items[key] = (side, vectors[-1], level, org, org_level)
    library.publish(side, key[1], vectors[-1], level=level, org=org, org_level=org_level)
    assert_equal_lists(library, items, top_k)


def test_new_item_enters_the_right_lists_and_a_withdrawn_one_leaves_them():
    library = StandingMatches(2, top_k=1)
    library.publish("need", "N1", [1, 0], level=0, org="甲企业", org_level=0)
    library.publish("capability", "C1", [0, 1], level=0, org="子研究所", org_level=0)
    assert library.matches_[("need", "N1")] == [(0.0, "C1")]
    entered = library.publish("capability", "C2", [1, 0], level=0, org="丑研究所", org_level=0)
    assert entered == [("N1", 1.0)] and library.matches_[("need", "N1")] == [(1.0, "C2")]
    # A classified capability never enters the list of a need whose organisation may not see it.
    assert library.publish("capability", "C3", [1, 0], level=CLASSIFICATIONS["机密"], org="寅大学", org_level=0) == []
    library.withdraw("capability", "C2")
    assert library.matches_[("need", "N1")] == [(0.0, "C1")]
    with pytest.raises(InputError, match="C2"):
        library.withdraw("capability", "C2")


def test_build_equals_publishing_one_by_one_and_later_publishes_stay_exact():
    rng = np.random.default_rng(3)
    dim, n = 12, 80
    vectors = unit(rng, n + 10, dim)
    items, columns = {}, {"need": {k: [] for k in ("ids", "vectors", "levels", "orgs", "org_levels")},
                          "capability": {k: [] for k in ("ids", "vectors", "levels", "orgs", "org_levels")}}
    for i in range(n):
        side = "need" if i % 3 else "capability"
        level, org, org_level = int(rng.integers(0, 3)), f"org{i % 7}", int(rng.integers(0, 4))
        items[(side, f"x{i}")] = (side, vectors[i], level, org, org_level)
        for name, value in zip(("ids", "vectors", "levels", "orgs", "org_levels"),
                               (f"x{i}", vectors[i], level, org, org_level)):
            columns[side][name].append(value)
    library = StandingMatches(dim, top_k=5).build(columns["need"], columns["capability"], block_size=7)
    assert_equal_lists(library, items, 5)
    for i in range(n, n + 10):
        side = "capability" if i % 2 else "need"
        items[(side, f"x{i}")] = (side, vectors[i], 0, "new", 3)
        library.publish(side, f"x{i}", vectors[i], level=0, org="new", org_level=3)
    library.withdraw("need", "x1")
    del items[("need", "x1")]
    assert_equal_lists(library, items, 5)


def test_excluded_organisation_pairs_leave_every_list_and_stay_out_incrementally():
    """Organisations that already met (need organisation, capability organisation) are never matched again:
    through exclusions added at any time, publishes and withdrawals, and in a build."""
    rng = np.random.default_rng(11)
    dim, n, top_k = 12, 90, 4
    vectors = unit(rng, n, dim)
    library, items, excluded, refills = StandingMatches(dim, top_k=top_k), {}, set(), 0
    for i in range(n):
        side = "need" if i % 2 else "capability"
        key = (side, f"{side[0]}{i}")
        items[key] = (side, vectors[i], 0, f"org{i % 6}", 3)
        library.publish(side, key[1], vectors[i], level=0, org=f"org{i % 6}", org_level=3)
        if i % 15 == 14:
            # needs (odd i) belong to org1/3/5, capabilities (even i) to org0/2/4
            pair = (f"org{int(rng.choice([1, 3, 5]))}", f"org{int(rng.choice([0, 2, 4]))}")
            before = {k: list(v) for k, v in library.matches_.items()}
            refilled = library.exclude(*pair)
            excluded.add(pair)
            # Only the lists that held an excluded pair change.
            changed = {k for k in before if library.matches_[k] != before[k]}
            assert changed <= set(refilled)
            refills += len(refilled)
        if i % 20 == 19:
            gone = list(items)[int(rng.integers(len(items)))]
            library.withdraw(*gone)
            del items[gone]
    assert excluded and refills and any(library.matches_.values())
    assert_equal_lists(library, items, top_k, excluded)
    assert library.exclude(*next(iter(excluded))) == []  # excluding again changes nothing
    # A build with the same exclusions gives the same lists; asking for the excluded pairs gives the plain rule.
    columns = {side: {k: [] for k in ("ids", "vectors", "levels", "orgs", "org_levels")} for side in ("need", "capability")}
    for (side, item_id), (_side, vector, level, org, org_level) in items.items():
        for name, value in zip(("ids", "vectors", "levels", "orgs", "org_levels"), (item_id, vector, level, org, org_level)):
            columns[side][name].append(value)
    rebuilt = StandingMatches(dim, top_k=top_k)
    for pair in excluded:
        rebuilt.exclude(*pair)
    rebuilt.build(columns["need"], columns["capability"], block_size=5)
    assert_equal_lists(rebuilt, items, top_k, excluded)
    plain = oracle(items, top_k)
    for key in list(items)[:20]:
        assert [i for _, i in library.search(*key, with_excluded=True)] == [i for _, i in plain[key]], key


def test_standing_strength_equals_the_event_paths_signals_through_adds_and_removes():
    """StandingStrength's BM25 coverage and cosine z-score equal matcher.blockwise's on the same capabilities."""
    from pathlib import Path
    from types import SimpleNamespace

    import matcher
    from matcher import blockwise
    from matcher.lexical import BM25
    from matcher.standing_strength import StandingStrength
    from matcher.strength import match_strength

    data = Path(__file__).resolve().parents[1] / "data"
    needs = matcher.load_needs(data / "needs.csv").head(12)
    capabilities = matcher.load_capabilities(data / "capabilities.csv").head(40)
    need_texts = (needs["title"] + "。" + needs["description"]).tolist()
    texts = (capabilities["title"] + "。" + capabilities["description"]).tolist()
    rng = np.random.default_rng(5)
    dim = 24
    vectors, need_vectors = unit(rng, len(texts), dim), unit(rng, len(need_texts), dim)
    levels, need_levels = rng.integers(0, 4, len(texts)), rng.integers(0, 4, len(need_texts))
    stats = StandingStrength(dim).add(texts[:25], vectors[:25], levels[:25]).add(texts[25:], vectors[25:], levels[25:])
    gone = np.arange(5, 12)
    stats.remove([texts[i] for i in gone], vectors[gone], levels[gone])
    kept = np.setdiff1d(np.arange(len(texts)), gone)
    kept_texts = [texts[i] for i in kept]
    assert stats.n_documents_ == len(kept)
    index = BM25().fit(kept_texts)
    query_terms = index.query_terms(need_texts)
    expected = blockwise.lexical_coverage(SimpleNamespace(query_terms=query_terms, index=index), slice(None),
                                          index.term_scores(query_terms))
    coverage = stats.lexical_coverage(need_texts, kept_texts)
    assert (coverage > 0.05).sum() > 20  # the texts share terms: not a comparison of zeros
    np.testing.assert_allclose(coverage, expected, atol=2e-5)
    cosine = need_vectors @ vectors[kept].T
    expected_z = np.zeros_like(cosine)
    for row, level in enumerate(need_levels):
        visible = cosine[row, levels[kept] <= level]
        expected_z[row] = (cosine[row] - visible.mean()) / visible.std() if len(visible) else cosine[row]
    z = stats.semantic_z(need_vectors, need_levels, vectors[kept])
    np.testing.assert_allclose(z, expected_z, atol=1e-4)
    np.testing.assert_allclose(stats.strengths(need_texts, need_vectors, need_levels, kept_texts, vectors[kept]),
                               match_strength(expected_z.ravel(), expected.ravel()).reshape(z.shape), atol=1e-5)
    lexical_only = StandingStrength(dim, semantic=False).add(kept_texts, vectors[kept], levels[kept])
    np.testing.assert_allclose(lexical_only.strengths(need_texts, None, need_levels, kept_texts, None),
                               match_strength(0 * expected.ravel(), expected.ravel(), semantic=False).reshape(z.shape),
                               atol=1e-5)
    with pytest.raises(ValueError, match="never added"):
        lexical_only.remove(["全新的文字内容不在库中"], None, [0])
