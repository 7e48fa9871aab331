"""Distillation (seed-algorithm.md §8): a shallower student initialised from the teacher.

Student = a copy of the teacher keeping only `layers_to_keep` of its transformer layers (re-indexed
0..k-1); embeddings, pooling, projection, prefixes come along unchanged. It is trained to reproduce the
teacher's pooled features and masked last hidden states (losses/distillation.py).

Which layers: the seed is ambiguous (its README example keeps 0,2,4,7,9,11 "just as an example"; its
figure keeps 1,3,5,7,9,11). Our default keeps every other layer ending at the last one — 1,3,5,7,9,11
of 12 — because the teacher's output space is produced by its last layer: keeping it means the student
starts with an output head that already matches, and the first layer is the one whose work the next
kept layer (1) most easily absorbs. `--layers` overrides it.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence


# The recipe `bundle make` distils with when no distilled checkpoint exists: the better of the two
# variants measured on Oak fold 0 (docs/results.md "Encoder variants": the seed's loss alone reached 90 %
# of the teacher's F2 in 300 steps, with InfoNCE added 105 %), 2 epochs of at most 150 steps of the
# teacher's batch size, lr 2e-4 (the student starts from dropped layers and has more to relearn).
RECOMMENDED_ARGS = ("--with-infonce", "--epochs", "2", "--max-steps-per-epoch", "150", "--lr", "2e-4")


def default_layers(num_layers: int) -> list:
    """Every other layer, ending with the last: 12 → [1, 3, 5, 7, 9, 11]; 4 → [1, 3]."""
    return list(range(num_layers - 1, -1, -2))[::-1]


def parse_layers(value: Optional[str], num_layers: int) -> list:
    if not value:
        return default_layers(num_layers)
    try:
        layers = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--layers must be comma-separated integers, got {value!r}") from None
    return validate_layers(layers, num_layers)


def validate_layers(layers: Sequence[int], num_layers: int) -> list:
    layers = list(layers)
    if not layers:
        raise ValueError("layers_to_keep is empty")
    if sorted(set(layers)) != layers:
        raise ValueError(f"layers_to_keep must be strictly increasing without repeats, got {layers}")
    if layers[0] < 0 or layers[-1] >= num_layers:
        raise ValueError(f"layers_to_keep {layers} out of range for a {num_layers}-layer teacher")
    return layers


def _layer_list(hf_model):
    """The ModuleList of transformer layers of a BERT-like HF model (BERT, XLM-R, MiniLM)."""
    enc = getattr(hf_model, "encoder", None)
    layers = getattr(enc, "layer", None)
    if layers is None:
        raise TypeError(f"{type(hf_model).__name__}: no encoder.layer list; only BERT-like encoders can be distilled")
    return enc, layers


def make_student(teacher, layers_to_keep: Optional[Sequence[int]] = None):
    """A deep copy of `teacher` (BiEncoder or export.BackboneEncoder) with only `layers_to_keep`."""
    import torch

    student = copy.deepcopy(teacher)
    enc, layers = _layer_list(student.encoder)
    keep = validate_layers(layers_to_keep if layers_to_keep is not None else default_layers(len(layers)), len(layers))
    enc.layer = torch.nn.ModuleList([layers[i] for i in keep])
    # Attention modules record their layer index (used for caches); re-index to match the new positions.
    for new_index, layer in enumerate(enc.layer):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_index
    student.encoder.config.num_hidden_layers = len(keep)
    student.layers_kept = keep
    for p in student.parameters():
        p.requires_grad_(True)
    return student


# ---------------------------------------------------------------------------------------------- training
def _set_dropout(model, p: float) -> None:
    """The teacher was loaded for inference (dropout 0); the student trains with the run's dropout."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = float(p)
    cfg = model.encoder.config
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        if hasattr(cfg, name):
            setattr(cfg, name, float(p))


def _trainer_base():
    from .train import Trainer  # imported lazily: the training module pulls in the whole training stack

    return Trainer


_CLASS = None


def __getattr__(name: str):
    # `from curriculum_training.distill import DistillationTrainer` gives the real Trainer subclass; it is
    # built on first use so that importing make_student does not pull in the whole training stack.
    if name == "DistillationTrainer":
        return _distillation_trainer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _distillation_trainer_class():
    """DistillationTrainer(Trainer): the training loop, sampler, mining, schedule, evaluation and
    checkpoints of train.py unchanged; only compute_loss differs (plus a frozen teacher)."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import torch

    from .losses import symmetric_infonce
    from .losses.distillation import DEFAULT_WEIGHTS, distillation_loss

    Trainer = _trainer_base()

    class _DistillationTrainer(Trainer):
        def __init__(self, cfg, teacher, layers_to_keep: Optional[Sequence[int]] = None, with_infonce: bool = False,
                     infonce_weight: float = 1.0, weights=DEFAULT_WEIGHTS, dataset=None, splits=None):
            teacher = teacher.eval()
            for p in teacher.parameters():
                p.requires_grad_(False)
            student = make_student(teacher, layers_to_keep)
            _set_dropout(student, cfg.dropout)
            student.max_length = cfg.max_length
            self.teacher = teacher
            self.with_infonce = bool(with_infonce)
            self.infonce_weight = float(infonce_weight)
            self.weights = tuple(weights)
            super().__init__(cfg, model=student, dataset=dataset, splits=splits)
            self.teacher.to(self.device)

        def compute_loss(self, batch):
            args = (batch["t_ids"], batch["t_mask"], batch["c_ids"], batch["c_mask"])
            student = self.model.forward_pair(*args)
            with torch.no_grad():
                teacher = self.teacher.forward_pair(*args)
            loss, logs = distillation_loss(student, teacher, self.weights)
            logs["distill"] = float(loss.detach())
            if self.with_infonce:
                scale = self.model.scale()
                nce = symmetric_infonce(student[0], student[1], scale, self.cfg.label_smoothing)
                loss = loss + self.infonce_weight * nce
                logs["infonce"] = float(nce.detach())
            logs["loss"] = float(loss.detach())
            return loss, logs

        def distillation_meta(self) -> dict:
            return {"teacher": self.teacher.backbone_name, "teacher_layers": int(self.teacher.encoder.config.num_hidden_layers),
                    "layers_kept": list(self.model.layers_kept), "with_infonce": self.with_infonce,
                    "infonce_weight": self.infonce_weight if self.with_infonce else 0.0,
                    "weights": {"topic": self.weights[0], "content": self.weights[1], "hidden": self.weights[2]}}

        def save_final(self, report, epoch: int) -> None:
            super().save_final(report, epoch)
            _add_meta(self.out, {"distillation": self.distillation_meta()})

    _DistillationTrainer.__name__ = _DistillationTrainer.__qualname__ = "DistillationTrainer"
    _CLASS = _DistillationTrainer
    return _CLASS


def _add_meta(ckpt, extra: dict) -> None:
    import json
    from pathlib import Path

    path = Path(ckpt) / "bi_encoder.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(extra)
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- CLI
def distill(teacher_ckpt, out, layers: Optional[str] = None, with_infonce: bool = False, infonce_weight: float = 1.0,
            preset: Optional[str] = None, sets: Sequence[str] = (), flags: Optional[dict] = None) -> dict:
    """Distils `teacher_ckpt` into `out` with the teacher's own training configuration (its
    train_config.yaml: dataset, split, sampler, mining, schedule), overridden by preset / --set / flags."""
    from pathlib import Path

    from .model import BiEncoder
    from .training_config import load_config

    teacher_ckpt = Path(teacher_ckpt)
    saved = teacher_ckpt / "train_config.yaml"
    # The teacher's run may have evaluated its untrained backbone first; for the student that would be
    # a layer-dropped, never-trained model: skip it unless asked (--set eval_before_training=true).
    sets = ["eval_before_training=false", *sets]
    cfg = load_config(preset, str(saved) if saved.exists() and not preset else None, sets,
                      {**(flags or {}), "out": str(out)})
    teacher = BiEncoder.from_checkpoint(teacher_ckpt, dropout=0.0, logit_scale_max=cfg.logit_scale_max)
    keep = parse_layers(layers, int(teacher.encoder.config.num_hidden_layers))
    cfg.checkpoint_start = None
    trainer = _distillation_trainer_class()(cfg, teacher, keep, with_infonce=with_infonce, infonce_weight=infonce_weight)
    metrics = trainer.train()
    return {"out": str(out), "best_f2": metrics["best_f2"], "best_epoch": metrics["best_epoch"],
            "layers_kept": keep, "with_infonce": with_infonce}


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    import json
    import shutil
    import sys
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m curriculum_training.distill", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, type=Path, help="trained bi-encoder checkpoint (make train)")
    ap.add_argument("--out", required=True, type=Path, help="where the distilled checkpoint goes")
    ap.add_argument("--layers", help="teacher layers to keep, e.g. 0,2,4,7,9,11 (default: every other, ending "
                                     "with the last)")
    ap.add_argument("--with-infonce", action="store_true", help="add the InfoNCE loss to the distillation loss")
    ap.add_argument("--infonce-weight", type=float, default=1.0)
    ap.add_argument("--compare", action="store_true",
                    help="train both variants (plain, +InfoNCE) into OUT.mse / OUT.infonce, report both F2 and "
                         "copy the better one to OUT")
    ap.add_argument("--preset", help="training preset instead of the teacher's train_config.yaml")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a training field")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", dest="batch_size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--max-steps-per-epoch", dest="max_steps_per_epoch", type=int)
    ap.add_argument("--device")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    args = ap.parse_args(argv)
    flags = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "max_steps_per_epoch", "device",
                                           "threads", "progress")}
    if not (args.teacher / "bi_encoder.json").exists():
        print(f"error: {args.teacher}: not a bi-encoder checkpoint (no bi_encoder.json); run `make train`",
              file=sys.stderr)
        return 2
    common = dict(layers=args.layers, infonce_weight=args.infonce_weight, preset=args.preset, sets=args.set,
                  flags=flags)
    try:
        if not args.compare:
            result = distill(args.teacher, args.out, with_infonce=args.with_infonce, **common)
            print(json.dumps(result))
            return 0
        results = {}
        for name, nce in (("mse", False), ("infonce", True)):
            target = args.out.parent / f"{args.out.name}.{name}"
            results[name] = distill(args.teacher, target, with_infonce=nce, **common)
        best = max(results, key=lambda k: results[k]["best_f2"] if results[k]["best_f2"] is not None else -1)
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(results[best]["out"], args.out, ignore=shutil.ignore_patterns("last"))
        summary = {"kept": best, "variants": results, "out": str(args.out)}
        (args.out / "distill_comparison.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(summary))
        return 0
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    import sys

    sys.exit(main())
