import pytest

from curriculum_training.data.kaggle import convert_kaggle
from curriculum_training.data.lecr import DatasetError, read_dataset, write_dataset


def test_kaggle_slice_is_normalised_like_the_seed(fixtures_dir):
    ds = convert_kaggle(fixtures_dir / "kaggle")
    topics = ds.topics.set_index("id")
    content = ds.content.set_index("id")
    # line breaks → space, then `clean` strips surrounding whitespace of title/description
    assert topics.loc["t_alg", "title"] == "Algebra basics"
    assert topics.loc["t_geo", "description"] == "Angles, shapes"
    assert topics.loc["t_root", "description"] == ""
    assert content.loc["c_1", "description"] == "Balance both sides"
    # clean_and_cut: URL removed, split on single spaces (so empty tokens stay), 32 tokens max
    assert content.loc["c_1", "text"] == "Watch at  now  and learn"
    assert len(content.loc["c_3", "text"].split(" ")) == 32
    assert content.loc["c_3", "text"].endswith("p31 p32")
    assert content.loc["c_2", "text"] == ""
    assert list(topics["level"]) == [0, 1, 1, 0]
    assert ds.topic2content() == {"t_alg": ["c_1"], "t_geo": ["c_2", "c_1"], "t_es": ["c_3"]}


def test_kaggle_output_is_deterministic_and_keeps_the_columns(fixtures_dir, tmp_path, snapshot):
    write_dataset(convert_kaggle(fixtures_dir / "kaggle"), tmp_path / "a")
    write_dataset(convert_kaggle(fixtures_dir / "kaggle"), tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    header = (tmp_path / "a" / "topics.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,title,description,channel,category,level,language,parent,has_content"
    back = read_dataset(tmp_path / "a")
    assert sorted(back.topics["id"]) == ["t_alg", "t_es", "t_geo", "t_root"]
    assert "\n" not in "".join(back.topics["description"])


def _edit(path, old, new):
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_unknown_content_in_correlations_names_file_row_and_ids(fixture_copy):
    src = fixture_copy("kaggle")
    _edit(src / "correlations.csv", "t_geo,c_2 c_1", "t_geo,c_2 c_404")
    with pytest.raises(DatasetError) as err:
        convert_kaggle(src)
    message = str(err.value)
    assert "correlations.csv" in message and "row 2" in message and "t_geo" in message and "c_404" in message


def test_unknown_topic_in_correlations_is_rejected(fixture_copy):
    src = fixture_copy("kaggle")
    _edit(src / "correlations.csv", "t_es,c_3", "t_missing,c_3")
    with pytest.raises(DatasetError, match=r"correlations\.csv: row 3: unknown topic_id 't_missing'"):
        convert_kaggle(src)


def test_missing_column_duplicate_id_and_unknown_parent_are_rejected(fixture_copy):
    src = fixture_copy("kaggle")
    _edit(src / "content.csv", ",license\n", ",licence\n")
    with pytest.raises(DatasetError, match=r"content\.csv: missing column\(s\) license"):
        convert_kaggle(src)

    _edit(src / "content.csv", ",licence\n", ",license\n")
    _edit(src / "content.csv", "c_2,Angles", "c_1,Angles")
    with pytest.raises(DatasetError, match=r"content\.csv: row 2: duplicate id 'c_1'"):
        convert_kaggle(src)

    _edit(src / "content.csv", "c_1,Angles", "c_2,Angles")
    _edit(src / "topics.csv", "es,,True", "es,t_nowhere,True")
    with pytest.raises(DatasetError, match=r"topics\.csv: row 4 \(id 't_es'\): unknown parent 't_nowhere'"):
        convert_kaggle(src)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"topics\.csv: file not found"):
        convert_kaggle(tmp_path)
