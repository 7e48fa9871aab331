import json
import math

import pytest
import torch

from curriculum_training.backbones import BackboneInfo, read_backbone_info
from curriculum_training.backbones.tiny import build_tiny_backbone
from curriculum_training.model import LOGIT_SCALE_INIT, BiEncoder

TEXTS_T = ["algebra # maths # linear equations", "photosynthesis # biology"]
TEXTS_C = ["solving two-step equations # worked examples # x + 3 = 5", "light reactions"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return build_tiny_backbone(tmp_path_factory.mktemp("bb") / "tiny", pooling="mean")


def _batch(model, texts, prefix=""):
    b = model.tokenizer().batch(texts, prefix)
    return torch.tensor(b["input_ids"]), torch.tensor(b["attention_mask"])


def test_from_backbone_reads_pooling_prefixes_and_initial_temperature(backbone, tmp_path):
    model = BiEncoder.from_backbone(backbone)
    assert model.pooling == "mean"
    assert model.prefixes == {"topic": "", "content": ""}
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    assert model.dim == 32 and model.projection is None
    # prefixes and CLS pooling come from backbone.json
    info = read_backbone_info(backbone)
    other = tmp_path / "bb"
    build_tiny_backbone(other, pooling="cls")
    BackboneInfo(name=info.name, pooling="cls", prefixes={"topic": "query: ", "content": "passage: "}).save(other)
    m2 = BiEncoder.from_backbone(other)
    assert m2.pooling == "cls" and m2.prefixes["topic"] == "query: "


def test_missing_backbone_says_make_backbones(tmp_path):
    with pytest.raises(FileNotFoundError, match="make backbones"):
        BiEncoder.from_backbone(tmp_path / "nope")


def test_pooling_matches_hand_computation(backbone):
    model = BiEncoder.from_backbone(backbone, dropout=0.0).eval()
    hidden = torch.arange(2 * 3 * 32, dtype=torch.float32).reshape(2, 3, 32)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    mean = model.pool(hidden, mask)
    assert torch.allclose(mean[0], (hidden[0, 0] + hidden[0, 1]) / 2)
    assert torch.allclose(mean[1], hidden[1, 0])
    model.pooling = "cls"
    assert torch.equal(model.pool(hidden, mask), hidden[:, 0])


def test_encode_is_unit_length_and_projection_changes_dim(backbone):
    model = BiEncoder.from_backbone(backbone, projection=[32, 16], dropout=0.0).eval()
    assert model.dim == 16
    std = model.projection.weight.std().item()
    assert 0.01 < std < 0.03  # N(0, 0.02) init
    assert model.projection.bias is None
    ids, mask = _batch(model, TEXTS_T)
    emb = model.encode(ids, mask)
    assert emb.shape == (2, 16)
    assert torch.allclose(emb.norm(dim=1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError, match="hidden size"):
        BiEncoder.from_backbone(backbone, projection=[64, 16])


def test_forward_pair_is_one_pass_equal_to_separate_encodes(backbone):
    model = BiEncoder.from_backbone(backbone, dropout=0.0).eval()
    t_ids, t_mask = _batch(model, TEXTS_T)
    c_ids, c_mask = _batch(model, TEXTS_C)
    assert t_ids.shape[1] != c_ids.shape[1]  # forward_pair pads both sides to one length
    with torch.no_grad():
        t, c, masked = model.forward_pair(t_ids, t_mask, c_ids, c_mask)
        sep_t, sep_c = model.encode(t_ids, t_mask), model.encode(c_ids, c_mask)
    assert torch.allclose(torch.nn.functional.normalize(t, dim=-1), sep_t, atol=1e-5)
    assert torch.allclose(torch.nn.functional.normalize(c, dim=-1), sep_c, atol=1e-5)
    length = max(t_ids.shape[1], c_ids.shape[1])
    assert masked.shape == (4, length, 32)
    # padded positions of the shorter side are zeroed
    assert masked[0, t_mask[0].sum():].abs().sum() == 0
    assert masked[0, : t_mask[0].sum()].abs().sum() > 0


def test_checkpoint_round_trip_gives_identical_embeddings(backbone, tmp_path):
    model = BiEncoder.from_backbone(backbone, projection=[32, 24], dropout=0.0).eval()
    with torch.no_grad():
        model.logit_scale.fill_(3.1)
    model.save_checkpoint(tmp_path / "ckpt", extra={"trained": {"epoch": 3}})
    meta = json.loads((tmp_path / "ckpt" / "bi_encoder.json").read_text())
    assert meta["projection"] == [32, 24] and meta["dim"] == 24 and meta["normalize"] is True
    assert meta["logit_scale"] == pytest.approx(3.1) and meta["trained"] == {"epoch": 3}
    assert meta["text_format"] and meta["max_length"] == 96 and meta["pooling"] == "mean"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "backbone.json"):
        assert (tmp_path / "ckpt" / "encoder" / name).exists(), name
    assert (tmp_path / "ckpt" / "projection.safetensors").exists()
    loaded = BiEncoder.from_checkpoint(tmp_path / "ckpt").eval()
    ids, mask = _batch(model, TEXTS_T + TEXTS_C)
    with torch.no_grad():
        assert torch.equal(model.encode(ids, mask), loaded.encode(ids, mask))
    assert loaded.logit_scale.item() == pytest.approx(3.1)
    with pytest.raises(ValueError, match="contract field"):
        model.save_checkpoint(tmp_path / "ckpt2", extra={"pooling": "cls"})


def test_saving_without_projection_removes_a_stale_one(backbone, tmp_path):
    BiEncoder.from_backbone(backbone, projection=[32, 8]).save_checkpoint(tmp_path / "c")
    BiEncoder.from_backbone(backbone).save_checkpoint(tmp_path / "c")
    assert not (tmp_path / "c" / "projection.safetensors").exists()
    assert BiEncoder.from_checkpoint(tmp_path / "c").projection is None


def test_temperature_clamp_and_seed_unclamped(backbone):
    model = BiEncoder.from_backbone(backbone)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(100.0, rel=1e-5)
    model.logit_scale_max = None
    assert model.scale().item() == pytest.approx(math.exp(10.0), rel=1e-5)
    assert LOGIT_SCALE_INIT == pytest.approx(2.659, abs=1e-3)


def test_gradient_checkpointing_switch_keeps_gradients(backbone):
    torch.manual_seed(0)
    model = BiEncoder.from_backbone(backbone, dropout=0.0)
    model.train()
    ids, mask = _batch(model, TEXTS_T)

    def grads():
        model.zero_grad()
        model.encode(ids, mask).sum().backward()
        return [p.grad.clone() for p in model.encoder.parameters() if p.grad is not None]

    plain = grads()
    model.set_gradient_checkpointing(True)
    assert model.gradient_checkpointing
    flag = getattr(model.encoder, "is_activation_checkpointing", None)
    assert flag if flag is not None else model.encoder.is_gradient_checkpointing
    ckpt = grads()
    model.set_gradient_checkpointing(False)
    assert not model.gradient_checkpointing
    assert len(plain) == len(ckpt) > 0
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, ckpt))
