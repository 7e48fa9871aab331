"""Language switching (seed-algorithm.md §5.4): which text pool each epoch trains on.

A dataset's pools are 0 (the original text) plus every `switch/topics_N.csv` + `content_N.csv` pair its
converter wrote (same ids, translated text, `language_t`). The seed had pools (0, 1, 2, 3); OpenStax has
(0, 1) (en↔es calculus, en↔pl physics). The schedule generalises the seed's to any list of pools:

* epoch 1 uses `init_pool`;
* after epoch e < epoch_stop_switching: the next pool is the base pool (the first listed, 0) when e is
  even, and the next of the other pools, cycling, when e is odd;
* after epoch e >= epoch_stop_switching: the base pool.

With the seed's (0, 1, 2, 3), 40 epochs and stop 36 this gives pool 0 on epochs 1, 3, …, 35 and 37–40,
pool 1 on 2, 8, …, 32, pool 2 on 4, 10, …, 34 and pool 3 on 6, 12, …, 36 (the code's behaviour; the
seed's figure labels epoch 36 differently). A single pool, or switching disabled, gives the base pool
every epoch.

Unlike the seed (where switching lives inside its mining block, so sim_sample=False also turned it off),
switching is independent of mining here, so the two can be ablated separately.

Validation always uses pool 0 (original text).
"""
from __future__ import annotations

from typing import List, Optional, Sequence


def available_pools(dataset) -> List[int]:
    """0 plus the switch pools a Dataset carries, sorted."""
    return [0] + sorted(int(p) for p in getattr(dataset, "switch", {}) if int(p) != 0)


def pool_schedule(epochs: int, pools: Sequence[int], init_pool: int = 0, epoch_stop_switching: int = 36,
                  enabled: bool = True) -> List[int]:
    """The pool of each epoch: element e-1 is epoch e's pool."""
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    pools = list(pools)
    if not pools:
        raise ValueError("pool_schedule: no pools")
    if init_pool not in pools:
        raise ValueError(f"init_pool {init_pool} is not one of the pools {pools}")
    base, others = pools[0], pools[1:]
    if not enabled:
        return [init_pool] * epochs
    if not others:
        return [base] * epochs
    schedule = [init_pool] if epochs else []
    switches = 0
    for e in range(1, epochs):  # choose the pool of epoch e + 1 after epoch e
        if e >= epoch_stop_switching or e % 2 == 0:
            schedule.append(base)
        else:
            schedule.append(others[switches % len(others)])
            switches += 1
    return schedule


def resolve_pools(requested: Optional[Sequence[int]], available: Sequence[int]) -> List[int]:
    """The pools to use: all available ones when `requested` is None, else the requested ones (each must
    exist in the dataset; the message names the missing pool)."""
    if requested is None:
        return list(available)
    out = [int(p) for p in requested]
    for p in out:
        if p not in available:
            raise ValueError(f"pool {p} requested but the dataset only has pools {list(available)} "
                             f"(switch/topics_{p}.csv and content_{p}.csv)")
    return out
