"""This machine's achieved matrix-multiply rate, measured in the same run as the encoders.

Dense GEMM is the best case for the encoder's linear layers, so its GFLOP/s is the practical ceiling
the encoder numbers are compared with ("% of peak"). Measured at BENCH_THREADS threads in numpy
(BLAS sgemm), PyTorch (torch.mm) and ONNX Runtime (MatMul fp32, MatMulInteger u8×s8 for the int8
variants' kernels), on a large square product and on the encoder's own shapes (tokens × hidden ×
intermediate).

    training/.venv/bin/python bench/peak.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import THREADS, load_average, log, write_result  # noqa: E402

# (M, K, N): a square product near the BLAS peak, and encoder-shaped ones (32 texts × 64 tokens
# against 384 → 1536 feed-forward and 384 → 384 attention projections).
SHAPES = [(1024, 1024, 1024), (2048, 384, 1536), (2048, 384, 384)]
SECONDS_PER_CASE = 1.5


def _rate(fn, flops: float, seconds: float = SECONDS_PER_CASE) -> dict:
    fn()  # warm up (allocations, thread pools)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    best, median = min(times), float(np.median(times))
    return {"gflops_best": flops / best / 1e9, "gflops_median": flops / median / 1e9, "runs": len(times)}


def _ort_session(op: str, m: int, k: int, n: int):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    if op == "MatMul":
        a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])
        w = np.random.default_rng(1).standard_normal((k, n)).astype(np.float32)
        w_init = helper.make_tensor("w", TensorProto.FLOAT, [k, n], w.ravel().tolist())
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
    else:  # the int8 kernel ONNX Runtime's dynamic quantisation uses: uint8 activations × int8 weights
        a = helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])
        w = np.random.default_rng(1).integers(-127, 127, (k, n)).astype(np.int8)
        w_init = helper.make_tensor("w", TensorProto.INT8, [k, n], w.ravel().tolist())
        y = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
    graph = helper.make_graph([node], "gemm", [a], [y], initializer=[w_init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    if op == "MatMul":
        x = np.random.default_rng(2).standard_normal((m, k)).astype(np.float32)
    else:
        x = np.random.default_rng(2).integers(0, 255, (m, k)).astype(np.uint8)
    return lambda: sess.run(None, {"a": x})


def measure() -> dict:
    import torch

    torch.set_num_threads(THREADS)
    cases = []
    for m, k, n in SHAPES:
        flops = 2.0 * m * k * n
        shape = f"{m}x{k}x{n}"
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), dtype=np.float32)
        cases.append({"library": "numpy sgemm", "dtype": "fp32", "shape": shape, **_rate(lambda: np.matmul(a, b, out=out), flops)})
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        with torch.inference_mode():
            cases.append({"library": "torch.mm", "dtype": "fp32", "shape": shape, **_rate(lambda: torch.mm(ta, tb), flops)})
        cases.append({"library": "onnxruntime MatMul", "dtype": "fp32", "shape": shape,
                      **_rate(_ort_session("MatMul", m, k, n), flops)})
        cases.append({"library": "onnxruntime MatMulInteger", "dtype": "int8", "shape": shape,
                      **_rate(_ort_session("MatMulInteger", m, k, n), flops)})
        for c in cases[-4:]:
            log(f"peak {c['library']:<26} {shape:<16} {c['gflops_best']:7.1f} GFLOP/s best, {c['gflops_median']:7.1f} median")
    fp32 = [c for c in cases if c["dtype"] == "fp32"]
    int8 = [c for c in cases if c["dtype"] == "int8"]
    best_fp32 = max(fp32, key=lambda c: c["gflops_best"])
    best_int8 = max(int8, key=lambda c: c["gflops_best"])
    return {"threads": THREADS, "cases": cases,
            "peak_fp32_gflops": best_fp32["gflops_best"], "peak_fp32_source": f"{best_fp32['library']} {best_fp32['shape']}",
            "peak_int8_gops": best_int8["gflops_best"], "peak_int8_source": f"{best_int8['library']} {best_int8['shape']}"}


def main() -> int:
    load_before = load_average()
    result = measure()
    result["load_average_before"], result["load_average_after"] = load_before, load_average()
    log(f"peak fp32 {result['peak_fp32_gflops']:.1f} GFLOP/s ({result['peak_fp32_source']}), "
        f"int8 {result['peak_int8_gops']:.1f} GOP/s ({result['peak_int8_source']}) at {THREADS} threads")
    write_result("peak", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
