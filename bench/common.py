"""Shared helpers for the Python benchmarks: paths, thread settings, timing statistics, result files,
and a description of the machine (recorded next to every result, because this 2-core machine is
shared and only ratios measured in the same run are meaningful).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
RESULTS = OUT / "results"
DOCS = REPO / "docs"

# Equal thread counts everywhere (numpy/BLAS, PyTorch, ONNX Runtime in Python and in Node).
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
# Wall-clock budget per measured configuration (seconds); min/max batches bound it further.
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))


def percentile_ms(samples_s: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples_s, dtype=np.float64), q) * 1e3) if len(samples_s) else float("nan")


def latency_summary(samples_s: Sequence[float]) -> Dict[str, float]:
    return {"n": len(samples_s), "p50_ms": percentile_ms(samples_s, 50), "p90_ms": percentile_ms(samples_s, 90),
            "p99_ms": percentile_ms(samples_s, 99), "mean_ms": float(np.mean(samples_s) * 1e3) if samples_s else float("nan")}


def timed_loop(step, seconds: float = SECONDS, min_iters: int = 5, max_iters: int = 2000, warmup: int = 2) -> List[float]:
    """Calls step(i) repeatedly: `warmup` untimed calls, then until `seconds` elapsed (at least
    `min_iters`, at most `max_iters`); returns per-call durations in seconds."""
    for i in range(warmup):
        step(i)
    samples: List[float] = []
    start = time.perf_counter()
    i = 0
    while len(samples) < max_iters and (len(samples) < min_iters or time.perf_counter() - start < seconds):
        t0 = time.perf_counter()
        step(i)
        samples.append(time.perf_counter() - t0)
        i += 1
    return samples


def load_average() -> List[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **payload}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"[bench] wrote {path.relative_to(REPO)}", flush=True)
    return path


def read_result(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_flags() -> List[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in flags if f.startswith(("avx", "fma", "amx", "vnni")) or f in ("f16c",))
    except OSError:
        pass
    return []


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return float("nan")


def _package_version(folder: Path) -> str:
    try:
        return json.loads((folder / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        return "missing"


def _hnsw_cxxflags() -> str | None:
    """The compiler flags `make node` built the hnswlib-node addon with (None: not built by make)."""
    stamp = REPO / "node_modules" / ".hnsw-cxxflags"
    return stamp.read_text(encoding="utf-8").strip() if stamp.exists() else None


def machine_info() -> dict:
    import onnxruntime
    import torch

    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        node = "missing"
    return {
        "cpu_model": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cores": os.cpu_count(),
        "memory_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "onnxruntime_python": onnxruntime.__version__,
        "node": node,
        "onnxruntime_node": _package_version(REPO / "node_modules" / "onnxruntime-node"),
        "hnswlib_node": _package_version(REPO / "node_modules" / "hnswlib-node"),
        "hnswlib_cxxflags": _hnsw_cxxflags(),
        "autocannon": _package_version(REPO / "node_modules" / "autocannon"),
        "threads": THREADS,
        "load_average": load_average(),
    }


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)
