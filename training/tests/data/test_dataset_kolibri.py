import json

import pytest

from curriculum_training.data.kolibri import convert_kolibri
from curriculum_training.data.lecr import DatasetError, dataset_counts, write_dataset

ROOT = "c0ffee00c0ffee00c0ffee00c0ffee00"


def test_kolibri_topics_levels_channel_and_language(fixtures_dir):
    ds = convert_kolibri(fixtures_dir / "kolibri" / "channel.json", category="aligned")
    topics = ds.topics.set_index("id")
    assert list(topics.sort_index().index) == [ROOT, "t1", "t11", "t2", "t3"]
    assert topics.loc[["t1", "t11", "t2"], "level"].tolist() == [1, 2, 1]
    assert topics.loc[ROOT, "level"] == 0 and topics.loc[ROOT, "parent"] == ""
    assert topics.loc["t11", "parent"] == "t1"
    assert set(topics["channel"]) == {ROOT} and set(topics["category"]) == {"aligned"}
    assert topics.loc[ROOT, "language"] == "sw"
    assert topics.loc["t11", "language"] == "en"  # lang_id null → default
    assert topics.loc["t1", "description"] == "Whole numbers and place value"
    assert topics.loc["t3", "has_content"] == "False"


def test_kolibri_resources_deduplicated_by_content_id(fixtures_dir):
    ds = convert_kolibri(fixtures_dir / "kolibri")
    content = ds.content.set_index("id")
    # v1 is placed three times (twice under t11): one content item, first copy's metadata
    assert sorted(content.index) == ["d1", "e1", "n6", "v1"]  # n6 has no content_id: node id
    assert content.loc["v1", "title"] == "What is a prime?"
    assert content.loc["v1", "kind"] == "video" and content.loc["n6", "kind"] == "html5"
    assert content.loc["v1", "copyright_holder"] == "Khan Academy"
    assert ds.topic2content() == {"t11": ["v1", "e1"], "t2": ["v1", "d1", "n6"]}
    counts = dataset_counts(ds)
    assert (counts["topics"], counts["topics_with_content"], counts["content"], counts["links"]) == (5, 2, 4, 5)


def test_kolibri_output_is_deterministic(fixtures_dir, tmp_path, snapshot):
    write_dataset(convert_kolibri(fixtures_dir / "kolibri"), tmp_path / "a")
    write_dataset(convert_kolibri(fixtures_dir / "kolibri"), tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def _tree(fixtures_dir):
    return json.loads((fixtures_dir / "kolibri" / "channel.json").read_text(encoding="utf-8"))


def test_kolibri_node_without_kind_names_file_and_node(fixtures_dir, tmp_path):
    tree = _tree(fixtures_dir)
    del tree["children"][1]["children"][1]["kind"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        convert_kolibri(path)
    message = str(err.value)
    assert "broken.json" in message and "node 'n5'" in message and "'kind'" in message and "child 1 of t2" in message


def test_kolibri_resource_under_a_resource_and_bad_json_are_rejected(fixtures_dir, tmp_path):
    tree = _tree(fixtures_dir)
    tree["children"][1]["children"][1]["children"] = [
        {"id": "n7", "content_id": "x7", "kind": "video", "title": "Nested"}]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"nested\.json: node 'n7' .*parent is a document, not a topic"):
        convert_kolibri(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"nested\.json: not valid JSON"):
        convert_kolibri(path)
