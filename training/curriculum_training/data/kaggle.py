"""Kaggle LECR CSVs (topics.csv, content.csv, correlations.csv; downloaded by the user from Kaggle)
→ the canonical dataset, normalised as the seed's data_preparation.py does (seed-algorithm.md §1.4):

  * missing title / description / text → "" (the CSVs are read as text, nothing becomes NaN);
  * in every string column, "\\r\\n" and then "\\n" → one space (`text.one_line`);
  * `clean` on title and description, `clean_and_cut` on content text (Contract 2 helpers).

Columns are validated, ids must be unique, and correlations must only name known topics and content
(topic parents too): anything else is a DatasetError naming the file, the row and the id.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import pandas as pd

from ..text import clean, clean_and_cut, one_line
from .lecr import (
    CONTENT_COLUMNS, CORRELATION_COLUMNS, TOPIC_COLUMNS, Dataset, DatasetError,
)


def _read_csv(path: Path, columns: List[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: not a readable CSV: {err}") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(frame.columns)})")
    return frame


def _row(index: int) -> str:
    """Data rows are numbered from 1 (the header is not a row)."""
    return f"row {index + 1}"


def _unique_ids(frame: pd.DataFrame, column: str, path: Path) -> None:
    ids = frame[column]
    empty = ids.str.strip() == ""
    if empty.any():
        raise DatasetError(f"{path}: {_row(int(empty.to_numpy().argmax()))}: empty {column}")
    duplicated = ids.duplicated()
    if duplicated.any():
        index = int(duplicated.to_numpy().argmax())
        raise DatasetError(f"{path}: {_row(index)}: duplicate {column} {ids.iloc[index]!r}")


def convert_kaggle(source: Path | str) -> Dataset:
    source = Path(source)
    topics_path, content_path, links_path = (source / f"{n}.csv" for n in ("topics", "content", "correlations"))
    topics = _read_csv(topics_path, TOPIC_COLUMNS)
    content = _read_csv(content_path, CONTENT_COLUMNS)
    correlations = _read_csv(links_path, CORRELATION_COLUMNS)

    for frame in (topics, content, correlations):
        for column in frame.columns:
            frame[column] = frame[column].map(one_line)
    for frame in (topics, content):
        frame["title"] = frame["title"].map(clean)
        frame["description"] = frame["description"].map(clean)
    content["text"] = content["text"].map(clean_and_cut)

    _unique_ids(topics, "id", topics_path)
    _unique_ids(content, "id", content_path)
    _unique_ids(correlations, "topic_id", links_path)
    levels = pd.to_numeric(topics["level"], errors="coerce")
    if levels.isna().any():
        index = int(levels.isna().to_numpy().argmax())
        raise DatasetError(f"{topics_path}: {_row(index)} (id {topics['id'].iloc[index]!r}): level {topics['level'].iloc[index]!r} is not a number")
    topics["level"] = levels.astype(int)

    topic_ids = set(topics["id"])
    content_ids = set(content["id"])
    for index, (topic_id, parent) in enumerate(zip(topics["id"], topics["parent"])):
        if parent and parent not in topic_ids:
            raise DatasetError(f"{topics_path}: {_row(index)} (id {topic_id!r}): unknown parent {parent!r}")
    for index, (topic_id, items) in enumerate(zip(correlations["topic_id"], correlations["content_ids"])):
        if topic_id not in topic_ids:
            raise DatasetError(f"{links_path}: {_row(index)}: unknown topic_id {topic_id!r} (not in {topics_path.name})")
        if not items.split():
            raise DatasetError(f"{links_path}: {_row(index)} (topic_id {topic_id!r}): empty content_ids")
        for content_id in items.split():
            if content_id not in content_ids:
                raise DatasetError(f"{links_path}: {_row(index)} (topic_id {topic_id!r}): unknown content id {content_id!r} (not in {content_path.name})")
    correlations["content_ids"] = correlations["content_ids"].map(lambda s: " ".join(s.split()))
    return Dataset(topics, content, correlations, {}, name=source.name)
