"""Any local Hugging Face model folder (LaBSE, paraphrase-multilingual-mpnet-base-v2, a fine-tuned
checkpoint…) turned into a backbone folder: config, weights, tokenizer.json, backbone.json.

Only what the encoder needs is taken: config.json, one weight format (safetensors preferred, else
PyTorch .bin, shards with their index), tokenizer files and the sentence-transformers descriptors;
TensorFlow/Flax/ONNX copies are left behind. tokenizer.json is written with its own truncation and
padding cleared, because TextTokenizer and the service decide those (Contract 2); a file that pads
to a fixed 128 tokens would otherwise change what the service feeds the model.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional

from . import BackboneInfo, file_sizes

TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
                   "sentencepiece.bpe.model", "spiece.model", "tokenizer.model", "added_tokens.json")
# files a slow tokenizer is built from (transformers would otherwise make an empty one from config.json)
SLOW_TOKENIZER_SOURCES = ("vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model")
SENTENCE_TRANSFORMERS_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                               "README.md", "LICENSE")
# sentence-transformers modules our encoder reproduces itself (transformer, pooling, L2 norm)
_HANDLED_MODULES = ("Transformer", "Pooling", "Normalize")


def weight_files(src: Path) -> List[Path]:
    """The files of one weight format in `src`: safetensors (single or sharded) else PyTorch .bin."""
    for single, index, pattern in (("model.safetensors", "model.safetensors.index.json", "model-*.safetensors"),
                                   ("pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin")):
        if (src / index).exists():
            return [src / index] + sorted(src.glob(pattern))
        if (src / single).exists():
            return [src / single]
    raise FileNotFoundError(f"{src}: no model.safetensors or pytorch_model.bin (TensorFlow/Flax-only folders "
                            "are not supported: convert them with transformers first)")


def pooling_from_sentence_transformers(src: Path) -> Optional[str]:
    cfg = src / "1_Pooling" / "config.json"
    if not cfg.exists():
        return None
    p = json.loads(cfg.read_text(encoding="utf-8"))
    if p.get("pooling_mode_mean_tokens"):
        return "mean"
    if p.get("pooling_mode_cls_token"):
        return "cls"
    raise ValueError(f"{cfg}: pooling mode is neither mean nor cls ({p}); pass --pooling mean|cls")


def unused_sentence_transformers_modules(src: Path) -> List[str]:
    """Modules (e.g. LaBSE's 2_Dense) that a backbone built from `src` leaves out."""
    modules = src / "modules.json"
    if not modules.exists():
        return []
    return [m.get("path") or m.get("name", "?") for m in json.loads(modules.read_text(encoding="utf-8"))
            if not any(m.get("type", "").endswith(kind) for kind in _HANDLED_MODULES)]


def write_tokenizer_json(src: Path, out: Path) -> str:
    """Writes out/tokenizer.json; returns how it was obtained."""
    target = out / "tokenizer.json"
    if (src / "tokenizer.json").exists():
        d = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
        d["truncation"], d["padding"] = None, None
        target.write_text(json.dumps(d, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        return "copied"
    sources = [f for f in SLOW_TOKENIZER_SOURCES if (src / f).exists()]
    try:  # a slow (vocab.txt / SentencePiece) tokenizer: let transformers convert it, offline
        if not sources:
            raise FileNotFoundError(f"none of {', '.join(SLOW_TOKENIZER_SOURCES)} either")
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
        backend = getattr(tok, "backend_tokenizer", None) or getattr(tok, "_tokenizer", None)
        if backend is None:
            raise TypeError(f"{type(tok).__name__} has no fast (tokenizers) form")
        backend.no_truncation()
        backend.no_padding()
        backend.save(str(target))
        return f"converted from {'/'.join(sources)} by {type(tok).__name__}"
    except Exception as e:  # any failure here means the same thing to the user
        raise FileNotFoundError(
            f"{src}: no tokenizer.json, and transformers could not build one offline ({type(e).__name__}: {e}). "
            "On a machine with the model's tokenizer dependencies, run "
            "AutoTokenizer.from_pretrained(PATH).save_pretrained(PATH) to write tokenizer.json.") from e


def check_vocab_fits(out: Path) -> None:
    """A tokenizer producing ids beyond the embedding table would crash training much later."""
    from tokenizers import Tokenizer

    n_ids = Tokenizer.from_file(str(out / "tokenizer.json")).get_vocab_size(with_added_tokens=True)
    vocab_size = json.loads((out / "config.json").read_text(encoding="utf-8")).get("vocab_size")
    if vocab_size is not None and n_ids > vocab_size:
        raise ValueError(f"{out}: tokenizer.json has {n_ids} ids but config.json vocab_size is {vocab_size}")


def _place(src: Path, dst: Path, link: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        os.symlink(src.resolve(), dst)
    else:
        shutil.copyfile(src, dst)


def build_from_local(src: Path | str, out: Path | str, name: str, pooling: Optional[str] = None,
                     prefixes: Optional[Dict[str, str]] = None, link: bool = False, source: str = "") -> Path:
    """Writes backbone folder `out` from Hugging Face folder `src`. Pooling: `pooling` if given, else
    src/backbone.json, else sentence-transformers' 1_Pooling config, else CLS. `link` symlinks the
    weights instead of copying them."""
    src, out = Path(src), Path(out)
    if not (src / "config.json").exists():
        raise FileNotFoundError(f"{src}: not a Hugging Face model folder (no config.json)")
    if pooling not in (None, "mean", "cls"):
        raise ValueError(f"pooling {pooling!r}: expected 'mean' or 'cls'")
    src_info = json.loads((src / "backbone.json").read_text(encoding="utf-8")) if (src / "backbone.json").exists() else {}
    pooling = pooling or src_info.get("pooling") or pooling_from_sentence_transformers(src) or "cls"
    prefixes = {"topic": "", "content": "", **src_info.get("prefixes", {}), **(prefixes or {})}
    weights = weight_files(src)

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "config.json", out / "config.json")
    for w in weights:
        _place(w, out / w.name, link)
    for f in TOKENIZER_FILES + SENTENCE_TRANSFORMERS_FILES:
        if (src / f).is_file():
            shutil.copyfile(src / f, out / f)
    if (src / "1_Pooling" / "config.json").exists():
        _place(src / "1_Pooling" / "config.json", out / "1_Pooling" / "config.json", link=False)
    how = write_tokenizer_json(src, out)
    check_vocab_fits(out)

    from transformers import AutoConfig

    AutoConfig.from_pretrained(str(out), local_files_only=True)  # fails here, not in training, if unreadable
    notes = [f"tokenizer.json {how}"]
    unused = unused_sentence_transformers_modules(src)
    if unused:
        notes.append(f"sentence-transformers modules not used: {', '.join(unused)}")
    info = BackboneInfo(name=name, pooling=pooling, prefixes=prefixes,
                        source=source or f"local folder {src.name}; " + "; ".join(notes))
    info.files = file_sizes(out)
    info.save(out)
    return out
