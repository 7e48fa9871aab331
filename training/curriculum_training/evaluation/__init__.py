"""Evaluation: Contract 4 selection, metrics and reports.

    selection.py  select / select_by_language / ensemble_embeddings (Contract 4; also used by mining)
    metrics.py    per-topic F2/P/R at a margin; recall@k, P/R/F1@5, MRR on ranked candidates
    evaluate.py   evaluate(...) → EvalReport (language-matched pools, chunked, margin sweep)
    report.py     EvalReport: .to_dict(), .to_markdown(), .save(folder) (JSON, Markdown, PNG plots)
    datasets.py   evaluation_set(ds, splits, "fold0" | "group" | "all"), evaluate_split(...)

The selection names are importable without pulling pandas/matplotlib: `from .selection import select`.
"""
from .selection import (  # noqa: F401
    cut_length,
    cut_lengths,
    ensemble_embeddings,
    l2_normalize,
    ranked_candidates,
    select,
    select_by_language,
    select_ensemble,
)
from .evaluate import SWEEP_MARGINS, evaluate  # noqa: F401
from .report import EvalReport  # noqa: F401
from .datasets import EvalSet, content_pool, evaluate_split, evaluation_set, ground_truth  # noqa: F401
