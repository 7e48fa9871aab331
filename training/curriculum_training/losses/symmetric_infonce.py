"""Symmetric InfoNCE with label smoothing (seed-algorithm.md §4).

For B aligned pairs (t_i, c_i): T, C = L2-normalised features, S = s · T Cᵀ with s = exp(logit_scale),
    L = ½ [ CE_ls(S, diag) + CE_ls(Sᵀ, diag) ]
where CE_ls is cross-entropy with label smoothing ε: target 1 − ε on the diagonal plus ε/B on every
column (torch's definition). Every other in-batch item is a negative, in both directions.

The similarity matrix and the softmax are computed in float32 whatever the autocast dtype: with a
scale of ~14–100 and B up to 512, fp16 logits would lose the small differences that carry the gradient.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def symmetric_infonce(topic_feats: Tensor, content_feats: Tensor, scale: Tensor | float,
                      label_smoothing: float = 0.1) -> Tensor:
    """Mean of the topic→content and content→topic smoothed cross-entropies. `scale` is exp(logit_scale)."""
    if topic_feats.shape != content_feats.shape:
        raise ValueError(f"symmetric_infonce: topic features {tuple(topic_feats.shape)} and content features "
                         f"{tuple(content_feats.shape)} must have the same shape")
    t = nn.functional.normalize(topic_feats.float(), dim=-1)
    c = nn.functional.normalize(content_feats.float(), dim=-1)
    logits = (t @ c.T) * (scale.float() if isinstance(scale, Tensor) else float(scale))
    target = torch.arange(logits.shape[0], device=logits.device)
    ce = nn.functional.cross_entropy
    return 0.5 * (ce(logits, target, label_smoothing=label_smoothing)
                  + ce(logits.T, target, label_smoothing=label_smoothing))


class SymmetricInfoNCE(nn.Module):
    def __init__(self, label_smoothing: float = 0.1):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, topic_feats: Tensor, content_feats: Tensor, scale: Tensor | float) -> Tensor:
        return symmetric_infonce(topic_feats, content_feats, scale, self.label_smoothing)
