"""Contrastive training of the bi-encoder (seed-algorithm.md §3–§6), and its CLI.

    python -m curriculum_training.train --preset cpu --dataset data/oak --out artifacts/checkpoints/default
    python -m curriculum_training.train --preset gpu --device cuda --dataset data/oak --split group --out …
    python -m curriculum_training.train --resume artifacts/checkpoints/default      # continue a stopped run

Per epoch: build the §5.2 batches from the epoch's text pool (§5.4), train (AdamW, warm-up + polynomial
decay, autocast, accumulation, clipping), evaluate F2 on the validation split (pool 0 text, all content,
same language; the foundation evaluator), keep the best checkpoint, apply the seed's "reload the best
weights if F2 < 0.8 × best" rule, save `<out>/last/` for resuming, then mine missing positives and hard
negatives (§5.3) with the next epoch's pool for the next epoch's batches.

Output folder (`--out`):
    <out>/                 the final model in the checkpoint format of model.py (the best epoch by F2; the
                           last epoch with train_on_all, where "best" is measured on trained-on topics),
                           plus train_config.yaml, metrics.json, training_curves.png, eval/ (the report)
    <out>/last/            the last epoch's weights + training_state.pt (optimizer, scheduler, scaler,
                           epoch, mining lists, RNG states) — what --resume reads

`Trainer.compute_loss` is the one method a subclass overrides to change the objective (distillation).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .data.lecr import Dataset, DatasetError, read_dataset
from .embedding import autocast_context, embed_token_ids
from .losses import symmetric_infonce
from .mining import MiningResult, content_to_topics, mine
from .model import BiEncoder
from .sampler import BatchPlan, build_batches
from .switching import available_pools, pool_schedule, resolve_pools
from .text import content_strings, topic_strings
from .training_config import TrainConfig, load_config, resolve_input

STATE_FILE = "training_state.pt"
LAST_DIR = "last"
METRICS_FILE = "metrics.json"
CURVES_FILE = "training_curves.png"
CONFIG_FILE = "train_config.yaml"

Pair = Tuple[str, str]


# ---------------------------------------------------------------------- schedule
def polynomial_lr_factor(step: int, warmup_steps: int, total_steps: int, lr: float, lr_end: float,
                         power: float) -> float:
    """Multiplier of `lr` at optimizer step `step` (the seed's HF polynomial schedule with warm-up):
    linear warm-up to lr, then (lr − lr_end)·(1 − progress)^power + lr_end, then lr_end."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    if step >= total_steps or total_steps <= warmup_steps:
        return lr_end / lr
    remaining = 1.0 - (step - warmup_steps) / (total_steps - warmup_steps)
    return ((lr - lr_end) * remaining ** power + lr_end) / lr


# ---------------------------------------------------------------------- text pools
@dataclass
class TextPool:
    """One pool's texts: original rows replaced by the pool's translated rows where it has them."""
    number: int
    topic_text: Dict[str, str]
    topic_lang: Dict[str, str]
    content_text: Dict[str, str]
    content_lang: Dict[str, str]


def build_pool(ds: Dataset, number: int) -> TextPool:
    topics, content = ds.topics.copy(), ds.content.copy()
    topics["language_t"] = topics["language"].astype(str)
    content["language_t"] = content["language"].astype(str)
    if number != 0:
        if number not in ds.switch:
            raise DatasetError(f"{ds.name}: no switch pool {number} (switch/topics_{number}.csv)")
        st, sc = ds.switch[number]
        topics = _overlay(topics, st, ["title", "description", "parent", "language_t"])
        content = _overlay(content, sc, ["title", "description", "text", "language_t"])
    t_ids, c_ids = topics["id"].astype(str), content["id"].astype(str)
    return TextPool(number, topic_strings(topics), dict(zip(t_ids, topics["language_t"].astype(str))),
                    content_strings(content), dict(zip(c_ids, content["language_t"].astype(str))))


def _overlay(base, rows, columns):
    """`base` with the given columns replaced for the ids present in `rows` (a pool may translate only
    part of the dataset; the rest keeps its original text and language)."""
    rows = rows.copy()
    rows["id"] = rows["id"].astype(str)
    rows = rows.drop_duplicates("id", keep="last").set_index("id")
    out = base.copy()
    ids = out["id"].astype(str)
    present = ids.isin(rows.index)
    for col in columns:
        if col in rows.columns:
            values = ids[present].map(rows[col].astype(str))
            if col == "parent":
                values = values.where(values != "", out.loc[present, col])
            out.loc[present, col] = values.values
    return out


# ---------------------------------------------------------------------- the trainer
class Trainer:
    """Trains a BiEncoder per TrainConfig. Subclasses override `compute_loss` (and may pass their own
    model); the loop is shared."""

    def __init__(self, cfg: TrainConfig, model: Optional[BiEncoder] = None, dataset: Optional[Dataset] = None,
                 splits=None):
        self.cfg = cfg.validate()
        self.out = Path(cfg.out)
        self.device = self._resolve_device(cfg.device)
        if self.device.type == "cpu" and cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.amp = None if cfg.mixed_precision == "none" else cfg.mixed_precision
        seed_everything(cfg.seed)

        self.dataset = dataset if dataset is not None else read_dataset(resolve_input(cfg.dataset))
        self.splits = splits if splits is not None else self._read_splits()
        self._prepare_split()
        self.model = model if model is not None else self.build_model()
        self.model.to(self.device)
        self.model.set_gradient_checkpointing(cfg.gradient_checkpointing)
        if cfg.freeze_word_embeddings:
            self.model.encoder.get_input_embeddings().weight.requires_grad_(False)
        self.tokenizer = self.model.tokenizer(cfg.max_length)

        self.pools = resolve_pools(cfg.pools, available_pools(self.dataset))
        self.schedule = pool_schedule(cfg.epochs, self.pools, cfg.init_pool, cfg.epoch_stop_switching,
                                      cfg.language_switching)
        self._pool_cache: Dict[int, TextPool] = {}
        self._token_cache: Dict[int, Tuple[Dict[str, List[int]], Dict[str, List[int]]]] = {}

        self.optimizer = self.build_optimizer()
        self.steps_per_epoch = self._estimate_steps_per_epoch()
        total = cfg.epochs * self.steps_per_epoch
        warmup = int(round(cfg.warmup_epochs * self.steps_per_epoch))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda k: polynomial_lr_factor(k, warmup, total, cfg.lr, cfg.lr_end, cfg.lr_power))
        self.scaler = (torch.amp.GradScaler(self.device.type, init_scale=cfg.grad_scaler_init)
                       if self.amp == "fp16" else None)

        self.epoch = 0  # completed epochs
        self.global_step = 0
        self.best_f2: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.history: List[dict] = []
        self.step_losses: List[float] = []
        self.mined: Optional[MiningResult] = None
        self.untrained: Optional[dict] = None
        self._content_cache: Optional[Tuple[int, np.ndarray]] = None  # (pool, content embeddings)
        self.final_report = None  # EvalReport of the checkpoint in <out>

    # ------------------------------------------------------------------ setup helpers
    @staticmethod
    def _resolve_device(name: str) -> torch.device:
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} requested but CUDA is not available (use --device cpu)")
        return torch.device(name)

    def _read_splits(self):
        from .splits import read_splits

        return read_splits(resolve_input(self.cfg.dataset))

    def _prepare_split(self) -> None:
        from .evaluation.datasets import evaluation_set, ground_truth
        from .splits import split_topic_ids

        ds, cfg = self.dataset, self.cfg
        self.gt = ground_truth(ds)
        self.eval_set = evaluation_set(ds, self.splits, cfg.split_spec())
        train_ids = split_topic_ids(self.splits, "all")[0] if cfg.train_on_all else self.eval_set.train_topic_ids
        content_ids = set(ds.content["id"].astype(str))
        pairs: List[Pair] = []
        for t in sorted(set(train_ids)):
            for c in sorted(self.gt.get(t, ())):
                if c not in content_ids:
                    raise DatasetError(f"{ds.name}/correlations.csv: topic {t!r} links content {c!r}, "
                                       "which is not in content.csv")
                pairs.append((t, c))
        if cfg.max_train_pairs and len(pairs) > cfg.max_train_pairs:
            pairs = sorted(random.Random(cfg.seed).sample(pairs, cfg.max_train_pairs))
        if not pairs:
            raise ValueError(f"{ds.name}: no training pairs for split {cfg.split_spec()!r}")
        self.train_pairs = pairs
        self.train_topics = sorted({t for t, _ in pairs})
        self.topic2content: Dict[str, List[str]] = {}
        for t, c in pairs:
            self.topic2content.setdefault(t, []).append(c)
        # known positives for the batch guard: the FULL ground truth of each training topic
        self.known_positives = {t: sorted(self.gt.get(t, ())) for t in self.train_topics}
        self.content2topics = content_to_topics(pairs)
        if self.cfg.custom_sampling and len(self.train_topics) < self.cfg.batch_size:
            raise ValueError(
                f"batch_size {cfg.batch_size} exceeds the {len(self.train_topics)} training topics of "
                f"{ds.name} ({cfg.split_spec()}): a topic appears at most once per batch, so no batch could be "
                f"filled; use --set batch_size=N with N well below the topic count")

    def build_model(self) -> BiEncoder:
        cfg = self.cfg
        if cfg.checkpoint_start:
            model = BiEncoder.from_checkpoint(resolve_input(cfg.checkpoint_start), dropout=cfg.dropout,
                                              logit_scale_max=cfg.logit_scale_max)
            model.max_length = cfg.max_length
            return model
        folder = resolve_input(cfg.backbone)
        if not folder.is_dir():
            raise FileNotFoundError(f"backbone folder {cfg.backbone} not found: run `make backbones` (it writes "
                                    "artifacts/backbones/multilingual-e5-small) or pass --backbone <folder>")
        return BiEncoder.from_backbone(folder, projection=cfg.projection, dropout=cfg.dropout,
                                       max_length=cfg.max_length, pooling=cfg.pooling,
                                       logit_scale_max=cfg.logit_scale_max)

    def build_optimizer(self) -> torch.optim.Optimizer:
        params = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        if self.cfg.decay_exclude_bias:
            no_decay = [p for n, p in params if p.ndim < 2 or n.endswith(".bias")]
            decay = [p for n, p in params if not (p.ndim < 2 or n.endswith(".bias"))]
            groups = [{"params": decay, "weight_decay": self.cfg.weight_decay},
                      {"params": no_decay, "weight_decay": 0.0}]
        else:
            groups = [{"params": [p for _, p in params], "weight_decay": self.cfg.weight_decay}]
        return torch.optim.AdamW(groups, lr=self.cfg.lr)

    def _estimate_steps_per_epoch(self) -> int:
        """Optimizer steps per epoch for the LR schedule: like the seed, from the unshuffled pair count
        (ceil(pairs / batch)), capped by max_steps_per_epoch."""
        batches = math.ceil(len(self.train_pairs) / self.cfg.batch_size)
        if self.cfg.max_steps_per_epoch:
            batches = min(batches, self.cfg.max_steps_per_epoch * self.cfg.gradient_accumulation)
        return max(1, math.ceil(batches / self.cfg.gradient_accumulation))

    # ------------------------------------------------------------------ text and tokens
    def pool(self, number: int) -> TextPool:
        if number not in self._pool_cache:
            self._pool_cache[number] = build_pool(self.dataset, number)
        return self._pool_cache[number]

    def tokens(self, number: int) -> Tuple[Dict[str, List[int]], Dict[str, List[int]]]:
        """(topic id → token ids, content id → token ids) of a pool, with the model's prefixes."""
        if number not in self._token_cache:
            p = self.pool(number)
            t_ids, c_ids = list(p.topic_text), list(p.content_text)
            t_tok = self.tokenizer.ids([p.topic_text[t] for t in t_ids], self.model.prefixes["topic"])
            c_tok = self.tokenizer.ids([p.content_text[c] for c in c_ids], self.model.prefixes["content"])
            self._token_cache[number] = (dict(zip(t_ids, t_tok)), dict(zip(c_ids, c_tok)))
        return self._token_cache[number]

    def collate(self, batch: Sequence[Pair], pool: int) -> Dict[str, Tensor]:
        """Topic and content tensors padded to ONE length (the longest of either side), as the paired
        forward needs."""
        t_tok, c_tok = self.tokens(pool)
        ts = [t_tok[t] for t, _ in batch]
        cs = [c_tok[c] for _, c in batch]
        length = max(len(x) for x in ts + cs)
        t = self.tokenizer.pad(ts, length)
        c = self.tokenizer.pad(cs, length)
        return {"t_ids": torch.from_numpy(t["input_ids"]), "t_mask": torch.from_numpy(t["attention_mask"]),
                "c_ids": torch.from_numpy(c["input_ids"]), "c_mask": torch.from_numpy(c["attention_mask"])}

    # ------------------------------------------------------------------ the objective
    def compute_loss(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        """Symmetric InfoNCE over the in-batch pairs. Returns (loss, scalars to log)."""
        t, c, _ = self.model.forward_pair(batch["t_ids"], batch["t_mask"], batch["c_ids"], batch["c_mask"])
        scale = self.model.scale()
        loss = symmetric_infonce(t, c, scale, self.cfg.label_smoothing)
        return loss, {"loss": float(loss.detach()), "scale": float(scale.detach())}

    # ------------------------------------------------------------------ batches
    def plan_epoch(self, epoch: int, pool: int) -> BatchPlan:
        """The epoch's batches; the RNG is seeded by (seed, epoch), so a resumed run rebuilds the same."""
        rng = random.Random(self.cfg.seed * 100003 + epoch)
        cfg = self.cfg
        if not cfg.custom_sampling:
            pairs = list(self.train_pairs)
            rng.shuffle(pairs)
            n = len(pairs) // cfg.batch_size
            batches = [pairs[i * cfg.batch_size:(i + 1) * cfg.batch_size] for i in range(n)]
            return BatchPlan(batches, [["pair"] * len(b) for b in batches], [[-1] * len(b) for b in batches],
                             {"batches": n, "samples": n * cfg.batch_size})
        mined = self.mined if (cfg.sim_sample and self.mined is not None) else None
        return build_batches(self.train_pairs, self.known_positives, cfg.batch_size, rng,
                             missing=mined.missing if mined else None, wrong=mined.wrong if mined else None,
                             max_wrong=cfg.max_wrong, missing_prob=cfg.missing_prob, max_fails=cfg.max_fails,
                             seed_quirks=cfg.sampler_seed_quirks)

    # ------------------------------------------------------------------ one epoch
    def train_epoch(self, epoch: int, pool: int) -> dict:
        cfg = self.cfg
        plan = self.plan_epoch(epoch, pool)
        batches = plan.batches
        if cfg.max_steps_per_epoch:
            batches = batches[: cfg.max_steps_per_epoch * cfg.gradient_accumulation]
        if not batches:
            raise ValueError(f"epoch {epoch}: the batch builder produced no full batch of {cfg.batch_size} pairs "
                             f"from {len(self.train_pairs)} training pairs; lower batch_size")
        self.model.train()
        losses: List[float] = []
        started = time.time()
        bar = _progress(batches, cfg.progress, desc=f"epoch {epoch}/{cfg.epochs} (pool {pool})", unit="batch")
        self.optimizer.zero_grad(set_to_none=True)
        accum = cfg.gradient_accumulation
        for i, pairs in enumerate(bar):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in self.collate(pairs, pool).items()}
            with autocast_context(self.device.type, self.amp):
                loss, logs = self.compute_loss(batch)
            scaled = loss / accum
            if self.scaler is not None:
                self.scaler.scale(scaled).backward()
            else:
                scaled.backward()
            losses.append(logs.get("loss", float(loss.detach())))
            self.step_losses.append(losses[-1])
            if (i + 1) % accum == 0 or i + 1 == len(batches):
                self._optimizer_step()
            if cfg.progress and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}",
                                scale=f"{float(self.model.scale()):.1f}")
        return {"epoch": epoch, "pool": pool, "steps": len(batches), "train_loss": float(np.mean(losses)),
                "lr": float(self.scheduler.get_last_lr()[0]), "logit_scale": float(self.model.logit_scale.detach()),
                "train_seconds": round(time.time() - started, 2), "sampler": plan.stats}

    def _optimizer_step(self) -> None:
        cfg = self.cfg
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if cfg.clip_grad:
            params = [p for p in self.model.parameters() if p.grad is not None]
            if cfg.clip_mode == "value":
                torch.nn.utils.clip_grad_value_(params, cfg.clip_grad)
            else:
                torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.global_step += 1

    # ------------------------------------------------------------------ embedding, evaluation, mining
    def embed(self, pool: int, topic_ids: Sequence[str], content_ids: Sequence[str], desc: str):
        t_tok, c_tok = self.tokens(pool)
        kw = dict(pad_id=self.tokenizer.pad_id, batch_size=self.cfg.eval_batch_size, device=self.device,
                  amp=self.amp, progress=self.cfg.progress)
        t = embed_token_ids(self.model, [t_tok[x] for x in topic_ids], desc=f"{desc}: topics", **kw)
        c = embed_token_ids(self.model, [c_tok[x] for x in content_ids], desc=f"{desc}: content", **kw) \
            if content_ids is not None else None
        return t, c

    def content_ids(self) -> List[str]:
        return self.dataset.content["id"].astype(str).tolist()

    def evaluate(self, epoch: int):
        """F2 etc. on the validation split: pool 0 text, all content, same language (EvalReport)."""
        from .evaluation import evaluate

        es = self.eval_set
        c_ids = self.content_ids()
        t_emb, c_emb = self.embed(0, es.topic_ids, c_ids, "evaluating")
        self._content_cache = (0, c_emb)  # reusable for mining while the weights do not change
        pool0 = self.pool(0)
        report = evaluate(es.topic_ids, t_emb, es.topic_lang, c_ids, c_emb, [pool0.content_lang[c] for c in c_ids],
                          es.gt, margin=self.cfg.margin, max_candidates=self.cfg.max_candidates,
                          meta={"dataset": self.dataset.name, "split": self.cfg.split_spec(), "epoch": epoch,
                                "model": self.model.backbone_name})
        return report

    def mine_for(self, pool: int) -> MiningResult:
        c_ids = self.content_ids()
        cached = getattr(self, "_content_cache", None)
        if cached is not None and cached[0] == pool:
            t_emb, _ = self.embed(pool, self.train_topics, None, f"mining pool {pool}")
            c_emb = cached[1]
        else:
            t_emb, c_emb = self.embed(pool, self.train_topics, c_ids, f"mining pool {pool}")
        p = self.pool(pool)
        return mine(self.train_topics, t_emb, [p.topic_lang[t] for t in self.train_topics], c_ids, c_emb,
                    [p.content_lang[c] for c in c_ids], self.gt, self.content2topics, margin=self.cfg.margin,
                    max_candidates=self.cfg.max_candidates)

    # ------------------------------------------------------------------ the loop
    def train(self) -> dict:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        cfg.save(self.out / CONFIG_FILE)
        self.log(f"training {self.model.backbone_name} on {self.dataset.name} ({cfg.split_spec()}"
                 f"{', train_on_all' if cfg.train_on_all else ''}): {len(self.train_pairs)} pairs, "
                 f"{len(self.train_topics)} topics, {len(self.eval_set.topic_ids)} validation topics; "
                 f"device {self.device}, mixed precision {cfg.mixed_precision}, pools {self.pools}, "
                 f"~{self.steps_per_epoch} steps/epoch × {cfg.epochs} epochs")
        last_report = None  # with epochs=0 the untrained evaluation is the final one (`--set epochs=0`)
        if cfg.eval_before_training and self.epoch == 0 and self.untrained is None:
            report = last_report = self.evaluate(0)
            self.untrained = _report_summary(report)
            self.log(f"untrained model: F2 {report.f2:.4f} (P {report.precision:.4f}, R {report.recall:.4f})")
            if cfg.sim_sample and cfg.sim_sample_start <= 0 and cfg.epochs > 0:
                self.mined = self.mine_for(self.schedule[0])
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            pool = self.schedule[epoch - 1]
            epoch_started = time.time()
            self._content_cache = None  # weights change this epoch
            row = self.train_epoch(epoch, pool)
            started = time.time()
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                report = last_report = self.evaluate(epoch)
                row.update(_report_summary(report))
                self._after_evaluation(epoch, report, row)
            if cfg.sim_sample and epoch >= cfg.sim_sample_start and epoch < cfg.epochs:
                self.mined = self.mine_for(self.schedule[epoch])
                row["mining"] = {"pool": self.schedule[epoch], **self.mined.stats}
            row["eval_seconds"] = round(time.time() - started, 2)
            self.history.append(row)
            self.epoch = epoch
            self.log(_epoch_line(row))
            if cfg.save_last:
                self.save_last()
            # redraw the curves each epoch only when epochs are long enough that a second of plotting is noise
            self.write_metrics(plot=time.time() - epoch_started > 30)
        if cfg.train_on_all or self.best_epoch is None:
            self.save_final(last_report, self.epoch)
        if self.final_report is not None:
            if cfg.plots:
                self.final_report.save(self.out / "eval")
            else:
                (self.out / "eval").mkdir(exist_ok=True)
                (self.out / "eval" / "report.json").write_text(
                    json.dumps(self.final_report.to_dict(), indent=2) + "\n", encoding="utf-8")
        self.write_metrics(plot=True)
        return self.metrics()

    def _after_evaluation(self, epoch: int, report, row: dict) -> None:
        f2 = report.f2
        if self.best_f2 is None or f2 > self.best_f2:
            self.best_f2, self.best_epoch = f2, epoch
            if not self.cfg.train_on_all:
                self.save_final(report, epoch)
                row["saved_best"] = True
        elif self.cfg.reload_best_ratio and f2 < self.cfg.reload_best_ratio * self.best_f2 \
                and not self.cfg.train_on_all and (self.out / "bi_encoder.json").exists():
            self.log(f"F2 {f2:.4f} < {self.cfg.reload_best_ratio} × best {self.best_f2:.4f}: reloading the "
                     f"epoch-{self.best_epoch} weights (optimizer and schedule carry on, as the seed)")
            self.load_weights(self.out)
            self._content_cache = None
            row["reloaded_best"] = self.best_epoch

    # ------------------------------------------------------------------ saving and resuming
    def save_final(self, report, epoch: int) -> None:
        extra = {"trained": {"dataset": self.dataset.name, "split": self.cfg.split_spec(), "epoch": epoch,
                             "train_on_all": self.cfg.train_on_all,
                             "f2": None if report is None else float(report.f2)}}
        self.model.save_checkpoint(self.out, extra=extra)
        self.cfg.save(self.out / CONFIG_FILE)
        self.final_report = report  # its files (JSON, Markdown, plots) are written once, at the end

    def load_weights(self, folder: Path) -> None:
        saved = BiEncoder.from_checkpoint(folder, dropout=self.cfg.dropout, logit_scale_max=self.cfg.logit_scale_max)
        self.model.load_state_dict(saved.state_dict())

    def save_last(self) -> None:
        last = self.out / LAST_DIR
        self.model.save_checkpoint(last, extra={"trained": {"epoch": self.epoch}})
        self.cfg.save(last / CONFIG_FILE)
        state = {
            "epoch": self.epoch, "global_step": self.global_step, "best_f2": self.best_f2,
            "best_epoch": self.best_epoch, "history": self.history, "step_losses": self.step_losses,
            "untrained": self.untrained,
            "mined": None if self.mined is None else {"missing": self.mined.missing, "wrong": self.mined.wrong,
                                                      "stats": self.mined.stats},
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
        }
        tmp = last / (STATE_FILE + ".tmp")
        torch.save(state, tmp)
        tmp.replace(last / STATE_FILE)  # atomic: a crash mid-write leaves the previous state

    def resume(self, folder: Path | str) -> None:
        """Continue from `<folder>/last` (or `folder` itself if it holds training_state.pt)."""
        folder = Path(folder)
        last = folder if (folder / STATE_FILE).exists() else folder / LAST_DIR
        if not (last / STATE_FILE).exists():
            raise FileNotFoundError(f"{folder}: nothing to resume (no {LAST_DIR}/{STATE_FILE})")
        self.load_weights(last)
        state = torch.load(last / STATE_FILE, map_location="cpu", weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self.best_f2, self.best_epoch = state["best_f2"], state["best_epoch"]
        self.history, self.step_losses = state["history"], state["step_losses"]
        self.untrained = state.get("untrained")
        m = state.get("mined")
        self.mined = None if m is None else MiningResult([tuple(p) for p in m["missing"]],
                                                         {t: [tuple(p) for p in v] for t, v in m["wrong"].items()},
                                                         m["stats"])
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        if self.epoch >= self.cfg.epochs:
            self.log(f"resumed at epoch {self.epoch}: already at epochs={self.cfg.epochs}; nothing to train "
                     "(raise --epochs to continue)")
        else:
            self.log(f"resumed after epoch {self.epoch} of {self.cfg.epochs}")

    # ------------------------------------------------------------------ reporting
    def metrics(self) -> dict:
        return {"dataset": self.dataset.name, "split": self.cfg.split_spec(), "train_on_all": self.cfg.train_on_all,
                "backbone": self.model.backbone_name, "device": str(self.device),
                "train_pairs": len(self.train_pairs), "train_topics": len(self.train_topics),
                "validation_topics": len(self.eval_set.topic_ids), "pools": self.pools,
                "untrained": self.untrained, "best_f2": self.best_f2, "best_epoch": self.best_epoch,
                "epochs": self.history}

    def write_metrics(self, plot: bool = False) -> None:
        """metrics.json after every epoch; the PNG (about a second of matplotlib) when `plot`."""
        (self.out / METRICS_FILE).write_text(json.dumps(self.metrics(), indent=2) + "\n", encoding="utf-8")
        if not plot or not self.cfg.plots:
            return
        try:
            plot_curves(self.history, self.step_losses, self.out / CURVES_FILE, self.untrained)
        except Exception as e:  # a plotting problem must never lose a training run
            self.log(f"warning: could not draw {CURVES_FILE}: {e}")

    def log(self, message: str) -> None:
        if self.cfg.progress:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- helpers
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _progress(items, enabled: bool, **kw):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, leave=False, **kw)


def _report_summary(report) -> dict:
    return {"f2": float(report.f2), "precision": float(report.precision), "recall": float(report.recall),
            "mean_selected": float(report.mean_selected), "mrr": float(report.mrr),
            "recall@50": float(report.recall_at_k.get("50", float("nan"))),
            "best_margin": report.best_margin, "f2_at_best_margin": report.best_f2}


def _epoch_line(row: dict) -> str:
    parts = [f"epoch {row['epoch']} (pool {row['pool']}): {row['steps']} steps, loss {row['train_loss']:.4f}, "
             f"lr {row['lr']:.2e}, scale {math.exp(row['logit_scale']):.1f}, {row['train_seconds']:.0f}s"]
    if "f2" in row:
        parts.append(f"F2 {row['f2']:.4f} (P {row['precision']:.4f}, R {row['recall']:.4f})")
    if row.get("saved_best"):
        parts.append("best so far, saved")
    if "reloaded_best" in row:
        parts.append(f"reloaded epoch {row['reloaded_best']}")
    if "mining" in row:
        m = row["mining"]
        parts.append(f"mined {m['missing']} missing, {m['companions']} companions")
    return "; ".join(parts)


def plot_curves(history: List[dict], step_losses: List[float], path: Path, untrained: Optional[dict] = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_f2) = plt.subplots(1, 2, figsize=(11, 4))
    if step_losses:
        steps = np.arange(1, len(step_losses) + 1)
        ax_loss.plot(steps, step_losses, color="#bbbbbb", linewidth=0.8, label="per step")
        window = max(1, len(step_losses) // 30)
        if window > 1:
            smooth = np.convolve(step_losses, np.ones(window) / window, mode="valid")
            ax_loss.plot(steps[window - 1:], smooth, color="C0", label=f"mean of {window}")
        ends = np.cumsum([r["steps"] for r in history])
        ax_loss.plot(ends, [r["train_loss"] for r in history], "o", color="C1", label="epoch mean")
    ax_loss.set_xlabel("batch")
    ax_loss.set_ylabel("symmetric InfoNCE")
    ax_loss.set_title("training loss")
    ax_loss.legend(loc="upper right")
    evals = [(r["epoch"], r["f2"]) for r in history if "f2" in r]
    if untrained:
        evals = [(0, untrained["f2"])] + evals
    if evals:
        xs, ys = zip(*evals)
        ax_f2.plot(xs, ys, "o-", color="C2")
        for x, y in evals:
            ax_f2.annotate(f"{y:.3f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax_f2.set_xlabel("epoch (0 = untrained)")
    ax_f2.set_ylabel("validation F2")
    ax_f2.set_title("validation F2 (margin selection)")
    ax_f2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------- CLI
TYPED_FLAGS = {  # flag → (config field, type)
    "dataset": str, "out": str, "backbone": str, "device": str, "split": str, "fold": int, "epochs": int,
    "batch_size": int, "lr": float, "threads": int, "max_steps_per_epoch": int, "seed": int,
    "mixed_precision": str, "checkpoint_start": str,
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m curriculum_training.train",
        description="Contrastive training of the bi-encoder (2nd-place LECR recipe). Configuration precedence: "
                    "defaults < --preset < --config < --set < typed flags.")
    ap.add_argument("--preset", help="training/presets/NAME.yaml (cpu, gpu) or a YAML path")
    ap.add_argument("--config", help="a YAML file of config fields")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one config field (repeatable), e.g. --set lr=1e-4 --set pools=[0]")
    for flag, typ in TYPED_FLAGS.items():
        ap.add_argument("--" + flag.replace("_", "-"), dest=flag, type=typ, default=None)
    ap.add_argument("--train-on-all", dest="train_on_all", action="store_const", const=True, default=None)
    ap.add_argument("--resume", metavar="OUT", help="continue the run saved in OUT/last (its train_config.yaml "
                    "replaces --preset/--config; --set and flags still apply)")
    ap.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None)
    ap.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    return ap


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    flags = {k: getattr(args, k) for k in list(TYPED_FLAGS) + ["train_on_all", "progress"]}
    if args.resume:
        saved = Path(args.resume) / LAST_DIR / CONFIG_FILE
        if not saved.exists():
            saved = Path(args.resume) / CONFIG_FILE
        if not saved.exists():
            raise FileNotFoundError(f"--resume {args.resume}: no {LAST_DIR}/{CONFIG_FILE} to resume from")
        flags.setdefault("out", None)
        if flags["out"] is None:
            flags["out"] = str(args.resume)
        return load_config(None, str(saved), args.set, flags)
    return load_config(args.preset, args.config, args.set, flags)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # load reports and shard-writing bars would bury the training log
    hf_logging.disable_progress_bar()
    try:
        cfg = config_from_args(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.print_config:
        print(cfg.to_yaml())
        return 0
    try:
        trainer = Trainer(cfg)
    except (FileNotFoundError, DatasetError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.resume:
        trainer.resume(args.resume)
    started = time.time()
    metrics = trainer.train()
    minutes = (time.time() - started) / 60
    best = metrics["best_f2"]
    print(json.dumps({"out": str(trainer.out), "best_f2": best, "best_epoch": metrics["best_epoch"],
                      "untrained_f2": (metrics["untrained"] or {}).get("f2"), "minutes": round(minutes, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
