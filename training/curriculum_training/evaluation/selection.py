"""Contract 4: the dynamic-margin selection, shared by evaluation, hard-negative mining and the service.

For one topic with candidate scores s (cosine similarities), the selection is:

1. rank the candidates by score, descending; equal scores are ordered by candidate index, ascending
   (so the result never depends on how a partial sort broke ties);
2. cut the ranking at ``max_candidates`` (``None`` = no cap);
3. with the best score s1, keep every ranked item with ``s >= (1 - margin) * s1`` (items exactly on the
   threshold are kept); the threshold is computed in float64 from the float32 scores;
4. if fewer than ``min_items`` were kept, keep the top ``min_items`` instead.

Edge rules (the TypeScript mirror in services/recommender follows them exactly):

* ``s1 <= 0``: the relative window ``(1 - margin) * s1`` is meaningless (for s1 < 0 it lies above s1,
  for s1 == 0 it keeps every orthogonal item), so nothing passes the margin and the ``min_items``
  fallback returns the best ``min_items`` items. The seed returned nothing when s1 < 0 (§7 ⚠).
* no candidates (e.g. a language without content): an empty selection.
* ``min_items`` must not exceed ``max_candidates``.

Because the ranking is fixed and the cut is a prefix, every margin's selection is a prefix of the same
ranked list: the evaluator ranks once (``ranked_candidates``) and sweeps margins with ``cut_lengths``.

Similarities are computed chunk by chunk over topics, so a 66k × 66k pool never materialises the full
matrix (one chunk is ``chunk_size × n_content`` float32).
"""
from __future__ import annotations

from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np

from ..config import DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, DEFAULT_MIN_ITEMS

Ranked = Tuple[np.ndarray, np.ndarray]  # (content indices int64, scores float32), best first

_NORM_TOLERANCE = 1e-3


def _is_sparse(x) -> bool:
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def _check_matrix(name: str, x, dim: Optional[int] = None):
    if _is_sparse(x):
        x = x.tocsr().astype(np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    else:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D matrix (rows = items), got shape {x.shape}")
        norms = np.linalg.norm(x, axis=1) if x.shape[0] else np.zeros(0)
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name}: dimension {x.shape[1]} does not match the topics' dimension {dim}")
    # Zero rows are allowed (an empty text under TF-IDF); anything else must be unit length.
    bad = np.flatnonzero((np.abs(norms - 1) > _NORM_TOLERANCE) & (norms != 0))
    if bad.size:
        raise ValueError(
            f"{name}: row {int(bad[0])} has L2 norm {float(norms[bad[0]]):.4f}; rows must be L2-normalised "
            f"({bad.size} such row(s)); use l2_normalize() first"
        )
    return x


def _check_params(margin: float, max_candidates: Optional[int], min_items: int) -> None:
    if not (0.0 <= margin < 1.0):
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    if max_candidates is not None and max_candidates < 1:
        raise ValueError(f"max_candidates must be >= 1 or None, got {max_candidates}")
    if min_items < 0:
        raise ValueError(f"min_items must be >= 0, got {min_items}")
    if max_candidates is not None and min_items > max_candidates:
        raise ValueError(f"min_items ({min_items}) must not exceed max_candidates ({max_candidates})")


def similarity_chunks(topic_emb, content_emb, chunk_size: int = 1024):
    """Yield (row offset, dense float32 block of cosine scores) over chunks of topics.

    Accepts dense arrays or scipy sparse matrices (the TF-IDF baseline), exact either way."""
    n = topic_emb.shape[0]
    content_t = content_emb.T.tocsr() if _is_sparse(content_emb) else content_emb.T
    for start in range(0, n, chunk_size):
        block = topic_emb[start:start + chunk_size] @ content_t
        block = block.toarray() if _is_sparse(block) else np.asarray(block)
        yield start, block.astype(np.float32, copy=False)


def _rank_block(block: np.ndarray, depth: int, keep_ratio: Optional[float]) -> List[Ranked]:
    """Rank one block's rows: the top `depth` items, plus (if keep_ratio) every item with
    s >= keep_ratio * s1 when s1 > 0. Ties by score are broken by ascending content index."""
    n_rows, n_cols = block.shape
    if n_cols == 0:
        return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in range(n_rows)]
    depth = min(depth, n_cols)
    mask = np.zeros(block.shape, dtype=bool)
    if depth > 0:
        # the depth-th largest score per row; everything >= it is a candidate (ties included, then cut)
        kth = np.partition(block, n_cols - depth, axis=1)[:, n_cols - depth]
        mask |= block >= kth[:, None]
    if keep_ratio is not None:
        s1 = block.max(axis=1).astype(np.float64)
        thr = np.where(s1 > 0, keep_ratio * s1, np.inf)
        mask |= block >= thr[:, None]
    rows, cols = np.nonzero(mask)
    scores = block[rows, cols]
    order = np.lexsort((cols, -scores, rows))  # by row, then score desc, then index asc
    rows, cols, scores = rows[order], cols[order], scores[order]
    bounds = np.searchsorted(rows, np.arange(n_rows + 1))
    out: List[Ranked] = []
    for r in range(n_rows):
        a, b = bounds[r], bounds[r + 1]
        idx, sc = cols[a:b].astype(np.int64), scores[a:b]
        if keep_ratio is None or sc.size == 0:
            idx, sc = idx[:depth], sc[:depth]
        else:
            # keep the top `depth` and everything above the ratio threshold (a prefix either way)
            s1 = float(sc[0])
            n_pass = int(np.count_nonzero(sc.astype(np.float64) >= keep_ratio * s1)) if s1 > 0 else 0
            n_keep = max(depth, n_pass)
            idx, sc = idx[:n_keep], sc[:n_keep]
        out.append((idx, sc))
    return out


def ranked_candidates(topic_emb, content_emb, depth: int, keep_ratio: Optional[float] = None,
                      chunk_size: int = 1024, progress: bool = False) -> List[Ranked]:
    """Per topic, the ranked candidates (indices into content_emb, scores), best first: the top `depth`
    and, when keep_ratio is given, also every item with s >= keep_ratio * s1 (for uncapped selection)."""
    if progress:
        from tqdm import tqdm
        chunks = tqdm(similarity_chunks(topic_emb, content_emb, chunk_size),
                      total=-(-topic_emb.shape[0] // chunk_size), desc="scoring", unit="chunk", leave=False)
    else:
        chunks = similarity_chunks(topic_emb, content_emb, chunk_size)
    out: List[Ranked] = []
    for _, block in chunks:
        out.extend(_rank_block(block, depth, keep_ratio))
    return out


def cut_length(scores: np.ndarray, margin: float = DEFAULT_MARGIN,
               max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES, min_items: int = DEFAULT_MIN_ITEMS) -> int:
    """How many items of a ranked score list (best first) the selection keeps."""
    n = len(scores)
    if n == 0:
        return 0
    cap = n if max_candidates is None else min(n, max_candidates)
    s1 = float(scores[0])
    if s1 > 0:
        thr = (1.0 - margin) * s1
        n_pass = int(np.count_nonzero(np.asarray(scores[:cap], dtype=np.float64) >= thr))
    else:
        n_pass = 0
    return min(max(n_pass, min_items), cap)


def cut_lengths(scores: np.ndarray, margin: float, max_candidates: Optional[int], min_items: int) -> np.ndarray:
    """Vectorised `cut_length` over a padded matrix of ranked scores (rows best first, padding -inf)."""
    scores = np.asarray(scores, dtype=np.float64)
    available = np.isfinite(scores).sum(axis=1)
    if scores.shape[1] == 0:
        return np.zeros(scores.shape[0], dtype=np.int64)
    s1 = scores[:, 0]
    thr = np.where(s1 > 0, (1.0 - margin) * s1, np.inf)
    n_pass = (scores >= thr[:, None]).sum(axis=1)
    cap = available if max_candidates is None else np.minimum(available, max_candidates)
    return np.minimum(np.maximum(n_pass, min_items), cap).astype(np.int64)


def select(topic_emb: np.ndarray, content_emb: np.ndarray, margin: float = DEFAULT_MARGIN,
           max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES, min_items: int = DEFAULT_MIN_ITEMS,
           chunk_size: int = 1024) -> List[Ranked]:
    """Contract 4 selection. Rows of both matrices L2-normalised (float32, or scipy sparse).

    Returns, per topic row, (content indices, cosine scores) sorted by score descending (ties: lower
    index first)."""
    _check_params(margin, max_candidates, min_items)
    topic_emb = _check_matrix("topic_emb", topic_emb)
    content_emb = _check_matrix("content_emb", content_emb, dim=topic_emb.shape[1])
    if max_candidates is None:
        depth, keep_ratio = min_items, 1.0 - margin
    else:
        depth, keep_ratio = max_candidates, None
    ranked = ranked_candidates(topic_emb, content_emb, depth, keep_ratio, chunk_size)
    out = []
    for idx, sc in ranked:
        n = cut_length(sc, margin, max_candidates, min_items)
        out.append((idx[:n], sc[:n]))
    return out


def group_by_language(langs: Sequence[str]) -> Dict[str, np.ndarray]:
    """language → row indices (in input order)."""
    groups: Dict[str, List[int]] = {}
    for i, lang in enumerate(langs):
        groups.setdefault(str(lang), []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}


def select_by_language(topic_ids: Sequence[Hashable], topic_emb, topic_lang: Sequence[str],
                       content_ids: Sequence[Hashable], content_emb, content_lang: Sequence[str],
                       **kw) -> Dict[Hashable, List[Tuple[Hashable, float]]]:
    """Selection with candidates restricted to the topic's language (Contract 4).

    Returns topic_id → [(content_id, score), …] best first; a topic whose language has no content gets []."""
    if len(topic_ids) != topic_emb.shape[0] or len(topic_lang) != topic_emb.shape[0]:
        raise ValueError(f"topic_ids ({len(topic_ids)}), topic_lang ({len(topic_lang)}) and topic_emb rows "
                         f"({topic_emb.shape[0]}) must have the same length")
    if len(content_ids) != content_emb.shape[0] or len(content_lang) != content_emb.shape[0]:
        raise ValueError(f"content_ids ({len(content_ids)}), content_lang ({len(content_lang)}) and content_emb "
                         f"rows ({content_emb.shape[0]}) must have the same length")
    content_groups = group_by_language(content_lang)
    out: Dict[Hashable, List[Tuple[Hashable, float]]] = {}
    for lang, t_rows in group_by_language(topic_lang).items():
        c_rows = content_groups.get(lang)
        if c_rows is None:
            for r in t_rows:
                out[topic_ids[r]] = []
            continue
        selected = select(topic_emb[t_rows], content_emb[c_rows], **kw)
        for r, (idx, sc) in zip(t_rows, selected):
            out[topic_ids[r]] = [(content_ids[c_rows[i]], float(s)) for i, s in zip(idx, sc)]
    return out


def ensemble_embeddings(embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """Combine M models' embeddings of the same rows so that a dot product of two combined rows equals
    the MEAN of the M cosines (Contract 4 ensembles).

    Each model's rows are L2-normalised, concatenated and scaled by 1/sqrt(M): the result is again unit
    length, so `select` applies unchanged. (Scaling both sides by 1/sqrt(M) is the seed's "sum of cosine
    matrices / M" split evenly between topics and contents.)"""
    if not embeddings:
        raise ValueError("ensemble_embeddings: need at least one embedding matrix")
    rows = {e.shape[0] for e in embeddings}
    if len(rows) != 1:
        raise ValueError(f"ensemble_embeddings: the models' matrices have different row counts {sorted(rows)}")
    m = len(embeddings)
    return (np.concatenate([l2_normalize(e) for e in embeddings], axis=1) / np.sqrt(m)).astype(np.float32)


def select_ensemble(topic_embs: Sequence[np.ndarray], content_embs: Sequence[np.ndarray], **kw) -> List[Ranked]:
    """`select` on the mean cosine of several models (one matrix per model, rows aligned)."""
    if len(topic_embs) != len(content_embs):
        raise ValueError(f"select_ensemble: {len(topic_embs)} topic matrices but {len(content_embs)} content matrices")
    return select(ensemble_embeddings(topic_embs), ensemble_embeddings(content_embs), **kw)
