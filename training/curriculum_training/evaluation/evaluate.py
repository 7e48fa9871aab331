"""The evaluator: any topic/content embedding matrices → EvalReport.

Protocol (as the seed, seed-algorithm.md §7): every evaluation topic is scored against ALL content of
the dataset in the topic's language; ground truth is the full correlations. The selection is Contract 4
(`selection.py`); the metrics are in `metrics.py`. Every topic counts, including topics of a language
without content (F2 0): the seed's skipping of languages with ≤1 topic or content is not reproduced.

Each language is ranked once, chunked over topics (a 66k × 66k pool never materialises); the margin
sweep then only re-cuts the same ranked lists, so it costs almost nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Hashable, Iterable, List, Mapping, Optional, Sequence, Set

import numpy as np

from ..config import DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, DEFAULT_MIN_ITEMS
from .metrics import RANK_DEPTH, RECALL_KS, cumulative_hits, ranking_scores, selection_scores
from .report import EvalReport
from .selection import _check_matrix, _check_params, group_by_language, ranked_candidates

SWEEP_MARGINS = tuple(round(0.01 * i, 2) for i in range(41))  # 0.00 … 0.40


@dataclass
class _LanguageBlock:
    language: str
    topic_rows: np.ndarray
    contents: int
    scores: np.ndarray  # padded ranked scores (-inf padding)
    hits: np.ndarray  # bool, same shape
    cum_hits: np.ndarray
    n_gt: np.ndarray


def _rank_language(lang, t_rows, c_rows, topic_ids, topic_emb, content_ids, content_emb, gt, depth,
                   keep_ratio, chunk_size, progress) -> _LanguageBlock:
    n = len(t_rows)
    if c_rows is None or len(c_rows) == 0:
        ranked = [(np.zeros(0, np.int64), np.zeros(0, np.float32))] * n
    else:
        ranked = ranked_candidates(topic_emb[t_rows], content_emb[c_rows], depth, keep_ratio, chunk_size,
                                   progress=progress and n > chunk_size)
    width = max([RANK_DEPTH] + [len(i) for i, _ in ranked])
    scores = np.full((n, width), -np.inf, dtype=np.float32)
    hits = np.zeros((n, width), dtype=bool)
    n_gt = np.zeros(n, dtype=np.int64)
    for r, (t_row, (idx, sc)) in enumerate(zip(t_rows, ranked)):
        truth = gt[topic_ids[t_row]]
        n_gt[r] = len(truth)
        scores[r, : len(sc)] = sc
        if len(idx):
            hits[r, : len(idx)] = [content_ids[c] in truth for c in c_rows[idx]]
    return _LanguageBlock(lang, t_rows, 0 if c_rows is None else len(c_rows), scores, hits,
                          cumulative_hits(hits), n_gt)


def evaluate(topic_ids: Sequence[Hashable], topic_emb, topic_lang: Sequence[str],
             content_ids: Sequence[Hashable], content_emb, content_lang: Sequence[str],
             gt: Mapping[Hashable, Set[Hashable]], margin: float = DEFAULT_MARGIN,
             max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES, sweep: bool = True,
             min_items: int = DEFAULT_MIN_ITEMS, sweep_margins: Iterable[float] = SWEEP_MARGINS,
             chunk_size: int = 1024, progress: bool = False, meta: Optional[dict] = None) -> EvalReport:
    """Evaluate embeddings (rows L2-normalised; dense float32 or scipy sparse) on the given topics.

    topic_ids are the evaluation topics (each must have a non-empty gt entry); content_* is the whole
    candidate pool. Returns an EvalReport (see report.py)."""
    _check_params(margin, max_candidates, min_items)
    n_t, n_c = len(topic_ids), len(content_ids)
    if topic_emb.shape[0] != n_t or len(topic_lang) != n_t:
        raise ValueError(f"evaluate: {n_t} topic_ids, {len(topic_lang)} topic_lang and {topic_emb.shape[0]} "
                         "topic_emb rows must match")
    if content_emb.shape[0] != n_c or len(content_lang) != n_c:
        raise ValueError(f"evaluate: {n_c} content_ids, {len(content_lang)} content_lang and "
                         f"{content_emb.shape[0]} content_emb rows must match")
    if n_t == 0:
        raise ValueError("evaluate: no evaluation topics")
    lacking = [t for t in topic_ids if not gt.get(t)]
    if lacking:
        raise ValueError(f"evaluate: {len(lacking)} topic(s) have no ground truth, e.g. {lacking[:3]}; "
                         "evaluate only topics with correlations")
    topic_emb = _check_matrix("topic_emb", topic_emb)
    content_emb = _check_matrix("content_emb", content_emb, dim=topic_emb.shape[1])
    margins = sorted(set(round(float(m), 4) for m in sweep_margins) | {round(float(margin), 4)}) if sweep else [margin]
    for m in margins:
        _check_params(m, max_candidates, min_items)

    depth = max(RANK_DEPTH, max_candidates or 0, min_items)
    # uncapped selection needs every item above the widest margin's threshold
    keep_ratio = (1.0 - max(margins)) if max_candidates is None else None
    content_ids = list(content_ids)
    content_groups = group_by_language(content_lang)
    blocks: List[_LanguageBlock] = []
    for lang, t_rows in group_by_language(topic_lang).items():
        blocks.append(_rank_language(lang, t_rows, content_groups.get(lang), topic_ids, topic_emb, content_ids,
                                     content_emb, gt, depth, keep_ratio, chunk_size, progress))

    def pooled(m: float):
        parts = [selection_scores(b.scores, b.cum_hits, b.n_gt, m, max_candidates, min_items) for b in blocks]
        return parts, {k: float(np.mean(np.concatenate([getattr(p, k) for p in parts])))
                       for k in ("f2", "precision", "recall", "selected")}

    parts, main = pooled(margin)
    ranks = [ranking_scores(b.cum_hits, b.hits, b.n_gt) for b in blocks]
    rank_mean = {k: float(np.mean(np.concatenate([r[k] for r in ranks]))) for k in ranks[0]}

    per_language = []
    for b, p, r in zip(blocks, parts, ranks):
        per_language.append({
            "language": b.language, "topics": len(b.topic_rows), "contents": b.contents,
            "f2": float(p.f2.mean()), "precision": float(p.precision.mean()), "recall": float(p.recall.mean()),
            "mean_selected": float(p.selected.mean()), "recall@50": float(r["recall@50"].mean()),
            "mrr": float(r["rr"].mean()),
        })
    per_language.sort(key=lambda row: (-row["topics"], row["language"]))

    sweep_rows, best_margin, best_f2 = [], None, None
    if sweep:
        for m in margins:
            _, s = pooled(m)
            sweep_rows.append({"margin": m, "f2": s["f2"], "precision": s["precision"], "recall": s["recall"],
                               "mean_selected": s["selected"]})
        best = max(sweep_rows, key=lambda row: (row["f2"], -row["margin"]))  # ties: the smaller margin
        best_margin, best_f2 = best["margin"], best["f2"]

    return EvalReport(
        f2=main["f2"], precision=main["precision"], recall=main["recall"], mean_selected=main["selected"],
        margin=float(margin), max_candidates=max_candidates, min_items=min_items, topics=n_t, contents=n_c,
        per_language=per_language, recall_at_k={str(k): rank_mean[f"recall@{k}"] for k in RECALL_KS},
        p_at_5=rank_mean["p@5"], r_at_5=rank_mean["r@5"], f1_at_5=rank_mean["f1@5"], mrr=rank_mean["rr"],
        sweep=sweep_rows, best_margin=best_margin, best_f2=best_f2, meta=dict(meta or {}),
    )
