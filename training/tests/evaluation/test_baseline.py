import pandas as pd
import pytest

from curriculum_training.baseline import main
from curriculum_training.data.lecr import Dataset, write_dataset
from curriculum_training.evaluation.results_doc import read_section, write_section
from curriculum_training.splits import make_splits, write_splits

SUBJECTS = {
    "maths": ["fractions", "decimals", "percentages", "algebra", "geometry", "probability"],
    "science": ["photosynthesis", "electricity", "magnetism", "evolution", "chemistry", "astronomy"],
    "music": ["rhythm", "melody", "harmony", "orchestra", "composition", "notation"],
    "art": ["painting", "sculpture", "drawing", "printmaking", "ceramics", "textiles"],
    "history": ["romans", "vikings", "tudors", "victorians", "egyptians", "normans"],
}


def synthetic_dataset():
    """Five channels; each topic's content repeats its distinctive word, so TF-IDF should find it."""
    topics, content, links = [], [], []
    for subject, words in SUBJECTS.items():
        topics.append((subject, subject.title(), subject, ""))
        for w in words:
            topics.append((f"{subject}-{w}", f"Learning about {w}", subject, subject))
            ids = [f"{w}-{k}" for k in range(2)]
            content += [(i, f"{w.title()} lesson {k}", f"An introduction to {w}") for k, i in enumerate(ids)]
            links.append((f"{subject}-{w}", " ".join(ids)))
    t = pd.DataFrame(topics, columns=["id", "title", "channel", "parent"]).assign(description="", language="en")
    c = pd.DataFrame(content, columns=["id", "title", "description"]).assign(text="", language="en")
    return Dataset(t, c, pd.DataFrame(links, columns=["topic_id", "content_ids"]), name="synthetic")


def test_baseline_end_to_end(tmp_path):
    ds = synthetic_dataset()
    write_dataset(ds, tmp_path / "data" / "synthetic")
    write_splits(make_splits(ds)[0], tmp_path / "data" / "synthetic")
    out = tmp_path / "results.md"
    write_section(out, "trained", "a row someone else owns")
    argv = ["--data", str(tmp_path / "data"), "--out", str(out), "--reports", str(tmp_path / "reports")]
    assert main(argv) == 0
    section = read_section(out, "baseline")
    rows = [l for l in section.splitlines() if l.startswith("| synthetic |")]
    assert [r.split(" | ")[1] for r in rows] == ["fold0", "group"]
    f2 = [float(r.split(" | ")[4]) for r in rows]
    assert all(v > 0.8 for v in f2), rows  # distinctive words: the lexical baseline must nearly solve it
    for split in ("fold0", "group"):
        assert (tmp_path / "reports" / "synthetic" / split / "report.json").exists()
    assert main(argv) == 0  # regenerating replaces the section and keeps the other one
    text = out.read_text()
    assert text.count("<!-- results:baseline:begin -->") == 1
    assert read_section(out, "trained") == "a row someone else owns"


def test_missing_data_folder_is_reported(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r.md")]) == 2
    assert "make datasets" in capsys.readouterr().err


def test_results_doc_rejects_half_a_section(tmp_path):
    p = tmp_path / "r.md"
    p.write_text("<!-- results:x:begin -->\nno end\n")
    with pytest.raises(ValueError, match="only one of its two marker"):
        write_section(p, "x", "body")
