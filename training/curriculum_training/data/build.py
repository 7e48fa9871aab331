"""`make datasets`: convert every default source into data/<name>/, skipping up-to-date outputs.

A dataset is rebuilt when its stamp (data/<name>/.build.json) does not match the fingerprint of its
inputs: the source files (path, size, modification time) and the converter code. Outputs are written
to a temporary folder and swapped in, so an interrupted build never leaves a half-written dataset.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from .kolibri import convert_kolibri
from .lecr import Dataset, DatasetError, dataset_counts, format_counts, write_dataset
from .oak import convert_oak
from .openstax import convert_openstax

STAMP = ".build.json"


@dataclass(frozen=True)
class DatasetSpec:
    name: str      # output folder under data/
    source: str    # folder under the datasets root (../shared/datasets or the download cache)
    convert: Callable[[Path], Dataset]
    about: str


DEFAULT_DATASETS: List[DatasetSpec] = [
    DatasetSpec("oak", "oak-curriculum", convert_oak,
                "Oak National Academy curriculum (England): unit variants ← lessons"),
    DatasetSpec("kicd", "kolibri-kicd-mathematics", lambda p: convert_kolibri(p, category="aligned"),
                "Kolibri channel KICD Mathematics (Kenya), an aligned channel"),
    DatasetSpec("openstax", "openstax", convert_openstax,
                "OpenStax books en/es/pl: chapters ← pages, with translation switch pool 1"),
]


def _code_digest() -> str:
    """Changing a converter must rebuild its outputs: hash this package's source."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256(_code_digest().encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_stamp(folder: Path) -> Optional[dict]:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_one(spec: DatasetSpec, sources: Path, out: Path, force: bool = False) -> Dict[str, object]:
    """Build (or keep) one dataset; returns its counts plus 'status' (built | up to date)."""
    source = sources / spec.source
    if not source.exists():
        raise DatasetError(f"{source}: source folder for dataset {spec.name!r} not found")
    target = out / spec.name
    fingerprint = source_fingerprint(source)
    stamp = _read_stamp(target)
    if not force and stamp and stamp.get("fingerprint") == fingerprint and (target / "topics.csv").is_file():
        return {**stamp["counts"], "status": "up to date"}
    print(f"{spec.name}: converting {source}", file=sys.stderr)
    started = time.perf_counter()
    ds = spec.convert(source)
    counts = dataset_counts(ds)
    for note, number in ds.notes.items():
        print(f"{spec.name}: {number:,} {note}", file=sys.stderr)
    staging = out / f".{spec.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    write_dataset(ds, staging)
    (staging / STAMP).write_text(json.dumps({"fingerprint": fingerprint, "source": spec.source, "counts": counts},
                                            indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(format_counts(spec.name, counts), file=sys.stderr)
    return {**counts, "status": f"built in {time.perf_counter() - started:.1f} s"}


def build_all(sources: Path, out: Path, names: Optional[Sequence[str]] = None, force: bool = False) -> Dict[str, dict]:
    specs = [s for s in DEFAULT_DATASETS if not names or s.name in names]
    unknown = set(names or []) - {s.name for s in DEFAULT_DATASETS}
    if unknown:
        raise DatasetError(f"unknown dataset(s) {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in DEFAULT_DATASETS)}")
    out.mkdir(parents=True, exist_ok=True)
    return {spec.name: build_one(spec, sources, out, force) for spec in specs}


def count_table(results: Dict[str, dict]) -> str:
    header = ["dataset", "topics", "with content", "content", "links", "languages", "switch pools", "status"]
    rows = [header]
    for name, c in results.items():
        rows.append([name, f"{c['topics']:,}", f"{c['topics_with_content']:,}", f"{c['content']:,}", f"{c['links']:,}",
                     " ".join(c["languages"]), ",".join(str(p) for p in c.get("switch_pools") or []) or "-",
                     str(c.get("status", ""))])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {1, 2, 3, 4}
    lines = []
    for r in rows:
        lines.append("  ".join(v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(lines)
