"""Per-topic retrieval metrics on ranked candidate lists.

Everything works on a *ranked block*: for n topics, the padded matrices

    scores[i, j]  score of topic i's j-th best candidate (-inf past the end of its list)
    hits[i, j]    whether that candidate is in topic i's ground truth
    n_gt[i]       |ground truth of topic i| (all of it, including items outside the candidate pool)

Selection metrics (the Kaggle metric, seed-algorithm.md §7), for the prefix the Contract 4 cut keeps:
P = |gt∩pred|/|pred|, R = |gt∩pred|/|gt|, F2 = 5PR/(4P+R); each is 0 when its denominator is 0; the
reported value is the unweighted mean over topics.

Ranking metrics (Learning Equality's evaluation framework; no margin cut): recall@k = hits in the top
k / |gt|; P@5 = hits in the top 5 / 5; R@5; F1@5 = 2·P@5·R@5/(P@5+R@5) per topic; MRR = 1/rank of the
first relevant candidate, 0 when none is in the top RANK_DEPTH. All macro-averaged over topics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from .selection import cut_lengths

RECALL_KS = (1, 5, 10, 50, 100)
RANK_DEPTH = max(RECALL_KS)  # MRR looks this deep


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def f_beta(p: np.ndarray, r: np.ndarray, beta: float = 2.0) -> np.ndarray:
    b2 = beta * beta
    return safe_div((1 + b2) * p * r, b2 * p + r)


@dataclass
class SelectionScores:
    """Per-topic arrays for one margin."""
    f2: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    selected: np.ndarray


def cumulative_hits(hits: np.ndarray) -> np.ndarray:
    """cum[i, n] = hits among topic i's first n candidates (column 0 is 0)."""
    hits = np.asarray(hits, dtype=np.int64)
    return np.concatenate([np.zeros((hits.shape[0], 1), np.int64), np.cumsum(hits, axis=1)], axis=1)


def selection_scores(scores: np.ndarray, cum_hits: np.ndarray, n_gt: np.ndarray, margin: float,
                     max_candidates: Optional[int], min_items: int) -> SelectionScores:
    n_sel = cut_lengths(scores, margin, max_candidates, min_items)
    tp = cum_hits[np.arange(len(n_sel)), n_sel]
    p = safe_div(tp, n_sel)
    r = safe_div(tp, n_gt)
    return SelectionScores(f_beta(p, r), p, r, n_sel)


def ranking_scores(cum_hits: np.ndarray, hits: np.ndarray, n_gt: np.ndarray,
                   ks: Sequence[int] = RECALL_KS) -> Dict[str, np.ndarray]:
    """Per-topic recall@k, P/R/F1@5 and reciprocal rank (ranked candidates, no margin cut)."""
    width = cum_hits.shape[1] - 1
    out: Dict[str, np.ndarray] = {}
    for k in ks:
        out[f"recall@{k}"] = safe_div(cum_hits[:, min(k, width)], n_gt)
    at5 = cum_hits[:, min(5, width)]
    p5, r5 = at5 / 5.0, safe_div(at5, n_gt)
    out["p@5"], out["r@5"], out["f1@5"] = p5, r5, f_beta(p5, r5, beta=1.0)
    top = np.asarray(hits[:, :RANK_DEPTH], dtype=bool)
    first = np.where(top.any(axis=1), top.argmax(axis=1) + 1, 0)
    out["rr"] = safe_div((first > 0).astype(np.float64), first)
    return out
