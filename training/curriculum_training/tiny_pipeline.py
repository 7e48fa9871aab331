"""`make tiny-bundle`: a tiny random-initialised encoder taken through the bundle pipeline in seconds,
so the service's tests run against a bundle our own code produced (not a hand-made fixture).

Steps: tiny BERT backbone (4 layers, hidden 32; e5-style prefixes and mean pooling, like the default
backbone, so the service exercises prefix handling) → teacher → student with every other layer
(distill.make_student) → export both → int8 both → golden → manifest → verify.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch

TINY_PREFIXES = {"topic": "query: ", "content": "passage: "}
TINY_SEED = 0


def build_tiny_backbone_folder(folder: Path) -> Path:
    from .backbones import BackboneInfo, read_backbone_info
    from .backbones.tiny import build_tiny_backbone

    build_tiny_backbone(folder, hidden=32, layers=4, heads=2, intermediate=64, seed=TINY_SEED, pooling="mean")
    info = read_backbone_info(folder)
    BackboneInfo(name=info.name, pooling="mean", prefixes=dict(TINY_PREFIXES), source=info.source).save(folder)
    return folder


def build_tiny_bundle(out: Path | str, force: bool = True, log=print) -> dict:
    from .bundle import build_bundle
    from .distill import make_student
    from .export import BackboneEncoder

    torch.manual_seed(TINY_SEED)
    with tempfile.TemporaryDirectory(prefix="tiny-bundle-") as tmp:
        backbone = build_tiny_backbone_folder(Path(tmp) / "backbone")
        teacher = BackboneEncoder.from_backbone(backbone)
        student = make_student(teacher).eval()
        return build_bundle(out, {"full": teacher, "distilled": student}, backbone / "tokenizer.json",
                            name="tiny", languages=None, force=force, log=log,
                            provenance={"pipeline": "tiny", "backbone": teacher.backbone_name,
                                        "distilled_layers": student.layers_kept, "training": "none (random init)"})
