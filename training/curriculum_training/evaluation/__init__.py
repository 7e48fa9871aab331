"""Evaluation: Contract 4 selection (selection.py), metrics and reports.

Import `select`, `select_by_language`, `ensemble_embeddings` from here or from
`curriculum_training.evaluation.selection`.
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
