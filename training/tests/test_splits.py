import pandas as pd
import pytest

from curriculum_training.data.lecr import Dataset, DatasetError, write_dataset
from curriculum_training.splits import (
    choose_holdout,
    main,
    make_splits,
    read_splits,
    seed_folds,
    split_topic_ids,
    topic_groups,
)


def corr(rows):
    return pd.DataFrame({"topic_id": [t for t, _ in rows], "content_ids": [" ".join(c) for _, c in rows]})


def topics_frame(rows):
    """rows: (id, title, language, parent, channel)"""
    df = pd.DataFrame(rows, columns=["id", "title", "language", "parent", "channel"])
    df["description"] = ""
    return df


def content_frame(rows):
    """rows: (id, title, language)"""
    df = pd.DataFrame(rows, columns=["id", "title", "language"])
    df["description"] = ""
    df["text"] = ""
    return df


def test_seed_quirk_toy_trace():
    folds = seed_folds(corr([("A", ["c1"]), ("B", ["c1", "c2"]), ("C", ["c2"])]), {"A": "en", "B": "en", "C": "en"})
    assert folds == {"A": 0, "B": 0, "C": 1}


def test_languages_are_split_independently_and_balanced():
    rows = [(f"e{i}", [f"x{i}"]) for i in range(20)] + [(f"f{i}", [f"x{i}"]) for i in range(3)]
    lang = {t: ("en" if t.startswith("e") else "fr") for t, _ in rows}
    folds = seed_folds(corr(rows), lang)
    # English topics share no content among themselves: 20 singletons fill folds 0..9 twice
    assert [sum(folds[f"e{i}"] == k for i in range(20)) for k in range(10)] == [2] * 10
    # French topics share content with English ones, but grouping is within a language: folds 0, 1, 2
    assert [folds[f"f{i}"] for i in range(3)] == [0, 1, 2]


def test_neighbour_found_later_goes_to_a_different_fold():
    # R(T1) = {T1, X} lands in fold 0 first; T2, T3 take folds 1, 2; R(X) = {T1, X, Y} overlaps fold 0,
    # so its one new topic Y goes to the smallest zero-overlap fold (3), away from X: the seed's quirk
    rows = [("T1", ["a"]), ("T2", ["b"]), ("T3", ["c"]), ("X", ["a", "z"]), ("Y", ["z"])]
    folds = seed_folds(corr(rows), {t: "en" for t, _ in rows})
    assert folds == {"T1": 0, "X": 0, "T2": 1, "T3": 2, "Y": 3}


def test_topics_without_content_get_no_fold_and_unknown_topics_are_rejected():
    ds = Dataset(
        topics_frame([("r", "Root", "en", "", "ch"), ("a", "A", "en", "r", "ch"), ("b", "B", "en", "r", "ch")]),
        content_frame([("c1", "C1", "en")]),
        corr([("a", ["c1"])]),
        name="toy",
    )
    table, _ = make_splits(ds)
    assert dict(zip(table["topic_id"], table["fold"])) == {"r": -1, "a": 0, "b": -1}
    with pytest.raises(DatasetError, match="'zz' is not in topics.csv"):
        seed_folds(corr([("zz", ["c1"])]), {"a": "en"})


def test_group_rules_channel_else_depth1_ancestor():
    multi = topics_frame([("r1", "R1", "en", "", "math"), ("x", "X", "en", "r1", "math"),
                          ("r2", "R2", "en", "", "art")])
    groups, rule = topic_groups(multi)
    assert rule == "channel" and groups == {"r1": "math", "x": "math", "r2": "art"}
    single = topics_frame([("r", "R", "en", "", "k"), ("f1", "Form 1", "en", "r", "k"),
                           ("u", "Unit", "en", "f1", "k"), ("l", "Lesson", "en", "u", "k"),
                           ("f2", "Form 2", "en", "r", "k")])
    groups, rule = topic_groups(single)
    assert rule == "depth-1"
    assert groups == {"r": "r", "f1": "f1", "u": "f1", "l": "f1", "f2": "f2"}


def translated_dataset():
    """Three books: calc (en) and calcul (es) are translations; stats (en) is not. Chapter titles are
    unique, so the switch pool (en rows carry the es text and vice versa) aligns calc with calcul."""
    topics, content, links, sw_t, sw_c = [], [], [], [], []
    chapters = {"calc": ["Limits", "Derivatives", "Integrals"], "calcul": ["Límites", "Derivadas", "Integrales"],
                "stats": ["Sampling", "Variance", "Regression", "Tests", "Bayes", "Anova", "Chi", "Mean"]}
    lang = {"calc": "en", "calcul": "es", "stats": "en"}
    for book, titles in chapters.items():
        topics.append((book, book.title(), lang[book], "", book))
        for i, t in enumerate(titles):
            tid, cid = f"{book}-{i}", f"{book}-p{i}"
            topics.append((tid, t, lang[book], book, book))
            content.append((cid, f"Page about {t}", lang[book]))
            links.append((tid, [cid]))
    for i in range(3):
        for src, dst in (("calc", "calcul"), ("calcul", "calc")):
            sw_t.append((f"{src}-{i}", chapters[dst][i], "", src, lang[dst]))
            sw_c.append((f"{src}-p{i}", f"Page about {chapters[dst][i]}", "", "", lang[dst]))
    switch = {1: (pd.DataFrame(sw_t, columns=["id", "title", "description", "parent", "language_t"]),
                  pd.DataFrame(sw_c, columns=["id", "title", "description", "text", "language_t"]))}
    return Dataset(topics_frame(topics), content_frame(content), corr(links), switch, name="books")


def test_translations_form_one_family_and_holdout_is_deterministic():
    table, summary = make_splits(translated_dataset())
    groups = dict(zip(table["topic_id"], table["group"]))
    assert groups["calc-0"] == groups["calcul-2"] == "calc+calcul"
    assert groups["stats-1"] == "stats"
    assert summary["families"] == {"calc+calcul": 6, "stats": 8}
    assert summary["family_titles"]["calc+calcul"] == "Calc + Calcul"
    # both families exceed 25% of 14 correlated topics -> the smallest family is held out
    assert summary["held_out"] == ["calc+calcul"]
    held = set(table.loc[table["group_holdout"] == 1, "topic_id"])
    assert {"calc-0", "calcul-0"} <= held and "stats-0" not in held
    again, _ = make_splits(translated_dataset())
    assert again.equals(table)


def test_without_switch_pool_translations_stay_separate():
    ds = translated_dataset()
    ds.switch = {}
    table, _ = make_splits(ds)
    assert set(table["group"]) == {"calc", "calcul", "stats"}


def test_choose_holdout_targets_twenty_percent():
    sizes = {f"g{i}": 10 for i in range(10)}  # 100 topics, ten families of 10
    held = choose_holdout(sizes)
    assert len(held) == 2 and held == choose_holdout(dict(reversed(list(sizes.items()))))
    assert choose_holdout({"big": 70, "small": 30}) == ["small"]
    assert choose_holdout({"only": 50}) == []


def test_split_topic_ids_and_cli_roundtrip(tmp_path):
    ds = translated_dataset()
    write_dataset(ds, tmp_path / "books")
    assert main(["--data", str(tmp_path)]) == 0
    splits = read_splits(tmp_path / "books")
    assert list(splits.columns) == ["topic_id", "fold", "group", "group_holdout"]
    train, evaluate = split_topic_ids(splits, "group")
    assert sorted(evaluate) == sorted(f"{b}-{i}" for b in ("calc", "calcul") for i in range(3))
    assert not set(train) & set(evaluate) and len(train) == 8
    train0, eval0 = split_topic_ids(splits, "fold0")
    assert len(train0) + len(eval0) == 14 and eval0
    assert "calc" not in train0 + eval0  # the book roots have no content
    with pytest.raises(ValueError, match="unknown split"):
        split_topic_ids(splits, "nope")
