"""Train/evaluation splits for a LECR dataset: the seed's 10 folds and a whole-group hold-out.

Writes ``<dataset>/splits.csv`` with one row per topic of topics.csv:

    topic_id       the topic
    fold           0..9 from the seed's greedy split (seed-algorithm.md §1.3); -1 = topic without content
    group          the hold-out family the topic belongs to (see below)
    group_holdout  1 if the topic's family is held out for evaluation, else 0

Fold split (exactly the seed's ``cv_split.py``, quirk included): per topic language, each correlated
topic t in correlations.csv order yields the group R(t) = t plus every same-language topic sharing a
content with it; R goes to the fold with the fewest of R's topics already in it (ties: the smallest
fold, then the lowest index), only R's still-unassigned topics are added, and all of R is marked used.
This spreads later-found neighbours of a placed topic to *other* folds (A{c1}, B{c1,c2}, C{c2} →
A, B in fold 0, C in fold 1); it is reproduced on purpose so fold 0 matches the seed's fold 0.

Group split: a "group" is the channel when the dataset has several channels (Oak subjects, OpenStax
books), else the root when it has several roots, else the depth-1 ancestor under the single root
(KICD: "Form 1", "Form 2"). Groups whose text is a translation of each other (calculus/calculo,
university-physics/fizyka) are merged into one *family*, or the held-out text would leak through its
translation: the switch pools say which, because a translated row carries the text of its counterpart
in the other book. A switch row of item X (group a) whose translated title matches exactly one
original item Y of that language (group b) counts one vote for a~b; a and b merge when they share at
least 2 votes and those make at least 10% of a's (or b's) uniquely matched rows.

Held-out families: the families in a fixed pseudo-random order (SHA-256 of the family name, so the
choice is deterministic but neither size- nor name-ordered); walking that order, a family is held out
when that keeps the held-out share of correlated topics within 25%, until it reaches 20%. If no
family fits (every family is larger than 25%), the smallest family is held out. A dataset with a
single family gets no group hold-out (group_holdout all 0, with a warning).

CLI: ``python -m curriculum_training.splits --data data`` processes every dataset folder in data/.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import pandas as pd

from .data.lecr import Dataset, DatasetError, read_dataset

N_FOLDS = 10
NO_FOLD = -1
HOLDOUT_TARGET = 0.20  # share of correlated topics to hold out
HOLDOUT_MAX = 0.25  # never exceed this by adding a family (unless the single-family fallback applies)
FAMILY_MIN_VOTES = 2
FAMILY_MIN_SHARE = 0.10
SPLITS_FILE = "splits.csv"
SPLIT_COLUMNS = ["topic_id", "fold", "group", "group_holdout"]


# ------------------------------------------------------------------------------------ seed folds
def _correlation_pairs(correlations: pd.DataFrame, source: str = "correlations.csv") -> List[Tuple[str, List[str]]]:
    pairs = []
    for row, (t, ids) in enumerate(zip(correlations["topic_id"].astype(str), correlations["content_ids"].astype(str))):
        if not t:
            raise DatasetError(f"{source}: row {row + 2} has an empty topic_id")
        pairs.append((t, ids.split()))
    return pairs


def seed_folds(correlations: pd.DataFrame, topic_language: Mapping[str, str], n_folds: int = N_FOLDS) -> Dict[str, int]:
    """topic_id → fold for every topic of correlations.csv that has at least one content id.

    seed-algorithm.md §1.3, reproduced step by step (see the module docstring)."""
    by_language: Dict[str, List[Tuple[str, List[str]]]] = defaultdict(list)
    languages: List[str] = []  # first-appearance order, as pandas' unique()
    for t, contents in _correlation_pairs(correlations):
        if not contents:
            continue  # no content: fold -1 (the seed never sees such rows in Kaggle's data)
        if t not in topic_language:
            raise DatasetError(f"correlations.csv: topic {t!r} is not in topics.csv")
        lang = topic_language[t]
        if lang not in by_language:
            languages.append(lang)
        by_language[lang].append((t, contents))

    fold_of: Dict[str, int] = {}
    for lang in languages:
        topic2content: Dict[str, Set[str]] = {}
        content2topics: Dict[str, Set[str]] = defaultdict(set)
        for t, contents in by_language[lang]:
            topic2content[t] = set(contents)  # a repeated topic row keeps its first position, last contents
            for c in contents:
                content2topics[c].add(t)
        folds: List[Set[str]] = [set() for _ in range(n_folds)]
        sizes = [0] * n_folds
        used: Set[str] = set()
        for t, contents in topic2content.items():
            related: Set[str] = set()
            for c in contents:
                related |= content2topics[c]
            overlap = [len(folds[i] & related) for i in range(n_folds)]
            lowest = min(overlap)
            # among the least-overlapping folds, the smallest; min() keeps the lowest index on ties
            best = min((i for i in range(n_folds) if overlap[i] == lowest), key=lambda i: sizes[i])
            to_add = related - used
            folds[best] |= to_add
            sizes[best] += len(to_add)
            used |= related
        for i, members in enumerate(folds):
            for t in members:
                fold_of[t] = i
    return fold_of


# ------------------------------------------------------------------------------------ groups
def _root_path(topic_id: str, parent_of: Mapping[str, str]) -> List[str]:
    """[topic, parent, …, root] (stops at a missing parent or a cycle)."""
    path, seen = [topic_id], {topic_id}
    p = parent_of.get(topic_id, "")
    while p and p not in seen and p in parent_of:
        path.append(p)
        seen.add(p)
        p = parent_of.get(p, "")
    return path


def topic_groups(topics: pd.DataFrame) -> Tuple[Dict[str, str], str]:
    """topic_id → group, and the rule used ("channel", "root" or "depth-1")."""
    ids = topics["id"].astype(str).tolist()
    parent_of = dict(zip(ids, topics["parent"].astype(str).tolist()))
    channels = topics["channel"].astype(str).tolist() if "channel" in topics.columns else [""] * len(ids)
    if len({c for c in channels if c}) > 1:
        missing = [i for i, c in zip(ids, channels) if not c]
        if missing:
            raise DatasetError(f"topics.csv: topic {missing[0]!r} has no channel while others do ({len(missing)} such)")
        return dict(zip(ids, channels)), "channel"
    paths = {i: _root_path(i, parent_of) for i in ids}
    roots = {p[-1] for p in paths.values()}
    if len(roots) > 1:
        return {i: p[-1] for i, p in paths.items()}, "root"
    # single tree: the ancestor right under the root (the root itself is its own group)
    return {i: (p[-2] if len(p) >= 2 else p[-1]) for i, p in paths.items()}, "depth-1"


def group_titles(topics: pd.DataFrame, group_of: Mapping[str, str]) -> Dict[str, str]:
    """group → a readable title: the group's own topic title (depth-1/root groups) or the title of the
    channel's root topic(s) (channel groups)."""
    title = dict(zip(topics["id"].astype(str), topics["title"].astype(str)))
    roots: Dict[str, List[str]] = defaultdict(list)
    for i, p in zip(topics["id"].astype(str), topics["parent"].astype(str)):
        if not p:
            roots[group_of[i]].append(title[i])
    return {g: title[g] if g in title else " / ".join(roots.get(g, [])) or g for g in set(group_of.values())}


def _norm_title(s: object) -> str:
    return " ".join(str(s).split()).casefold()


class _UnionFind:
    def __init__(self, items: Iterable[str]):
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller name becomes the representative (deterministic)
            self.parent[max(ra, rb)] = min(ra, rb)


def translation_votes(ds: Dataset, group_of_topic: Mapping[str, str]) -> Counter:
    """Counter over (group a, group b, a != b): switch rows of a whose translated title uniquely matches
    an original item of b (topics directly; content through the groups of the topics linking it)."""
    groups_of_content: Dict[str, Set[str]] = defaultdict(set)
    for t, contents in _correlation_pairs(ds.correlations):
        g = group_of_topic.get(t)
        if g is not None:
            for c in contents:
                groups_of_content[c].add(g)

    def index(frame: pd.DataFrame) -> Dict[Tuple[str, str], List[str]]:
        out: Dict[Tuple[str, str], List[str]] = defaultdict(list)
        for i, lang, title in zip(frame["id"].astype(str), frame["language"].astype(str), frame["title"]):
            key = _norm_title(title)
            if key:
                out[(lang, key)].append(i)
        return out

    topic_index, content_index = index(ds.topics), index(ds.content)
    votes: Counter = Counter()
    for switch_topics, switch_content in ds.switch.values():
        for frame, idx, groups_of in (
            (switch_topics, topic_index, lambda i: {group_of_topic[i]} if i in group_of_topic else set()),
            (switch_content, content_index, lambda i: groups_of_content.get(i, set())),
        ):
            for i, lang, title in zip(frame["id"].astype(str), frame["language_t"].astype(str), frame["title"]):
                match = idx.get((lang, _norm_title(title)), [])
                if len(match) != 1 or match[0] == i:
                    continue  # ambiguous title, or the row was not translated
                for a in groups_of(i):
                    for b in groups_of(match[0]):
                        if a != b:
                            votes[(a, b)] += 1
    return votes


def group_families(groups: Iterable[str], votes: Counter) -> Dict[str, str]:
    """group → family name ("a+b" for merged groups, members sorted)."""
    groups = sorted(set(groups))
    uf = _UnionFind(groups)
    outgoing: Counter = Counter()
    for (a, _), n in votes.items():
        outgoing[a] += n
    pair_votes: Counter = Counter()
    for (a, b), n in votes.items():
        pair_votes[tuple(sorted((a, b)))] += n
    for (a, b), n in sorted(pair_votes.items()):
        if a not in uf.parent or b not in uf.parent or n < FAMILY_MIN_VOTES:
            continue
        share = max(n / max(outgoing[a], 1), n / max(outgoing[b], 1))
        if share >= FAMILY_MIN_SHARE:
            uf.union(a, b)
    members: Dict[str, List[str]] = defaultdict(list)
    for g in groups:
        members[uf.find(g)].append(g)
    name = {root: "+".join(sorted(ms)) for root, ms in members.items()}
    return {g: name[uf.find(g)] for g in groups}


def _family_order_key(family: str) -> str:
    return hashlib.sha256(family.encode("utf-8")).hexdigest()


def choose_holdout(family_sizes: Mapping[str, int], target: float = HOLDOUT_TARGET,
                   max_share: float = HOLDOUT_MAX) -> List[str]:
    """Families to hold out (rule in the module docstring). family_sizes counts correlated topics."""
    sizes = {f: n for f, n in family_sizes.items() if n > 0}
    total = sum(sizes.values())
    if len(sizes) < 2 or total == 0:
        return []
    held: List[str] = []
    held_n = 0
    for f in sorted(sizes, key=_family_order_key):
        if held_n >= target * total:
            break
        if held_n + sizes[f] <= max_share * total:
            held.append(f)
            held_n += sizes[f]
    if not held:
        held = [min(sizes, key=lambda f: (sizes[f], f))]
    return sorted(held)


# ------------------------------------------------------------------------------------ the table
def make_splits(ds: Dataset, n_folds: int = N_FOLDS) -> Tuple[pd.DataFrame, dict]:
    """The splits table (SPLIT_COLUMNS, topics.csv order) and a summary dict for printing/docs."""
    topic_ids = ds.topics["id"].astype(str).tolist()
    language = dict(zip(topic_ids, ds.topics["language"].astype(str)))
    fold_of = seed_folds(ds.correlations, language, n_folds)
    group_of, rule = topic_groups(ds.topics)
    family_of_group = group_families(group_of.values(), translation_votes(ds, group_of))
    family_of = {t: family_of_group[g] for t, g in group_of.items()}
    family_sizes = Counter(family_of[t] for t in fold_of)
    titles = group_titles(ds.topics, group_of)
    family_titles: Dict[str, List[str]] = defaultdict(list)
    for g in sorted(family_of_group):
        family_titles[family_of_group[g]].append(titles[g])
    held = set(choose_holdout(family_sizes))
    table = pd.DataFrame({
        "topic_id": topic_ids,
        "fold": [fold_of.get(t, NO_FOLD) for t in topic_ids],
        "group": [family_of[t] for t in topic_ids],
        "group_holdout": [int(family_of[t] in held) for t in topic_ids],
    })
    n_corr = len(fold_of)
    summary = {
        "dataset": ds.name,
        "topics": len(topic_ids),
        "correlated_topics": n_corr,
        "fold_sizes": [sum(1 for f in fold_of.values() if f == i) for i in range(n_folds)],
        "group_rule": rule,
        "families": {f: family_sizes.get(f, 0) for f in sorted(set(family_of.values()))},
        "family_titles": {f: " + ".join(ts) for f, ts in sorted(family_titles.items())},
        "held_out": sorted(held),
        "held_out_topics": sum(family_sizes[f] for f in held),
        "held_out_share": (sum(family_sizes[f] for f in held) / n_corr) if n_corr else 0.0,
    }
    return table, summary


def write_splits(table: pd.DataFrame, folder: Path | str) -> Path:
    path = Path(folder) / SPLITS_FILE
    table[SPLIT_COLUMNS].to_csv(path, index=False, lineterminator="\n")
    return path


def read_splits(folder: Path | str) -> pd.DataFrame:
    """splits.csv as a DataFrame (fold int, group str, group_holdout bool)."""
    path = Path(folder) / SPLITS_FILE
    if not path.exists():
        raise DatasetError(f"{path}: file not found (run `python -m curriculum_training.splits --data <data dir>`)")
    df = pd.read_csv(path, dtype={"topic_id": str, "group": str}, keep_default_na=False)
    missing = [c for c in SPLIT_COLUMNS if c not in df.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    df["fold"] = df["fold"].astype(int)
    df["group_holdout"] = df["group_holdout"].astype(int).astype(bool)
    return df


def split_topic_ids(splits: pd.DataFrame, spec: str) -> Tuple[List[str], List[str]]:
    """(training topic ids, evaluation topic ids) for a split spec; topics without content are in neither.

    spec: "fold<k>" (evaluate fold k, train on the other folds), "group" (evaluate the held-out
    families, train on the rest) or "all" (train and evaluate on every correlated topic)."""
    correlated = splits[splits["fold"] != NO_FOLD]
    if spec == "group":
        held = correlated["group_holdout"].astype(bool)
        if not held.any():
            raise ValueError("split 'group': this dataset has no held-out group (a single family)")
        evaluate = held
    elif spec.startswith("fold") and spec[4:].isdigit():
        k = int(spec[4:])
        if k not in set(correlated["fold"]):
            raise ValueError(f"split {spec!r}: no topic has fold {k}")
        evaluate = correlated["fold"] == k
    elif spec == "all":
        ids = correlated["topic_id"].tolist()
        return ids, ids
    else:
        raise ValueError(f"unknown split {spec!r}: use 'fold<k>' (e.g. fold0), 'group' or 'all'")
    return correlated.loc[~evaluate, "topic_id"].tolist(), correlated.loc[evaluate, "topic_id"].tolist()


def dataset_folders(data_dir: Path) -> List[Path]:
    return sorted(p for p in data_dir.iterdir() if (p / "topics.csv").exists() and (p / "correlations.csv").exists())


def format_summary(s: dict) -> str:
    lines = [
        f"{s['dataset']}: {s['topics']} topics, {s['correlated_topics']} with content",
        f"  folds (topics per fold 0..9): {' '.join(map(str, s['fold_sizes']))}",
        f"  groups by {s['group_rule']}: {sum(1 for n in s['families'].values() if n)} families with content",
    ]
    for f, n in s["families"].items():
        if n == 0:
            continue  # e.g. the root of a single tree: no content, in no split
        mark = "  <- held out" if f in s["held_out"] else ""
        lines.append(f"    {f} ({s['family_titles'][f]}): {n}{mark}")
    lines.append(f"  group hold-out: {s['held_out_topics']} topics ({100 * s['held_out_share']:.1f}%)")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Write <dataset>/splits.csv (seed 10-fold + group hold-out) "
                                             "for every dataset folder under --data.")
    ap.add_argument("--data", default="data", help="folder holding dataset folders (default: data)")
    ap.add_argument("--only", nargs="*", help="dataset folder names to process (default: all)")
    args = ap.parse_args(argv)
    data_dir = Path(args.data)
    if not data_dir.is_dir():
        print(f"splits: {data_dir} is not a folder", file=sys.stderr)
        return 2
    folders = [p for p in dataset_folders(data_dir) if not args.only or p.name in args.only]
    if not folders:
        print(f"splits: no dataset folder (with topics.csv and correlations.csv) under {data_dir}", file=sys.stderr)
        return 2
    for folder in folders:
        table, summary = make_splits(read_dataset(folder))
        path = write_splits(table, folder)
        print(format_summary(summary))
        if not summary["held_out"]:
            print(f"  warning: {folder.name} has a single family; no group hold-out", file=sys.stderr)
        print(f"  wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
