import torch
from transformers import AutoModel

from curriculum_training.backbones import read_backbone_info
from curriculum_training.backbones.tiny import build_tiny_backbone
from curriculum_training.tokenization import TextTokenizer


def test_tiny_backbone_loads_and_tokenizes(tmp_path):
    folder = build_tiny_backbone(tmp_path / "tiny")
    info = read_backbone_info(folder)
    assert info.pooling == "mean"
    tok = TextTokenizer(folder / "tokenizer.json", max_length=8)
    batch = tok.batch(["a short text", "a much longer text that will certainly be truncated somewhere"])
    assert batch["input_ids"].shape == (2, 8)
    assert batch["attention_mask"][0].sum() < 8 and batch["attention_mask"][1].sum() == 8
    model = AutoModel.from_pretrained(folder)
    out = model(input_ids=torch.tensor(batch["input_ids"]), attention_mask=torch.tensor(batch["attention_mask"]))
    assert out.last_hidden_state.shape == (2, 8, 32)
