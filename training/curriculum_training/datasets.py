"""Datasets CLI (Contract 1): convert sources to the LECR schema, build the defaults, fetch sources.

  python -m curriculum_training.datasets convert {kaggle|oak|kolibri|openstax} --in SRC --out DIR
  python -m curriculum_training.datasets build --shared ../shared/datasets --out data [--force] [--download]
  python -m curriculum_training.datasets download --out data/sources [--mirror URL]
  python -m curriculum_training.datasets manifest --shared ../shared/datasets   (maintainers: regenerate sources.json)

Every command exits with status 2 and a one-line message naming the file and record on bad input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from .config import DATA_DIR, SHARED_DATASETS_DIR
from .data.lecr import DatasetError, dataset_counts, format_counts, write_dataset

CONVERTERS = ("kaggle", "oak", "kolibri", "openstax")


def convert(kind: str, source: Path, out: Path, category: Optional[str] = None) -> dict:
    if kind == "kaggle":
        from .data.kaggle import convert_kaggle
        ds = convert_kaggle(source)
    elif kind == "oak":
        from .data.oak import convert_oak
        ds = convert_oak(source)
    elif kind == "kolibri":
        from .data.kolibri import convert_kolibri
        ds = convert_kolibri(source, category=category or "source")
    elif kind == "openstax":
        from .data.openstax import convert_openstax
        ds = convert_openstax(source)
    else:
        raise DatasetError(f"unknown converter {kind!r}; choose one of {', '.join(CONVERTERS)}")
    write_dataset(ds, out)
    for note, number in ds.notes.items():
        print(f"{kind}: {number:,} {note}", file=sys.stderr)
    counts = dataset_counts(ds)
    print(format_counts(kind, counts))
    return counts


def datasets_root(shared: Path, out: Path, download: bool, mirror: Optional[str]) -> Path:
    """../shared/datasets when present (and --download not asked), else the verified download cache."""
    if shared.is_dir() and not download:
        return shared
    from .data.download import download_sources
    cache = out / "sources"
    reason = "--download given" if download else f"{shared} not found"
    print(f"datasets: {reason}; fetching the pinned sources into {cache}", file=sys.stderr)
    return download_sources(cache, mirror=mirror)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curriculum_training.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert one source into a LECR dataset folder")
    p.add_argument("kind", choices=CONVERTERS)
    p.add_argument("--in", dest="source", type=Path, required=True,
                   help="kaggle: folder with topics/content/correlations.csv; oak: the ontology checkout; "
                        "kolibri: a channel tree .json or a folder of them; openstax: a bundle or a folder of bundles")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--category", help="kolibri only: LECR category of the channel (default source)")

    p = sub.add_parser("build", help="build every default dataset (oak, kicd, openstax) into --out")
    p.add_argument("--shared", type=Path, default=SHARED_DATASETS_DIR, help="the datasets root (default ../shared/datasets)")
    p.add_argument("--out", type=Path, default=DATA_DIR)
    p.add_argument("--only", help="comma-separated subset of: oak,kicd,openstax")
    p.add_argument("--force", action="store_true", help="rebuild even when outputs are up to date")
    p.add_argument("--download", action="store_true", help="use the download cache even if --shared exists")
    p.add_argument("--mirror", help="base URL replacing https://raw.githubusercontent.com (also $CURRICULUM_DATASETS_MIRROR)")

    p = sub.add_parser("download", help="fetch and verify the pinned sources into a cache folder")
    p.add_argument("--out", type=Path, default=DATA_DIR / "sources")
    p.add_argument("--mirror")

    p = sub.add_parser("manifest", help="regenerate sources.json from a ../shared/datasets checkout")
    p.add_argument("--shared", type=Path, default=SHARED_DATASETS_DIR)
    p.add_argument("--out", type=Path, default=None)

    p = sub.add_parser("counts", help="print the counts of an existing LECR dataset folder")
    p.add_argument("folder", type=Path)

    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            convert(args.kind, args.source, args.out, args.category)
        elif args.command == "build":
            from .data.build import build_all, count_table
            root = datasets_root(args.shared, args.out, args.download, args.mirror)
            names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
            results = build_all(root, args.out, names, force=args.force)
            print(count_table(results))
        elif args.command == "download":
            from .data.download import download_sources
            print(download_sources(args.out, mirror=args.mirror))
        elif args.command == "manifest":
            from .data.download import MANIFEST_PATH, make_manifest, write_manifest
            target = args.out or MANIFEST_PATH
            manifest = make_manifest(args.shared)
            write_manifest(manifest, target)
            print(f"{target}: {sum(len(s['files']) for s in manifest['sources'])} files in {len(manifest['sources'])} sources")
        elif args.command == "counts":
            from .data.lecr import read_dataset
            print(format_counts(args.folder.name, dataset_counts(read_dataset(args.folder))))
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
