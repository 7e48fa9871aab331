"""Which bundle the benchmarks measure, and the PyTorch models behind it.

Preference (best available first):
  1. artifacts/bundles/default            the trained bundle (`make bundle`, `make demo`), used when it
                                          verifies (checksums, ONNX shapes, golden parity; the verdict is
                                          cached per manifest and file sizes/times in bench/out/)
  2. bench/out/bundles/pretrained-e5      built here from the untrained pretrained backbone
                                          (multilingual-e5-small: full = backbone, distilled = every
                                          other layer, int8 of both) — same architecture and cost as
                                          the trained bundle, so every speed figure carries over
  3. artifacts/tiny-bundle                tiny random-initialised encoder (`make tiny-bundle`)

BENCH_BUNDLE=<folder> pins one of these (e.g. to keep using warm caches while a new bundle lands).
The choice is written to bench/out/bundle.json, which the Node benchmarks read. The PyTorch eager and
seed-CPU-path benchmarks need the fp32 torch modules the ONNX variants were exported from;
`torch_models()` rebuilds them for each kind of bundle.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

from common import OUT, REPO, log

E5 = "multilingual-e5-small"
TRAINED = REPO / "artifacts" / "bundles" / "default"
PRETRAINED = OUT / "bundles" / "pretrained-e5"
TINY = REPO / "artifacts" / "tiny-bundle"
CHOICE = OUT / "bundle.json"


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def backbone_folder(name: str = E5, build: bool = True) -> Path | None:
    """The pretrained backbone: `make backbones` output, else one built under bench/out/backbones."""
    for folder in (REPO / "artifacts" / "backbones" / name, OUT / "backbones" / name):
        if (folder / "config.json").exists() and (folder / "backbone.json").exists():
            return folder
    if not build:
        return None
    log(f"building backbone {name} under bench/out/backbones (make backbones has not been run)")
    cmd = [sys.executable, "-m", "curriculum_training.backbones", "build", "--out", str(OUT / "backbones"),
           "--only", name, "--no-check"]
    if subprocess.run(cmd).returncode != 0:
        return None
    folder = OUT / "backbones" / name
    return folder if (folder / "config.json").exists() else None


def build_pretrained_bundle(backbone: Path) -> Path:
    from curriculum_training.bundle import build_bundle
    from curriculum_training.distill import make_student
    from curriculum_training.export import BackboneEncoder

    teacher = BackboneEncoder.from_backbone(backbone)
    student = make_student(teacher).eval()
    log(f"building bundle {PRETRAINED.relative_to(REPO)} from the untrained backbone {backbone.name}")
    build_bundle(PRETRAINED, {"full": teacher, "distilled": student}, backbone / "tokenizer.json",
                 name="pretrained-e5", languages=None, force=True, log=log,
                 provenance={"pipeline": "bench (untrained pretrained backbone)", "backbone": teacher.backbone_name,
                             "backbone_folder": str(backbone.relative_to(REPO)),
                             "distilled_layers": student.layers_kept, "training": "none"})
    return PRETRAINED


VERIFIED = OUT / "bundle-verified.json"


def _fingerprint(folder: Path) -> dict:
    """What a verification verdict depends on: the manifest's bytes and every file's size and time."""
    import hashlib

    files = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(folder.iterdir()) if p.is_file()}
    return {"path": str(folder.resolve()), "manifest_sha256": hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest(),
            "files": files}


def verify_problems(folder: Path) -> list:
    """curriculum_training.bundle.verify_bundle's problems ([] = sound), cached while nothing changed."""
    from curriculum_training.bundle import verify_bundle

    key = _fingerprint(folder)
    if VERIFIED.exists():
        cached = json.loads(VERIFIED.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["problems"]
    log(f"verifying {folder.relative_to(REPO)} (checksums, ONNX shapes, golden parity)")
    problems = verify_bundle(folder)
    VERIFIED.parent.mkdir(parents=True, exist_ok=True)
    VERIFIED.write_text(json.dumps({"key": key, "problems": problems}, indent=1) + "\n", encoding="utf-8")
    return problems


def _pinned() -> Path | None:
    value = os.environ.get("BENCH_BUNDLE")
    if not value:
        return None
    path = (REPO / value).resolve()
    if path not in (TRAINED.resolve(), PRETRAINED.resolve(), TINY.resolve()):
        raise SystemExit(f"BENCH_BUNDLE={value}: must be {TRAINED.relative_to(REPO)}, {PRETRAINED.relative_to(REPO)} "
                         f"or {TINY.relative_to(REPO)}")
    if path == PRETRAINED.resolve() and not (PRETRAINED / "manifest.json").exists():
        backbone = backbone_folder()
        if backbone is None:
            raise SystemExit(f"BENCH_BUNDLE={value}: no backbone to build it from")
        build_pretrained_bundle(backbone)
    if not (path / "manifest.json").exists():
        raise SystemExit(f"BENCH_BUNDLE={value}: no manifest.json there")
    return path


def choose_bundle() -> dict:
    pinned = _pinned()
    # Why the trained bundle was not used (None when it was, or when another one was pinned).
    trained_skipped = None
    if pinned is None:
        if not (TRAINED / "manifest.json").exists():
            trained_skipped = f"{TRAINED.relative_to(REPO)} does not exist (`make bundle` has not run)"
        else:
            problems = verify_problems(TRAINED)
            if problems:
                trained_skipped = f"{TRAINED.relative_to(REPO)} does not verify: " + "; ".join(problems[:3])
                log(trained_skipped)
    if pinned is not None:
        path = pinned
        kind = {TRAINED.resolve(): "trained", PRETRAINED.resolve(): "pretrained-untrained"}.get(pinned, "tiny")
    elif trained_skipped is None:
        path, kind = TRAINED, "trained"
    else:
        backbone = backbone_folder()
        if backbone is not None:
            if not (PRETRAINED / "manifest.json").exists():
                build_pretrained_bundle(backbone)
            path, kind = PRETRAINED, "pretrained-untrained"
        elif (TINY / "manifest.json").exists():
            path, kind = TINY, "tiny"
        else:
            raise SystemExit("no bundle available: run `make bundle`, `make backbones` or `make tiny-bundle` first")
    m = _manifest(path)
    choice = {"path": str(path.relative_to(REPO)), "kind": kind, "name": m["name"], "version": m["version"],
              "backbone": m["backbone"], "dim": m["dim"], "default_variant": m["default_variant"],
              "variants": {k: {"layers": v.get("layers"), "precision": v.get("precision"),
                               "source_variant": v.get("source_variant", k)} for k, v in m["variants"].items()},
              "provenance": m.get("provenance", {}), "pinned": pinned is not None,
              "verified": kind == "trained" and pinned is None, "trained_skipped": trained_skipped}
    CHOICE.parent.mkdir(parents=True, exist_ok=True)
    CHOICE.write_text(json.dumps(choice, indent=1) + "\n", encoding="utf-8")
    log(f"bundle: {choice['path']} ({kind}; {m['name']} {m['version']}, backbone {m['backbone']}, "
        f"variants {', '.join(m['variants'])})")
    return choice


def read_choice() -> dict:
    if not CHOICE.exists():
        return choose_bundle()
    return json.loads(CHOICE.read_text(encoding="utf-8"))


def torch_models(choice: dict) -> Dict[str, object]:
    """fp32 PyTorch modules for the bundle's 'full' and 'distilled' variants (eval mode)."""
    import torch

    from curriculum_training.distill import make_student
    from curriculum_training.export import BackboneEncoder

    prov = choice.get("provenance", {})
    if choice["kind"] == "trained":
        from curriculum_training.model import BiEncoder

        ckpt = REPO / "artifacts" / "checkpoints" / "default"
        distilled = Path(str(ckpt) + "-distilled")
        if (ckpt / "bi_encoder.json").exists():
            models = {"full": BiEncoder.from_checkpoint(ckpt).eval()}
            if (distilled / "bi_encoder.json").exists():
                models["distilled"] = BiEncoder.from_checkpoint(distilled).eval()
            return models
        # Same architecture from the pretrained backbone: speed does not depend on the weight values.
        log("trained checkpoint not found; PyTorch paths use the backbone architecture with pretrained weights")
        teacher = BackboneEncoder.from_backbone(backbone_folder())
    elif choice["kind"] == "pretrained-untrained":
        teacher = BackboneEncoder.from_backbone(REPO / prov["backbone_folder"])
    else:
        import tempfile

        from curriculum_training.tiny_pipeline import TINY_SEED, build_tiny_backbone_folder

        torch.manual_seed(TINY_SEED)
        tmp = Path(tempfile.mkdtemp(prefix="bench-tiny-"))
        teacher = BackboneEncoder.from_backbone(build_tiny_backbone_folder(tmp / "backbone"))
    models = {"full": teacher.eval()}
    if "distilled" in choice["variants"]:
        models["distilled"] = make_student(teacher, prov.get("distilled_layers")).eval()
    return models


if __name__ == "__main__":
    print(json.dumps(choose_bundle(), indent=1))
