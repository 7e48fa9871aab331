"""Real embeddings for the index and service benchmarks, augmented to 150k items, with exact ground truth.

1. The largest dataset under data/ (by content rows) is embedded with the bundle's default variant
   (the one the service serves) through ONNX Runtime: every content string (content prefix) and every
   topic string (topic prefix). Cached per bundle version and variant.
2. Augmentation to 150,000 items: after the real rows come perturbed copies — a real vector plus
   isotropic Gaussian noise, re-normalised, with a new id — cycling over the real rows. The noise
   scale is set from the data: its expected norm equals the median distance from a real item to its
   nearest real neighbour, so a copy sits about as far from its source as real neighbours sit from
   each other (not a near-duplicate, not random).
3. Queries: 500 real topic vectors (fixed seed). Ground truth: exact top-128 by inner product
   (numpy float32) for the first 10k, 66k and 150k items.

Files (bench/out/vectors/<version>-<variant>/): base.f32 (N×dim float32, row-major), queries.f32,
gt-<n>.i32 (queries×128 row numbers, best first), items.json (ids/titles/language of the real rows),
meta.json.

    training/.venv/bin/python bench/vectors.py
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundles import read_choice  # noqa: E402
from common import OUT, REPO, THREADS, log, write_result  # noqa: E402
from inputs import dataset_folders  # noqa: E402

TOTAL = 150_000
SIZES = (10_000, 66_000, 150_000)
N_QUERIES = 500
K_MAX = 128
SEED = 0


def vectors_dir(choice: dict) -> Path:
    return OUT / "vectors" / f"{choice['version']}-{choice['default_variant']}"


def largest_dataset() -> Path:
    import pandas as pd

    sizes = {f: len(pd.read_csv(f / "content.csv", dtype=str, keep_default_na=False, usecols=["id"])) for f in dataset_folders()}
    return max(sizes, key=sizes.get)


# tqdm bars only on a terminal: in a log file they are thousands of lines.
PROGRESS = sys.stderr.isatty()


def no_spin_session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = THREADS, 1, 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def embed_real(choice: dict, folder: Path, out: Path) -> tuple:
    """(content vectors, topic vectors, item metadata), cached in `out`."""
    import pandas as pd

    from curriculum_training.onnx_encoder import OnnxEncoder
    from curriculum_training.text import content_strings, topic_strings
    from curriculum_training.tokenization import TextTokenizer

    cfile, tfile, ifile = out / "real-content.npy", out / "real-topics.npy", out / "items.json"
    if cfile.exists() and tfile.exists() and ifile.exists():
        return np.load(cfile), np.load(tfile), json.loads(ifile.read_text())
    bundle = REPO / choice["path"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    variant = choice["default_variant"]
    tokenizer = TextTokenizer(bundle / manifest["tokenizer"]["file"], max_length=manifest["max_length"])
    # OnnxEncoder's batching over a session with spinning off: spin-waiting intra-op threads cost up to
    # half the throughput on a busy machine (see the encoder benchmark); the embeddings are the same.
    enc = OnnxEncoder.__new__(OnnxEncoder)
    enc.path = bundle / manifest["variants"][variant]["file"]
    enc.session = no_spin_session(enc.path)
    content = pd.read_csv(folder / "content.csv", dtype=str, keep_default_na=False)
    topics = pd.read_csv(folder / "topics.csv", dtype=str, keep_default_na=False)
    cstr, tstr = content_strings(content), topic_strings(topics)
    t0 = time.perf_counter()
    cvec = enc.embed_texts(tokenizer, list(cstr.values()), manifest["prefixes"]["content"], batch_size=32,
                           progress=PROGRESS, desc=f"embed {folder.name} content")
    tvec = enc.embed_texts(tokenizer, list(tstr.values()), manifest["prefixes"]["topic"], batch_size=32,
                           progress=PROGRESS, desc=f"embed {folder.name} topics")
    log(f"embedded {len(cvec)} contents + {len(tvec)} topics of {folder.name} in {time.perf_counter() - t0:.0f} s")
    items = {"dataset": folder.name, "ids": content["id"].tolist(), "titles": content["title"].tolist(),
             "languages": content["language"].tolist(), "kinds": content["kind"].tolist() if "kind" in content else None,
             "topic_ids": topics["id"].tolist(), "topic_languages": topics["language"].tolist()}
    out.mkdir(parents=True, exist_ok=True)
    np.save(cfile, cvec.astype(np.float32))
    np.save(tfile, tvec.astype(np.float32))
    ifile.write_text(json.dumps(items, ensure_ascii=False))
    return cvec, tvec, items


def augment(real: np.ndarray, total: int, rng) -> tuple:
    """Real rows first, then noisy re-normalised copies cycling over them; returns (vectors, sigma, stats)."""
    sims = real @ real.T
    np.fill_diagonal(sims, -np.inf)
    nn_dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims.max(axis=1)))
    target = float(np.median(nn_dist))
    dim = real.shape[1]
    sigma = target / np.sqrt(dim)
    out = np.empty((total, dim), dtype=np.float32)
    out[: len(real)] = real
    copy_cos = []
    for start in range(len(real), total, len(real)):
        n = min(len(real), total - start)
        src = real[:n]
        noisy = src + rng.standard_normal(src.shape).astype(np.float32) * sigma
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        out[start:start + n] = noisy
        copy_cos.append(np.sum(noisy * src, axis=1))
    cc = np.concatenate(copy_cos) if copy_cos else np.array([1.0])
    stats = {"median_nn_distance_real": target, "sigma_per_dim": float(sigma),
             "median_nn_cosine_real": float(np.median(1 - nn_dist ** 2 / 2)),
             "copy_to_source_cosine_mean": float(cc.mean()), "copy_to_source_cosine_min": float(cc.min())}
    return out, sigma, stats


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ base.T
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int32)


def prepare(choice: dict) -> dict:
    out = vectors_dir(choice)
    meta_file = out / "meta.json"
    if meta_file.exists() and all((out / f"gt-{n}.i32").exists() for n in SIZES):
        return json.loads(meta_file.read_text())
    folder = largest_dataset()
    cvec, tvec, items = embed_real(choice, folder, out)
    rng = np.random.default_rng(SEED)
    base, sigma, stats = augment(cvec, TOTAL, rng)
    queries = tvec[rng.choice(len(tvec), size=min(N_QUERIES, len(tvec)), replace=False)].astype(np.float32)
    base.tofile(out / "base.f32")
    queries.tofile(out / "queries.f32")
    exact_rates = {}
    for n in SIZES:
        t0 = time.perf_counter()
        gt = exact_topk(base[:n], queries, K_MAX)
        exact_rates[n] = len(queries) / (time.perf_counter() - t0)
        gt.tofile(out / f"gt-{n}.i32")
    meta = {"dataset": folder.name, "variant": choice["default_variant"], "bundle_version": choice["version"],
            "dim": int(base.shape[1]), "total": TOTAL, "real": int(len(cvec)), "real_topics": int(len(tvec)),
            "queries": int(len(queries)), "k_max": K_MAX, "sizes": list(SIZES), "augmentation": stats}
    meta_file.write_text(json.dumps(meta, indent=1))
    log(f"vectors: {len(cvec)} real {folder.name} contents + {TOTAL - len(cvec)} perturbed copies "
        f"(sigma {sigma:.4f}/dim, copy-source cosine {stats['copy_to_source_cosine_mean']:.3f}; real nearest-neighbour "
        f"cosine {stats['median_nn_cosine_real']:.3f}), {len(queries)} topic queries")
    return meta


def studio_uuid(value: str) -> str:
    """Studio sends version-4 UUIDs as ids; dataset ids are mapped to stable ones (sha256-derived)."""
    import hashlib
    import uuid

    raw = bytearray(hashlib.sha256(value.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def studio_topics(choice: dict, meta: dict, count: int = 256) -> Path:
    """Studio-shaped /recommend topics (real titles, descriptions and ancestor chains) of the benchmark
    dataset, each with its row in topics.f32 (its precomputed vector). Ids become UUIDs as Studio's."""
    import pandas as pd

    out = vectors_dir(choice)
    path = out / "service-topics.json"
    if path.exists() and (out / "topics.f32").exists():
        return path
    np.load(out / "real-topics.npy").astype(np.float32).tofile(out / "topics.f32")
    topics = pd.read_csv(REPO / "data" / meta["dataset"] / "topics.csv", dtype=str, keep_default_na=False)
    by_id = {r.id: r for r in topics.itertuples(index=False)}
    rng = np.random.default_rng(SEED + 1)
    picked = []
    for row in rng.permutation(len(topics))[:count]:
        t = topics.iloc[int(row)]
        chain, parent, seen = [], t["parent"], {t["id"]}
        while parent and parent in by_id and parent not in seen:
            seen.add(parent)
            chain.append(by_id[parent])
            parent = by_id[parent].parent
        # Studio numbers ancestors from the root (level 0) down to the parent.
        ancestors = [{"id": studio_uuid(a.id), "title": a.title, "description": a.description, "level": len(chain) - 1 - i}
                     for i, a in enumerate(chain)]
        picked.append({"row": int(row), "source_id": t["id"],
                       "topic": {"id": studio_uuid(t["id"]), "channel_id": studio_uuid(t.get("channel", "") or "bench"),
                                                  "title": t["title"], "description": t["description"],
                                                  "language": t["language"], "ancestors": ancestors}})
    path.write_text(json.dumps(picked, ensure_ascii=False))
    return path


def numpy_exact_rates(choice: dict, meta: dict) -> list:
    """Reference exact search: numpy float32 brute force, one query at a time and 500 at once."""
    out = vectors_dir(choice)
    base = np.fromfile(out / "base.f32", dtype=np.float32).reshape(meta["total"], meta["dim"])
    queries = np.fromfile(out / "queries.f32", dtype=np.float32).reshape(meta["queries"], meta["dim"])
    rows = []
    for n in meta["sizes"]:
        b = base[:n]
        t0 = time.perf_counter()
        for q in queries[:100]:
            s = b @ q
            np.argpartition(-s, K_MAX - 1)[:K_MAX]
        single = 100 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        exact_topk(b, queries, K_MAX)
        batched = len(queries) / (time.perf_counter() - t0)
        rows.append({"n": n, "qps_single": single, "qps_batched": batched})
        log(f"numpy exact top-{K_MAX} over {n}: {single:.0f} q/s one at a time, {batched:.0f} q/s batched")
    return rows


def main() -> int:
    choice = read_choice()
    meta = prepare(choice)
    studio_topics(choice, meta)
    write_result("vectors", {"bundle": choice, "meta": meta, "numpy_exact": numpy_exact_rates(choice, meta)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
