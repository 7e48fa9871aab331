"""Shared defaults, read from the repository's config/defaults.json.

That JSON file is the single source of truth for values both halves of the product must agree on
(text format, selection margin, limits); the TypeScript service reads the same file.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULTS_PATH = REPO_ROOT / "config" / "defaults.json"


@lru_cache(maxsize=1)
def defaults() -> dict:
    with open(DEFAULTS_PATH, encoding="utf-8") as f:
        return json.load(f)


def text_format() -> dict:
    return defaults()["text_format"]


def selection() -> dict:
    return defaults()["selection"]


TEXT_FORMAT_VERSION: str = text_format()["version"]
SEPARATOR: str = text_format()["separator"]
MAX_LENGTH: int = text_format()["max_length"]
DEFAULT_MARGIN: float = selection()["margin"]
DEFAULT_MAX_CANDIDATES: int = selection()["max_candidates"]
DEFAULT_MIN_ITEMS: int = selection()["min_items"]

# Where generated things go (git-ignored).
DATA_DIR = REPO_ROOT / "data"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
SHARED_DATASETS_DIR = REPO_ROOT.parent / "shared" / "datasets"
