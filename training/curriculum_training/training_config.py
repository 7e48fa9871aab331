"""The training configuration: ONE dataclass with every field of the seed's `Configuration`
(seed-algorithm.md §6) that still means something here, plus ours (paths, split, device, threads, limits).

Precedence, lowest first: the dataclass defaults (the seed's values) < `--preset NAME`
(training/presets/NAME.yaml) < `--config FILE.yaml` < `--set key=value` (repeatable) < typed flags
(`--dataset`, `--out`, `--device`, …). `load_config` implements it; train.py's CLI calls it.

Seed fields not carried over, and why: `transformer_teacher`, `use_teacher`, `pooling_teacher`,
`proj_teacher`, `checkpoint_teacher`, `layers_to_keep` (distillation: distill.py), `gpu_ids` (one device;
no DataParallel), `num_workers` (batches are built from pre-tokenised ids in the main process, no loader
workers needed), `eval_every_n_epoch`/`normalize_features`/`zero_shot` (unused or always on in the seed),
`cudnn_benchmark`/`cudnn_deterministic` (the seed's cudnn_benchmark never took effect; transformers
do not use cuDNN convolutions), `language` ('all' is the only value the seed used), `scheduler`
(polynomial is the only schedule implemented).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from .config import DEFAULT_MARGIN, DEFAULT_MAX_CANDIDATES, MAX_LENGTH, REPO_ROOT

PRESETS_DIR = REPO_ROOT / "training" / "presets"
SPLITS = ("fold", "group")
MIXED_PRECISION = ("fp16", "bf16", "none")
CLIP_MODES = ("value", "norm")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    # ---- data
    dataset: str = "data/oak"  # a LECR dataset folder (Contract 1) with splits.csv
    split: str = "fold"  # "fold": validate on fold `fold`; "group": validate on the group hold-out
    fold: int = 0
    train_on_all: bool = False  # train on every correlated topic (validation is then trained-on)
    # ---- model
    backbone: str = "artifacts/backbones/multilingual-e5-small"  # a backbone folder (backbones/__init__.py)
    checkpoint_start: Optional[str] = None  # start from a BiEncoder checkpoint instead of the backbone
    pooling: Optional[str] = None  # "mean" | "cls"; None = the backbone's (backbone.json)
    dropout: float = 0.1  # hidden and attention dropout (seed 0.1 / 0.1)
    projection: Optional[List[int]] = None  # [in, out]; seed: None
    max_length: int = MAX_LENGTH  # tokens, topics and contents (seed 96)
    logit_scale_max: Optional[float] = round(math.log(100.0), 6)  # clamp of the learned temperature; None = seed
    gradient_checkpointing: bool = False
    freeze_word_embeddings: bool = False  # ours: skip the (multilingual, ~96M-parameter) token table
    # ---- loss
    label_smoothing: float = 0.1
    # ---- optimisation
    seed: int = 42
    epochs: int = 40
    batch_size: int = 512  # pairs per step (2 × batch_size sequences)
    gradient_accumulation: int = 1
    lr: float = 2e-4
    lr_end: float = 5e-5
    lr_power: float = 1.5  # polynomial decay power
    warmup_epochs: float = 2.0
    weight_decay: float = 0.01  # AdamW default, as the seed (on every parameter)
    decay_exclude_bias: bool = False  # True: no decay on biases, LayerNorm and the temperature
    clip_grad: Optional[float] = 100.0
    clip_mode: str = "value"  # seed: clip_grad_value_ (100 is effectively a no-op); "norm" = clip_grad_norm_
    mixed_precision: str = "fp16"  # "fp16" (autocast + GradScaler, seed) | "bf16" (autocast) | "none"
    grad_scaler_init: float = 1024.0  # seed: GradScaler(init_scale=2**10)
    # ---- batches and mining (§5.2, §5.3)
    custom_sampling: bool = True  # the §5.2 builder; False = plain shuffled batches
    max_wrong: int = 128
    missing_prob: float = 0.5
    max_fails: int = 512
    sampler_seed_quirks: bool = False  # True reproduces the seed's builder exactly (sampler.py)
    sim_sample: bool = True  # hard-negative / missing-positive mining after each epoch
    sim_sample_start: int = 1  # first epoch after which to mine
    margin: float = DEFAULT_MARGIN  # selection margin (evaluation and mining; not in the loss)
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    # ---- language switching (§5.4)
    language_switching: bool = True
    pools: Optional[List[int]] = None  # None = 0 plus every switch pool of the dataset
    init_pool: int = 0
    epoch_stop_switching: int = 36
    # ---- evaluation and checkpoints
    eval_every: int = 1  # evaluate every n epochs (and after the last)
    eval_before_training: bool = False  # also evaluate the untrained model (epoch 0)
    eval_batch_size: int = 256
    reload_best_ratio: Optional[float] = 0.8  # seed: reload the best weights if F2 < 0.8 × best
    save_last: bool = True  # keep <out>/last/ (weights + optimizer state) for --resume
    # ---- runtime
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    threads: Optional[int] = None  # torch.set_num_threads on CPU; None = torch's default
    max_steps_per_epoch: Optional[int] = None  # the seed's `debug`: cap steps per epoch
    max_train_pairs: Optional[int] = None  # cap the training pairs (random subset, fixed by seed)
    progress: bool = True
    plots: bool = True  # training_curves.png and the evaluation report's plots (matplotlib)
    out: str = "artifacts/checkpoints/default"

    # ------------------------------------------------------------------ validation
    def validate(self) -> "TrainConfig":
        def bad(name: str, why: str) -> None:
            raise ValueError(f"config field {name!r}: {why} (got {getattr(self, name)!r})")

        if self.split not in SPLITS:
            bad("split", f"must be one of {SPLITS}")
        if self.pooling not in (None, "mean", "cls"):
            bad("pooling", "must be mean, cls or null")
        if self.mixed_precision not in MIXED_PRECISION:
            bad("mixed_precision", f"must be one of {MIXED_PRECISION}")
        if self.clip_mode not in CLIP_MODES:
            bad("clip_mode", f"must be one of {CLIP_MODES}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            bad("device", f"must be one of {DEVICES} or cuda:N")
        for name in ("epochs", "batch_size", "gradient_accumulation", "max_length", "max_wrong", "max_fails",
                     "eval_every", "eval_batch_size", "max_candidates"):
            if getattr(self, name) < 1 and not (name == "epochs" and getattr(self, name) == 0):
                bad(name, "must be >= 1")
        if self.batch_size < 2:
            bad("batch_size", "must be >= 2 (in-batch negatives)")
        if not 0 <= self.margin < 1:
            bad("margin", "must be in [0, 1)")
        if not 0 <= self.missing_prob <= 1:
            bad("missing_prob", "must be in [0, 1]")
        if not 0 <= self.label_smoothing < 1:
            bad("label_smoothing", "must be in [0, 1)")
        if self.lr <= 0 or self.lr_end < 0 or self.lr_end > self.lr:
            raise ValueError(f"config fields 'lr'/'lr_end': need 0 <= lr_end <= lr and lr > 0 "
                             f"(got lr={self.lr}, lr_end={self.lr_end})")
        if self.warmup_epochs < 0:
            bad("warmup_epochs", "must be >= 0")
        if self.projection is not None and len(self.projection) != 2:
            bad("projection", "must be [in, out] or null")
        if self.threads is not None and self.threads < 1:
            bad("threads", "must be >= 1 or null")
        for name in ("max_steps_per_epoch", "max_train_pairs"):
            v = getattr(self, name)
            if v is not None and v < 1:
                bad(name, "must be >= 1 or null")
        return self

    def split_spec(self) -> str:
        """The splits.py spec of the validation split ("fold0", "group")."""
        return "group" if self.split == "group" else f"fold{self.fold}"

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


# ---------------------------------------------------------------------- loading and overriding
_HINTS = typing.get_type_hints(TrainConfig)
FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Check/convert a value for field `name` against its annotation; errors name the field and source."""
    hint = _HINTS[name]
    optional = False
    if typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if value is None or (isinstance(value, str) and value.lower() in ("null", "none") and optional):
        if optional:
            return None
        raise ValueError(f"{source}: field {name!r} may not be null")
    origin = typing.get_origin(hint)
    try:
        if origin in (list, List):
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if not isinstance(value, (list, tuple)):
                raise TypeError
            (item,) = typing.get_args(hint)
            return [item(v) for v in value]
        if hint is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "yes", "1", "on"):
                    return True
                if low in ("false", "no", "0", "off"):
                    return False
                raise TypeError
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if hint is int:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if hint is str:
            if not isinstance(value, (str, int, float)):
                raise TypeError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ValueError(f"{source}: field {name!r} expects {_HINTS[name]}, got {value!r}")


def _check_key(key: str, source: str) -> None:
    if key not in FIELDS:
        close = difflib.get_close_matches(key, list(FIELDS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"{source}: unknown config field {key!r}{hint}")


def apply_mapping(cfg: TrainConfig, mapping: Dict[str, Any], source: str) -> TrainConfig:
    if mapping is None:
        return cfg
    if not isinstance(mapping, dict):
        raise ValueError(f"{source}: expected a mapping of config fields, got {type(mapping).__name__}")
    for key, value in mapping.items():
        _check_key(str(key), source)
        setattr(cfg, key, _coerce(key, value, source))
    return cfg


def read_yaml(path: Path | str) -> Dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from e
    return data or {}


def preset_path(name: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"preset {name!r} not found in {PRESETS_DIR} (known: {', '.join(known)})")
    return path


def parse_set(items: Sequence[str]) -> Dict[str, Any]:
    """`key=value` strings → {key: value}; values are parsed as YAML scalars/lists (1e-4, true, [384, 256])."""
    out: Dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        key = key.strip().replace("-", "_")
        _check_key(key, f"--set {item}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key] = value
    return out


def load_config(preset: Optional[str] = None, config_file: Optional[str] = None,
                sets: Sequence[str] = (), flags: Optional[Dict[str, Any]] = None) -> TrainConfig:
    """Defaults < preset < config file < --set < typed flags (None flags are ignored)."""
    cfg = TrainConfig()
    if preset:
        path = preset_path(preset)
        apply_mapping(cfg, read_yaml(path), str(path))
    if config_file:
        apply_mapping(cfg, read_yaml(config_file), str(config_file))
    parsed = parse_set(sets)
    for key, value in parsed.items():
        setattr(cfg, key, _coerce(key, value, f"--set {key}"))
    for key, value in (flags or {}).items():
        if value is not None:
            _check_key(key, f"--{key}")
            setattr(cfg, key, _coerce(key, value, f"--{key.replace('_', '-')}"))
    return cfg.validate()


def resolve_input(path: str | Path) -> Path:
    """An input path as given: absolute, or relative to the current directory; relative paths that do
    not exist there are tried against the repository root (so defaults work from any directory)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    alt = REPO_ROOT / p
    return alt if alt.exists() else p
