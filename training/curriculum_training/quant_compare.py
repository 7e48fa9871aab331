"""Compare int8 schemes on one encoder: fidelity to fp32 and speed, without a labelled split.

    python -m curriculum_training.quant_compare --backbone artifacts/backbones/multilingual-e5-small \
        --data data/oak,data/openstax,data/kicd --schemes all,all+per-channel,attention,except-ffn-out+per-channel

(or --checkpoint CKPT for a trained bi-encoder). Exports the fp32 graph, quantises it once per scheme,
embeds the same sample of real Contract 2 texts with each, and reports per scheme: cosine to the fp32
embedding (mean / min), agreement of each text's 10 nearest neighbours within the sample with fp32's
(what retrieval sees), file size, and texts/s at batch 1 and 32 (interleaved rounds, equal threads;
bundle_results.measure_speed). F2 on a split is bundle_results' job; this is the quick, label-free
view used to choose the scheme (quantize.DEFAULT_SPEC).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import numpy as np


SECTION = "bundle-int8-fidelity"


def neighbour_agreement(ref: np.ndarray, emb: np.ndarray, k: int = 10) -> float:
    """Mean overlap of each row's k nearest neighbours (excluding itself) under ref vs emb."""
    def top(x):
        s = x @ x.T
        np.fill_diagonal(s, -np.inf)
        return np.argsort(-s, axis=1)[:, :k]
    a, b = top(ref), top(emb)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def run(args) -> dict:
    from .bundle_results import _load_avg, _cpu_name, measure_speed, speed_texts
    from .export import BackboneEncoder, export_onnx
    from .onnx_encoder import OnnxEncoder
    from .quantize import QuantSpec, quantize_encoder
    from .tokenization import TextTokenizer

    if args.checkpoint:
        from .model import BiEncoder

        model = BiEncoder.from_checkpoint(args.checkpoint).eval()
        tokenizer_json, source = Path(args.checkpoint) / "encoder" / "tokenizer.json", str(args.checkpoint)
    else:
        model = BackboneEncoder.from_backbone(args.backbone).eval()
        tokenizer_json, source = Path(args.backbone) / "tokenizer.json", f"{args.backbone} (untrained)"
    if args.layers:
        from .distill import make_student, parse_layers

        model = make_student(model, parse_layers(args.layers, int(model.encoder.config.num_hidden_layers))).eval()
    cfg = model.encoder.config
    tokenizer = TextTokenizer(tokenizer_json, max_length=model.max_length)
    texts = {"topic": [], "content": []}
    for folder in args.data.split(","):
        sample = speed_texts(Path(folder), args.texts, seed=1)
        for kind in texts:
            texts[kind] += sample[kind]
    ids = tokenizer.ids(texts["topic"], model.prefixes.get("topic", "")) + \
        tokenizer.ids(texts["content"], model.prefixes.get("content", ""))
    load_before, started = _load_avg(), time.time()
    with tempfile.TemporaryDirectory(prefix="quant-compare-") as tmp:
        fp32 = export_onnx(model, Path(tmp) / "fp32.onnx").path
        encoders = {"fp32": OnnxEncoder(fp32, intra_op_threads=args.threads)}
        sizes = {"fp32": fp32.stat().st_size / 2**20}
        for label in args.schemes.split(","):
            path = Path(tmp) / f"{label}.onnx"
            print(f"[quant_compare] quantising: {label}", file=sys.stderr)
            quantize_encoder(fp32, path, QuantSpec.parse(label), hidden=int(cfg.hidden_size),
                             intermediate=int(cfg.intermediate_size))
            encoders[label] = OnnxEncoder(path, intra_op_threads=args.threads)
            sizes[label] = path.stat().st_size / 2**20
        emb = {name: enc.embed_ids(tokenizer, ids, batch_size=32) for name, enc in encoders.items()}
        speed = measure_speed(encoders, tokenizer, texts, model.prefixes, rounds=args.rounds)
    rows = {}
    for name in encoders:
        cos = (emb[name] * emb["fp32"]).sum(1)
        rows[name] = {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
                      "top10_agreement": neighbour_agreement(emb["fp32"], emb[name]), "size_mib": sizes[name],
                      "b1": speed[name]["b1"]["texts_per_s"], "b32": speed[name]["b32"]["texts_per_s"]}
    return {"source": source, "layers": int(cfg.num_hidden_layers), "texts": len(ids), "data": args.data,
            "threads": args.threads, "rows": rows, "cpu": _cpu_name(), "load_avg_before": load_before,
            "load_avg_after": _load_avg(), "minutes": round((time.time() - started) / 60, 1)}


def to_markdown(r: dict, command: str) -> str:
    fp = r["rows"]["fp32"]
    lines = [f"### int8 schemes: fidelity and speed ({r['source']}, {r['layers']} layers)", "",
             f"Reproduce: `{command}`", "",
             f"{r['texts']} real texts (topics and content of {r['data']}); cosine and 10-nearest-neighbour "
             f"agreement against the fp32 graph; texts/s with {r['threads']} threads, best of interleaved rounds "
             f"({r['cpu']}, shared machine, load average {r['load_avg_before']} → {r['load_avg_after']}).", "",
             "| scheme | cos to fp32 mean | min | top-10 agreement | size MiB | texts/s b1 | texts/s b32 | × fp32 b1 / b32 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, row in r["rows"].items():
        lines.append(f"| {name} | {row['cos_mean']:.4f} | {row['cos_min']:.4f} | {row['top10_agreement']:.3f} | "
                     f"{row['size_mib']:.0f} | {row['b1']:.1f} | {row['b32']:.1f} | "
                     f"{row['b1'] / fp['b1']:.2f} / {row['b32'] / fp['b32']:.2f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m curriculum_training.quant_compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--backbone", type=Path, help="a backbone folder, used untrained")
    src.add_argument("--checkpoint", type=Path, help="a bi-encoder checkpoint")
    ap.add_argument("--layers", help="compare on a student with these layers (distill.make_student), e.g. 1,3,5,7,9,11")
    ap.add_argument("--data", default="data/oak,data/openstax,data/kicd", help="comma-separated dataset folders")
    ap.add_argument("--texts", type=int, default=100, help="texts sampled per dataset (half topics, half content)")
    ap.add_argument("--schemes", default="all,all+per-channel,attention,except-ffn-out,except-ffn-out+per-channel")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--results", type=Path, help="write the table into this results.md (section below)")
    ap.add_argument("--section", default=SECTION)
    args = ap.parse_args(argv)
    result = run(args)
    command = "python -m curriculum_training.quant_compare " + " ".join(argv if argv is not None else sys.argv[1:])
    md = to_markdown(result, command)
    if args.results:
        from .evaluation.results_doc import write_section

        write_section(args.results, args.section, md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
