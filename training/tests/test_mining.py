import numpy as np
import pytest

from curriculum_training.mining import content_to_topics, mine


def unit(*rows):
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_missing_and_wrong_follow_the_dynamic_margin_selection():
    # 3 training topics (en, en, fr); contents in 2 languages. Scores are designed so that selection
    # (margin 0.16: keep s >= 0.84 * best) is known exactly.
    topic_ids = ["tA", "tB", "tF"]
    topic_lang = ["en", "en", "fr"]
    topic_emb = unit([1, 0, 0], [0, 1, 0], [0, 0, 1])
    content_ids = ["a1", "a2", "b1", "x", "f1", "fx"]
    content_lang = ["en", "en", "en", "en", "fr", "fr"]
    content_emb = unit(
        [1, 0.05, 0],   # a1: best for tA
        [0.2, 1, 0],    # a2: a positive of tA, but close to tB → missed by tA, wrongly picked by tB
        [0, 1, 0],      # b1: tB's positive
        [1, 0.1, 0.05],  # x: nobody's positive in training, picked by tA (wrong, but no companion)
        [0, 0, 1],      # f1: tF's positive
        [1, 0, 0],      # fx: French; for tA it would be the best, but languages must match
    )
    gt = {"tA": {"a1", "a2"}, "tB": {"b1"}, "tF": {"f1"}, "tVal": {"x"}}
    train_pairs = [("tA", "a1"), ("tA", "a2"), ("tB", "b1"), ("tF", "f1")]
    res = mine(topic_ids, topic_emb, topic_lang, content_ids, content_emb, content_lang, gt,
               content_to_topics(train_pairs), margin=0.16, max_candidates=128)
    assert ("tA", "a2") in res.missing
    assert all(t != "tF" for t, _ in res.missing)
    # tB wrongly selected a2 → companions are the training pairs having a2 as a positive: (tA, a2)
    assert res.wrong["tB"] == [("tA", "a2")]
    # tA's wrong pick x is used by no training topic → no companion; fx is never a candidate (French)
    assert "tA" not in res.wrong
    assert res.stats["wrong_contents"] >= 2 and res.stats["missing"] == len(res.missing)


def test_validation_positives_are_not_wrong_and_cap_applies():
    topic_emb = unit([1, 0])
    content_emb = unit(*([[1, 0.001 * i] for i in range(10)]))
    ids = [f"c{i}" for i in range(10)]
    gt = {"t": {"c0"}}
    res = mine(["t"], topic_emb, ["en"], ids, content_emb, ["en"] * 10, gt,
               {c: ["t2"] for c in ids}, margin=0.5, max_candidates=3)
    assert res.stats["mean_selected"] == 3  # capped
    assert res.wrong["t"] == [("t2", "c1"), ("t2", "c2")]
    assert res.missing == []


def test_content_to_topics_is_sorted_and_complete():
    c2t = content_to_topics([("b", "x"), ("a", "x"), ("a", "y")])
    assert c2t == {"x": ["a", "b"], "y": ["a"]}


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        mine(["t"], unit([1, 0], [0, 1]), ["en"], ["c"], unit([1, 0]), ["en"], {"t": {"c"}}, {})
