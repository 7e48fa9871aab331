"""Tokenisation shared by training, export and evaluation: the backbone's tokenizer.json loaded with
the `tokenizers` library — the same file and rules the TypeScript service uses (Contract 2):
prefix + text, special tokens, right-truncation to max_length, padding to the longest in the batch.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import numpy as np
from tokenizers import Tokenizer

from .config import MAX_LENGTH


class TextTokenizer:
    def __init__(self, tokenizer_json: Path | str, max_length: int = MAX_LENGTH):
        self.path = Path(tokenizer_json)
        self.max_length = max_length
        self.tokenizer = Tokenizer.from_file(str(self.path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)  # right-truncation, keeps special tokens
        self.pad_id = self._pad_id()

    def _pad_id(self) -> int:
        for token in ("<pad>", "[PAD]"):
            i = self.tokenizer.token_to_id(token)
            if i is not None:
                return i
        return 0

    def ids(self, texts: Sequence[str], prefix: str = "") -> List[List[int]]:
        return [e.ids for e in self.tokenizer.encode_batch([prefix + t for t in texts])]

    def batch(self, texts: Sequence[str], prefix: str = "") -> dict:
        """int64 input_ids / attention_mask, padded to the longest sequence of this batch."""
        return self.pad(self.ids(texts, prefix))

    def pad(self, ids: Sequence[Sequence[int]], length: int | None = None) -> dict:
        length = length or max(1, max(len(x) for x in ids))
        input_ids = np.full((len(ids), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}
