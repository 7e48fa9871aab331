"""The measured table of encoder variants (docs/results.md, section "bundle"): quality and speed of every
variant of one bundle, beside the seed's own CPU path, measured in ONE run.

    python -m curriculum_training.bundle_results --bundle artifacts/bundles/default [--threads 2]
        [--quant-compare all,attention,all+per-channel,all+reduce-range,all+emb] [--results docs/results.md]

Per variant: F2 / precision / recall on the bundle's evaluation split computed from ONNX Runtime outputs
(bundle_eval.evaluate_bundle), size on disk, texts/s at batch 1 and 32 with equal thread counts.
The seed's CPU path (seed_cpu_path.py: PyTorch qint8 attention / fp16 feed-forward, TorchScript,
length-sorted batches of 8) runs on the distilled checkpoint the bundle was built from.

Speed on a shared machine: every encoder is timed on the same texts in interleaved rounds (round r
times A, B, C, … in turn), and the best round of each is reported, so a burst of load from another
process hits all encoders alike and the RATIOS are what to read. The load average is recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .bundle import read_manifest
from .config import REPO_ROOT

SECTION = "bundle"
VARIANT_ORDER = ("full", "distilled", "int8", "distilled-int8")
SEED_ROW = "seed CPU path"


def _mib(path: Path) -> float:
    return path.stat().st_size / 2**20


def speed_texts(dataset: Path, n: int, seed: int = 0) -> Dict[str, List[str]]:
    """A fixed random sample of the dataset's Contract 2 texts (half topics, half content)."""
    from .data.lecr import read_dataset
    from .text import content_strings, topic_strings

    ds = read_dataset(dataset, with_switch=False)
    rng = np.random.default_rng(seed)
    out = {}
    for kind, texts in (("topic", list(topic_strings(ds.topics).values())),
                        ("content", list(content_strings(ds.content).values()))):
        k = min(len(texts), n // 2)
        out[kind] = [texts[i] for i in sorted(rng.choice(len(texts), k, replace=False))]
    return out


def measure_speed(encoders: Dict[str, object], tokenizer, texts: Dict[str, List[str]], prefixes: dict,
                  batch_sizes=(1, 32), rounds: int = 3, batch1_texts: int = 48) -> Dict[str, dict]:
    """texts/s per encoder and batch size: best of `rounds` interleaved rounds (see module docstring)."""
    from tqdm.auto import tqdm

    ids = tokenizer.ids(texts["topic"], prefixes.get("topic", "")) + \
        tokenizer.ids(texts["content"], prefixes.get("content", ""))
    result: Dict[str, dict] = {name: {} for name in encoders}
    for bs in batch_sizes:
        sample = ids if bs > 1 else ids[:: max(1, len(ids) // batch1_texts)][:batch1_texts]
        for enc in encoders.values():
            # warm-up: allocations, thread pools, and TorchScript's profiling runs on the first shapes
            enc.embed_ids(tokenizer, sample[: 8 * bs], batch_size=bs)
        times: Dict[str, list] = {name: [] for name in encoders}
        for _ in tqdm(range(rounds), desc=f"speed batch {bs}", unit="round"):
            for name, enc in encoders.items():
                t = time.perf_counter()
                enc.embed_ids(tokenizer, sample, batch_size=bs)
                times[name].append(time.perf_counter() - t)
        for name in encoders:
            best = min(times[name])
            result[name][f"b{bs}"] = {"texts_per_s": len(sample) / best, "texts": len(sample),
                                      "rounds_s": [round(t, 3) for t in times[name]]}
    return result


def agreement(encoders: Dict[str, object], tokenizer, texts: Dict[str, List[str]], prefixes: dict,
              variants: dict) -> Dict[str, dict]:
    """Cosine of each quantised encoder's embeddings to its fp32 source's, on the timing texts: a direct
    measure of what quantisation changed, steadier than F2 on a few hundred topics."""
    ids = tokenizer.ids(texts["topic"], prefixes.get("topic", "")) + \
        tokenizer.ids(texts["content"], prefixes.get("content", ""))
    emb = {name: enc.embed_ids(tokenizer, ids, batch_size=32) for name, enc in encoders.items()}
    source = {name: v.get("source_variant") for name, v in variants.items() if v.get("precision") == "int8"}
    source[SEED_ROW] = "distilled" if "distilled" in emb else "full"
    for name in emb:
        if name.startswith("q:"):
            source[name] = "distilled" if "distilled" in emb else "full"
    out = {}
    for name, ref in source.items():
        if name in emb and ref in emb:
            cos = (emb[name] * emb[ref]).sum(1)
            out[name] = {"cos_to_fp32_mean": float(cos.mean()), "cos_to_fp32_min": float(cos.min()),
                         "cos_reference": ref}
    return out


class _SeedEncoderAdapter:
    """SeedCpuEncoder with the embed_ids signature of OnnxEncoder (timing uses pre-tokenised ids)."""

    def __init__(self, seed_encoder):
        self.seed = seed_encoder

    def embed_ids(self, tokenizer, ids, batch_size=8, progress=False, desc=""):
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = None
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad([ids[i] for i in rows])
            emb = self.seed.run(batch["input_ids"], batch["attention_mask"])
            if out is None:
                out = np.zeros((len(ids), emb.shape[1]), dtype=np.float32)
            out[rows] = emb
        return out


def evaluate_seed_path(seed_encoder, tokenizer, prefixes: dict, dataset: Path, split: str, selection: dict) -> dict:
    from .data.lecr import read_dataset
    from .evaluation import evaluate_split
    from .splits import read_splits

    ds = read_dataset(dataset)

    def enc(kind):
        return lambda texts: seed_encoder.embed_texts(tokenizer, texts, prefixes.get(kind, ""), progress=True,
                                                      desc=f"seed {kind}")

    report = evaluate_split(ds, split, enc("topic"), enc("content"), splits=read_splits(dataset),
                            margin=selection["margin"], max_candidates=selection["max_candidates"],
                            min_items=selection["min_items"], meta={"model": SEED_ROW})
    return report.to_dict()


def cached_evaluation(bundle: Path, m: dict, variant: str, dataset: Path, split: str, threads: int,
                      cache_dir: Optional[Path]) -> dict:
    """evaluate_bundle, memoised on (sha256 of the ONNX file and tokenizer, dataset, split, selection):
    the same bytes on the same split give the same F2, so an evaluation run earlier (e.g. on a bundle
    built from the same teacher before distillation finished) is reused instead of recomputed."""
    from .bundle_eval import evaluate_bundle

    key = "-".join([m["variants"][variant]["sha256"][:16], m["tokenizer"]["sha256"][:8], dataset.name, split,
                    f"{m['selection']['margin']}-{m['selection']['max_candidates']}-{m['selection']['min_items']}"])
    path = Path(cache_dir) / f"{key}.json" if cache_dir else None
    if path is not None and path.exists():
        print(f"[results] F2 of {variant}: cached evaluation {path.name}", file=sys.stderr)
        return json.loads(path.read_text(encoding="utf-8"))
    print(f"[results] F2 of {variant} (ONNX Runtime, {threads} threads) on {dataset.name}/{split}", file=sys.stderr)
    rep = evaluate_bundle(bundle, dataset, split, variant=variant, threads=threads, check=False)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rep) + "\n", encoding="utf-8")
    return rep


def _load_avg() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(args) -> dict:
    import torch

    from .bundle_eval import evaluate_bundle
    from .bundle_make import _resolve, training_dataset_and_split
    from .onnx_encoder import OnnxEncoder
    from .tokenization import TextTokenizer

    bundle = Path(args.bundle)
    m = read_manifest(bundle)
    prov = m.get("provenance", {})
    dataset, split = (Path(args.dataset) if args.dataset else None), args.split
    if (dataset is None or split is None) and prov.get("checkpoint"):
        d, s = training_dataset_and_split(_resolve(prov["checkpoint"]))
        dataset, split = dataset or d, split or s
    if (dataset is None or split is None) and m.get("evaluation"):
        ev = m["evaluation"]
        split = split or ev.get("split")
        dataset = dataset or (REPO_ROOT / ev.get("dataset_path", f"data/{ev['dataset']}"))
    if dataset is None or split is None:
        raise ValueError(f"{bundle}: no evaluation dataset/split recorded; pass --dataset and --split")

    torch.set_num_threads(args.threads)
    tokenizer = TextTokenizer(bundle / m["tokenizer"]["file"], max_length=m["max_length"])
    variants = [v for v in VARIANT_ORDER if v in m["variants"]]
    load_before = _load_avg()
    started = time.time()
    rows: Dict[str, dict] = {}
    ev = m.get("evaluation") or {}
    for v in variants:
        if (ev.get("variant"), ev.get("dataset"), ev.get("split")) == (v, dataset.name, split) and \
                ev.get("margin") == m["selection"]["margin"]:
            # `bundle make` already evaluated this variant on this split with ONNX Runtime (deterministic)
            print(f"[results] F2 of {v}: from manifest.evaluation (same split, same ONNX file)", file=sys.stderr)
            rep = ev
        elif args.f2_variants is not None and v not in args.f2_variants.split(","):
            rep = {"f2": float("nan"), "precision": float("nan"), "recall": float("nan")}  # timed only
        else:
            rep = cached_evaluation(bundle, m, v, dataset, split, args.threads, args.f2_cache)
        rows[v] = {"f2": rep["f2"], "precision": rep["precision"], "recall": rep["recall"],
                   "size_mib": _mib(bundle / m["variants"][v]["file"]), "layers": m["variants"][v]["layers"],
                   "precision_kind": m["variants"][v].get("precision"),
                   "quantization": m["variants"][v].get("quantization")}

    if args.f2_only:
        return {"rows": rows}
    encoders = {v: OnnxEncoder(bundle / m["variants"][v]["file"], intra_op_threads=args.threads) for v in variants}
    seed_ckpt = args.seed_checkpoint or prov.get("distilled_checkpoint") or prov.get("checkpoint")
    seed_ckpt = _resolve(seed_ckpt) if seed_ckpt else None
    seed = None
    if seed_ckpt and not args.no_seed:
        from .model import BiEncoder
        from .seed_cpu_path import SeedCpuEncoder

        print(f"[results] seed CPU path on {seed_ckpt}", file=sys.stderr)
        model = BiEncoder.from_checkpoint(seed_ckpt).eval()
        seed = SeedCpuEncoder(model, threads=args.threads, max_length=m["max_length"])
        rep = evaluate_seed_path(seed, tokenizer, m["prefixes"], dataset, split, m["selection"]) \
            if not args.no_seed_f2 else {"f2": float("nan"), "precision": float("nan"), "recall": float("nan")}
        with tempfile.TemporaryDirectory() as tmp:
            torch.jit.save(seed.traced, str(Path(tmp) / "model_traced.pth"))
            size = _mib(Path(tmp) / "model_traced.pth")
        rows[SEED_ROW] = {"f2": rep["f2"], "precision": rep["precision"], "recall": rep["recall"], "size_mib": size,
                          "layers": int(model.encoder.config.num_hidden_layers), "precision_kind": "qint8/fp16",
                          "quantization": "torch dynamic: attention qint8, FFN fp16", "checkpoint": str(seed_ckpt)}
        encoders[SEED_ROW] = _SeedEncoderAdapter(seed)

    quant_rows = {}
    tmpdir = tempfile.TemporaryDirectory(prefix="quant-compare-")
    if args.quant_compare:
        from .quantize import QuantSpec, quantize_encoder

        source = "distilled" if "distilled" in m["variants"] else "full"
        cfg_path = _resolve(prov["checkpoint"]) / "encoder" / "config.json" if prov.get("checkpoint") else None
        model_cfg = json.loads(cfg_path.read_text()) if cfg_path and cfg_path.exists() else {}
        hidden = model_cfg.get("hidden_size", m["dim"])
        intermediate = model_cfg.get("intermediate_size", 4 * hidden)
        for label in args.quant_compare.split(","):
            spec = QuantSpec.parse(label)
            path = Path(tmpdir.name) / f"{source}-{label}.onnx"
            quantize_encoder(bundle / m["variants"][source]["file"], path, spec, hidden=hidden, intermediate=intermediate)
            enc = OnnxEncoder(path, intra_op_threads=args.threads)
            f2 = _f2_of_encoder(enc, tokenizer, m, dataset, split, f"{source} {label}")
            quant_rows[label] = {"source": source, "f2": f2["f2"], "precision": f2["precision"],
                                 "recall": f2["recall"], "size_mib": _mib(path)}
            encoders[f"q:{label}"] = enc

    texts = speed_texts(dataset, args.speed_texts)
    fidelity = agreement(encoders, tokenizer, texts, m["prefixes"], m["variants"])
    for name, row in list(rows.items()) + [(f"q:{k}", v) for k, v in quant_rows.items()]:
        if name in fidelity:
            row.update(fidelity[name])
    speed = measure_speed(encoders, tokenizer, texts, m["prefixes"], rounds=args.rounds)
    if seed is not None:  # the seed's own protocol: batches of 8
        speed[SEED_ROW].update(measure_speed({SEED_ROW: encoders[SEED_ROW]}, tokenizer, texts, m["prefixes"],
                                             batch_sizes=(8,), rounds=args.rounds)[SEED_ROW])
    for name, row in list(rows.items()) + [(f"q:{k}", v) for k, v in quant_rows.items()]:
        row.update({k: v["texts_per_s"] for k, v in (("speed_" + b, s) for b, s in speed[name].items())})
    tmpdir.cleanup()
    result = {"bundle": str(bundle), "bundle_version": m["version"], "dataset": dataset.name, "split": split,
              "threads": args.threads, "rows": rows, "quant_compare": quant_rows, "speed": speed,
              "load_avg_before": load_before, "load_avg_after": _load_avg(), "cpu": _cpu_name(),
              "minutes": round((time.time() - started) / 60, 1), "notes": args.note or ""}
    return result


def _f2_of_encoder(enc, tokenizer, m, dataset, split, label) -> dict:
    from .data.lecr import read_dataset
    from .evaluation import evaluate_split
    from .splits import read_splits

    print(f"[results] F2 of {label}", file=sys.stderr)
    ds = read_dataset(dataset)
    def encode(kind):
        return lambda texts: enc.embed_texts(tokenizer, texts, m["prefixes"].get(kind, ""), progress=True, desc=label)
    sel = m["selection"]
    return evaluate_split(ds, split, encode("topic"), encode("content"), splits=read_splits(dataset),
                          margin=sel["margin"], max_candidates=sel["max_candidates"],
                          min_items=sel["min_items"]).to_dict()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# ---------------------------------------------------------------------------------------------- markdown
def _num(x: float) -> str:
    return "not measured" if x != x else f"{x:.4f}"  # NaN: skipped (--no-seed-f2)


def to_markdown(r: dict, command: str) -> str:
    rows, q = r["rows"], r["quant_compare"]
    full = rows.get("full", {})
    seed = rows.get(SEED_ROW)
    lines = [
        f"### Encoder variants: quality × speed ({r['dataset']} / {r['split']}, bundle {r['bundle_version']})",
        "",
        f"Reproduce: `{command}`",
        "",
        f"F2 from ONNX Runtime outputs (the service's numbers), evaluator margin as in the manifest. Speed: "
        f"texts/s, {r['threads']} threads for every encoder, best of interleaved rounds on the same texts; "
        f"{r['cpu']}, **shared machine** (load average {r['load_avg_before']} before, {r['load_avg_after']} after): "
        f"read the ratios, not the absolute numbers.",
        "",
        "| variant | layers | weights | F2 | P | R | F2 vs reference | size MiB | texts/s b1 | texts/s b32 | "
        "× full fp32 (b1 / b32) | × seed path (b1 / b32) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    refs = {"distilled": "full", "int8": "full", "distilled-int8": "distilled", SEED_ROW: "distilled"}
    for name in list(VARIANT_ORDER) + [SEED_ROW]:
        row = rows.get(name)
        if not row:
            continue
        ref = refs.get(name)
        ref_f2 = rows[ref]["f2"] if ref in rows else float("nan")
        rel = f"{100 * row['f2'] / ref_f2:.1f} % of {ref}" if ref_f2 == ref_f2 and ref_f2 and row["f2"] == row["f2"] else "—"
        if row.get("cos_to_fp32_mean") is not None:
            rel += f" (cos {row['cos_to_fp32_mean']:.4f})"
        def ratio(other):
            if not other or not other.get("speed_b1"):
                return "—"
            return f"{row['speed_b1'] / other['speed_b1']:.2f} / {row['speed_b32'] / other['speed_b32']:.2f}"
        lines.append(f"| {name} | {row['layers']} | {row['precision_kind']}"
                     + (f" ({row['quantization']})" if row.get("quantization") and name != SEED_ROW else "")
                     + f" | {_num(row['f2'])} | {_num(row['precision'])} | {_num(row['recall'])} | {rel} | "
                     f"{row['size_mib']:.0f} | {row['speed_b1']:.1f} | {row['speed_b32']:.1f} | {ratio(full)} | "
                     f"{ratio(seed) if name != SEED_ROW else '1.00 / 1.00'} |")
    if seed and seed.get("speed_b8"):
        lines += ["", f"The seed path at its own batch size 8: {seed['speed_b8']:.1f} texts/s."]
    if q:
        lines += ["", f"int8 schemes on the {next(iter(q.values()))['source']} model (ONNX Runtime dynamic quantisation):",
                  "", "| scheme | F2 | cosine to fp32 (mean / min) | size MiB | texts/s b1 | texts/s b32 | "
                  "F2 × texts/s b32 |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for label, row in q.items():
            lines.append(f"| {label} | {row['f2']:.4f} | {row.get('cos_to_fp32_mean', float('nan')):.4f} / "
                         f"{row.get('cos_to_fp32_min', float('nan')):.4f} | {row['size_mib']:.0f} | "
                         f"{row['speed_b1']:.1f} | {row['speed_b32']:.1f} | {row['f2'] * row['speed_b32']:.1f} |")
    if r.get("notes"):
        lines += ["", r["notes"]]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m curriculum_training.bundle_results", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True, type=Path)
    ap.add_argument("--dataset", type=Path, help="default: the manifest's evaluation dataset")
    ap.add_argument("--split", help="default: the manifest's evaluation split")
    ap.add_argument("--threads", type=int, default=2, help="threads for every encoder (default 2)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--speed-texts", type=int, default=256, help="texts per batch-32 timing round")
    ap.add_argument("--seed-checkpoint", help="checkpoint for the seed CPU path (default: the bundle's distilled one)")
    ap.add_argument("--f2-variants", help="comma-separated bundle variants whose F2 to compute (default: all; "
                                          "the others are timed only)")
    ap.add_argument("--f2-cache", type=Path, help="folder memoising evaluations by ONNX sha256 + split")
    ap.add_argument("--f2-only", action="store_true", help="only compute (and cache) the F2 values; no table")
    ap.add_argument("--no-seed", action="store_true", help="leave the seed CPU path out")
    ap.add_argument("--no-seed-f2", action="store_true", help="time the seed CPU path but skip its F2 (slow)")
    ap.add_argument("--quant-compare", help="comma-separated int8 schemes to compare on the distilled model, "
                                            "e.g. all,attention,all+per-channel,all+reduce-range,all+emb")
    ap.add_argument("--note", help="a sentence added under the table (e.g. what the checkpoint is)")
    ap.add_argument("--results", type=Path, default=REPO_ROOT / "docs" / "results.md")
    ap.add_argument("--json", type=Path, help="also write the raw measurements here")
    ap.add_argument("--section", default=SECTION, help=f"results.md section to (re)write (default {SECTION!r})")
    args = ap.parse_args(argv)
    result = run(args)
    if args.f2_only:
        print(json.dumps({k: v["f2"] for k, v in result["rows"].items()}))
        return 0
    command = "python -m curriculum_training.bundle_results " + " ".join(
        a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[1:]))
    md = to_markdown(result, command)
    from .evaluation.results_doc import write_section

    write_section(args.results, args.section, md)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
