"""Encoder inputs: real Contract 2 strings from data/, tokenised once, shared by every runtime.

A fixed-seed sample of topic strings (breadcrumbs, with the topic prefix) and content strings (with the
content prefix) from every dataset under data/, tokenised with the bundle's tokenizer.json and
truncated at max_length (96). Python and Node benchmarks read the same token ids from
bench/out/encoder-inputs.json and form the same batches (`batch_rows`), so every runtime computes
exactly the same tensors (tokenisation is measured separately on the Node side).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import numpy as np

from common import OUT, REPO, log

INPUTS = OUT / "encoder-inputs.json"
SAMPLE_PER_KIND = 192
SEED = 0


def dataset_folders() -> List[Path]:
    data = REPO / "data"
    folders = sorted(p for p in data.glob("*") if (p / "content.csv").exists() and (p / "topics.csv").exists())
    if not folders:
        raise SystemExit(f"{data}: no LECR datasets (run `make datasets`)")
    return folders


def real_texts() -> dict:
    """All Contract 2 strings of every dataset: {"topic": [...], "content": [...]}."""
    import pandas as pd

    from curriculum_training.text import content_strings, topic_strings

    out = {"topic": [], "content": []}
    for folder in dataset_folders():
        read = lambda name: pd.read_csv(folder / name, dtype=str, keep_default_na=False)  # noqa: E731
        out["topic"] += list(topic_strings(read("topics.csv")).values())
        out["content"] += list(content_strings(read("content.csv")).values())
    return out


def build_inputs(choice: dict) -> dict:
    from curriculum_training.tokenization import TextTokenizer

    bundle = REPO / choice["path"]
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    tokenizer = TextTokenizer(bundle / manifest["tokenizer"]["file"], max_length=manifest["max_length"])
    texts = real_texts()
    rng = np.random.default_rng(SEED)
    rows = []
    for kind in ("topic", "content"):
        pick = rng.choice(len(texts[kind]), size=min(SAMPLE_PER_KIND, len(texts[kind])), replace=False)
        picked = [texts[kind][i] for i in pick]
        ids = tokenizer.ids(picked, manifest["prefixes"][kind])
        rows += [{"kind": kind, "text": t, "ids": i} for t, i in zip(picked, ids)]
    rows = [rows[i] for i in rng.permutation(len(rows))]  # topics and contents interleaved
    lengths = np.array([len(r["ids"]) for r in rows])
    payload = {"bundle_version": manifest["version"], "max_length": manifest["max_length"],
               "pad_id": tokenizer.pad_id, "prefixes": manifest["prefixes"],
               "datasets": [p.name for p in dataset_folders()],
               "tokens": {"mean": float(lengths.mean()), "p50": float(np.median(lengths)), "max": int(lengths.max()),
                          "truncated_share": float((lengths >= manifest["max_length"]).mean())},
               "rows": rows}
    INPUTS.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    log(f"encoder inputs: {len(rows)} texts from {', '.join(payload['datasets'])}; tokens mean "
        f"{lengths.mean():.1f}, max {lengths.max()}, {100 * payload['tokens']['truncated_share']:.0f}% truncated at "
        f"{manifest['max_length']}")
    return payload


def load_inputs(choice: dict) -> dict:
    if INPUTS.exists():
        payload = json.loads(INPUTS.read_text(encoding="utf-8"))
        if payload.get("bundle_version") == choice["version"]:
            return payload
    return build_inputs(choice)


def batch_rows(n_rows: int, batch: int, index: int) -> List[int]:
    """Rows of the index-th batch of `batch` texts: consecutive rows, wrapping around (same in Node)."""
    start = (index * batch) % n_rows
    return [(start + r) % n_rows for r in range(batch)]


def pad(ids: List[List[int]], pad_id: int) -> dict:
    length = max(1, max(len(x) for x in ids))
    input_ids = np.full((len(ids), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), length), dtype=np.int64)
    for r, seq in enumerate(ids):
        input_ids[r, : len(seq)] = seq
        mask[r, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}
