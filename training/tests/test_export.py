"""ONNX export: the graph reproduces PyTorch's embeddings (Contract 3 shape and names)."""
import numpy as np
import onnx
import pytest
import torch

from curriculum_training.distill import make_student
from curriculum_training.export import BackboneEncoder, OnnxEncoder, export_onnx, torch_encode
from curriculum_training.golden import sample_texts
from curriculum_training.tiny_pipeline import build_tiny_backbone_folder
from curriculum_training.tokenization import TextTokenizer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = build_tiny_backbone_folder(tmp_path_factory.mktemp("export") / "backbone")
    model = BackboneEncoder.from_backbone(folder)
    tok = TextTokenizer(folder / "tokenizer.json", max_length=model.max_length)
    texts = sample_texts()
    ids = tok.ids(texts["topic"], model.prefixes["topic"]) + tok.ids(texts["content"], model.prefixes["content"])
    return folder, model, tok, tok.pad(ids)


def test_golden_batch_exercises_truncation_and_padding(tiny):
    _, model, _, batch = tiny
    lengths = batch["attention_mask"].sum(1)
    assert lengths.max() == model.max_length  # long samples are cut at max_length
    assert lengths.min() < model.max_length // 4  # short ones are heavily padded


@pytest.mark.parametrize("variant", ["full", "student"])
def test_onnx_matches_pytorch_on_golden_texts(tiny, tmp_path, variant):
    _, model, _, batch = tiny
    if variant == "student":
        model = make_student(model, [1, 3]).eval()
    info = export_onnx(model, tmp_path / f"{variant}.onnx", parity_batch=batch)
    assert info.opset >= 17 and info.dim == 32 and info.layers == (4 if variant == "full" else 2)
    got = OnnxEncoder(info.path).run(batch["input_ids"], batch["attention_mask"])
    want = torch_encode(model, batch)
    assert got.dtype == np.float32 and got.shape == want.shape == (32, 32)
    assert np.abs(got - want).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_graph_interface_and_dynamic_axes(tiny, tmp_path):
    _, model, tok, _ = tiny
    path = export_onnx(model, tmp_path / "m.onnx").path
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in graph.input)
    assert all(not d.HasField("dim_value") for i in graph.input for d in i.type.tensor_type.shape.dim)
    assert [o.name for o in graph.output] == ["embedding"]
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    enc = OnnxEncoder(path)
    # batch sizes and lengths other than the traced example (2 x 9)
    for texts in (["one"], ["a", "much longer text with many more tokens than the example", "x y"]):
        b = tok.batch(texts)
        assert np.abs(enc.run(b["input_ids"], b["attention_mask"]) - torch_encode(model, b)).max() < 1e-4


def test_padding_does_not_change_an_embedding(tiny, tmp_path):
    _, model, tok, _ = tiny
    enc = OnnxEncoder(export_onnx(model, tmp_path / "m.onnx").path)
    ids = tok.ids(["Fractions # Mathematics # "])
    alone = enc.run(**tok.pad(ids))
    padded = enc.run(**tok.pad(ids, length=len(ids[0]) + 20))
    assert np.abs(alone - padded).max() < 1e-5


def test_embed_texts_returns_input_order(tiny, tmp_path):
    _, model, tok, _ = tiny
    enc = OnnxEncoder(export_onnx(model, tmp_path / "m.onnx").path)
    texts = ["short", "a considerably longer text than the first one", "mid length text"]
    batched = enc.embed_texts(tok, texts, batch_size=2)
    one_by_one = np.concatenate([enc.embed_texts(tok, [t]) for t in texts])
    assert np.abs(batched - one_by_one).max() < 1e-5


def test_cls_pooling_takes_first_token(tiny):
    folder, model, tok, batch = tiny
    cls_model = BackboneEncoder(model.encoder, "cls", model.prefixes, model.max_length, "x")
    with torch.no_grad():
        hidden = model.encoder(input_ids=torch.as_tensor(batch["input_ids"]),
                               attention_mask=torch.as_tensor(batch["attention_mask"])).last_hidden_state
    want = torch.nn.functional.normalize(hidden[:, 0], dim=-1).numpy()
    assert np.abs(torch_encode(cls_model, batch) - want).max() < 1e-6
    with pytest.raises(ValueError, match="pooling"):
        BackboneEncoder(model.encoder, "max", model.prefixes, model.max_length, "x")
