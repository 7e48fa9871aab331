import numpy as np
import pytest

from curriculum_training.config import DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, DEFAULT_MIN_ITEMS
from curriculum_training.evaluation.selection import (
    cut_length,
    cut_lengths,
    ensemble_embeddings,
    l2_normalize,
    ranked_candidates,
    select,
    select_by_language,
    select_ensemble,
)


def unit(*angles_deg):
    """2-D unit vectors at the given angles: cosine between them = cos(angle difference)."""
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def brute_force(t, c, margin, cap, min_items):
    """Reference implementation straight from the Contract 4 wording."""
    out = []
    for row in t @ c.T:
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        if cap is not None:
            order = order[:cap]
        s1 = row[order[0]]
        keep = [j for j in order if s1 > 0 and row[j] >= (1 - margin) * float(s1)]
        if len(keep) < min_items:
            keep = order[:min_items]
        out.append(keep)
    return out


def test_defaults_come_from_config():
    assert (DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, DEFAULT_MIN_ITEMS) == (0.16, 128, 1)


def test_margin_keeps_items_within_relative_window():
    # cosines to the topic at 0°: 1.0, cos 30° = .866, cos 40° = .766, cos 60° = .5
    t = unit(0)
    c = unit(60, 0, 40, 30)
    [(idx, sc)] = select(t, c, margin=0.16)
    assert idx.tolist() == [1, 3]  # .866 >= .84, .766 < .84
    assert np.allclose(sc, [1.0, np.cos(np.radians(30))])
    [(idx, _)] = select(t, c, margin=0.25)
    assert idx.tolist() == [1, 3, 2]
    [(idx, _)] = select(t, c, margin=0.0)
    assert idx.tolist() == [1]


def test_cap_and_min_items():
    t = unit(0)
    c = unit(1, 2, 3, 4, 5)
    assert select(t, c, margin=0.5, max_candidates=3)[0][0].tolist() == [0, 1, 2]
    assert len(select(t, c, margin=0.5, max_candidates=None)[0][0]) == 5
    # margin 0 keeps only s1; min_items 3 widens to the top 3
    assert select(t, c, margin=0.0, min_items=3)[0][0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="min_items"):
        select(t, c, max_candidates=2, min_items=3)


def test_nonpositive_best_score_falls_back_to_min_items():
    t = unit(0)
    c = unit(120, 100, 180)  # all cosines negative; best is 100° (cos = -0.17)
    [(idx, sc)] = select(t, c, margin=0.16)
    assert idx.tolist() == [1] and sc[0] < 0
    assert select(t, c, margin=0.16, min_items=0)[0][0].tolist() == []
    # s1 == 0 exactly (orthogonal items): only the fallback, not every orthogonal item
    c0 = np.array([[0, 1], [0, -1]], dtype=np.float32)
    assert select(t, c0, margin=0.16)[0][0].tolist() == [0]


def test_ties_are_broken_by_lower_index_and_threshold_is_inclusive():
    t = unit(0)
    c = unit(10, 10, 10, 10)
    assert select(t, c, max_candidates=2)[0][0].tolist() == [0, 1]
    assert select(t, c, max_candidates=None)[0][0].tolist() == [0, 1, 2, 3]


def test_empty_content_pool_gives_empty_selection():
    out = select(unit(0, 90), np.zeros((0, 2), np.float32))
    assert [len(i) for i, _ in out] == [0, 0]


def test_chunked_matches_brute_force_on_random_data():
    rng = np.random.default_rng(0)
    t = l2_normalize(rng.normal(size=(37, 8)))
    c = l2_normalize(rng.normal(size=(53, 8)))
    for margin, cap, k in [(0.16, 128, 1), (0.3, 5, 2), (0.4, None, 1), (0.0, 10, 0)]:
        got = select(t, c, margin=margin, max_candidates=cap, min_items=k, chunk_size=4)
        assert [g[0].tolist() for g in got] == brute_force(t, c, margin, cap, k)


def test_sparse_input_matches_dense():
    from scipy import sparse
    rng = np.random.default_rng(1)
    t = l2_normalize(np.abs(rng.normal(size=(6, 5))) * (rng.random((6, 5)) > 0.5) + 1e-3)
    c = l2_normalize(np.abs(rng.normal(size=(9, 5))))
    dense = select(t, c, margin=0.2)
    sp = select(sparse.csr_matrix(t), sparse.csr_matrix(c), margin=0.2)
    assert [d[0].tolist() for d in dense] == [s[0].tolist() for s in sp]


def test_rejects_unnormalised_rows_and_dimension_mismatch():
    with pytest.raises(ValueError, match="row 0 has L2 norm"):
        select(np.array([[2.0, 0.0]]), unit(0))
    with pytest.raises(ValueError, match="dimension"):
        select(unit(0), np.ones((1, 3), np.float32) / np.sqrt(3))


def test_cut_lengths_vectorised_agrees_with_cut_length():
    rng = np.random.default_rng(2)
    t = l2_normalize(rng.normal(size=(20, 4)))
    c = l2_normalize(rng.normal(size=(15, 4)))
    ranked = ranked_candidates(t, c, depth=15)
    padded = np.full((20, 15), -np.inf)
    for i, (_, sc) in enumerate(ranked):
        padded[i, : len(sc)] = sc
    for margin in (0.0, 0.1, 0.5):
        expect = [cut_length(sc, margin, 6, 1) for _, sc in ranked]
        assert cut_lengths(padded, margin, 6, 1).tolist() == expect


def test_select_by_language_restricts_candidates():
    t = unit(0, 0, 0)
    c = unit(0, 5, 1, 90)
    out = select_by_language(["ten", "tfr", "tde"], t, ["en", "fr", "de"],
                             ["cen", "cfr", "cen2", "cfr2"], c, ["en", "fr", "en", "fr"], margin=0.16)
    assert [cid for cid, _ in out["ten"]] == ["cen", "cen2"]
    assert [cid for cid, _ in out["tfr"]] == ["cfr"]  # cfr2 is orthogonal
    assert out["tde"] == []


def test_ensemble_is_mean_cosine():
    rng = np.random.default_rng(3)
    t1, t2 = l2_normalize(rng.normal(size=(4, 3))), l2_normalize(rng.normal(size=(4, 5)))
    c1, c2 = l2_normalize(rng.normal(size=(6, 3))), l2_normalize(rng.normal(size=(6, 5)))
    combined = ensemble_embeddings([t1, t2]) @ ensemble_embeddings([c1, c2]).T
    assert np.allclose(combined, (t1 @ c1.T + t2 @ c2.T) / 2, atol=1e-6)
    out = select_ensemble([t1, t2], [c1, c2], margin=0.3)
    mean = (t1 @ c1.T + t2 @ c2.T) / 2
    assert [o[0][0] for o in out] == mean.argmax(axis=1).tolist()
