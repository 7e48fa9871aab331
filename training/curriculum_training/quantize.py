"""int8 variants of an exported encoder: ONNX Runtime dynamic quantisation.

Weights are stored as int8 and activations are quantised per batch at run time (no calibration set).
Two schemes are compared (docs/results.md, README "int8"):

  all        every MatMul with a weight initializer → int8 (MatMulInteger)
  attention  the seed's choice (seed-algorithm.md §9): the attention projections (Q, K, V, output) in
             int8, the feed-forward MatMuls (hidden→intermediate→hidden) left in fp32. The seed kept
             them in fp16, which ONNX Runtime's dynamic quantiser does not offer; fp32 is the closest.

  except-ffn-out  everything int8 except the feed-forward OUTPUT projection (intermediate → hidden),
             which takes the GELU activations — long-tailed, so one per-tensor int8 scale per batch
             loses the most there. Measured on e5-small it carries most of the int8 error (README).

Feed-forward MatMuls are recognised by their weight shape ([hidden, intermediate] or the transpose),
which does not depend on how an exporter names nodes.
Optionally the word-embedding Gather is quantised too (`embeddings=True`): it holds most of the bytes of
a multilingual model (250k × 384 for e5-small) and costs no compute either way.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional

SCHEMES = ("all", "attention", "except-ffn-out")


@dataclass(frozen=True)
class QuantSpec:
    scheme: str = "all"
    per_channel: bool = False
    reduce_range: bool = False
    embeddings: bool = False

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"quantisation scheme must be one of {SCHEMES}, got {self.scheme!r}")

    @property
    def label(self) -> str:
        parts = [self.scheme]
        if self.per_channel:
            parts.append("per-channel")
        if self.reduce_range:
            parts.append("reduce-range")
        if self.embeddings:
            parts.append("emb")
        return "+".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def parse(cls, label: str) -> "QuantSpec":
        """Inverse of `label`: "all", "attention+per-channel", "all+reduce-range+emb", …"""
        scheme, *flags = [p.strip() for p in label.split("+")]
        known = {"per-channel": "per_channel", "reduce-range": "reduce_range", "emb": "embeddings"}
        unknown = [f for f in flags if f not in known]
        if unknown:
            raise ValueError(f"quantisation {label!r}: unknown option(s) {unknown}; use {sorted(known)}")
        return cls(scheme=scheme, **{known[f]: True for f in flags})


# Chosen on data (README "int8", docs/results.md): on e5-small, per-channel weight scales lift the
# cosine to fp32 from 0.9875 to 0.9964 (top-10 neighbour agreement 0.82 → 0.89) for ~10 % of the
# speed of plain "all"; keeping more in fp32 ("attention", "except-ffn-out") is more faithful still but
# gives up the speed that makes distilled-int8 ≥ 3× full fp32. The word-embedding table goes int8 too
# ("+emb"): on the distilled e5-small it was as fast, F2 0.4396 vs 0.4370, and the file 102 MiB instead
# of 378 (docs/results.md "Encoder variants") — a quarter of the memory per replica. The bundle builder
# uses this unless told otherwise (`bundle make --quant`).
DEFAULT_SPEC = QuantSpec(scheme="all", per_channel=True, reduce_range=False, embeddings=True)


def _initializer_shapes(model) -> dict:
    return {init.name: tuple(init.dims) for init in model.graph.initializer}


def weight_matmuls(model) -> List[tuple]:
    """(node name, weight shape) of every MatMul whose second input is a stored weight."""
    shapes = _initializer_shapes(model)
    return [(n.name, shapes[n.input[1]]) for n in model.graph.node
            if n.op_type == "MatMul" and len(n.input) > 1 and n.input[1] in shapes]


def feed_forward_matmuls(model, hidden: int, intermediate: int) -> List[str]:
    """Names of the feed-forward MatMuls: weights [hidden, intermediate] or [intermediate, hidden]."""
    if hidden == intermediate:
        raise ValueError("cannot tell feed-forward from attention weights when hidden == intermediate size")
    ffn = {(hidden, intermediate), (intermediate, hidden)}
    return [name for name, shape in weight_matmuls(model) if tuple(shape) in ffn]


def feed_forward_output_matmuls(model, hidden: int, intermediate: int) -> List[str]:
    """Names of the feed-forward output MatMuls (weights [intermediate, hidden])."""
    if hidden == intermediate:
        raise ValueError("cannot tell feed-forward from attention weights when hidden == intermediate size")
    return [name for name, shape in weight_matmuls(model) if tuple(shape) == (intermediate, hidden)]


def _ensure_node_names(model) -> None:
    """nodes_to_exclude works by name; give unnamed nodes a stable one."""
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"


def quantize_encoder(src: Path | str, dst: Path | str, spec: QuantSpec = DEFAULT_SPEC,
                     hidden: Optional[int] = None, intermediate: Optional[int] = None) -> dict:
    """Writes the int8 variant of `src` to `dst`; returns what was done (for the manifest / results).

    hidden / intermediate sizes are needed for the "attention" scheme (from the encoder's config).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    model = onnx.load(str(src))
    _ensure_node_names(model)
    exclude: List[str] = []
    if spec.scheme in ("attention", "except-ffn-out"):
        if not hidden or not intermediate:
            raise ValueError(f"the {spec.scheme!r} scheme needs the encoder's hidden and intermediate sizes")
        find = feed_forward_matmuls if spec.scheme == "attention" else feed_forward_output_matmuls
        exclude = find(model, hidden, intermediate)
        if not exclude:
            raise RuntimeError(f"{src}: found no feed-forward MatMul of shape {hidden}x{intermediate}")
    ops = ["MatMul"] + (["Gather"] if spec.embeddings else [])
    dst.parent.mkdir(parents=True, exist_ok=True)
    # The quantiser logs one INFO line per node; keep the console readable.
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" hint is for CNNs with static shapes
    try:
        quantize_dynamic(model, dst, op_types_to_quantize=ops, per_channel=spec.per_channel,
                         reduce_range=spec.reduce_range, weight_type=QuantType.QInt8,
                         nodes_to_exclude=exclude or None)
    finally:
        root.setLevel(level)
    quantized = onnx.load(str(dst), load_external_data=False)
    n_int = sum(1 for n in quantized.graph.node if n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul"))
    return {"spec": spec.as_dict(), "label": spec.label, "int8_matmuls": n_int,
            "fp32_matmuls_kept": len(exclude)}
