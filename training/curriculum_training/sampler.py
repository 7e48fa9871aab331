"""The per-epoch batch builder (seed-algorithm.md §5.2, the seed's `EqualDatasetTrain.shuffle`).

Every training sample is one (topic, content) positive pair; InfoNCE treats every other in-batch content
as a negative for a topic, so a batch is built such that:

* no topic appears twice;
* no content of the batch is a known positive of another topic of the batch (no false negatives);
* each accepted anchor pair (t, c) pulls in up to `max_wrong` mined companions (t', c'): training pairs
  whose content c' the model wrongly retrieved for t (hard negatives, both directions);
* with probability `missing_prob` per step a missed positive (t, c) — one the model failed to retrieve —
  is added on top of its normal occurrence (oversampling; it is not marked used, so it can appear twice).

The seed's quirks and what we do with them (`seed_quirks=True` reproduces all of them exactly):

1. Its re-queue `else` belongs to the missing-draw `if`, so on a step that draws a missed pair (p ≈ 0.5
   while any remain) a REJECTED queue pair is silently dropped for the epoch, and the fail counter does
   not move. FIXED by default: a rejected pair always goes back to the queue. On small curricula, where
   a topic has many positives and collisions are frequent, the quirk loses a large share of the epoch.
2. The false-negative guard only goes one way: a new pair's content is checked against the in-batch
   topics' positives, but the new topic's OTHER positives are not checked against the in-batch contents.
   FIXED by default (both directions are checked), which makes "no in-batch known positive used as a
   negative" an invariant (tests/test_sampler.py checks it on random datasets).
3. The fail counter counts every non-missing step since the last acceptance (including popped pairs that
   were already used as companions). By default it counts consecutive rejections only; already-used
   pairs are discarded without counting.
4. The final partial batch and whatever is left in the queue when the builder gives up (`max_fails`
   consecutive failures) are dropped. KEPT: every step sees a full batch, so the loss and the
   temperature see the same number of negatives each step; shuffling changes what is dropped each epoch.
"""
from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

Pair = Tuple[str, str]

ROLE_PAIR = "pair"          # a queue pair, accepted in its normal turn (an anchor)
ROLE_COMPANION = "companion"  # a mined hard-negative companion of an anchor
ROLE_MISSING = "missing"    # an oversampled missed positive


@dataclass
class BatchPlan:
    batches: List[List[Pair]]
    roles: List[List[str]]      # per batch, per row: ROLE_*
    anchor_of: List[List[int]]  # per batch, per row: the row of the anchor a companion belongs to, else -1
    stats: Dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.batches)

    @property
    def pairs(self) -> List[Pair]:
        return [p for b in self.batches for p in b]


def build_batches(pairs: Sequence[Pair], topic2content: Mapping[str, Iterable[str]], batch_size: int,
                  rng: random.Random, missing: Optional[Sequence[Pair]] = None,
                  wrong: Optional[Mapping[str, Sequence[Pair]]] = None, max_wrong: int = 128,
                  missing_prob: float = 0.5, max_fails: int = 512, seed_quirks: bool = False) -> BatchPlan:
    """One epoch of batches (module docstring). `topic2content` gives every training topic's known
    positives; `missing` is a list of (t, c); `wrong` maps an anchor topic to its companion pairs."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not 0.0 <= missing_prob <= 1.0:
        raise ValueError(f"missing_prob must be in [0, 1], got {missing_prob}")
    positives: Dict[str, Set[str]] = {t: set(cs) for t, cs in topic2content.items()}
    for t, c in pairs:
        positives.setdefault(t, set()).add(c)  # a pair is always a known positive of its topic

    queue = list(pairs)
    rng.shuffle(queue)
    queue = deque(queue)
    missing_list = list(missing or [])
    rng.shuffle(missing_list)
    missing_q = deque(missing_list)
    wrong_left = {t: list(v) for t, v in (wrong or {}).items()}  # consumed as companions are used

    used: Set[Pair] = set()
    batches: List[List[Pair]] = []
    roles: List[List[str]] = []
    anchors: List[List[int]] = []
    batch: List[Pair] = []
    batch_roles: List[str] = []
    batch_anchor: List[int] = []
    topics_in: Set[str] = set()
    blocked: Set[str] = set()     # positives of the in-batch topics: must not appear as contents
    contents_in: Set[str] = set()  # contents of the batch: must not be positives of a new topic
    stats = dict(iterations=0, missing_eligible=0, missing_draws=0, missing_added=0, companions_added=0,
                 rejected_dropped=0, used_discarded=0)

    def can_add(t: str, c: str) -> bool:
        if t in topics_in or c in blocked:
            return False
        if not seed_quirks and not positives.get(t, set()).isdisjoint(contents_in):
            return False  # t's other positives would be negatives for t
        return True

    def add(t: str, c: str, role: str, anchor: int = -1) -> None:
        topics_in.add(t)
        blocked.update(positives.get(t, ()))
        contents_in.add(c)
        batch.append((t, c))
        batch_roles.append(role)
        batch_anchor.append(anchor)

    fails = 0
    while queue:
        stats["iterations"] += 1
        t, c = queue.popleft()
        accepted = False
        already_used = (t, c) in used
        if not already_used and len(batch) < batch_size and can_add(t, c):
            used.add((t, c))
            add(t, c, ROLE_PAIR)
            accepted = True
            fails = 0
            anchor_row = len(batch) - 1
            candidates = wrong_left.get(t)
            if candidates:
                rng.shuffle(candidates)
                taken = []
                for t2, c2 in candidates[:max_wrong]:
                    if (t2, c2) not in used and len(batch) < batch_size and can_add(t2, c2):
                        used.add((t2, c2))
                        add(t2, c2, ROLE_COMPANION, anchor_row)
                        taken.append((t2, c2))
                        stats["companions_added"] += 1
                if taken:
                    taken_set = set(taken)
                    wrong_left[t] = [p for p in candidates if p not in taken_set]

        draw_missing = False
        if missing_q and len(batch) < batch_size:
            stats["missing_eligible"] += 1
            draw_missing = rng.random() < missing_prob
        if draw_missing:
            stats["missing_draws"] += 1
            tm, cm = missing_q.popleft()
            if can_add(tm, cm):
                add(tm, cm, ROLE_MISSING)  # not marked used: oversampled on top of its normal turn
                stats["missing_added"] += 1
            else:
                missing_q.append((tm, cm))

        if seed_quirks:
            if not draw_missing:
                if (t, c) not in used:
                    queue.append((t, c))
                fails += 1
            elif not accepted and not already_used:
                stats["rejected_dropped"] += 1
        elif not accepted:
            if already_used:
                stats["used_discarded"] += 1
            else:
                queue.append((t, c))
                fails += 1

        if fails >= max_fails:
            break
        if len(batch) >= batch_size:
            batches.append(batch)
            roles.append(batch_roles)
            anchors.append(batch_anchor)
            batch, batch_roles, batch_anchor = [], [], []
            topics_in, blocked, contents_in = set(), set(), set()

    stats["batches"] = len(batches)
    stats["partial_dropped"] = len(batch)
    stats["queue_left"] = len(queue)
    stats["samples"] = sum(len(b) for b in batches)
    return BatchPlan(batches, roles, anchors, stats)
