"""Embedding texts with a backbone folder exactly as training and the exported model do: backbone
prefix + text, tokenizer.json (TextTokenizer), the HF model, pooling from backbone.json, L2 norm.
Used by the build self-check and the tests; training has its own batched, trainable path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..config import MAX_LENGTH
from ..tokenization import TextTokenizer
from . import check_backbone

# Self-check: a topic, a resource that belongs under it, and one that does not.
CHECK_TOPIC = "Photosynthesis: how plants make their food"
CHECK_RELATED = "Green leaves use sunlight, water and carbon dioxide to produce sugar and oxygen."
CHECK_UNRELATED = "Solving two-step linear equations with fractions"


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class BackboneEncoder:
    def __init__(self, folder: Path | str, max_length: int = MAX_LENGTH):
        from transformers import AutoModel

        self.folder = Path(folder)
        self.info = check_backbone(self.folder)
        self.tokenizer = TextTokenizer(self.folder / "tokenizer.json", max_length=max_length)
        self.model = AutoModel.from_pretrained(self.folder).eval()

    @torch.no_grad()
    def embed(self, texts: Sequence[str], kind: str = "content", batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 [len(texts), dim]; `kind` ("topic"/"content") picks the prefix."""
        if kind not in self.info.prefixes:
            raise ValueError(f"kind {kind!r}: expected one of {sorted(self.info.prefixes)}")
        prefix = self.info.prefixes[kind]
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer.batch(texts[start:start + batch_size], prefix=prefix)
            ids = torch.from_numpy(batch["input_ids"])
            mask = torch.from_numpy(batch["attention_mask"])
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            out.append(torch.nn.functional.normalize(pool(hidden, mask, self.info.pooling), dim=-1))
        return torch.cat(out).numpy().astype(np.float32)


def self_check(folder: Path | str) -> dict:
    """Cosine of a topic with a related resource vs. an unrelated one; ok when related wins."""
    enc = BackboneEncoder(folder)
    topic = enc.embed([CHECK_TOPIC], kind="topic")[0]
    related, unrelated = enc.embed([CHECK_RELATED, CHECK_UNRELATED], kind="content")
    r, u = float(topic @ related), float(topic @ unrelated)
    return {"related": r, "unrelated": u, "ok": r > u, "dim": int(topic.shape[0])}
