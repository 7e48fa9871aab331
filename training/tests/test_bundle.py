"""The tiny bundle: built by our own pipeline, in the service's format, verified; tampering is caught."""
import hashlib
import json
import shutil

import pytest

from curriculum_training import bundle as bundle_cli
from curriculum_training.bundle import read_manifest, sha256_file, verify_bundle
from curriculum_training.bundle_make import WEIGHTS, checkpoint_fingerprint
from curriculum_training.config import TEXT_FORMAT_VERSION, selection
from curriculum_training.golden import read_golden

SERVICE_MANIFEST_KEYS = {"name", "version", "created", "backbone", "pooling", "normalize", "dim", "max_length",
                         "prefixes", "text_format", "tokenizer", "variants", "default_variant", "selection",
                         "evaluation", "golden"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles") / "tiny"
    assert bundle_cli.main(["tiny", "--out", str(out)]) == 0
    return out


def _copy(src, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def _edit_manifest(folder, **changes):
    m = read_manifest(folder)
    m.update(changes)
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def test_tiny_bundle_has_the_service_layout(tiny):
    m = read_manifest(tiny)
    assert SERVICE_MANIFEST_KEYS <= set(m)
    assert set(m["variants"]) == {"full", "distilled", "int8", "distilled-int8"}
    assert m["default_variant"] == "distilled-int8"
    assert m["text_format"] == TEXT_FORMAT_VERSION and m["normalize"] is True and m["pooling"] == "mean"
    assert m["dim"] == 32 and m["max_length"] == 96
    assert m["prefixes"] == {"topic": "query: ", "content": "passage: "}
    assert m["selection"] == {k: selection()[k] for k in ("margin", "max_candidates", "min_items")}
    assert m["evaluation"] is None
    assert m["variants"]["full"]["layers"] == 4 and m["variants"]["distilled"]["layers"] == 2
    assert m["variants"]["int8"]["precision"] == "int8" and m["variants"]["full"]["precision"] == "fp32"
    for v in m["variants"].values():
        assert v["opset"] >= 17 and v["sha256"] == sha256_file(tiny / v["file"])
    assert m["tokenizer"]["sha256"] == sha256_file(tiny / "tokenizer.json")
    assert m["golden"]["sha256"] == sha256_file(tiny / "golden.jsonl")


def test_golden_covers_the_hard_cases(tiny):
    records = read_golden(tiny / "golden.jsonl")
    kinds = [r["kind"] for r in records]
    assert kinds.count("topic") == 16 and kinds.count("content") == 16
    assert any(len(r["token_ids"]) == 96 for r in records)  # truncated at max_length
    assert any(r["input"]["description"] == "" for r in records)
    assert any(any(ord(ch) > 0x0590 for ch in r["text"]) for r in records)  # Arabic, Devanagari, CJK, ...
    assert all(set(r["embeddings"]) == {"full", "distilled", "int8", "distilled-int8"} for r in records)
    assert all(len(v) == 32 for r in records for v in r["embeddings"].values())
    # the prefix is applied to token ids but not to the stored text
    assert all(not r["text"].startswith(("query: ", "passage: ")) for r in records)


def test_tiny_bundle_verifies(tiny, capsys):
    assert verify_bundle(tiny) == []
    assert bundle_cli.main(["verify", "--bundle", str(tiny)]) == 0
    assert "OK" in capsys.readouterr().out


def test_tiny_is_idempotent_and_deterministic(tiny, tmp_path, capsys):
    before = (tiny / "full.onnx").stat().st_mtime_ns
    assert bundle_cli.main(["tiny", "--out", str(tiny)]) == 0
    assert "already there" in capsys.readouterr().out
    assert (tiny / "full.onnx").stat().st_mtime_ns == before
    again = tmp_path / "again"
    assert bundle_cli.main(["tiny", "--out", str(again), "--force"]) == 0
    for name in ("full.onnx", "distilled.onnx", "int8.onnx", "distilled-int8.onnx", "tokenizer.json", "golden.jsonl"):
        assert sha256_file(again / name) == sha256_file(tiny / name), name
    assert read_manifest(again)["version"] == read_manifest(tiny)["version"]


def test_changed_byte_is_named(tiny, tmp_path, capsys):
    bad = _copy(tiny, tmp_path)
    data = bytearray((bad / "distilled.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (bad / "distilled.onnx").write_bytes(bytes(data))
    problems = verify_bundle(bad)
    assert len(problems) == 1 and "distilled.onnx" in problems[0] and "sha256" in problems[0]
    assert bundle_cli.main(["verify", "--bundle", str(bad)]) == 1
    assert "distilled.onnx: sha256 mismatch" in capsys.readouterr().err


def test_wrong_dim_is_named(tiny, tmp_path):
    bad = _copy(tiny, tmp_path)
    _edit_manifest(bad, dim=384)
    problems = verify_bundle(bad)
    assert problems and all("dim says 384" in p and "embedding size is 32" in p for p in problems)


def test_wrong_text_format_is_named(tiny, tmp_path):
    bad = _copy(tiny, tmp_path)
    _edit_manifest(bad, text_format="lecr-breadcrumb-v0")
    problems = verify_bundle(bad)
    assert any("text_format 'lecr-breadcrumb-v0'" in p and "config/defaults.json" in p for p in problems)


def test_golden_drift_is_caught(tiny, tmp_path):
    """A golden file re-written (and re-checksummed) with wrong values is still refused."""
    bad = _copy(tiny, tmp_path)
    lines = (bad / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["embeddings"]["full"][0] += 0.01
    rec["token_ids"] = rec["token_ids"][:-1]
    lines[0] = json.dumps(rec, ensure_ascii=False)
    (bad / "golden.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _edit_manifest(bad, golden={"file": "golden.jsonl", "sha256": sha256_file(bad / "golden.jsonl")})
    problems = verify_bundle(bad)
    assert any("golden.jsonl:1: token_ids differ" in p for p in problems)
    rec["token_ids"] = json.loads((tiny / "golden.jsonl").read_text(encoding="utf-8").splitlines()[0])["token_ids"]
    lines[0] = json.dumps(rec, ensure_ascii=False)
    (bad / "golden.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _edit_manifest(bad, golden={"file": "golden.jsonl", "sha256": sha256_file(bad / "golden.jsonl")})
    problems = verify_bundle(bad)
    assert any("full.onnx: max |Δ| to golden" in p for p in problems)


def test_missing_file_and_missing_manifest(tiny, tmp_path):
    bad = _copy(tiny, tmp_path)
    (bad / "int8.onnx").unlink()
    assert any("int8.onnx: missing" in p for p in verify_bundle(bad))
    (bad / "manifest.json").unlink()
    assert "no manifest.json" in verify_bundle(bad)[0]


def test_info_names_every_variant(tiny, capsys):
    assert bundle_cli.main(["info", "--bundle", str(tiny)]) == 0
    out = capsys.readouterr().out
    for name in ("full.onnx", "distilled.onnx", "int8.onnx", "distilled-int8.onnx", "(default)"):
        assert name in out


# ------------------------------------------------------------------------------------------ evaluate
def _synthetic_dataset(folder):
    import pandas as pd

    from curriculum_training.data.lecr import Dataset, write_dataset
    from curriculum_training.splits import make_splits, write_splits

    words = {"en": ["fractions", "decimals", "algebra", "geometry", "probability", "vectors", "graphs", "angles",
                    "ratios", "primes", "circles", "statistics"],
             "es": ["fracciones", "decimales", "álgebra", "geometría", "probabilidad", "vectores"]}
    topics, content, links = [], [], []
    for lang, ws in words.items():
        root = f"root-{lang}"
        topics.append((root, f"Maths {lang}", "", lang, f"ch-{lang}"))
        for w in ws:
            tid = f"{lang}-{w}"
            topics.append((tid, f"Learning about {w}", root, lang, f"ch-{lang}"))
            ids = [f"{tid}-c{k}" for k in range(2)]
            content += [(i, f"{w} lesson {k}", f"An introduction to {w}", f"{w} " * 5, lang) for k, i in enumerate(ids)]
            links.append((tid, " ".join(ids)))
    t = pd.DataFrame(topics, columns=["id", "title", "parent", "language", "channel"]).assign(description="")
    c = pd.DataFrame(content, columns=["id", "title", "description", "text", "language"])
    ds = Dataset(t, c, pd.DataFrame(links, columns=["topic_id", "content_ids"]), name="synthetic")
    write_dataset(ds, folder)
    write_splits(make_splits(ds)[0], folder)
    return folder


def test_evaluate_uses_onnx_outputs_and_matches_pytorch(tmp_path, capsys):
    """F2 from the bundle's ONNX graph equals F2 from the PyTorch model it was exported from."""
    from curriculum_training.bundle import build_bundle
    from curriculum_training.data.lecr import read_dataset
    from curriculum_training.evaluation import evaluate_split
    from curriculum_training.export import BackboneEncoder, torch_encode
    from curriculum_training.tiny_pipeline import build_tiny_backbone_folder
    from curriculum_training.tokenization import TextTokenizer

    data = _synthetic_dataset(tmp_path / "synthetic")
    backbone = build_tiny_backbone_folder(tmp_path / "bb")
    model = BackboneEncoder.from_backbone(backbone)
    out = tmp_path / "b"
    build_bundle(out, {"full": model}, backbone / "tokenizer.json", name="t", log=lambda *a: None)
    report_json = tmp_path / "eval.json"
    argv = ["evaluate", "--bundle", str(out), "--dataset", str(data), "--split", "fold0", "--variant", "full",
            "--json", str(report_json), "--report-dir", str(tmp_path / "report")]
    assert bundle_cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = json.loads(report_json.read_text())
    assert printed["f2"] == saved["f2"] and saved["variant"] == "full" and saved["split"] == "fold0"
    assert saved["dataset"] == "synthetic" and saved["bundle_version"] == read_manifest(out)["version"]
    assert saved["topics"] > 0 and 0.0 <= saved["f2"] <= 1.0 and saved["per_language"]
    assert any((tmp_path / "report").iterdir())

    tok = TextTokenizer(backbone / "tokenizer.json")
    def torch_encoder(prefix):
        return lambda texts: torch_encode(model, tok.batch(texts, prefix)) if texts else None
    ref = evaluate_split(read_dataset(data), "fold0", torch_encoder("query: "), torch_encoder("passage: "),
                         splits_folder=data)
    assert abs(ref.f2 - saved["f2"]) < 1e-6 and ref.topics == saved["topics"]

    with pytest.raises(ValueError, match="no variant 'int4'"):
        bundle_cli.main(argv[:7] + ["--variant", "int4"])


# ------------------------------------------------------------------------------------------ make
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from curriculum_training.tiny_pipeline import TINY_SETS, TINY_TRAIN, build_tiny_backbone_folder, write_tiny_dataset
    from curriculum_training.train import Trainer
    from curriculum_training.training_config import load_config

    work = tmp_path_factory.mktemp("make")
    data = write_tiny_dataset(work / "data" / "tiny")
    backbone = build_tiny_backbone_folder(work / "bb")
    cfg = load_config(None, None, TINY_SETS, {**TINY_TRAIN, "dataset": str(data), "backbone": str(backbone),
                                              "out": str(work / "checkpoints" / "default")})
    Trainer(cfg).train()
    return work / "checkpoints" / "default"


def test_make_goes_from_checkpoint_to_verified_bundle(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bundles" / "default"
    assert bundle_cli.main(["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    assert verify_bundle(out) == []
    m = read_manifest(out)
    assert set(m["variants"]) == {"full", "distilled", "int8", "distilled-int8"}
    assert m["variants"]["distilled"]["layers"] == 2  # distilled on the fly: no distilled checkpoint existed
    assert (tiny_checkpoint.parent / "default-distilled" / "bi_encoder.json").exists()
    ev = m["evaluation"]
    assert ev["dataset"] == "tiny" and ev["split"] == "fold0" and ev["variant"] == m["default_variant"]
    assert 0 <= ev["f2"] <= 1 and set(ev["per_language"]) <= {"en", "es", "ar"}
    assert m["languages"] == ["ar", "en", "es"]
    assert m["provenance"]["distillation"]["layers_kept"] == [1, 3]
    # the default is the distilled int8 model only if it keeps >= 99 % of the full int8 model's F2
    f2 = ev["variants_f2"]
    assert set(f2) == {"distilled-int8", "int8"}
    assert (m["default_variant"] == "distilled-int8") == (f2["distilled-int8"] >= 0.99 * f2["int8"])
    assert "default_variant_reason" in m["provenance"]
    capsys.readouterr()
    # same checkpoint, valid bundle: kept
    assert bundle_cli.main(["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    assert "already there" in capsys.readouterr().out
    assert m["provenance"]["student_fingerprint"] == checkpoint_fingerprint(tiny_checkpoint.parent / "default-distilled")

    # a re-distilled student (same teacher) makes the bundle stale: it is rebuilt, not kept
    from safetensors.torch import load_file, save_file

    weights = tiny_checkpoint.parent / "default-distilled" / WEIGHTS
    tensors = load_file(str(weights))
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 0.01
    save_file(tensors, str(weights))
    assert bundle_cli.main(["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "already there" not in captured.out and "rebuilding" in captured.err
    m = read_manifest(out)
    assert m["provenance"]["student_fingerprint"] == checkpoint_fingerprint(tiny_checkpoint.parent / "default-distilled")
    assert verify_bundle(out) == []
    # another int8 scheme than the bundle's is a rebuild too
    assert bundle_cli.main(["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--quant", "all"]) == 0
    assert "rebuilding" in capsys.readouterr().err
    assert read_manifest(out)["variants"]["int8"]["quantization"] == "all"
    assert bundle_cli.main(["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    assert "rebuilding" in capsys.readouterr().err and verify_bundle(out) == []

    # the measured table runs on what make produced (seed CPU path from the distilled checkpoint)
    from curriculum_training.bundle_results import main as results_main
    from curriculum_training.evaluation.results_doc import read_section, write_section

    doc = tmp_path / "results.md"
    write_section(doc, "baseline", "someone else's rows")
    assert results_main(["--bundle", str(out), "--rounds", "1", "--speed-texts", "16", "--threads", "1",
                         "--quant-compare", "all,attention", "--results", str(doc)]) == 0
    section = read_section(doc, "bundle")
    for row in ("| full |", "| distilled |", "| int8 |", "| distilled-int8 |", "| seed CPU path |", "| attention |"):
        assert row in section
    assert "python -m curriculum_training.bundle_results --bundle" in section
    assert read_section(doc, "baseline") == "someone else's rows"


def test_make_without_distillation_and_without_checkpoint(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "nodistill"
    argv = ["make", "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--no-distill", "--no-evaluate"]
    assert bundle_cli.main(argv) == 0
    m = read_manifest(out)
    assert set(m["variants"]) == {"full", "int8"} and m["default_variant"] == "int8"
    assert m["evaluation"] is None and "skipped" in m["provenance"]["distillation"]
    with pytest.raises(FileNotFoundError, match="make train"):
        bundle_cli.main(["make", "--checkpoint", str(tmp_path / "missing"), "--out", str(tmp_path / "x")])
