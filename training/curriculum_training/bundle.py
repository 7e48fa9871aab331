"""The artifact bundle (Contract 3): build, verify, inspect and evaluate.

    python -m curriculum_training.bundle make     --checkpoint CKPT --out DIR [--distilled CKPT_D | --no-distill]
    python -m curriculum_training.bundle tiny     --out DIR [--force]          (tiny random-init encoder, seconds)
    python -m curriculum_training.bundle verify   --bundle DIR
    python -m curriculum_training.bundle info     --bundle DIR
    python -m curriculum_training.bundle evaluate --bundle DIR --dataset data/kicd --split fold0 --variant full --json out.json

Layout (the TypeScript service loads exactly this):
    manifest.json    identity, model shape, text format, variants with sha256, selection, evaluation, golden
    tokenizer.json   Hugging Face tokenizers format
    <variant>.onnx   full.onnx, distilled.onnx, int8.onnx, distilled-int8.onnx (some may be absent)
    golden.jsonl     sample inputs, their texts, token ids and embeddings per variant

A bundle is built in a temporary folder next to the destination, verified there, and only then renamed
into place, so a half-written bundle never appears under the final name.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from .config import TEXT_FORMAT_VERSION, selection
from .golden import read_golden, sample_inputs, sample_texts, text_of, write_golden

MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
GOLDEN = "golden.jsonl"
FP32_VARIANTS = ("full", "distilled")
INT8_OF = {"full": "int8", "distilled": "distilled-int8"}
DEFAULT_VARIANT_PREFERENCE = ("distilled-int8", "int8", "distilled", "full")
FP32_TOLERANCE = 1e-4      # max |Δ| between ONNX Runtime and golden for fp32 variants
INT8_MIN_COSINE = 0.999    # min cosine between ONNX Runtime and golden for int8 variants


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _created() -> str:
    """UTC build time; SOURCE_DATE_EPOCH pins it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_manifest(bundle: Path | str) -> dict:
    path = Path(bundle) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no manifest.json (not a bundle folder)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


# ---------------------------------------------------------------------------------------------- build
def _golden_batches(tokenizer, prefixes: dict) -> Dict[str, List[List[int]]]:
    texts = sample_texts()
    return {kind: tokenizer.ids(texts[kind], prefixes.get(kind, "")) for kind in ("topic", "content")}


def _round(rows: np.ndarray) -> list:
    # 8 decimals: far below the 1e-4 tolerance, and keeps golden.jsonl small and diff-able.
    return [[round(float(v), 8) for v in row] for row in rows]


def build_bundle(out: Path | str, models: Dict[str, object], tokenizer_json: Path | str, name: str,
                 quant_spec=None, evaluation: Optional[dict] = None, languages: Optional[List[str]] = None,
                 provenance: Optional[dict] = None, selection_override: Optional[dict] = None,
                 extra_variants: Optional[Dict[str, dict]] = None, force: bool = False, log=print,
                 evaluate_fn: Optional[Callable[[Path, dict], Optional[dict]]] = None) -> dict:
    """Exports `models` ({"full": m, "distilled": m?}, BiEncoder-like), quantises each to int8, writes
    tokenizer, golden vectors and manifest, verifies, then moves the folder to `out`. Returns the manifest.

    evaluate_fn(work_folder, manifest) → the manifest's `evaluation` block, computed on the verified
    bundle before it is moved into place (so the final folder is never rewritten)."""
    from .export import OnnxEncoder, export_onnx, torch_encode
    from .quantize import DEFAULT_SPEC, quantize_encoder
    from .tokenization import TextTokenizer

    out = Path(out)
    if (out / MANIFEST).exists() and not force:
        raise FileExistsError(f"{out}: a bundle is already there (bundles are immutable; pass --force to replace it)")
    unknown = set(models) - set(FP32_VARIANTS)
    if unknown or "full" not in models:
        raise ValueError(f"models must be 'full' (+ optional 'distilled'), got {sorted(models)}")
    quant_spec = quant_spec or DEFAULT_SPEC
    full = models["full"]
    max_length, prefixes, pooling = int(full.max_length), dict(full.prefixes), full.pooling
    for variant, m in models.items():  # every variant must read text the same way
        if (int(m.max_length), dict(m.prefixes), m.pooling) != (max_length, prefixes, pooling):
            raise ValueError(f"variant {variant!r}: max_length/prefixes/pooling differ from the full model")

    work = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        shutil.copyfile(tokenizer_json, work / TOKENIZER)
        tokenizer = TextTokenizer(work / TOKENIZER, max_length=max_length)
        golden_ids = _golden_batches(tokenizer, prefixes)
        all_ids = golden_ids["topic"] + golden_ids["content"]
        parity_batch = tokenizer.pad(all_ids)

        variants: Dict[str, dict] = {}
        embeddings: Dict[str, np.ndarray] = {}
        for variant, model in models.items():
            path = work / f"{variant}.onnx"
            log(f"[bundle] export {variant} → {path.name}")
            info = export_onnx(model, path, parity_batch=parity_batch, tolerance=FP32_TOLERANCE)
            variants[variant] = {"file": path.name, "opset": info.opset, "layers": info.layers, "precision": "fp32",
                                 "dim": info.dim}
            # fp32 golden = PyTorch (the training-side truth the ONNX graph must reproduce)
            embeddings[variant] = torch_encode(model, parity_batch)
            cfg = model.encoder.config
            q_name = INT8_OF[variant]
            q_path = work / f"{q_name}.onnx"
            log(f"[bundle] quantise {variant} → {q_path.name} ({quant_spec.label})")
            q_info = quantize_encoder(path, q_path, quant_spec, hidden=int(cfg.hidden_size),
                                      intermediate=int(getattr(cfg, "intermediate_size", 0) or 0))
            variants[q_name] = {"file": q_path.name, "opset": info.opset, "layers": info.layers, "precision": "int8",
                                "dim": info.dim, "quantization": q_info["label"], "source_variant": variant}
            # int8 golden = ONNX Runtime itself (there is no PyTorch model of the quantised graph)
            embeddings[q_name] = OnnxEncoder(q_path).run(parity_batch["input_ids"], parity_batch["attention_mask"])
        dims = {v["dim"] for v in variants.values()}
        if len(dims) != 1:
            raise ValueError(f"variants disagree on the embedding size: {dims}")
        dim = dims.pop()

        inputs = sample_inputs()
        texts = sample_texts()
        records, row = [], 0
        for kind in ("topic", "content"):
            for i, sample in enumerate(inputs[kind]):
                records.append({"kind": kind, "input": sample, "text": texts[kind][i],
                                "token_ids": golden_ids[kind][i],
                                "embeddings": {v: _round(embeddings[v][row:row + 1])[0] for v in variants}})
                row += 1
        write_golden(work / GOLDEN, records)

        for v in variants.values():
            v["sha256"] = sha256_file(work / v["file"])
            v.pop("dim")
        for extra_name, spec in (extra_variants or {}).items():
            variants[extra_name] = spec
        tok_sha, golden_sha = sha256_file(work / TOKENIZER), sha256_file(work / GOLDEN)
        # The version is derived from the content, so an index snapshot can tell encoders apart.
        identity = json.dumps([tok_sha, sorted((k, v["sha256"]) for k, v in variants.items()), TEXT_FORMAT_VERSION,
                               prefixes, max_length, pooling], sort_keys=True)
        sel = {**selection(), **(selection_override or {})}
        manifest = {
            "name": name,
            "version": hashlib.sha256(identity.encode()).hexdigest()[:16],
            "created": _created(),
            "backbone": full.backbone_name,
            "pooling": pooling,
            "normalize": True,
            "dim": dim,
            "max_length": max_length,
            "prefixes": {"topic": prefixes.get("topic", ""), "content": prefixes.get("content", "")},
            "text_format": TEXT_FORMAT_VERSION,
            "tokenizer": {"file": TOKENIZER, "sha256": tok_sha},
            "variants": {k: variants[k] for k in ("full", "distilled", "int8", "distilled-int8") if k in variants},
            "default_variant": next(v for v in DEFAULT_VARIANT_PREFERENCE if v in variants),
            "selection": {"margin": sel["margin"], "max_candidates": sel["max_candidates"],
                          "min_items": sel["min_items"]},
            "evaluation": evaluation,
            "golden": {"file": GOLDEN, "sha256": golden_sha},
            "languages": sorted(languages) if languages else None,
            "provenance": provenance or {},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        problems = verify_bundle(work)
        if problems:
            raise RuntimeError("the freshly built bundle does not verify:\n  " + "\n  ".join(problems))
        if evaluate_fn is not None:
            manifest["evaluation"] = evaluate_fn(work, manifest)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        work.rename(out)
        log(f"[bundle] wrote {out} (variants: {', '.join(manifest['variants'])}; version {manifest['version']})")
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- verify
_REQUIRED = {"name": str, "version": str, "created": str, "backbone": str, "pooling": str, "normalize": bool,
             "dim": int, "max_length": int, "prefixes": dict, "text_format": str, "tokenizer": dict,
             "variants": dict, "default_variant": str, "selection": dict, "golden": dict}


def verify_bundle(bundle: Path | str, golden_checks: bool = True) -> List[str]:
    """Every problem found, each naming the file/field; [] when the bundle is sound."""
    from .onnx_encoder import INPUT_NAMES, OUTPUT_NAME, OnnxEncoder
    from .tokenization import TextTokenizer

    bundle = Path(bundle)
    try:
        m = read_manifest(bundle)
    except (FileNotFoundError, ValueError) as e:
        return [str(e)]
    problems: List[str] = []
    for key, typ in _REQUIRED.items():
        if key not in m:
            problems.append(f"manifest.json: missing field {key!r}")
        elif not isinstance(m[key], typ) or (typ is int and isinstance(m[key], bool)):
            problems.append(f"manifest.json: field {key!r} must be {typ.__name__}, got {type(m[key]).__name__}")
    if problems:
        return problems
    if m["text_format"] != TEXT_FORMAT_VERSION:
        problems.append(f"manifest.json: text_format {m['text_format']!r} does not match config/defaults.json "
                        f"({TEXT_FORMAT_VERSION!r})")
    if m["pooling"] not in ("mean", "cls"):
        problems.append(f"manifest.json: pooling must be 'mean' or 'cls', got {m['pooling']!r}")
    if not m["normalize"]:
        problems.append("manifest.json: normalize must be true (the ONNX output is L2-normalised)")
    if m["default_variant"] not in m["variants"]:
        problems.append(f"manifest.json: default_variant {m['default_variant']!r} is not one of the variants "
                        f"{sorted(m['variants'])}")
    for key in ("margin", "max_candidates", "min_items"):
        if key not in m["selection"]:
            problems.append(f"manifest.json: selection.{key} missing")

    # checksums first: nothing else is trustworthy if the bytes changed
    files = {"tokenizer": m["tokenizer"], "golden": m["golden"],
             **{f"variants.{k}": v for k, v in m["variants"].items()}}
    intact = {}
    for field, entry in files.items():
        if not isinstance(entry, dict) or "file" not in entry or "sha256" not in entry:
            problems.append(f"manifest.json: {field} needs 'file' and 'sha256'")
            continue
        path = bundle / entry["file"]
        if Path(entry["file"]).name != entry["file"]:
            problems.append(f"manifest.json: {field}.file {entry['file']!r} must be a file name inside the bundle")
        elif not path.exists():
            problems.append(f"{entry['file']}: missing (named by manifest.json {field})")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['file']}: sha256 mismatch (manifest.json {field}.sha256 says "
                            f"{entry['sha256'][:12]}…, file is {sha256_file(path)[:12]}…)")
        else:
            intact[field] = path
    if problems:
        return problems

    sessions = {}
    for name, v in m["variants"].items():
        for key in ("opset", "layers"):
            if not isinstance(v.get(key), int):
                problems.append(f"manifest.json: variants.{name}.{key} must be an integer")
        try:
            enc = OnnxEncoder(intact[f"variants.{name}"])
        except Exception as e:  # a corrupt graph that still matches its checksum
            problems.append(f"{v['file']}: ONNX Runtime cannot load it ({e})")
            continue
        ins = {i.name: i for i in enc.session.get_inputs()}
        outs = [o.name for o in enc.session.get_outputs()]
        if sorted(ins) != sorted(INPUT_NAMES) or any(ins[n].type != "tensor(int64)" for n in ins):
            problems.append(f"{v['file']}: inputs must be int64 input_ids, attention_mask; got "
                            f"{[(i.name, i.type) for i in ins.values()]}")
            continue
        if outs != [OUTPUT_NAME]:
            problems.append(f"{v['file']}: the only output must be {OUTPUT_NAME!r}, got {outs}")
            continue
        probe = enc.run(np.array([[1, 2, 3]], dtype=np.int64), np.ones((1, 3), dtype=np.int64))
        if probe.shape[-1] != m["dim"] or (enc.output_dim is not None and enc.output_dim != m["dim"]):
            problems.append(f"{v['file']}: embedding size is {probe.shape[-1]}, manifest.json dim says {m['dim']}")
            continue
        sessions[name] = enc
    if problems or not golden_checks:
        return problems

    tokenizer = TextTokenizer(intact["tokenizer"], max_length=m["max_length"])
    try:
        records = read_golden(intact["golden"])
    except ValueError as e:
        return [str(e)]
    if not records:
        return [f"{GOLDEN}: no records"]
    for n, rec in enumerate(records, 1):
        kind = rec["kind"]
        try:
            text = text_of(rec)
        except (ValueError, KeyError) as e:
            problems.append(f"{GOLDEN}:{n}: cannot rebuild the text from input ({e})")
            continue
        if text != rec["text"]:
            problems.append(f"{GOLDEN}:{n}: text differs from the {TEXT_FORMAT_VERSION} recipe applied to its input "
                            f"({rec['text'][:40]!r} vs {text[:40]!r})")
        ids = tokenizer.ids([rec["text"]], m["prefixes"].get(kind, ""))[0]
        if ids != rec["token_ids"]:
            problems.append(f"{GOLDEN}:{n}: token_ids differ from tokenizer.json on prefix + text "
                            f"(first difference at position {_first_diff(ids, rec['token_ids'])})")
        missing = set(m["variants"]) - set(rec["embeddings"])
        if missing:
            problems.append(f"{GOLDEN}:{n}: no embeddings for variant(s) {sorted(missing)}")
    if problems:
        return problems

    batch = tokenizer.pad([r["token_ids"] for r in records])
    for name, enc in sessions.items():
        got = enc.run(batch["input_ids"], batch["attention_mask"])
        want = np.array([r["embeddings"][name] for r in records], dtype=np.float32)
        if want.shape != got.shape:
            problems.append(f"{GOLDEN}: variant {name!r} embeddings have shape {want.shape}, the model gives {got.shape}")
            continue
        if m["variants"][name].get("precision") == "int8":
            cos = float(((got * want).sum(1) / (np.linalg.norm(want, axis=1) + 1e-12)).min())
            if cos < INT8_MIN_COSINE:
                problems.append(f"{m['variants'][name]['file']}: golden cosine {cos:.5f} < {INT8_MIN_COSINE}")
        else:
            diff = float(np.abs(got - want).max())
            if diff > FP32_TOLERANCE:
                problems.append(f"{m['variants'][name]['file']}: max |Δ| to golden {diff:.2e} > {FP32_TOLERANCE:.0e}")
    return problems


def _first_diff(a: list, b: list) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# ---------------------------------------------------------------------------------------------- info
def describe(bundle: Path | str) -> str:
    bundle = Path(bundle)
    m = read_manifest(bundle)
    lines = [f"{bundle}: {m['name']} version {m['version']} ({m['created']})",
             f"  backbone {m['backbone']}, pooling {m['pooling']}, dim {m['dim']}, max_length {m['max_length']}, "
             f"prefixes {m['prefixes']}, text_format {m['text_format']}",
             f"  selection {m['selection']}"]
    for name, v in m["variants"].items():
        size = (bundle / v["file"]).stat().st_size / 2**20 if (bundle / v["file"]).exists() else float("nan")
        star = " (default)" if name == m["default_variant"] else ""
        lines.append(f"  {name:15s} {v['file']:22s} {size:8.1f} MiB  {v.get('precision', '?'):5s} "
                     f"{v['layers']} layers  opset {v['opset']}{star}"
                     + (f"  [{v['quantization']}]" if v.get("quantization") else ""))
    ev = m.get("evaluation")
    if ev:
        lines.append(f"  evaluation {ev.get('dataset')} / {ev.get('split')}: F2 {ev.get('f2'):.4f}, "
                     f"precision {ev.get('precision'):.4f}, recall {ev.get('recall'):.4f}"
                     + (f" ({ev['variant']})" if ev.get("variant") else ""))
    else:
        lines.append("  evaluation: none")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- tiny
def build_tiny(out: Path | str, force: bool = False, log=print) -> dict:
    """A tiny bundle through our own pipeline, in seconds (see tiny_pipeline.py)."""
    from .tiny_pipeline import build_tiny_bundle

    return build_tiny_bundle(out, force=force, log=log)


# ---------------------------------------------------------------------------------------------- CLI
def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m curriculum_training.bundle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    mk = sub.add_parser("make", help="training checkpoint → distil → export → quantise → golden → verified bundle")
    mk.add_argument("--checkpoint", required=True, type=Path, help="teacher checkpoint folder (make train)")
    mk.add_argument("--out", required=True, type=Path)
    mk.add_argument("--distilled", type=Path, help="an existing distilled checkpoint (default: <checkpoint>-distilled "
                                                   "if present, else distil now)")
    mk.add_argument("--no-distill", action="store_true", help="skip distillation: bundle full + int8 only")
    mk.add_argument("--distill-args", default="", help="arguments for the distillation run when it has to distil (quoted; "
                    "default: distill.RECOMMENDED_ARGS, the measured recipe: --with-infonce, 2 epochs × ≤150 steps, lr 2e-4)")
    mk.add_argument("--dataset", type=Path, help="dataset for the manifest's evaluation (default: the checkpoint's)")
    mk.add_argument("--split", help="evaluation split (default: the checkpoint's)")
    mk.add_argument("--no-evaluate", action="store_true", help="leave manifest.evaluation null")
    mk.add_argument("--name", help="bundle name (default: the output folder's name)")
    mk.add_argument("--quant", default=None, help="int8 scheme: all | attention, optional +per-channel +reduce-range +emb")
    mk.add_argument("--force", action="store_true", help="replace an existing bundle")
    mk.add_argument("--f2-cache", type=Path, help="folder memoising ONNX evaluations by file sha256 + split "
                                                  "(shared with bundle_results)")

    tiny = sub.add_parser("tiny", help="tiny random-initialised bundle through the whole pipeline (tests)")
    tiny.add_argument("--out", required=True, type=Path)
    tiny.add_argument("--force", action="store_true", help="rebuild even if a valid bundle is there")

    ver = sub.add_parser("verify", help="checksums, shapes, text_format, golden parity; exit 1 with the reasons")
    ver.add_argument("--bundle", required=True, type=Path)

    info = sub.add_parser("info", help="print what a bundle holds")
    info.add_argument("--bundle", required=True, type=Path)
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")

    ev = sub.add_parser("evaluate", help="F2 etc. from ONNX Runtime embeddings of one variant")
    ev.add_argument("--bundle", required=True, type=Path)
    ev.add_argument("--dataset", required=True, type=Path, help="LECR dataset folder with splits.csv (e.g. data/kicd)")
    ev.add_argument("--split", required=True, help="fold0..fold9 or group (held-out topics of splits.csv)")
    ev.add_argument("--variant", default=None, help="manifest variant (default: the manifest's default_variant)")
    ev.add_argument("--json", type=Path, help="write the report as JSON here")
    ev.add_argument("--report-dir", type=Path, help="also write the evaluator's report files here")
    ev.add_argument("--margin", type=float, default=None, help="selection margin (default: the manifest's)")
    ev.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    args = p.parse_args(argv)

    if args.command == "verify":
        problems = verify_bundle(args.bundle)
        if problems:
            print(f"bundle {args.bundle} is NOT valid:", file=sys.stderr)
            for prob in problems:
                print(f"  - {prob}", file=sys.stderr)
            return 1
        m = read_manifest(args.bundle)
        print(f"bundle {args.bundle} OK: {m['name']} {m['version']}, variants {', '.join(m['variants'])}, "
              f"dim {m['dim']}, text_format {m['text_format']}")
        return 0
    if args.command == "info":
        print(json.dumps(read_manifest(args.bundle), indent=2, ensure_ascii=False) if args.json else describe(args.bundle))
        return 0
    if args.command == "tiny":
        out = args.out if args.out.is_absolute() else Path.cwd() / args.out
        if (out / MANIFEST).exists() and not args.force:
            from .tiny_pipeline import TINY_PIPELINE_VERSION

            problems = verify_bundle(out)
            built_by = read_manifest(out).get("provenance", {}).get("tiny_pipeline_version") if not problems else None
            if not problems and built_by == TINY_PIPELINE_VERSION:
                print(f"{out}: tiny bundle already there and valid (use --force to rebuild)")
                return 0
            why = problems[0] if problems else f"built by tiny pipeline version {built_by}, now {TINY_PIPELINE_VERSION}"
            print(f"{out}: rebuilding the existing bundle ({why})", file=sys.stderr)
        t = time.time()
        build_tiny(out, force=True)
        print(f"tiny bundle built in {time.time() - t:.1f}s")
        return 0
    if args.command == "evaluate":
        from .bundle_eval import evaluate_bundle

        report = evaluate_bundle(args.bundle, args.dataset, args.split, variant=args.variant, margin=args.margin,
                                 threads=args.threads, json_out=args.json, report_dir=args.report_dir)
        print(json.dumps({k: report[k] for k in ("variant", "dataset", "split", "f2", "precision", "recall")}))
        return 0
    if args.command == "make":
        from .bundle_make import make_bundle

        make_bundle(args)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
