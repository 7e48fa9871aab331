"""`make tiny-bundle`: a tiny random-initialised encoder taken through the WHOLE pipeline in seconds, so
the service's tests run on a bundle our own code produced (not a hand-made fixture):

    tiny multilingual LECR dataset + splits ─► tiny BERT backbone (4 layers, hidden 32; e5-style prefixes
    and mean pooling like the default backbone, so the service exercises prefix handling)
    ─► Trainer: a few contrastive steps ─► DistillationTrainer: a few steps, student = layers 1 and 3
    ─► export full + distilled ─► int8 of both ─► golden ─► manifest ─► verify

The manifest's `evaluation` and `languages` stay null: F2 of a few random-init steps means nothing, and
the service's tests use languages beyond the tiny dataset's.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

TINY_PREFIXES = {"topic": "query: ", "content": "passage: "}
TINY_SEED = 0
# Bumped whenever this pipeline changes what it builds: `bundle tiny` rebuilds an older tiny bundle.
TINY_PIPELINE_VERSION = 3
TINY_TRAIN = {"epochs": 1, "batch_size": 4, "max_steps_per_epoch": 3, "threads": 1, "device": "cpu",
              "mixed_precision": "none", "progress": False, "seed": TINY_SEED}
TINY_SETS = ["language_switching=false", "eval_batch_size=64", "save_last=false"]

# (language, subject words): each topic's two content items repeat its word, so training has signal.
_TINY_SUBJECTS = {
    "en": ["fractions", "decimals", "algebra", "geometry", "probability", "vectors", "graphs", "angles",
           "ratios", "primes", "circles", "statistics"],
    "es": ["fracciones", "decimales", "álgebra", "geometría", "probabilidad", "vectores"],
    "ar": ["الكسور", "الهندسة", "الجبر", "الاحتمالات"],
}


def build_tiny_backbone_folder(folder: Path) -> Path:
    from .backbones import BackboneInfo, read_backbone_info
    from .backbones.tiny import build_tiny_backbone

    build_tiny_backbone(folder, hidden=32, layers=4, heads=2, intermediate=64, seed=TINY_SEED, pooling="mean")
    info = read_backbone_info(folder)
    BackboneInfo(name=info.name, pooling="mean", prefixes=dict(TINY_PREFIXES), source=info.source).save(folder)
    return folder


def write_tiny_dataset(folder: Path) -> Path:
    """A small multilingual LECR dataset (Contract 1) with splits.csv; deterministic."""
    import pandas as pd

    from .data.lecr import Dataset, write_dataset
    from .splits import make_splits, write_splits

    topics, content, links = [], [], []
    for lang, words in _TINY_SUBJECTS.items():
        root = f"root-{lang}"
        topics.append((root, f"Mathematics ({lang})", "", lang, f"channel-{lang}"))
        for n, w in enumerate(words):
            tid = f"{lang}-t{n}"
            topics.append((tid, w.title(), root, lang, f"channel-{lang}"))
            ids = [f"{tid}-c{k}" for k in range(2)]
            content += [(i, f"{w} ({k + 1})", f"{w} — lesson", f"{w} " * 6, lang) for k, i in enumerate(ids)]
            links.append((tid, " ".join(ids)))
    t = pd.DataFrame(topics, columns=["id", "title", "parent", "language", "channel"]).assign(description="")
    c = pd.DataFrame(content, columns=["id", "title", "description", "text", "language"])
    ds = Dataset(t, c, pd.DataFrame(links, columns=["topic_id", "content_ids"]), name="tiny")
    write_dataset(ds, folder)
    write_splits(make_splits(ds)[0], folder)
    return folder


def train_tiny(work: Path, log=print) -> tuple:
    """(teacher checkpoint, distilled checkpoint) after a few steps of each, in `work`."""
    from .distill import distill
    from .train import Trainer
    from .training_config import load_config

    data = write_tiny_dataset(work / "data" / "tiny")
    backbone = build_tiny_backbone_folder(work / "backbone")
    teacher_dir, student_dir = work / "teacher", work / "distilled"
    cfg = load_config(None, None, TINY_SETS, {**TINY_TRAIN, "dataset": str(data), "backbone": str(backbone),
                                              "out": str(teacher_dir)})
    log("[tiny] training the teacher (a few steps)")
    Trainer(cfg).train()
    log("[tiny] distilling layers 1,3 of 4 (a few steps)")
    distill(teacher_dir, student_dir, layers="1,3", sets=TINY_SETS, flags=dict(TINY_TRAIN))
    return teacher_dir, student_dir


def build_tiny_bundle(out: Path | str, force: bool = True, log=print) -> dict:
    import torch

    from .bundle import build_bundle
    from .model import BiEncoder

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-file load/save bars would drown the pipeline's own lines
    torch.manual_seed(TINY_SEED)
    with tempfile.TemporaryDirectory(prefix="tiny-bundle-") as tmp:
        teacher_dir, student_dir = train_tiny(Path(tmp), log=log)
        teacher = BiEncoder.from_checkpoint(teacher_dir).eval()
        student = BiEncoder.from_checkpoint(student_dir).eval()
        return build_bundle(out, {"full": teacher, "distilled": student}, teacher_dir / "encoder" / "tokenizer.json",
                            name="tiny", languages=None, force=force, log=log,
                            provenance={"pipeline": "tiny: train 3 steps → distil 3 steps (layers 1,3) → export",
                                        "tiny_pipeline_version": TINY_PIPELINE_VERSION,
                                        "backbone": teacher.backbone_name, "distilled_layers": [1, 3]})
