"""The seed's CPU inference path (seed-algorithm.md §9), rebuilt for comparison with our ONNX variants.

What the 2nd-place solution shipped for CPU scoring:
  * post-training dynamic quantisation with PyTorch (`quantize_dynamic`, nn.Linear only): per layer the
    attention Linears (Q, K, V, attention output) → qint8, the feed-forward Linears (intermediate and
    output) → float16; embeddings untouched (the seed asks for float16 there, which is a no-op because
    BertEmbeddings has no Linear);
  * TorchScript: `torch.jit.trace` on a (1, 96) example;
  * inference in length-sorted batches (longest first) of 8, padded per batch, features L2-normalised
    and put back in input order.
Thread count: `torch.set_num_threads(threads)` so comparisons with ONNX Runtime use equal threads.
"""
from __future__ import annotations

import copy
import warnings
from typing import Optional, Sequence

import numpy as np
import torch

SEED_BATCH_SIZE = 8


class _EncodeGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model.encode(input_ids, attention_mask)


def seed_quantize(model):
    """A copy of `model` (BiEncoder-like) quantised the seed's way."""
    from torch.ao.quantization import default_dynamic_qconfig, float16_dynamic_qconfig, quantize_dynamic

    model = copy.deepcopy(model).eval()
    layers = model.encoder.encoder.layer
    spec = {}
    for i in range(len(layers)):
        prefix = f"encoder.encoder.layer.{i}"
        spec[f"{prefix}.attention"] = default_dynamic_qconfig
        spec[f"{prefix}.intermediate"] = float16_dynamic_qconfig
        spec[f"{prefix}.output"] = float16_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        return quantize_dynamic(model, qconfig_spec=spec, inplace=False)


class SeedCpuEncoder:
    """Seed-quantised, traced model with the seed's batching; same embed_texts API as OnnxEncoder."""

    def __init__(self, model, threads: Optional[int] = None, max_length: Optional[int] = None):
        if threads:
            torch.set_num_threads(threads)
        self.max_length = int(max_length or model.max_length)
        quantised = seed_quantize(model)
        ids = torch.zeros((1, self.max_length), dtype=torch.long)
        mask = torch.zeros((1, self.max_length), dtype=torch.long)
        mask[0, : self.max_length // 2] = 1  # some padding, so the mask path is in the trace
        with torch.no_grad(), warnings.catch_warnings(), torch.jit.optimized_execution(False):
            warnings.simplefilter("ignore")  # tracer / deprecation warnings
            self.traced = torch.jit.trace(_EncodeGraph(quantised).eval(), (ids, mask), check_trace=False)

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.traced(torch.as_tensor(input_ids, dtype=torch.long),
                              torch.as_tensor(attention_mask, dtype=torch.long))
        return out.float().numpy()

    def embed_texts(self, tokenizer, texts: Sequence[str], prefix: str = "", batch_size: int = SEED_BATCH_SIZE,
                    progress: bool = False, desc: str = "seed cpu") -> np.ndarray:
        from tqdm.auto import tqdm

        ids = tokenizer.ids(list(texts), prefix)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = None
        for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=not progress, unit="batch"):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad([ids[i] for i in rows])
            emb = self.run(batch["input_ids"], batch["attention_mask"])
            if out is None:
                out = np.zeros((len(ids), emb.shape[1]), dtype=np.float32)
            out[rows] = emb
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
