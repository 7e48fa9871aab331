"""Analytic encoder FLOPs: what one batch costs, from the model's shape, not from a profiler.

Per padded token and layer a BERT-style encoder does the Q, K, V and output projections (4·H² MACs)
and the feed-forward pair (2·H·I MACs), plus attention itself: scores Q·Kᵀ and the weighted sum
(2·L·H MACs for a sequence of L tokens). FLOPs = 2 × MACs. Embedding lookups, layer norms, softmax,
GELU and pooling are a few percent and are left out, so the GFLOP/s figures are slight underestimates.
The linear part is summed over the ONNX graph's weight MatMuls (so it is exact for whatever the
variant holds: 12 or 6 layers, a projection head if any); H and the layer count come from the
graph and the manifest.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from common import OUT, REPO


def _shape_of(onnx_file: Path) -> dict:
    import onnx

    model = onnx.load(str(onnx_file), load_external_data=False)
    dims = {init.name: tuple(init.dims) for init in model.graph.initializer}
    weights = [dims[n.input[1]] for n in model.graph.node
               if n.op_type == "MatMul" and len(n.input) > 1 and n.input[1] in dims and len(dims[n.input[1]]) == 2]
    if not weights:
        raise ValueError(f"{onnx_file}: no weight MatMuls found (not an fp32 encoder export?)")
    square = Counter(k for k, n in weights if k == n)
    hidden = square.most_common(1)[0][0] if square else weights[0][0]
    inter = Counter(n for k, n in weights if k == hidden and n != hidden)
    return {"linear_macs_per_token": int(sum(k * n for k, n in weights)), "hidden": int(hidden),
            "intermediate": int(inter.most_common(1)[0][0]) if inter else None, "weight_matmuls": len(weights)}


def variant_shapes(choice: dict) -> dict:
    """{variant: {linear_macs_per_token, hidden, intermediate, layers}}; int8 variants take their fp32
    source's shape (same arithmetic, int8 kernels). Cached per bundle version."""
    cache = OUT / f"flops-{choice['version']}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    bundle = REPO / choice["path"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    fp32 = {}
    for name, v in manifest["variants"].items():
        if v.get("precision") == "fp32":
            fp32[name] = {**_shape_of(bundle / v["file"]), "layers": int(v["layers"])}
    out = {}
    for name, v in manifest["variants"].items():
        src = v.get("source_variant", name)
        out[name] = dict(fp32[src])
    cache.write_text(json.dumps(out, indent=1))
    return out


def batch_flops(shape: dict, batch: int, padded_length: int) -> float:
    tokens = batch * padded_length
    attention_macs = shape["layers"] * 2 * padded_length * shape["hidden"]  # per token
    return 2.0 * tokens * (shape["linear_macs_per_token"] + attention_macs)
