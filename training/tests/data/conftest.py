"""Shared helpers for the dataset tests: fixture paths and a byte-level snapshot of an output folder."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from curriculum_training.config import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def snapshot():
    """folder → {relative path: sha256} of every file (what 'byte-identical output' compares)."""
    return _snapshot


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def fixture_copy(tmp_path):
    """Copy a fixture folder into tmp_path so a test can break it without touching the original."""
    def copy(name: str) -> Path:
        target = tmp_path / "src" / name
        shutil.copytree(FIXTURES / name, target)
        return target
    return copy
