"""An exported encoder in ONNX Runtime (CPU): token ids → L2-normalised float32 embeddings.

Kept free of torch so verification and evaluation of a bundle start fast and need no PyTorch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

INPUT_NAMES = ["input_ids", "attention_mask"]
OUTPUT_NAME = "embedding"


class OnnxEncoder:
    """An exported encoder in ONNX Runtime (CPU): ids → L2-normalised float32 embeddings."""

    def __init__(self, path: Path | str, intra_op_threads: Optional[int] = None, inter_op_threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: ONNX file not found")
        opts = ort.SessionOptions()
        if intra_op_threads:
            opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = inter_op_threads
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])

    @property
    def output_dim(self):
        """Static embedding size from the graph, or None when the exporter left it symbolic."""
        shape = self.session.get_outputs()[0].shape
        return shape[-1] if isinstance(shape[-1], int) else None

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {"input_ids": np.asarray(input_ids, dtype=np.int64),
                                                "attention_mask": np.asarray(attention_mask, dtype=np.int64)})[0]

    def embed_texts(self, tokenizer, texts: Sequence[str], prefix: str = "", batch_size: int = 32,
                    progress: bool = False, desc: str = "onnx embed") -> np.ndarray:
        """Embeds texts in length-sorted batches (longest first: less padding), results in input order."""
        ids = tokenizer.ids(list(texts), prefix)
        return self.embed_ids(tokenizer, ids, batch_size, progress, desc)

    def embed_ids(self, tokenizer, ids: Sequence[Sequence[int]], batch_size: int = 32, progress: bool = False,
                  desc: str = "onnx embed") -> np.ndarray:
        from tqdm.auto import tqdm

        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = None
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc=desc, disable=not progress, unit="batch"):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad([ids[i] for i in rows])
            emb = self.run(batch["input_ids"], batch["attention_mask"])
            if out is None:
                out = np.zeros((len(ids), emb.shape[1]), dtype=np.float32)
            out[rows] = emb
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
