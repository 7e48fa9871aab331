import os
import shutil

import pytest

from curriculum_training import datasets as cli
from curriculum_training.data import download
from curriculum_training.data.build import build_all, count_table
from curriculum_training.data.download import Source, make_manifest, write_manifest
from curriculum_training.data.lecr import read_dataset


@pytest.fixture
def sources_root(tmp_path, fixtures_dir):
    """A datasets root laid out like ../shared/datasets, holding the small fixtures."""
    root = tmp_path / "datasets"
    shutil.copytree(fixtures_dir / "oak", root / "oak-curriculum")
    shutil.copytree(fixtures_dir / "kolibri", root / "kolibri-kicd-mathematics")
    shutil.copytree(fixtures_dir / "openstax", root / "openstax")
    return root


def test_build_writes_every_default_dataset_then_skips_until_a_source_changes(sources_root, tmp_path):
    out = tmp_path / "data"
    first = build_all(sources_root, out)
    assert [r["status"].split()[0] for r in first.values()] == ["built", "built", "built"]
    assert read_dataset(out / "kicd").topics["category"].eq("aligned").all()
    assert (first["oak"]["topics"], first["kicd"]["content"], first["openstax"]["links"]) == (13, 4, 10)
    table = count_table(first)
    assert table.splitlines()[0].split()[:3] == ["dataset", "topics", "with"]
    assert "en es" in table

    before = (out / "oak" / "topics.csv").read_bytes()
    again = build_all(sources_root, out)
    assert {r["status"] for r in again.values()} == {"up to date"}
    assert again["oak"]["topics"] == 13  # counts come back from the stamp

    tree = sources_root / "kolibri-kicd-mathematics" / "channel.json"
    stat = tree.stat()
    os.utime(tree, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = build_all(sources_root, out)
    assert [third[n]["status"].split(" in ")[0] for n in ("oak", "kicd", "openstax")] == ["up to date", "built", "up to date"]

    forced = build_all(sources_root, out, names=["oak"], force=True)
    assert list(forced) == ["oak"] and forced["oak"]["status"].startswith("built in ")
    assert (out / "oak" / "topics.csv").read_bytes() == before
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_cli_build_prints_the_count_table(sources_root, tmp_path, capsys):
    assert cli.main(["build", "--shared", str(sources_root), "--out", str(tmp_path / "data"), "--only", "kicd"]) == 0
    out = capsys.readouterr().out
    assert "kicd" in out and "built" in out and "oak" not in out


def test_cli_build_downloads_when_shared_is_missing(sources_root, tmp_path, monkeypatch, capsys):
    # publish the fixture tree on a file:// mirror under GitHub's raw layout, with its own manifest
    sources = [Source("oak-curriculum", "o/oak", "c1"), Source("kolibri-kicd-mathematics", "o/kicd", "c2"),
               Source("openstax", "o/openstax", "c3")]
    manifest = tmp_path / "sources.json"
    write_manifest(make_manifest(sources_root, sources), manifest)
    mirror = tmp_path / "mirror"
    for source in sources:
        shutil.copytree(sources_root / source.folder, mirror / source.repo / source.commit)
    monkeypatch.setattr(download, "MANIFEST_PATH", manifest)
    out = tmp_path / "data"
    code = cli.main(["build", "--shared", str(tmp_path / "no-such-folder"), "--out", str(out), "--mirror", mirror.as_uri()])
    assert code == 0
    assert (out / "sources" / "openstax" / "book-es" / "modules" / "m4" / "index.cnxml").is_file()
    assert read_dataset(out / "openstax").topics.shape[0] == 10
    assert "fetching the pinned sources" in capsys.readouterr().err


def test_cli_convert_reports_bad_input_with_exit_code_2(fixture_copy, tmp_path, capsys):
    src = fixture_copy("kaggle")
    text = (src / "correlations.csv").read_text(encoding="utf-8").replace("t_es,c_3", "t_es,c_9")
    (src / "correlations.csv").write_text(text, encoding="utf-8")
    assert cli.main(["convert", "kaggle", "--in", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "correlations.csv: row 3" in err and "c_9" in err
    assert not (tmp_path / "out").exists()


def test_cli_convert_prints_counts(fixtures_dir, tmp_path, capsys):
    assert cli.main(["convert", "kolibri", "--in", str(fixtures_dir / "kolibri"), "--out", str(tmp_path / "k")]) == 0
    assert capsys.readouterr().out.strip() == (
        "kolibri: 5 topics (2 with content), 4 content items, 5 links, languages en sw")
