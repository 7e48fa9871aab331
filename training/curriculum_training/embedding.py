"""Embedding texts with a BiEncoder for evaluation, mining and export checks.

Texts are tokenised once, sorted by token length (longest first, as the seed's inference does) so each
batch is padded to little more than its own longest text, and the embeddings are put back in input order.
"""
from __future__ import annotations

import contextlib
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .text import content_strings, topic_strings
from .tokenization import TextTokenizer

AMP_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def autocast_context(device: str, amp: Optional[str]):
    """torch.autocast for "fp16"/"bf16" on the device's type, or a no-op for None/"none"."""
    if not amp or amp == "none":
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"mixed precision must be one of none, fp16, bf16; got {amp!r}")
    return torch.autocast(device_type=torch.device(device).type, dtype=AMP_DTYPES[amp])


def embed_token_ids(model, token_ids: Sequence[Sequence[int]], pad_id: int, batch_size: int = 64,
                    device: str = "cpu", amp: Optional[str] = None, progress: bool = True,
                    desc: str = "embedding") -> np.ndarray:
    """Embeddings (float32, L2-normalised, input order) of already tokenised sequences."""
    n = len(token_ids)
    dim = model.dim
    out = np.zeros((n, dim), dtype=np.float32)
    if n == 0:
        return out
    order = sorted(range(n), key=lambda i: -len(token_ids[i]))
    was_training = model.training
    model.eval()
    batches = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=desc, unit="batch", leave=False, total=-(-n // batch_size))
    try:
        with torch.inference_mode(), autocast_context(device, amp):
            for start in batches:
                rows = order[start:start + batch_size]
                length = max(1, max(len(token_ids[i]) for i in rows))
                ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), length), dtype=torch.long)
                for r, i in enumerate(rows):
                    seq = token_ids[i]
                    ids[r, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
                    mask[r, : len(seq)] = 1
                emb = model.encode(ids.to(device), mask.to(device))
                out[rows] = emb.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out


def embed_texts(model, tokenizer: TextTokenizer, texts: Sequence[str], prefix: str = "", batch_size: int = 64,
                device: str = "cpu", amp: Optional[str] = None, progress: bool = True,
                desc: str = "embedding") -> np.ndarray:
    """Embeddings of raw texts (prefix + text, truncated to the tokenizer's max_length)."""
    return embed_token_ids(model, tokenizer.ids(list(texts), prefix), tokenizer.pad_id, batch_size, device, amp,
                           progress, desc)


def embed_dataset(model, tokenizer: TextTokenizer, dataset, batch_size: int = 64, device: str = "cpu",
                  amp: Optional[str] = None, progress: bool = True,
                  topic_ids: Optional[List[str]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(topic embeddings, content embeddings) of a Dataset, rows in topics.csv / content.csv order (or
    in `topic_ids` order when given), with Contract 2 texts and the model's prefixes."""
    t_text = topic_strings(dataset.topics)
    c_text = content_strings(dataset.content)
    if topic_ids is None:
        topic_ids = dataset.topics["id"].astype(str).tolist()
    missing = [t for t in topic_ids if t not in t_text]
    if missing:
        raise KeyError(f"embed_dataset: topic {missing[0]!r} is not in {dataset.name or 'the dataset'}'s topics.csv")
    topics = embed_texts(model, tokenizer, [t_text[t] for t in topic_ids], model.prefixes["topic"], batch_size,
                         device, amp, progress, "topics")
    content = embed_texts(model, tokenizer, [c_text[c] for c in dataset.content["id"].astype(str)],
                          model.prefixes["content"], batch_size, device, amp, progress, "content")
    return topics, content
