"""From a Dataset + splits.csv + a split spec to the evaluator's inputs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set

import numpy as np
import pandas as pd

from ..data.lecr import Dataset, DatasetError
from ..splits import read_splits, split_topic_ids
from ..text import content_strings, topic_strings
from .evaluate import evaluate
from .report import EvalReport


@dataclass
class EvalSet:
    spec: str
    topic_ids: List[str]  # evaluation topics (each has ground truth)
    topic_lang: List[str]
    gt: Dict[str, Set[str]]  # from the full correlations
    train_topic_ids: List[str]  # the complement among correlated topics (for training code)


def ground_truth(ds: Dataset) -> Dict[str, Set[str]]:
    """topic_id → set of content ids, from the full correlations (repeated rows are merged)."""
    out: Dict[str, Set[str]] = {}
    for t, ids in zip(ds.correlations["topic_id"].astype(str), ds.correlations["content_ids"].astype(str)):
        out.setdefault(t, set()).update(ids.split())
    return out


def evaluation_set(ds: Dataset, splits: pd.DataFrame, spec: str) -> EvalSet:
    """Evaluation topics, their languages and ground truth for spec ("fold0", "group", "all", …)."""
    train, held = split_topic_ids(splits, spec)
    language = dict(zip(ds.topics["id"].astype(str), ds.topics["language"].astype(str)))
    unknown = [t for t in held if t not in language]
    if unknown:
        raise DatasetError(f"{ds.name}/splits.csv: topic {unknown[0]!r} is not in topics.csv "
                           f"({len(unknown)} such); regenerate splits")
    gt = ground_truth(ds)
    held = [t for t in held if gt.get(t)]
    return EvalSet(spec, held, [language[t] for t in held], {t: gt[t] for t in held}, train)


def content_pool(ds: Dataset) -> tuple:
    """(content ids, content languages) of ALL content: the candidate pool."""
    return ds.content["id"].astype(str).tolist(), ds.content["language"].astype(str).tolist()


Encoder = Callable[[List[str]], np.ndarray]  # texts → L2-normalised rows (dense or scipy sparse)


def evaluate_split(ds: Dataset, spec: str, encode_topics: Encoder, encode_content: Encoder,
                   splits: Optional[pd.DataFrame] = None, splits_folder=None, **kw) -> EvalReport:
    """Encode the split's topics and all content with the given encoders (Contract 2 texts) and evaluate.

    splits: the splits table, or read from splits_folder/splits.csv. Extra keywords go to `evaluate`."""
    if splits is None:
        if splits_folder is None:
            raise ValueError("evaluate_split: pass splits or splits_folder")
        splits = read_splits(splits_folder)
    es = evaluation_set(ds, splits, spec)
    t_text, c_text = topic_strings(ds.topics), content_strings(ds.content)
    c_ids, c_lang = content_pool(ds)
    topic_emb = encode_topics([t_text[t] for t in es.topic_ids])
    content_emb = encode_content([c_text[c] for c in c_ids])
    meta = {"dataset": ds.name, "split": spec, **kw.pop("meta", {})}
    return evaluate(es.topic_ids, topic_emb, es.topic_lang, c_ids, content_emb, c_lang, es.gt, meta=meta, **kw)
