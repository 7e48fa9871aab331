from pathlib import Path

import pytest

from curriculum_training.data.lecr import DatasetError, dataset_counts, write_dataset
from curriculum_training.data.oak import convert_oak

UV1_PROGRAMME = "programme-a-combined-science-higher"


@pytest.fixture(scope="module")
def oak():
    return convert_oak(Path(__file__).parent / "fixtures" / "oak", progress=False)


def test_oak_tree_subject_group_programme_unit_variant(oak):
    topics = oak.topics.set_index("id")
    counts = dataset_counts(oak)
    # 1 subject group, 2 programmes + 1 scheme standing in, 4 unit nodes, 5 unit variants
    assert counts["topics"] == 13
    assert counts["topics_with_content"] == 4 and counts["links"] == 6
    assert counts["content"] == 5 and counts["languages"] == ["en"]
    assert set(topics["channel"]) == {"subjectgroup-the-sciences"}
    assert set(topics["category"]) == {"source"}
    # unit variant → unit node (within its first programme) → programme → subject group
    assert topics.loc["unitvariant-1", "parent"] == f"{UV1_PROGRAMME}__unit-10"
    assert topics.loc[f"{UV1_PROGRAMME}__unit-10", "parent"] == UV1_PROGRAMME
    assert topics.loc[UV1_PROGRAMME, "parent"] == "subjectgroup-the-sciences"
    assert topics.loc["subjectgroup-the-sciences", "title"] == "The Sciences"
    assert [topics.loc[i, "level"] for i in ("subjectgroup-the-sciences", UV1_PROGRAMME,
                                             f"{UV1_PROGRAMME}__unit-10", "unitvariant-1")] == [0, 1, 2, 3]
    # shared by both programmes: placed once, under the first programme (IRI order)
    assert topics.loc["unitvariant-2", "parent"] == f"{UV1_PROGRAMME}__unit-20"
    # both options of a UnitVariantChoice are included by the programme
    assert topics.loc["unitvariant-3", "parent"] == "programme-b-combined-science-foundation__unit-30"
    assert topics.loc["unitvariant-4", "parent"] == "programme-b-combined-science-foundation__unit-30"
    assert topics.loc["unitvariant-4", "has_content"] == "False"
    # in no programme: the unit's scheme takes the programme's place
    assert topics.loc["unitvariant-5", "parent"] == "scheme-biology-key-stage-4__unit-10"
    assert topics.loc["scheme-biology-key-stage-4", "title"] == "Biology Key Stage 4"
    # multi-line literals are whitespace-normalised; the unit's comment describes its variants
    assert topics.loc["unitvariant-1", "description"] == "Pupils learn what cells are made of."


def test_oak_lessons_links_follow_sequence_position(oak):
    assert oak.topic2content() == {
        "unitvariant-1": ["lesson-1", "lesson-2"],
        "unitvariant-2": ["lesson-3", "lesson-1"],
        "unitvariant-3": ["lesson-4"],
        "unitvariant-5": ["lesson-2"],
    }


def test_oak_lesson_text_outcome_then_numbered_points_then_keywords(oak):
    lesson = oak.content.set_index("id").loc["lesson-1"]
    assert lesson["title"] == "Animal and plant cells"
    assert lesson["description"] == "I can compare animal and plant cells."
    # points ordered 1, 2, 10 (numerically), full stops added where missing, keywords by name
    assert lesson["text"] == ("Cells are the basic unit of life. Plant cells have a cell wall. Both have a nucleus. "
                              "Keywords: Cell: The smallest living unit. nucleus: Holds the genetic material.")
    assert lesson["kind"] == "lesson" and lesson["license"] == "Open Government Licence v3.0"
    # a lesson no unit variant includes is still content (a distractor), just unlinked
    assert "lesson-9" in set(oak.content["id"])


def test_oak_output_is_deterministic(fixtures_dir, tmp_path, snapshot):
    write_dataset(convert_oak(fixtures_dir / "oak", progress=False), tmp_path / "a")
    write_dataset(convert_oak(fixtures_dir / "oak", progress=False), tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_oak_turtle_syntax_error_names_the_file(fixture_copy):
    src = fixture_copy("oak")
    _edit(src / "data/subjects/demo/demo-key-stage-4.ttl", 'rdfs:label "Energy"@en ;', 'rdfs:label "Energy ;')
    with pytest.raises(DatasetError, match=r"demo-key-stage-4\.ttl: not valid Turtle"):
        convert_oak(src, progress=False)


def test_oak_record_without_label_names_file_line_and_record(fixture_copy):
    src = fixture_copy("oak")
    _edit(src / "data/subjects/demo/demo-key-stage-4.ttl", '  rdfs:label "Specialised cells"@en ;\n', "")
    with pytest.raises(DatasetError) as err:
        convert_oak(src, progress=False)
    message = str(err.value)
    assert "demo-key-stage-4.ttl:" in message and "lesson-2" in message and "rdfs:label" in message
    line = int(message.split("demo-key-stage-4.ttl:")[1].split(":")[0])
    source_lines = (src / "data/subjects/demo/demo-key-stage-4.ttl").read_text(encoding="utf-8").splitlines()
    assert source_lines[line - 1] == "oakcurric:lesson-2"


def test_oak_dangling_lesson_reference_is_rejected(fixture_copy):
    src = fixture_copy("oak")
    _edit(src / "data/subjects/demo/demo-key-stage-4.ttl", "curric:includesLesson oakcurric:lesson-4 ;",
          "curric:includesLesson oakcurric:lesson-404 ;")
    with pytest.raises(DatasetError, match=r"lesson-404: a unit variant includes this lesson, but it is not defined"):
        convert_oak(src, progress=False)


def test_oak_folder_without_turtle_is_rejected(tmp_path):
    with pytest.raises(DatasetError, match="no Turtle files"):
        convert_oak(tmp_path, progress=False)
