"""int8 variants: which MatMuls get quantised, and that the result still encodes the same thing."""
import numpy as np
import onnx
import pytest

from curriculum_training.export import BackboneEncoder, OnnxEncoder, export_onnx
from curriculum_training.quantize import QuantSpec, feed_forward_matmuls, quantize_encoder, weight_matmuls
from curriculum_training.tiny_pipeline import build_tiny_backbone_folder
from curriculum_training.tokenization import TextTokenizer
from curriculum_training.golden import sample_texts


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quant")
    folder = build_tiny_backbone_folder(tmp / "backbone")
    model = BackboneEncoder.from_backbone(folder)
    tok = TextTokenizer(folder / "tokenizer.json")
    texts = sample_texts()
    batch = tok.pad(tok.ids(texts["topic"], "query: ") + tok.ids(texts["content"], "passage: "))
    return export_onnx(model, tmp / "full.onnx").path, batch, tmp


def _int8_nodes(path):
    return [n for n in onnx.load(str(path)).graph.node if n.op_type == "MatMulInteger"]


def test_feed_forward_matmuls_found_by_weight_shape(exported):
    path, _, _ = exported
    model = onnx.load(str(path))
    assert len(weight_matmuls(model)) == 4 * 6  # 4 layers: Q, K, V, attention output, FFN in, FFN out
    ffn = feed_forward_matmuls(model, hidden=32, intermediate=64)
    assert len(ffn) == 4 * 2
    with pytest.raises(ValueError, match="hidden == intermediate"):
        feed_forward_matmuls(model, hidden=32, intermediate=32)


@pytest.mark.parametrize("spec,int8,kept", [(QuantSpec("all"), 24, 0), (QuantSpec("attention"), 16, 8),
                                             (QuantSpec("except-ffn-out", per_channel=True), 20, 4),
                                             (QuantSpec("all", per_channel=True, reduce_range=True), 24, 0)])
def test_schemes_quantise_the_right_matmuls(exported, spec, int8, kept):
    path, batch, tmp = exported
    out = tmp / f"{spec.label}.onnx"
    info = quantize_encoder(path, out, spec, hidden=32, intermediate=64)
    assert (info["int8_matmuls"], info["fp32_matmuls_kept"]) == (int8, kept)
    assert len(_int8_nodes(out)) == int8
    full = OnnxEncoder(path).run(batch["input_ids"], batch["attention_mask"])
    q = OnnxEncoder(out).run(batch["input_ids"], batch["attention_mask"])
    cos = (full * q).sum(1)
    assert cos.min() > 0.99, cos.min()
    assert np.abs(full - q).max() > 0  # it really is a different (quantised) graph


def test_embedding_quantisation_shrinks_the_file(exported):
    path, batch, tmp = exported
    out = tmp / "emb.onnx"
    quantize_encoder(path, out, QuantSpec("all", embeddings=True))
    # the tiny model is mostly its 30k x 32 word-embedding table: int8 stores it in a quarter of the bytes
    assert out.stat().st_size < 0.4 * path.stat().st_size
    full = OnnxEncoder(path).run(batch["input_ids"], batch["attention_mask"])
    q = OnnxEncoder(out).run(batch["input_ids"], batch["attention_mask"])
    assert (full * q).sum(1).min() > 0.99


def test_spec_labels_round_trip():
    for label in ("all", "attention+per-channel", "except-ffn-out+per-channel+emb", "all+reduce-range"):
        assert QuantSpec.parse(label).label == label
    with pytest.raises(ValueError, match="unknown option"):
        QuantSpec.parse("all+fp16")


def test_bad_specs_are_refused(exported):
    path, _, tmp = exported
    with pytest.raises(ValueError, match="scheme"):
        QuantSpec("everything")
    with pytest.raises(ValueError, match="hidden and intermediate"):
        quantize_encoder(path, tmp / "x.onnx", QuantSpec("attention"))


def test_seed_cpu_path_quantises_like_the_seed_and_keeps_order(tmp_path):
    import torch

    from curriculum_training.seed_cpu_path import SeedCpuEncoder, seed_quantize

    folder = build_tiny_backbone_folder(tmp_path / "bb")
    model = BackboneEncoder.from_backbone(folder).eval()
    q = seed_quantize(model)
    layer = q.encoder.encoder.layer[0]
    assert layer.attention.self.query.weight().dtype == torch.qint8
    assert "float16" in repr(layer.intermediate.dense) and "float16" in repr(layer.output.dense)
    assert isinstance(q.encoder.embeddings.word_embeddings, torch.nn.Embedding)  # embeddings untouched
    assert isinstance(model.encoder.encoder.layer[0].attention.self.query, torch.nn.Linear)  # original intact

    tok = TextTokenizer(folder / "tokenizer.json")
    texts = sample_texts()["content"]
    seed = SeedCpuEncoder(model, threads=1)
    got = seed.embed_texts(tok, texts, "passage: ")
    batch = tok.batch(texts, "passage: ")
    with torch.no_grad():
        want = model.encode(torch.as_tensor(batch["input_ids"]), torch.as_tensor(batch["attention_mask"])).numpy()
    cos = (got * want).sum(1)
    assert got.shape == want.shape and cos.min() > 0.99, cos.min()
    one = np.concatenate([seed.embed_texts(tok, [t], "passage: ") for t in texts[:4]])
    assert np.abs(one - got[:4]).max() < 1e-3  # per-text results in input order, whatever the batching


def test_quant_compare_reports_fidelity_and_speed(tmp_path, capsys):
    from curriculum_training.evaluation.results_doc import read_section
    from curriculum_training.quant_compare import main, neighbour_agreement
    from curriculum_training.tiny_pipeline import write_tiny_dataset

    x = np.eye(5, dtype=np.float32) + 0.1
    assert neighbour_agreement(x, x, k=2) == 1.0
    data = write_tiny_dataset(tmp_path / "tiny")
    backbone = build_tiny_backbone_folder(tmp_path / "bb")
    doc = tmp_path / "results.md"
    assert main(["--backbone", str(backbone), "--data", str(data), "--texts", "12", "--schemes", "all,attention",
                 "--threads", "1", "--rounds", "1", "--results", str(doc)]) == 0
    section = read_section(doc, "bundle-int8-fidelity")
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines() if line.startswith("| ")}
    assert {"fp32", "all", "attention"} <= set(rows)
    assert rows["fp32"].split(" | ")[1] == "1.0000"  # fp32 against itself
    assert float(rows["attention"].split(" | ")[1]) > 0.99
