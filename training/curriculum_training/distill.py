"""Distillation (seed-algorithm.md §8): a shallower student initialised from the teacher.

Student = a copy of the teacher keeping only `layers_to_keep` of its transformer layers (re-indexed
0..k-1); embeddings, pooling, projection, prefixes come along unchanged. It is trained to reproduce the
teacher's pooled features and masked last hidden states (losses/distillation.py).

Which layers: the seed is ambiguous (its README example keeps 0,2,4,7,9,11 "just as an example"; its
figure keeps 1,3,5,7,9,11). Our default keeps every other layer ending at the last one — 1,3,5,7,9,11
of 12 — because the teacher's output space is produced by its last layer: keeping it means the student
starts with an output head that already matches, and the first layer is the one whose work the next
kept layer (1) most easily absorbs. `--layers` overrides it.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence


def default_layers(num_layers: int) -> list:
    """Every other layer, ending with the last: 12 → [1, 3, 5, 7, 9, 11]; 4 → [1, 3]."""
    return list(range(num_layers - 1, -1, -2))[::-1]


def parse_layers(value: Optional[str], num_layers: int) -> list:
    if not value:
        return default_layers(num_layers)
    try:
        layers = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--layers must be comma-separated integers, got {value!r}") from None
    return validate_layers(layers, num_layers)


def validate_layers(layers: Sequence[int], num_layers: int) -> list:
    layers = list(layers)
    if not layers:
        raise ValueError("layers_to_keep is empty")
    if sorted(set(layers)) != layers:
        raise ValueError(f"layers_to_keep must be strictly increasing without repeats, got {layers}")
    if layers[0] < 0 or layers[-1] >= num_layers:
        raise ValueError(f"layers_to_keep {layers} out of range for a {num_layers}-layer teacher")
    return layers


def _layer_list(hf_model):
    """The ModuleList of transformer layers of a BERT-like HF model (BERT, XLM-R, MiniLM)."""
    enc = getattr(hf_model, "encoder", None)
    layers = getattr(enc, "layer", None)
    if layers is None:
        raise TypeError(f"{type(hf_model).__name__}: no encoder.layer list; only BERT-like encoders can be distilled")
    return enc, layers


def make_student(teacher, layers_to_keep: Optional[Sequence[int]] = None):
    """A deep copy of `teacher` (BiEncoder or export.BackboneEncoder) with only `layers_to_keep`."""
    import torch

    student = copy.deepcopy(teacher)
    enc, layers = _layer_list(student.encoder)
    keep = validate_layers(layers_to_keep if layers_to_keep is not None else default_layers(len(layers)), len(layers))
    enc.layer = torch.nn.ModuleList([layers[i] for i in keep])
    # Attention modules record their layer index (used for caches); re-index to match the new positions.
    for new_index, layer in enumerate(enc.layer):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_index
    student.encoder.config.num_hidden_layers = len(keep)
    student.layers_kept = keep
    for p in student.parameters():
        p.requires_grad_(True)
    return student
