"""`bundle make` (`make bundle`): a training checkpoint → one verified bundle, in one step.

    teacher checkpoint ─► distilled checkpoint (found, given, or distilled now; --no-distill skips it)
                       ─► export full + distilled ─► int8 of both ─► golden ─► manifest ─► verify
                       ─► evaluate the default variant with ONNX Runtime on the checkpoint's dataset/split

A bundle already at --out that verifies and was built from the same teacher and student weights is kept
(printed, not rebuilt); a re-trained or re-distilled checkpoint rebuilds it; --force rebuilds.
"""
from __future__ import annotations

import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import yaml

from .bundle import MANIFEST, read_manifest, verify_bundle
from .config import REPO_ROOT

CHECKPOINT_META = "bi_encoder.json"
TRAIN_CONFIG = "train_config.yaml"
WEIGHTS = Path("encoder") / "model.safetensors"


def _resolve(path: Path | str) -> Path:
    path = Path(path)
    return path if path.is_absolute() else (Path.cwd() / path if (Path.cwd() / path).exists() else REPO_ROOT / path)


def _display_path(path: Path) -> str:
    """Relative to the repository root when inside it (manifests carry no machine paths)."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def checkpoint_fingerprint(ckpt: Path) -> str:
    """sha256 over the checkpoint's weights and metadata: identifies what a bundle was built from."""
    h = hashlib.sha256()
    for rel in (WEIGHTS, Path(CHECKPOINT_META), Path("projection.safetensors")):
        path = ckpt / rel
        if path.exists():
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def require_checkpoint(ckpt: Path, what: str = "checkpoint") -> Path:
    if not (ckpt / CHECKPOINT_META).exists():
        raise FileNotFoundError(f"{ckpt}: not a bi-encoder {what} (no {CHECKPOINT_META}); "
                                "train one first with `make train`")
    return ckpt


def training_dataset_and_split(ckpt: Path) -> tuple:
    """(dataset folder, split spec) from the checkpoint's train_config.yaml; (None, None) if absent."""
    path = ckpt / TRAIN_CONFIG
    if not path.exists():
        return None, None
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dataset = cfg.get("dataset")
    split = "group" if cfg.get("split") == "group" else f"fold{int(cfg.get('fold', 0))}"
    return (_resolve(dataset) if dataset else None), split


def default_distilled_path(ckpt: Path) -> Path:
    return ckpt.parent / f"{ckpt.name}-distilled"


DISTILLED_MIN_RATIO = 0.99  # distilled-int8 is the default only if it keeps ≥ 99 % of int8's F2


def evaluate_and_choose_default(work: Path, manifest: dict, dataset: Path, split: str, provenance: dict,
                                f2_cache: Optional[Path] = None) -> dict:
    """Evaluates the int8 variants with ONNX Runtime and makes the faster one the default only when it
    keeps ≥ 99 % of the other's F2 (the distillation target); returns the manifest's evaluation block."""
    from .bundle_eval import manifest_evaluation
    from .bundle_results import cached_evaluation

    candidates = [v for v in ("distilled-int8", "int8") if v in manifest["variants"]] or [manifest["default_variant"]]
    reports = {}
    for v in candidates:
        print(f"[bundle] evaluating {v} (ONNX Runtime) on {dataset.name}/{split}")
        reports[v] = cached_evaluation(work, manifest, v, dataset, split, None, f2_cache)
    chosen = candidates[0]
    if len(candidates) == 2:
        fast, ref = reports["distilled-int8"]["f2"], reports["int8"]["f2"]
        if fast < DISTILLED_MIN_RATIO * ref:
            chosen = "int8"
        provenance["default_variant_reason"] = (
            f"distilled-int8 F2 {fast:.4f} vs int8 {ref:.4f} ({100 * fast / ref:.1f} %): "
            + ("kept the distilled one (≥ 99 %)" if chosen == "distilled-int8" else
               "below 99 %, so the full int8 model is the default"))
        print(f"[bundle] default variant: {chosen} ({provenance['default_variant_reason']})")
    manifest["default_variant"] = chosen
    manifest["provenance"] = provenance
    block = manifest_evaluation(reports[chosen])
    block["dataset_path"] = _display_path(dataset)
    block["variants_f2"] = {v: r["f2"] for v, r in reports.items()}
    return block


def make_bundle(args) -> dict:
    from .bundle import build_bundle
    from .model import BiEncoder
    from .quantize import DEFAULT_SPEC, QuantSpec

    ckpt = require_checkpoint(_resolve(args.checkpoint))
    out = Path(args.out)
    fingerprint = checkpoint_fingerprint(ckpt)
    distilled = None if args.no_distill else (_resolve(args.distilled) if args.distilled else default_distilled_path(ckpt))
    # The student's weights identify the bundle as much as the teacher's: a re-distilled student must
    # rebuild it (None when there is none yet, so a bundle with a student never counts as current).
    student_fp = checkpoint_fingerprint(distilled) if distilled and (distilled / CHECKPOINT_META).exists() else None
    spec = QuantSpec.parse(args.quant) if args.quant else DEFAULT_SPEC
    if (out / MANIFEST).exists() and not args.force:
        existing = read_manifest(out)
        prov = existing.get("provenance", {})
        same = prov.get("teacher_fingerprint") == fingerprint and prov.get("student_fingerprint") == student_fp
        # ... and so does the int8 scheme (a new default or --quant rebuilds)
        same = same and existing.get("variants", {}).get("int8", {}).get("quantization") == spec.label
        if same and not verify_bundle(out):
            print(f"{out}: bundle from this checkpoint already there and valid (use --force to rebuild)")
            return read_manifest(out)
        print(f"{out}: existing bundle is from other weights (teacher or student), another int8 scheme, or "
              "invalid; rebuilding", file=sys.stderr)

    teacher = BiEncoder.from_checkpoint(ckpt).eval()
    models = {"full": teacher}
    provenance = {"pipeline": "bundle make", "checkpoint": _display_path(ckpt), "teacher_fingerprint": fingerprint,
                  "student_fingerprint": None}
    if args.no_distill:
        provenance["distillation"] = "skipped (--no-distill): the bundle has full and int8 only"
        print("[bundle] --no-distill: skipping distillation; variants will be full and int8 only")
    else:
        if not (distilled / CHECKPOINT_META).exists():
            if args.distilled:
                require_checkpoint(distilled, "distilled checkpoint")
            from .distill import RECOMMENDED_ARGS, main as distill_main

            print(f"[bundle] no distilled checkpoint at {distilled}: distilling now")
            extra = shlex.split(args.distill_args) if args.distill_args else list(RECOMMENDED_ARGS)
            argv = ["--teacher", str(ckpt), "--out", str(distilled)] + extra
            if distill_main(argv) != 0:
                raise RuntimeError(f"distillation into {distilled} failed")
        student = BiEncoder.from_checkpoint(distilled).eval()
        models["distilled"] = student
        meta = json.loads((distilled / CHECKPOINT_META).read_text(encoding="utf-8"))
        provenance["distilled_checkpoint"] = _display_path(distilled)
        provenance["student_fingerprint"] = checkpoint_fingerprint(distilled)
        provenance["distillation"] = meta.get("distillation", {})

    dataset, split = (Path(args.dataset) if args.dataset else None), args.split
    if dataset is None or split is None:
        d, s = training_dataset_and_split(ckpt)
        dataset, split = dataset or d, split or s
    evaluate_fn, languages = None, None
    if dataset is not None and (dataset / "topics.csv").exists():
        from .data.lecr import read_dataset

        ds = read_dataset(dataset, with_switch=False)
        languages = sorted(set(ds.topics["language"].astype(str)) | set(ds.content["language"].astype(str)))
        if not args.no_evaluate:
            def evaluate_fn(work: Path, manifest: dict) -> dict:
                return evaluate_and_choose_default(work, manifest, dataset, split, provenance, args.f2_cache)
    elif not args.no_evaluate:
        print("[bundle] no dataset known for this checkpoint (pass --dataset/--split): evaluation left null",
              file=sys.stderr)

    tokenizer_json = ckpt / "encoder" / "tokenizer.json"
    return build_bundle(out, models, tokenizer_json, name=args.name or out.name, quant_spec=spec,
                        languages=languages, provenance=provenance, evaluate_fn=evaluate_fn, force=True)
