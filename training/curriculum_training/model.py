"""The bi-encoder (seed-algorithm.md §3): one shared transformer for topics and contents, pooled, with an
optional projection and a learned temperature.

Checkpoint folder (shared contract with distillation/export):

    <ckpt>/encoder/                  backbone folder format (config.json, model.safetensors, tokenizer.json, backbone.json)
    <ckpt>/bi_encoder.json           backbone, pooling, normalize, projection, logit_scale, prefixes, max_length, dim, text_format
    <ckpt>/projection.safetensors    only when a projection exists

Choices against the seed:
* The temperature is CLAMPED at ln(100) when used (CLIP's bound); the seed leaves it unclamped. With
  label smoothing 0.1 the loss optimum is at a finite scale, so in the seed's regime the clamp is never
  reached; it only guards fp16 logits and a runaway scale on small, easy datasets. `logit_scale_max=None`
  restores the seed's behaviour.
* Pooling is computed in float32 even under autocast (a masked sum over up to 96 tokens in fp16 can lose
  precision); it costs nothing next to the encoder.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .backbones import BackboneInfo, read_backbone_info
from .config import MAX_LENGTH, TEXT_FORMAT_VERSION

LOGIT_SCALE_INIT = math.log(1 / 0.07)  # ≈ 2.659, scale exp(·) ≈ 14.29 (seed)
LOGIT_SCALE_MAX = math.log(100.0)
POOLINGS = ("mean", "cls")
CHECKPOINT_FILE = "bi_encoder.json"
PROJECTION_FILE = "projection.safetensors"
ENCODER_DIR = "encoder"
# Tokenizer files copied along with the encoder (tokenizer.json is the one the service reads).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "sentencepiece.bpe.model", "vocab.txt")


def _load_encoder(folder: Path, config):
    """AutoModel without the BERT-style pooler head where the architecture allows it: the bi-encoder pools
    itself (CLS or mean), so the pooler would be dead weight in checkpoints and exports."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(folder, config=config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_pretrained(folder, config=config)


def _set_dropout(config, dropout: float) -> None:
    """Set hidden and attention dropout under whatever names this architecture uses."""
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout"):
        if hasattr(config, name):
            setattr(config, name, float(dropout))


class BiEncoder(nn.Module):
    def __init__(self, encoder, pooling: str, prefixes: Dict[str, str], max_length: int = MAX_LENGTH,
                 projection: Optional[Sequence[int]] = None, backbone_name: str = "",
                 tokenizer_dir: Optional[Path] = None, logit_scale: float = LOGIT_SCALE_INIT,
                 logit_scale_max: Optional[float] = LOGIT_SCALE_MAX, backbone_source: str = ""):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.prefixes = {"topic": "", "content": "", **(prefixes or {})}
        self.max_length = int(max_length)
        self.backbone_name = backbone_name
        self.backbone_source = backbone_source
        self.tokenizer_dir = Path(tokenizer_dir) if tokenizer_dir else None
        self.logit_scale_max = logit_scale_max
        self.gradient_checkpointing = False
        self.projection: Optional[nn.Linear] = None
        if projection is not None:
            d_in, d_out = int(projection[0]), int(projection[1])
            hidden = int(encoder.config.hidden_size)
            if d_in != hidden:
                raise ValueError(f"projection input size {d_in} does not match the encoder's hidden size {hidden}")
            self.projection = nn.Linear(d_in, d_out, bias=False)
            nn.init.normal_(self.projection.weight, mean=0.0, std=0.02)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_backbone(cls, folder, projection=None, dropout: float = 0.1, max_length: int = MAX_LENGTH,
                      pooling: Optional[str] = None, logit_scale_max: Optional[float] = LOGIT_SCALE_MAX) -> "BiEncoder":
        """A fresh bi-encoder on a backbone folder (see backbones/__init__.py); pooling from backbone.json
        unless given."""
        from transformers import AutoConfig

        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"backbone folder {folder} not found (run `make backbones`)")
        info = read_backbone_info(folder)
        config = AutoConfig.from_pretrained(folder)
        _set_dropout(config, dropout)
        encoder = _load_encoder(folder, config)
        return cls(encoder, pooling or info.pooling, info.prefixes, max_length, projection,
                   backbone_name=info.name, tokenizer_dir=folder, logit_scale_max=logit_scale_max,
                   backbone_source=info.source)

    @classmethod
    def from_checkpoint(cls, folder, dropout: float = 0.0,
                        logit_scale_max: Optional[float] = LOGIT_SCALE_MAX) -> "BiEncoder":
        """Load what `save_checkpoint` wrote. dropout 0 by default (inference, teachers)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig

        folder = Path(folder)
        meta_path = folder / CHECKPOINT_FILE
        if not meta_path.exists():
            raise FileNotFoundError(f"{folder}: not a bi-encoder checkpoint (no {CHECKPOINT_FILE})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        for key in ("pooling", "logit_scale", "prefixes", "max_length"):
            if key not in meta:
                raise ValueError(f"{meta_path}: missing field {key!r}")
        enc_dir = folder / ENCODER_DIR
        config = AutoConfig.from_pretrained(enc_dir)
        _set_dropout(config, dropout)
        encoder = _load_encoder(enc_dir, config)
        model = cls(encoder, meta["pooling"], meta["prefixes"], meta["max_length"], meta.get("projection"),
                    backbone_name=meta.get("backbone", ""), tokenizer_dir=enc_dir,
                    logit_scale=float(meta["logit_scale"]), logit_scale_max=logit_scale_max,
                    backbone_source=meta.get("backbone_source", ""))
        if model.projection is not None:
            path = folder / PROJECTION_FILE
            if not path.exists():
                raise FileNotFoundError(f"{meta_path} declares a projection but {path} is missing")
            model.projection.load_state_dict(load_file(str(path)))
        return model

    # ------------------------------------------------------------------ saving
    @property
    def dim(self) -> int:
        return int(self.projection.out_features if self.projection is not None else self.encoder.config.hidden_size)

    def metadata(self) -> dict:
        return {
            "backbone": self.backbone_name,
            "backbone_source": self.backbone_source,
            "pooling": self.pooling,
            "normalize": True,
            "projection": None if self.projection is None else [self.projection.in_features, self.projection.out_features],
            "logit_scale": float(self.logit_scale.detach().float().item()),
            "prefixes": dict(self.prefixes),
            "max_length": self.max_length,
            "dim": self.dim,
            "text_format": TEXT_FORMAT_VERSION,
        }

    def save_checkpoint(self, folder, extra: Optional[dict] = None) -> None:
        """Write the checkpoint folder (module docstring). `extra` keys are added to bi_encoder.json; they
        may not replace the contract's keys."""
        from safetensors.torch import save_file

        folder = Path(folder)
        enc_dir = folder / ENCODER_DIR
        enc_dir.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(enc_dir, safe_serialization=True)
        if self.tokenizer_dir is None or not (self.tokenizer_dir / "tokenizer.json").exists():
            raise FileNotFoundError("save_checkpoint: the model has no tokenizer folder to copy tokenizer.json from")
        if self.tokenizer_dir.resolve() != enc_dir.resolve():
            for name in _TOKENIZER_FILES:
                if (self.tokenizer_dir / name).exists():
                    shutil.copyfile(self.tokenizer_dir / name, enc_dir / name)
        BackboneInfo(name=self.backbone_name, pooling=self.pooling, prefixes=dict(self.prefixes),
                     source=self.backbone_source).save(enc_dir)
        meta = self.metadata()
        for key, value in (extra or {}).items():
            if key in meta:
                raise ValueError(f"save_checkpoint: extra key {key!r} would overwrite a contract field")
            meta[key] = value
        (folder / CHECKPOINT_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        proj = folder / PROJECTION_FILE
        if self.projection is not None:
            save_file({k: v.detach().contiguous().cpu() for k, v in self.projection.state_dict().items()}, str(proj))
        elif proj.exists():
            proj.unlink()  # a stale projection from an earlier save must not be picked up

    def tokenizer(self, max_length: Optional[int] = None):
        from .tokenization import TextTokenizer

        if self.tokenizer_dir is None:
            raise FileNotFoundError("this BiEncoder has no tokenizer folder")
        return TextTokenizer(self.tokenizer_dir / "tokenizer.json", max_length or self.max_length)

    # ------------------------------------------------------------------ training switches
    def set_gradient_checkpointing(self, enabled: bool) -> None:
        """Recompute activations in the backward pass (the seed's advice for batch 512 on one 24 GB GPU).
        transformers ≥ 5.2x renamed the switch to activation_checkpointing_*; older 5.x only has
        gradient_checkpointing_*, so use whichever this install provides."""
        enc = self.encoder
        if enabled:
            if hasattr(enc, "activation_checkpointing_enable"):
                enc.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                enc.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        elif self.gradient_checkpointing:
            if hasattr(enc, "activation_checkpointing_disable"):
                enc.activation_checkpointing_disable()
            else:
                enc.gradient_checkpointing_disable()
        self.gradient_checkpointing = bool(enabled)

    def scale(self) -> Tensor:
        """exp(logit_scale), clamped at exp(logit_scale_max) when a bound is set."""
        s = self.logit_scale
        if self.logit_scale_max is not None:
            s = s.clamp(max=self.logit_scale_max)
        return s.exp()

    # ------------------------------------------------------------------ forward
    def pool(self, last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooled features (CLS or masked mean), projected when a projection exists; NOT normalised."""
        if self.pooling == "cls":
            pooled = last_hidden_state[:, 0].float()
        else:
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (last_hidden_state.float() * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.projection is not None:
            pooled = self.projection(pooled.to(self.projection.weight.dtype))
        return pooled

    def _hidden(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def encode(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooled and L2-normalised embeddings [B, dim] (float32)."""
        pooled = self.pool(self._hidden(input_ids, attention_mask), attention_mask)
        return nn.functional.normalize(pooled.float(), dim=-1)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.encode(input_ids, attention_mask)

    def forward_pair(self, t_ids: Tensor, t_mask: Tensor, c_ids: Tensor, c_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One encoder pass over [topics; contents] (2B sequences of one padded length).

        Returns (topic_feats, content_feats, masked_hidden): pooled, NOT normalised features, and the last
        hidden state × mask (2B × L × H) for distillation."""
        if t_ids.shape[0] != c_ids.shape[0]:
            raise ValueError(f"forward_pair: {t_ids.shape[0]} topics but {c_ids.shape[0]} contents")
        length = max(t_ids.shape[1], c_ids.shape[1])
        t_ids, t_mask = _pad_to(t_ids, length, self._pad_id()), _pad_to(t_mask, length, 0)
        c_ids, c_mask = _pad_to(c_ids, length, self._pad_id()), _pad_to(c_mask, length, 0)
        ids = torch.cat([t_ids, c_ids], dim=0)
        mask = torch.cat([t_mask, c_mask], dim=0)
        hidden = self._hidden(ids, mask)
        pooled = self.pool(hidden, mask)
        b = t_ids.shape[0]
        masked_hidden = hidden * mask.unsqueeze(-1).to(hidden.dtype)
        return pooled[:b], pooled[b:], masked_hidden

    def _pad_id(self) -> int:
        pad = getattr(self.encoder.config, "pad_token_id", None)
        return int(pad) if pad is not None else 0


def _pad_to(x: Tensor, length: int, value: int) -> Tensor:
    if x.shape[1] == length:
        return x
    return nn.functional.pad(x, (0, length - x.shape[1]), value=value)
