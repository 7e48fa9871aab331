import json

import numpy as np
import pandas as pd
import pytest

from curriculum_training.data.lecr import Dataset
from curriculum_training.evaluation import EvalReport, evaluate, evaluate_split, evaluation_set
from curriculum_training.splits import make_splits


def unit(*angles_deg):
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


# Hand-computed example. Cosines (2-D unit vectors, cos of the angle difference):
#   t1 (en, 0°):  c1 1.000, c2 .940, c3 .707, c4 .174           gt {c2, c3}
#   t2 (en, 90°): c4 .985, c3 .707, c2 .342, c1 .000            gt {c3}
#   t3 (fr, 0°):  c5 .866 (the only fr content)                  gt {c5, c1}  (c1 is en: never a candidate)
TOPICS = ["t1", "t2", "t3"]
T_EMB = unit(0, 90, 0)
T_LANG = ["en", "en", "fr"]
CONTENT = ["c1", "c2", "c3", "c4", "c5"]
C_EMB = unit(0, 20, 45, 80, 30)
C_LANG = ["en", "en", "en", "en", "fr"]
GT = {"t1": {"c2", "c3"}, "t2": {"c3"}, "t3": {"c5", "c1"}}


def run(**kw):
    return evaluate(TOPICS, T_EMB, T_LANG, CONTENT, C_EMB, C_LANG, GT, **kw)


def test_hand_computed_selection_metrics_at_default_margin():
    r = run(margin=0.16)
    # t1: threshold .84 keeps c1, c2 -> P 1/2, R 1/2, F2 .5
    # t2: threshold .827 keeps c4    -> P 0,   R 0,   F2 0
    # t3: keeps c5                    -> P 1,   R 1/2, F2 = 5·.5/(4+.5) = 5/9
    assert r.f2 == pytest.approx((0.5 + 0 + 5 / 9) / 3)
    assert r.precision == pytest.approx(0.5)
    assert r.recall == pytest.approx(1 / 3)
    assert r.mean_selected == pytest.approx(4 / 3)
    langs = {row["language"]: row for row in r.per_language}
    assert [row["language"] for row in r.per_language] == ["en", "fr"]  # most topics first
    assert langs["en"]["f2"] == pytest.approx(0.25) and (langs["en"]["topics"], langs["en"]["contents"]) == (2, 4)
    assert langs["fr"]["f2"] == pytest.approx(5 / 9) and langs["fr"]["mean_selected"] == 1


def test_hand_computed_ranking_metrics():
    r = run()
    # first relevant rank: t1 2 (c2), t2 2 (c3), t3 1 (c5)
    assert r.mrr == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert r.recall_at_k["1"] == pytest.approx((0 + 0 + 0.5) / 3)
    for k in ("5", "10", "50", "100"):
        assert r.recall_at_k[k] == pytest.approx((1 + 1 + 0.5) / 3)
    # hits in the top 5: 2, 1, 1 -> P@5 2/5, 1/5, 1/5; R@5 1, 1, 1/2
    assert r.p_at_5 == pytest.approx(4 / 15)
    assert r.r_at_5 == pytest.approx(5 / 6)
    f1 = [2 * p * q / (p + q) for p, q in ((0.4, 1), (0.2, 1), (0.2, 0.5))]
    assert r.f1_at_5 == pytest.approx(sum(f1) / 3)


def test_margin_sweep_finds_hand_computed_best():
    r = run(margin=0.16)
    # c3 enters t2 at margin >= .282 (grid .29) and t1 at >= .293 (grid .30); nothing else changes up to .40
    by_margin = {row["margin"]: row["f2"] for row in r.sweep}
    assert by_margin[0.29] == pytest.approx((0.5 + 2.5 / 3 + 5 / 9) / 3)
    assert by_margin[0.30] == pytest.approx((10 / 11 + 2.5 / 3 + 5 / 9) / 3)
    assert r.best_margin == 0.30 and r.best_f2 == pytest.approx(by_margin[0.30])
    assert by_margin[0.16] == pytest.approx(r.f2) and len(r.sweep) == 41


def test_cap_and_uncapped_paths_agree_and_cap_limits_selection():
    capped = run(margin=0.4, max_candidates=1, sweep=False)
    assert capped.mean_selected == 1 and capped.sweep == [] and capped.best_margin is None
    assert run(margin=0.3, max_candidates=None).f2 == pytest.approx(run(margin=0.3).f2)


def test_language_without_content_counts_as_zero():
    r = evaluate(["t1", "t9"], unit(0, 0), ["en", "de"], CONTENT, C_EMB, C_LANG,
                 {"t1": {"c2", "c3"}, "t9": {"c1"}}, margin=0.16, sweep=False)
    assert r.f2 == pytest.approx(0.5 / 2)
    assert {row["language"]: row["contents"] for row in r.per_language} == {"en": 4, "de": 0}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="no ground truth"):
        evaluate(TOPICS, T_EMB, T_LANG, CONTENT, C_EMB, C_LANG, {"t1": {"c1"}})
    with pytest.raises(ValueError, match="must match"):
        evaluate(TOPICS[:2], T_EMB, T_LANG, CONTENT, C_EMB, C_LANG, GT)


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(30, 6)).astype(np.float32)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    c = rng.normal(size=(40, 6)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    tids, cids = [f"t{i}" for i in range(30)], [f"c{i}" for i in range(40)]
    gt = {f"t{i}": {f"c{(i * 7) % 40}", f"c{(i * 3) % 40}"} for i in range(30)}
    a = evaluate(tids, t, ["x"] * 30, cids, c, ["x"] * 40, gt, chunk_size=7).to_dict()
    b = evaluate(tids, t, ["x"] * 30, cids, c, ["x"] * 40, gt, chunk_size=1024).to_dict()
    assert a == b


def test_report_outputs(tmp_path):
    r = run(meta={"dataset": "toy", "split": "fold0"})
    md = r.to_markdown()
    assert "| en | 0.25000 | 0.25000 | 0.250 | 1 | 2×4 |" in md
    assert "Best margin on this split: **0.30**" in md and "toy / fold0" in md
    r.save(tmp_path / "rep")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["best_margin"] == 0.30 and data["meta"]["dataset"] == "toy"
    for name in ("report.md", "f2_vs_margin.png", "per_language.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0
    assert EvalReport(**data).to_dict() == data


def toy_dataset():
    topics = pd.DataFrame({
        "id": ["r", "a", "b", "c"], "title": ["Root", "Alpha", "Beta", "Gamma"], "description": "",
        "language": "en", "parent": ["", "r", "r", "r"], "channel": "ch",
    })
    content = pd.DataFrame({"id": ["x", "y", "z"], "title": ["Alpha page", "Beta page", "Gamma page"],
                            "description": "", "text": "", "language": "en"})
    correlations = pd.DataFrame({"topic_id": ["a", "b", "c"], "content_ids": ["x", "y z", "z"]})
    return Dataset(topics, content, correlations, name="toy")


def test_evaluation_set_and_evaluate_split():
    ds = toy_dataset()
    splits, _ = make_splits(ds)
    es = evaluation_set(ds, splits, "all")
    assert es.topic_ids == ["a", "b", "c"] and es.gt["b"] == {"y", "z"} and es.topic_lang == ["en"] * 3
    es0 = evaluation_set(ds, splits, "fold0")
    assert set(es0.topic_ids) | set(es0.train_topic_ids) == {"a", "b", "c"}
    assert not set(es0.topic_ids) & set(es0.train_topic_ids)

    # an "oracle" encoder: one axis per Greek letter, so each topic matches its own page exactly
    def encode(texts):
        keys = ["Alpha", "Beta", "Gamma"]
        return np.array([[float(t.startswith(k)) for k in keys] for t in texts], dtype=np.float32)

    report = evaluate_split(ds, "all", encode, encode, splits=splits, sweep=False)
    # a: {x} exact; b: selects only y of {y, z} -> P 1, R 1/2, F2 5/9; c: {z} exact
    assert report.f2 == pytest.approx((1 + 5 * 0.5 / (4 + 0.5) + 1) / 3)
    assert report.meta == {"dataset": "toy", "split": "all"}
