"""Fetch the dataset sources from their public GitHub repositories, for users without ../shared/datasets.

sources.json (committed, generated from a ../shared/datasets checkout by `datasets manifest`) lists,
for every source folder, the repository, the pinned commit and each file with its sha256. Files are
fetched from  <base>/<owner>/<repo>/<commit>/<path in repo>  (base = raw.githubusercontent.com by
default; --mirror or $CURRICULUM_DATASETS_MIRROR point it elsewhere, file:// URLs included) into the
cache folder with the same layout as ../shared/datasets, and every file's sha256 is verified: a file
that does not match is deleted and reported, never used.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from tqdm import tqdm

from .lecr import DatasetError

MANIFEST_PATH = Path(__file__).with_name("sources.json")
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
MIRROR_ENV = "CURRICULUM_DATASETS_MIRROR"


@dataclass(frozen=True)
class Source:
    """One folder of ../shared/datasets and where its files come from."""
    folder: str                 # path under the datasets root
    repo: str                   # owner/name on GitHub
    commit: str                 # as pinned in ../shared/datasets/README.md
    renames: Tuple[Tuple[str, str], ...] = ()  # (file name in folder, path in repo) where they differ

    def repo_path(self, relative: str) -> str:
        for local, remote in self.renames:
            if relative == local:
                return remote
        return relative


# The pins of ../shared/datasets/README.md (the OpenStax commits are abbreviated there; GitHub
# resolves abbreviated commits in raw URLs).
SOURCES: List[Source] = [
    Source("oak-curriculum", "oaknational/oak-curriculum-ontology", "0de3af3469a28879d89fd76f90ba4b95005ecaa8"),
    Source("kolibri-kicd-mathematics", "rocdata/contentcollections-kolibri", "7f8875592260c647e714410f9dda44819bfabdaf",
           (("fdab6fb66ba24d05acd011e85bdb36ba.json", "data/kolibritrees/fdab6fb66ba24d05acd011e85bdb36ba.json"),)),
    Source("openstax/calculus", "openstax/osbooks-calculus-bundle", "8dbc2ce19e80"),
    Source("openstax/calculo", "openstax/osbooks-calculo-bundle", "27b19da6405e"),
    Source("openstax/university-physics", "openstax/osbooks-university-physics-bundle", "d0ed34a58511"),
    Source("openstax/fizyka", "openstax/osbooks-fizyka-bundle", "bdf3158ca1f9"),
    Source("openstax/introductory-statistics", "openstax/osbooks-introductory-statistics-bundle", "1f6a35825395"),
]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_manifest(shared: Path, sources: Iterable[Source] = SOURCES) -> dict:
    """The manifest of every file under each source folder of a ../shared/datasets checkout."""
    shared = Path(shared)
    entries = []
    for source in sources:
        folder = shared / source.folder
        if not folder.is_dir():
            raise DatasetError(f"{folder}: source folder not found")
        files = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            entry = {"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)}
            if source.repo_path(relative) != relative:
                entry["repo_path"] = source.repo_path(relative)
            files.append(entry)
        entries.append({"folder": source.folder, "repo": source.repo, "commit": source.commit, "files": files})
    # repo_path is stored only where it differs from path (the file's place in the source folder)
    return {"url": "{base}/{repo}/{commit}/{repo_path}", "default_base": DEFAULT_BASE_URL, "sources": entries}


def write_manifest(manifest: dict, path: Path = MANIFEST_PATH) -> None:
    # one file per line: readable diffs, modest size
    lines = ["{", f'  "url": {json.dumps(manifest["url"])},', f'  "default_base": {json.dumps(manifest["default_base"])},', '  "sources": [']
    for i, source in enumerate(manifest["sources"]):
        lines.append(f'    {{"folder": {json.dumps(source["folder"])}, "repo": {json.dumps(source["repo"])}, '
                     f'"commit": {json.dumps(source["commit"])}, "files": [')
        rows = [f"      {json.dumps(f, ensure_ascii=False, sort_keys=True)}" for f in source["files"]]
        lines.append(",\n".join(rows))
        lines.append("    ]}" + ("," if i < len(manifest["sources"]) - 1 else ""))
    lines += ["  ]", "}"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_manifest(path: Path = MANIFEST_PATH) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot read the sources manifest: {err}") from err
    for key in ("url", "sources"):
        if key not in manifest:
            raise DatasetError(f"{path}: manifest lacks {key!r}")
    return manifest


def file_url(base: str, source: dict, entry: dict, template: str) -> str:
    return template.format(base=base.rstrip("/"), repo=source["repo"], commit=source["commit"],
                           repo_path=urllib.parse.quote(entry.get("repo_path", entry["path"])))


def _fetch(url: str, target: Path, attempts: int = 3) -> None:
    part = target.with_name(target.name + ".part")
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    f.write(block)
            part.replace(target)
            return
        except (urllib.error.URLError, OSError) as err:
            part.unlink(missing_ok=True)
            # retry only what can be transient: network errors, not a missing file or a 404
            permanent = not url.startswith(("http://", "https://")) or (
                isinstance(err, urllib.error.HTTPError) and err.code in (403, 404))
            if attempt == attempts or permanent:
                raise DatasetError(f"{url}: download failed: {err}") from err
            time.sleep(attempt)


def download_sources(
    cache: Path,
    mirror: Optional[str] = None,
    manifest_path: Optional[Path] = None,
    folders: Optional[Iterable[str]] = None,
    workers: int = 8,
    progress: bool = True,
) -> Path:
    """Make `cache` hold every manifest file with the right sha256; returns `cache` (a datasets root)."""
    manifest_path = Path(manifest_path) if manifest_path else MANIFEST_PATH
    manifest = load_manifest(manifest_path)
    base = mirror or os.environ.get(MIRROR_ENV) or manifest.get("default_base", DEFAULT_BASE_URL)
    wanted = set(folders) if folders else None
    jobs: List[Tuple[str, Path, str, str]] = []
    for source in manifest["sources"]:
        if wanted and not any(source["folder"] == w or source["folder"].startswith(w + "/") for w in wanted):
            continue
        for entry in source["files"]:
            relative = f"{source['folder']}/{entry['path']}"
            target = Path(cache) / source["folder"] / entry["path"]
            if target.is_file() and sha256_file(target) == entry["sha256"]:
                continue
            jobs.append((file_url(base, source, entry, manifest["url"]), target, entry["sha256"], relative))

    def one(job: Tuple[str, Path, str, str]) -> None:
        url, target, expected, relative = job
        target.parent.mkdir(parents=True, exist_ok=True)
        _fetch(url, target)
        actual = sha256_file(target)
        if actual != expected:
            target.unlink(missing_ok=True)
            raise DatasetError(f"{relative}: downloaded from {url} has sha256 {actual}, "
                               f"the manifest {manifest_path.name} pins {expected}; file rejected")

    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
                tqdm(total=len(jobs), desc="datasets: downloading", unit="file", disable=not progress) as bar:
            for _ in pool.map(one, jobs):
                bar.update(1)
    return Path(cache)


def verify_tree(root: Path, manifest_path: Optional[Path] = None) -> Dict[str, int]:
    """Compare a datasets root (e.g. ../shared/datasets) with the manifest: counts of ok/missing/differing."""
    manifest = load_manifest(Path(manifest_path) if manifest_path else MANIFEST_PATH)
    result = {"ok": 0, "missing": 0, "different": 0}
    for source in manifest["sources"]:
        for entry in source["files"]:
            path = Path(root) / source["folder"] / entry["path"]
            if not path.is_file():
                result["missing"] += 1
            elif sha256_file(path) != entry["sha256"]:
                result["different"] += 1
            else:
                result["ok"] += 1
    return result
