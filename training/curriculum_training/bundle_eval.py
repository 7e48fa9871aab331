"""`bundle evaluate`: quality of one bundle variant measured from ONNX Runtime outputs.

The embeddings come from the bundle's own tokenizer.json and ONNX file (not from PyTorch), so the
figure is what the service will deliver; the metrics come from the shared evaluator
(evaluation.evaluate_split → evaluate), identical to every other row in docs/results.md.
The service's parity test calls this CLI; keep its flags and JSON keys stable:
    {"variant", "bundle", "bundle_version", "dataset", "split", "f2", "precision", "recall", ...EvalReport}
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from .bundle import TOKENIZER, read_manifest, verify_bundle


def manifest_evaluation(report: dict) -> dict:
    """The manifest's `evaluation` block from an evaluation report dict."""
    return {
        "dataset": report["dataset"], "split": report["split"], "variant": report.get("variant"),
        "f2": report["f2"], "precision": report["precision"], "recall": report["recall"],
        "margin": report.get("margin"), "topics": report.get("topics"),
        "per_language": {row["language"]: {"f2": row["f2"], "precision": row["precision"], "recall": row["recall"],
                                           "topics": row["topics"]} for row in report.get("per_language", [])},
    }


def evaluate_bundle(bundle: Path | str, dataset: Path | str, split: str, variant: Optional[str] = None,
                    margin: Optional[float] = None, threads: Optional[int] = None, json_out: Optional[Path] = None,
                    report_dir: Optional[Path] = None, batch_size: int = 32, check: bool = True,
                    progress: bool = True) -> dict:
    from .data.lecr import read_dataset
    from .evaluation import evaluate_split
    from .onnx_encoder import OnnxEncoder
    from .splits import read_splits
    from .tokenization import TextTokenizer

    bundle, dataset = Path(bundle), Path(dataset)
    m = read_manifest(bundle)
    variant = variant or m["default_variant"]
    if variant not in m["variants"]:
        raise ValueError(f"{bundle}/manifest.json: no variant {variant!r} (has {', '.join(m['variants'])})")
    if check:
        problems = verify_bundle(bundle)
        if problems:
            raise ValueError(f"{bundle}: bundle does not verify: {problems[0]}")
    ds = read_dataset(dataset)
    splits = read_splits(dataset)
    tokenizer = TextTokenizer(bundle / TOKENIZER, max_length=m["max_length"])
    encoder = OnnxEncoder(bundle / m["variants"][variant]["file"], intra_op_threads=threads)
    timings = {}

    def encoder_for(kind: str):
        def encode(texts):
            t = time.perf_counter()
            out = encoder.embed_texts(tokenizer, texts, m["prefixes"].get(kind, ""), batch_size=batch_size,
                                      progress=progress, desc=f"{variant} {kind}")
            timings[kind] = {"texts": len(texts), "seconds": time.perf_counter() - t}
            return out
        return encode

    sel = m["selection"]
    report = evaluate_split(ds, split, encoder_for("topic"), encoder_for("content"), splits=splits,
                            margin=sel["margin"] if margin is None else margin,
                            max_candidates=sel["max_candidates"], min_items=sel["min_items"],
                            meta={"model": f"{m['name']}:{variant}"})
    result = {"variant": variant, "bundle": str(bundle), "bundle_version": m["version"], "dataset": ds.name,
              "split": split, **report.to_dict(), "encode_timings": timings}
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if report_dir:
        report.save(report_dir)
    return result
