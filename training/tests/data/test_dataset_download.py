import shutil
from pathlib import Path

import pytest

from curriculum_training.data import download
from curriculum_training.data.download import (
    MIRROR_ENV, Source, download_sources, load_manifest, make_manifest, sha256_file, write_manifest,
)
from curriculum_training.data.lecr import DatasetError

SOURCES = [
    Source("demo-a", "owner/repo-a", "0123abcd"),
    Source("nested/demo-b", "owner/repo-b", "feedbeef", (("tree.json", "data/trees/tree.json"),)),
]


@pytest.fixture
def mirror(tmp_path):
    """A 'shared' tree, its manifest, and a file:// mirror with GitHub's raw URL layout."""
    shared = tmp_path / "shared"
    (shared / "demo-a" / "collections").mkdir(parents=True)
    (shared / "demo-a" / "collections" / "cálculo volumen.xml").write_text("<x>á</x>", encoding="utf-8")
    (shared / "demo-a" / "README.md").write_text("readme\n", encoding="utf-8")
    (shared / "nested" / "demo-b").mkdir(parents=True)
    (shared / "nested" / "demo-b" / "tree.json").write_text('{"id": "root"}', encoding="utf-8")
    manifest_path = tmp_path / "sources.json"
    write_manifest(make_manifest(shared, SOURCES), manifest_path)
    root = tmp_path / "mirror"
    for source, files in (("owner/repo-a/0123abcd", {"collections/cálculo volumen.xml": "demo-a/collections/cálculo volumen.xml",
                                                      "README.md": "demo-a/README.md"}),
                          ("owner/repo-b/feedbeef", {"data/trees/tree.json": "nested/demo-b/tree.json"})):
        for remote, local in files.items():
            target = root / source / remote
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared / local, target)
    return {"shared": shared, "manifest": manifest_path, "root": root, "url": root.as_uri()}


def test_manifest_records_paths_sizes_hashes_and_repo_renames(mirror):
    manifest = load_manifest(mirror["manifest"])
    a, b = manifest["sources"]
    assert (a["repo"], a["commit"]) == ("owner/repo-a", "0123abcd")
    assert [f["path"] for f in a["files"]] == ["README.md", "collections/cálculo volumen.xml"]
    assert a["files"][0]["sha256"] == sha256_file(mirror["shared"] / "demo-a" / "README.md")
    assert a["files"][0]["size"] == 7 and "repo_path" not in a["files"][0]
    assert b["files"][0]["repo_path"] == "data/trees/tree.json"


def test_download_from_file_mirror_reproduces_the_shared_tree(mirror, tmp_path):
    cache = download_sources(tmp_path / "cache", mirror=mirror["url"], manifest_path=mirror["manifest"], progress=False)
    for path in mirror["shared"].rglob("*"):
        if path.is_file():
            copy = cache / path.relative_to(mirror["shared"])
            assert copy.read_bytes() == path.read_bytes()
    # verified files already in the cache are not fetched again: works with the mirror gone
    shutil.rmtree(mirror["root"])
    download_sources(cache, mirror=mirror["url"], manifest_path=mirror["manifest"], progress=False)


def test_checksum_mismatch_is_rejected_and_the_file_removed(mirror, tmp_path):
    (mirror["root"] / "owner/repo-b/feedbeef/data/trees/tree.json").write_text('{"id": "evil"}', encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        download_sources(tmp_path / "cache", mirror=mirror["url"], manifest_path=mirror["manifest"], progress=False)
    message = str(err.value)
    assert "nested/demo-b/tree.json" in message and "sha256" in message and "rejected" in message
    assert "owner/repo-b/feedbeef/data/trees/tree.json" in message
    assert not (tmp_path / "cache" / "nested/demo-b/tree.json").exists()


def test_corrupted_cache_file_is_fetched_again_and_env_mirror_is_used(mirror, tmp_path, monkeypatch):
    cache = download_sources(tmp_path / "cache", mirror=mirror["url"], manifest_path=mirror["manifest"], progress=False)
    (cache / "demo-a" / "README.md").write_text("tampered\n", encoding="utf-8")
    monkeypatch.setenv(MIRROR_ENV, mirror["url"])
    download_sources(cache, manifest_path=mirror["manifest"], progress=False)
    assert (cache / "demo-a" / "README.md").read_text(encoding="utf-8") == "readme\n"


def test_missing_file_on_the_mirror_names_the_url(mirror, tmp_path):
    (mirror["root"] / "owner/repo-a/0123abcd/README.md").unlink()
    with pytest.raises(DatasetError, match=r"owner/repo-a/0123abcd/README\.md: download failed"):
        download_sources(tmp_path / "cache", mirror=mirror["url"], manifest_path=mirror["manifest"], progress=False)


def test_default_manifest_is_committed_and_pins_every_source():
    manifest = load_manifest(download.MANIFEST_PATH)
    folders = {s["folder"]: s for s in manifest["sources"]}
    assert set(folders) == {s.folder for s in download.SOURCES}
    assert folders["oak-curriculum"]["commit"] == "0de3af3469a28879d89fd76f90ba4b95005ecaa8"
    assert all(len(s["files"]) > 0 for s in manifest["sources"])
    assert all(len(f["sha256"]) == 64 for s in manifest["sources"] for f in s["files"])
