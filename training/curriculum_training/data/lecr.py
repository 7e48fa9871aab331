"""The canonical dataset format (Contract 1): Kaggle LECR's three CSVs, plus optional switch pools.

    <dataset>/topics.csv        id,title,description,channel,category,level,language,parent,has_content
    <dataset>/content.csv       id,title,description,kind,text,language,copyright_holder,license
    <dataset>/correlations.csv  topic_id,content_ids   (content ids space-separated)
    <dataset>/switch/topics_N.csv, content_N.csv   translated pools (same ids, `language_t`)

Converters write through `write_dataset` so every dataset has the same columns, order and encoding.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import pandas as pd

TOPIC_COLUMNS = ["id", "title", "description", "channel", "category", "level", "language", "parent", "has_content"]
CONTENT_COLUMNS = ["id", "title", "description", "kind", "text", "language", "copyright_holder", "license"]
CORRELATION_COLUMNS = ["topic_id", "content_ids"]
SWITCH_TOPIC_COLUMNS = ["id", "title", "description", "parent", "language_t"]
SWITCH_CONTENT_COLUMNS = ["id", "title", "description", "text", "language_t"]


class DatasetError(ValueError):
    """Malformed input; the message names the file and the record."""


@dataclass
class Dataset:
    topics: pd.DataFrame
    content: pd.DataFrame
    correlations: pd.DataFrame
    # pool number → (topics, content); pool 0 is the original text and is not stored here
    switch: Dict[int, tuple] = field(default_factory=dict)
    name: str = ""
    # what a converter left out or merged, e.g. {"front/back-matter pages left out": 84}; printed, not written
    notes: Dict[str, int] = field(default_factory=dict)

    def topic2content(self) -> Dict[str, List[str]]:
        return {t: c.split() for t, c in zip(self.correlations["topic_id"], self.correlations["content_ids"])}


def _read(path: Path, columns: List[str]) -> pd.DataFrame:
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def read_dataset(folder: Path | str, with_switch: bool = True) -> Dataset:
    folder = Path(folder)
    topics = _read(folder / "topics.csv", ["id", "title", "description", "language", "parent"])
    content = _read(folder / "content.csv", ["id", "title", "description", "text", "language"])
    correlations = _read(folder / "correlations.csv", CORRELATION_COLUMNS)
    if "level" in topics.columns:
        topics["level"] = pd.to_numeric(topics["level"], errors="coerce").fillna(0).astype(int)
    switch = {}
    if with_switch and (folder / "switch").is_dir():
        for p in sorted((folder / "switch").glob("topics_*.csv")):
            n = int(p.stem.split("_")[1])
            if n == 0:
                continue
            st = _read(p, SWITCH_TOPIC_COLUMNS)
            sc = _read(folder / "switch" / f"content_{n}.csv", SWITCH_CONTENT_COLUMNS)
            switch[n] = (st, sc)
    return Dataset(topics, content, correlations, switch, folder.name)


def write_dataset(ds: Dataset, folder: Path | str) -> None:
    """Deterministic output: fixed column order, rows sorted by id, UTF-8, '\\n' line endings."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def out(df: pd.DataFrame, columns: List[str], path: Path, sort: Optional[str]) -> None:
        df = df.copy()
        for c in columns:
            if c not in df.columns:
                df[c] = ""
        df = df[columns]
        if sort:
            df = df.sort_values(sort, kind="mergesort")
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False, lineterminator="\n")

    out(ds.topics, TOPIC_COLUMNS, folder / "topics.csv", "id")
    out(ds.content, CONTENT_COLUMNS, folder / "content.csv", "id")
    out(ds.correlations, CORRELATION_COLUMNS, folder / "correlations.csv", "topic_id")
    for n, (st, sc) in sorted(ds.switch.items()):
        out(st, SWITCH_TOPIC_COLUMNS, folder / "switch" / f"topics_{n}.csv", "id")
        out(sc, SWITCH_CONTENT_COLUMNS, folder / "switch" / f"content_{n}.csv", "id")


# ------------------------------------------------------------------ helpers shared by the converters

_WHITESPACE = re.compile(r"\s+")


def normalize_space(value: object) -> str:
    """Every run of whitespace (line breaks, tabs, indentation of multi-line literals) → one space."""
    if value is None:
        return ""
    return _WHITESPACE.sub(" ", str(value)).strip()


def build_dataset(
    topics: Sequence[Mapping[str, object]],
    content: Sequence[Mapping[str, object]],
    links: Mapping[str, Iterable[str]],
    name: str = "",
) -> Dataset:
    """Frames from plain rows. `links` maps topic id → content ids (order kept, duplicates dropped);
    `has_content` is derived from the links so it can never disagree with correlations.csv."""
    link_lists = {}
    for topic_id, content_ids in links.items():
        unique = list(dict.fromkeys(content_ids))
        if unique:
            link_lists[topic_id] = unique
    topic_frame = pd.DataFrame(list(topics), columns=TOPIC_COLUMNS)
    topic_frame["level"] = topic_frame["level"].astype(int)
    topic_frame["has_content"] = [str(i in link_lists) for i in topic_frame["id"]]
    content_frame = pd.DataFrame(list(content), columns=CONTENT_COLUMNS)
    correlations = pd.DataFrame(
        [(t, " ".join(c)) for t, c in link_lists.items()], columns=CORRELATION_COLUMNS
    )
    return Dataset(topic_frame, content_frame, correlations, {}, name)


def check_dataset(ds: Dataset, source: str) -> None:
    """Referential integrity every dataset must have; `source` names where the rows came from."""
    for frame, what in ((ds.topics, "topic"), (ds.content, "content")):
        ids = frame["id"].astype(str)
        if (ids == "").any():
            raise DatasetError(f"{source}: a {what} row has an empty id (row {int((ids == '').to_numpy().argmax()) + 1})")
        dup = ids[ids.duplicated()]
        if len(dup):
            raise DatasetError(f"{source}: duplicate {what} id {dup.iloc[0]!r}")
    topic_ids = set(ds.topics["id"])
    content_ids = set(ds.content["id"])
    for topic_id, parent in zip(ds.topics["id"], ds.topics["parent"]):
        if parent and parent not in topic_ids:
            raise DatasetError(f"{source}: topic {topic_id!r} has unknown parent {parent!r}")
    for topic_id, items in zip(ds.correlations["topic_id"], ds.correlations["content_ids"]):
        if topic_id not in topic_ids:
            raise DatasetError(f"{source}: correlations name unknown topic {topic_id!r}")
        for content_id in str(items).split():
            if content_id not in content_ids:
                raise DatasetError(f"{source}: topic {topic_id!r} links unknown content {content_id!r}")


def dataset_counts(ds: Dataset) -> Dict[str, object]:
    """The figures every converter prints: topics, topics with content, content items, links, languages."""
    links = sum(len(str(c).split()) for c in ds.correlations["content_ids"])
    with_content = int((ds.correlations["content_ids"].astype(str).str.strip() != "").sum())
    languages = sorted(set(ds.topics["language"].astype(str)) | set(ds.content["language"].astype(str)))
    return {
        "topics": int(len(ds.topics)),
        "topics_with_content": with_content,
        "content": int(len(ds.content)),
        "links": int(links),
        "languages": languages,
        "switch_pools": sorted(ds.switch),
    }


def format_counts(name: str, counts: Mapping[str, object]) -> str:
    pools = counts.get("switch_pools") or []
    extra = f", switch pools {','.join(str(p) for p in pools)}" if pools else ""
    return (
        f"{name}: {counts['topics']:,} topics ({counts['topics_with_content']:,} with content), "
        f"{counts['content']:,} content items, {counts['links']:,} links, "
        f"languages {' '.join(counts['languages'])}{extra}"
    )
