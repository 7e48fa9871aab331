"""Mining for the next epoch (seed-algorithm.md §5.3, the seed's `evaluate_train` with sim_sample=True).

After an epoch, the trainer encodes the next pool's TRAINING topics and ALL of that pool's content
(every fold, every language) and calls `mine`. For each topic, Contract 4 selection (dynamic margin,
cap `max_candidates`, same language only — `evaluation.selection.select_by_language`) gives a set:

* missing(t) = gt(t) − selected  → the pairs (t, c) the model failed to retrieve: oversampled next epoch;
* wrong(t)   = selected − gt(t)  → for each wrongly retrieved c', every training pair (t', c') having c'
  as a positive becomes a companion of t: putting it next to t's pair makes c' an in-batch hard negative
  for t (and t a hard negative for c'). A c' that no training topic uses gives nothing.

gt is the FULL correlations (a validation positive retrieved for a training topic is not "wrong").
Selection keeps at least one item (Contract 4 `min_items`); the seed selected nothing when the best
cosine was negative, which only matters for an untrained model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Hashable, Iterable, List, Mapping, Sequence, Set, Tuple

import numpy as np

from .config import DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, DEFAULT_MIN_ITEMS
from .evaluation.selection import select_by_language

Pair = Tuple[str, str]


@dataclass
class MiningResult:
    missing: List[Pair]
    wrong: Dict[str, List[Pair]]
    stats: Dict[str, float] = field(default_factory=dict)


def content_to_topics(pairs: Iterable[Pair]) -> Dict[str, List[str]]:
    """content id → the training topics that have it as a positive (sorted, for determinism)."""
    out: Dict[str, Set[str]] = {}
    for t, c in pairs:
        out.setdefault(c, set()).add(t)
    return {c: sorted(ts) for c, ts in out.items()}


def mine(topic_ids: Sequence[str], topic_emb: np.ndarray, topic_lang: Sequence[str],
         content_ids: Sequence[str], content_emb: np.ndarray, content_lang: Sequence[str],
         gt: Mapping[Hashable, Set[str]], train_content2topics: Mapping[str, Sequence[str]],
         margin: float = DEFAULT_MARGIN, max_candidates: int = DEFAULT_MAX_CANDIDATES,
         min_items: int = DEFAULT_MIN_ITEMS) -> MiningResult:
    """Missing pairs and companion lists from the current model's embeddings (module docstring)."""
    selected = select_by_language(list(topic_ids), topic_emb, list(topic_lang), list(content_ids), content_emb,
                                  list(content_lang), margin=margin, max_candidates=max_candidates,
                                  min_items=min_items)
    missing: List[Pair] = []
    wrong: Dict[str, List[Pair]] = {}
    n_wrong_contents = n_selected = 0
    hits = 0
    for t in topic_ids:
        truth = gt.get(t, set())
        chosen = [c for c, _ in selected[t]]
        chosen_set = set(chosen)
        n_selected += len(chosen)
        hits += len(truth & chosen_set)
        missing.extend((t, c) for c in sorted(truth - chosen_set))
        companions: List[Pair] = []
        for c in chosen:  # rank order: the most confusing first
            if c in truth:
                continue
            n_wrong_contents += 1
            companions.extend((t2, c) for t2 in train_content2topics.get(c, ()) if t2 != t)
        if companions:
            wrong[t] = companions
    n_gt = sum(len(gt.get(t, ())) for t in topic_ids)
    stats = {
        "topics": len(topic_ids),
        "missing": len(missing),
        "wrong_contents": n_wrong_contents,
        "companions": sum(len(v) for v in wrong.values()),
        "mean_selected": n_selected / max(1, len(topic_ids)),
        "train_recall": hits / max(1, n_gt),
    }
    return MiningResult(missing, wrong, stats)
