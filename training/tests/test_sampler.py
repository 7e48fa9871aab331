"""Property-style tests of the §5.2 batch builder over random small datasets."""
import random
from collections import Counter

import pytest

from curriculum_training.sampler import ROLE_COMPANION, ROLE_MISSING, ROLE_PAIR, build_batches


class _NoShuffle(random.Random):
    def shuffle(self, x):  # keep the queue order, to script a collision
        return None


def random_dataset(seed, n_topics=60, n_contents=150, max_pos=6, shared_rate=0.3):
    """Topics with 1..max_pos positives; some contents shared between topics (the hard case)."""
    rng = random.Random(seed)
    t2c = {}
    for i in range(n_topics):
        k = rng.randint(1, max_pos)
        pool = range(n_contents) if rng.random() < shared_rate else range(i * 2, i * 2 + 12)
        t2c[f"t{i}"] = sorted({f"c{c % n_contents}" for c in rng.sample(list(pool), k)})
    pairs = [(t, c) for t, cs in t2c.items() for c in cs]
    return t2c, pairs


def random_mining(seed, t2c, pairs, n_missing=40, n_wrong=30):
    rng = random.Random(seed + 1000)
    missing = rng.sample(pairs, min(n_missing, len(pairs)))
    c2t = {}
    for t, c in pairs:
        c2t.setdefault(c, []).append(t)
    wrong = {}
    for t in rng.sample(sorted(t2c), n_wrong):
        wrong[t] = [(t2, c) for c in rng.sample(sorted(c2t), 8) for t2 in c2t[c] if t2 != t]
    return missing, wrong


def check_invariants(plan, t2c, batch_size, max_wrong, missing, wrong):
    seen_once = Counter()
    for batch, roles, anchors in zip(plan.batches, plan.roles, plan.anchor_of):
        assert len(batch) == batch_size  # the partial batch is dropped
        topics = [t for t, _ in batch]
        assert len(set(topics)) == len(topics), "a topic appears twice in a batch"
        for i, (t, _) in enumerate(batch):
            for j, (_, c) in enumerate(batch):
                if i != j:
                    assert c not in t2c[t], f"content {c} is a known positive of in-batch topic {t}"
        per_anchor = Counter(a for a, r in zip(anchors, roles) if r == ROLE_COMPANION)
        for a, n in per_anchor.items():
            assert roles[a] == ROLE_PAIR, "a companion must follow an anchor pair"
            assert n <= max_wrong
            t_anchor = batch[a][0]
            companions = {p for p, r, aa in zip(batch, roles, anchors) if r == ROLE_COMPANION and aa == a}
            assert companions <= set(wrong[t_anchor])
        for p, r in zip(batch, roles):
            if r == ROLE_MISSING:
                assert p in set(missing)
            else:
                seen_once[p] += 1
    assert all(n == 1 for n in seen_once.values()), "a training pair was used twice as a normal sample"


@pytest.mark.parametrize("seed", range(8))
def test_invariants_on_random_datasets(seed):
    t2c, pairs = random_dataset(seed)
    missing, wrong = random_mining(seed, t2c, pairs)
    rng = random.Random(seed)
    batch_size = rng.choice([4, 8, 16])
    max_wrong = rng.choice([1, 3, 128])
    plan = build_batches(pairs, t2c, batch_size, random.Random(seed), missing=missing, wrong=wrong,
                         max_wrong=max_wrong, max_fails=200)
    assert len(plan) > 0
    check_invariants(plan, t2c, batch_size, max_wrong, missing, wrong)
    if max_wrong >= 3:
        assert plan.stats["companions_added"] > 0
    # the fix of the seed's re-queue quirk: no rejected pair is ever dropped
    assert plan.stats["rejected_dropped"] == 0
    # nothing is lost silently: every pair is batched, in the dropped partial batch, or still queued
    normal = sum(1 for roles in plan.roles for r in roles if r != ROLE_MISSING)
    assert normal + plan.stats["partial_dropped"] + plan.stats["queue_left"] >= len(pairs)


def test_every_pair_is_used_when_nothing_collides():
    pairs = [(f"t{i}", f"c{i}") for i in range(64)]
    t2c = {t: [c] for t, c in pairs}
    plan = build_batches(pairs, t2c, 8, random.Random(0))
    assert len(plan) == 8 and sorted(plan.pairs) == sorted(pairs)


def test_missing_positives_are_oversampled_with_probability_one_half():
    # many disjoint topics, a long missing list: the missing queue never runs dry during the epoch
    pairs = [(f"t{i}", f"c{i}") for i in range(4000)]
    t2c = {t: [c] for t, c in pairs}
    missing = [(f"m{i}", f"d{i}") for i in range(5000)]
    t2c.update({t: [c] for t, c in missing})
    plan = build_batches(pairs, t2c, 32, random.Random(3), missing=missing, missing_prob=0.5)
    rate = plan.stats["missing_draws"] / plan.stats["missing_eligible"]
    assert plan.stats["missing_eligible"] > 2000
    assert rate == pytest.approx(0.5, abs=0.03)
    added = sum(r == ROLE_MISSING for roles in plan.roles for r in roles)
    assert added == plan.stats["missing_added"] > 0
    none = build_batches(pairs, t2c, 32, random.Random(3), missing=missing, missing_prob=0.0)
    assert none.stats["missing_added"] == 0


def test_an_oversampled_pair_can_appear_on_top_of_its_normal_turn():
    pairs = [(f"t{i}", f"c{i}") for i in range(200)]
    t2c = {t: [c] for t, c in pairs}
    missing = pairs[:50]
    plan = build_batches(pairs, t2c, 10, random.Random(5), missing=missing, missing_prob=0.5)
    counts = Counter(plan.pairs)
    assert max(counts.values()) == 2  # once normally, once oversampled
    assert all(p in set(missing) for p, n in counts.items() if n == 2)


def test_companions_are_consumed_and_capped_at_max_wrong():
    pairs = [(f"t{i}", f"c{i}") for i in range(100)]
    t2c = {t: [c] for t, c in pairs}
    wrong = {"t0": [p for p in pairs[1:40]]}
    plan = build_batches(pairs, t2c, 50, _NoShuffle(1), wrong=wrong, max_wrong=5)
    batch, roles, anchors = plan.batches[0], plan.roles[0], plan.anchor_of[0]
    assert batch[0] == ("t0", "c0") and roles[0] == ROLE_PAIR
    assert roles[1:6] == [ROLE_COMPANION] * 5 and anchors[1:6] == [0] * 5
    assert batch[1:6] == pairs[1:6]  # (no shuffle) the first five companions
    assert roles[6] == ROLE_PAIR  # then the queue goes on; the used companions are discarded from it
    assert plan.stats["companions_added"] == 5 and plan.stats["used_discarded"] == 5
    assert wrong["t0"] == pairs[1:40]  # the caller's lists are not mutated


def test_seed_quirk_one_way_guard_admits_a_false_negative_that_the_fix_blocks():
    # t1's pair goes first; t2 also has c1 as a positive. The seed only checks c2 against t1's positives.
    t2c = {"t1": ["c1"], "t2": ["c1", "c2"], "t3": ["c3"]}
    pairs = [("t1", "c1"), ("t2", "c2"), ("t3", "c3")]
    seed = build_batches(pairs, t2c, 2, _NoShuffle(0), seed_quirks=True)
    assert seed.batches[0] == [("t1", "c1"), ("t2", "c2")]  # c1 is a false negative for t2
    fixed = build_batches(pairs, t2c, 2, _NoShuffle(0), seed_quirks=False)
    for batch in fixed.batches:
        assert not ({("t1", "c1"), ("t2", "c2")} <= set(batch))


def test_seed_quirk_drops_rejected_pairs_on_missing_draws():
    t2c, pairs = random_dataset(11, n_topics=30, max_pos=8, shared_rate=0.0)
    missing = pairs[:100]
    quirky = build_batches(pairs, t2c, 8, random.Random(2), missing=missing, seed_quirks=True)
    fixed = build_batches(pairs, t2c, 8, random.Random(2), missing=missing, seed_quirks=False)
    assert quirky.stats["rejected_dropped"] > 0
    assert fixed.stats["rejected_dropped"] == 0
    normal = lambda plan: sum(r != ROLE_MISSING for roles in plan.roles for r in roles)  # noqa: E731
    assert normal(fixed) > normal(quirky)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        build_batches([("t", "c")], {"t": ["c"]}, 0, random.Random(0))
    with pytest.raises(ValueError, match="missing_prob"):
        build_batches([("t", "c")], {"t": ["c"]}, 2, random.Random(0), missing_prob=1.5)
