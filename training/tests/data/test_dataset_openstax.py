from pathlib import Path

import pytest

from curriculum_training.data.lecr import DatasetError, dataset_counts, read_dataset, write_dataset
from curriculum_training.data.openstax import convert_openstax, read_books

PAIR = {"book-es": "book-en"}


@pytest.fixture(scope="module")
def books():
    return convert_openstax(Path(__file__).parent / "fixtures" / "openstax", translations=PAIR, progress=False)


def test_openstax_book_units_chapters_and_pages(books):
    topics = books.topics.set_index("id")
    counts = dataset_counts(books)
    assert (counts["topics"], counts["topics_with_content"], counts["content"], counts["links"]) == (10, 6, 8, 10)
    assert counts["languages"] == ["en", "es"]
    # book root (level 0, no content) → unit (nested subcollection) → chapter
    assert topics.loc["col900", "title"] == "Demo Physics" and topics.loc["col900", "level"] == 0
    assert topics.loc["col900", "has_content"] == "False"
    assert topics.loc["col900-s01", "title"] == "Mechanics" and topics.loc["col900-s01", "has_content"] == "False"
    assert topics.loc["col900-s02", "parent"] == "col900-s01" and topics.loc["col900-s02", "level"] == 2
    assert topics.loc["col900-s04", "parent"] == "col900" and topics.loc["col900-s04", "level"] == 1
    assert set(topics.loc[topics["language"] == "es", "channel"]) == {"col901"}
    links = books.topic2content()
    assert links["col900-s02"] == ["book-en-m1", "book-en-m2"]
    # the same page in two chapters is one content item with two links; front/back matter is left out
    assert links["col900-s04"] == ["book-en-m4", "book-en-m2"]
    assert books.notes == {"front/back-matter pages outside any chapter left out": 4}
    assert not any(c.endswith(("-m0", "-m9")) for c in books.content["id"])


def test_openstax_page_text_is_readable_prose(books):
    page = books.content.set_index("id").loc["book-en-m1"]
    assert page["title"] == "Introduction" and page["language"] == "en" and page["kind"] == "document"
    assert page["description"] == "Measure things. Solve problems."
    # inline markup and MathML join in place (LaTeX annotations and invisible operators dropped),
    # lists and notes are read, whitespace normalised; an empty cross-reference leaves no trace
    # ("(see <link/>)" goes entirely); figures, exercises and solutions are not prose
    assert page["text"] == ("Physics is the study of matter: the quantity v=2 is written on two lines. "
                            "Second paragraph, as in item one item two A note paragraph.")
    assert page["license"] == "Creative Commons Attribution License"


def test_openstax_switch_pool_swaps_translations_both_ways(books):
    topics, content = books.switch[1]
    topics, content = topics.set_index("id"), content.set_index("id")
    assert len(topics) == len(books.topics) and len(content) == len(books.content)
    # the English rows carry the Spanish text, the Spanish rows the English text; ids and parents stay
    assert topics.loc["col900-s02", "title"] == "Unidades y medidas"
    assert topics.loc["col900-s02", "parent"] == "col900-s01" and topics.loc["col900-s02", "language_t"] == "es"
    assert topics.loc["col901", "title"] == "Demo Physics" and topics.loc["col901", "language_t"] == "en"
    assert content.loc["book-en-m3", "title"] == "Escalares y vectores"
    assert content.loc["book-en-m3", "text"].startswith("Un vector tiene dirección")
    assert content.loc["book-es-m3", "description"] == "Add vectors. Solve problems."
    assert content.loc["book-es-m3", "language_t"] == "en"


def test_openstax_book_without_translation_is_unchanged_in_the_pool(fixtures_dir):
    ds = convert_openstax(fixtures_dir / "openstax" / "book-en", translations={}, progress=False)
    assert ds.switch == {}  # no pair present: no pool at all
    ds = convert_openstax(fixtures_dir / "openstax", translations={"book-es": "book-missing"}, progress=False)
    assert ds.switch == {}


def test_openstax_output_is_deterministic_with_switch(fixtures_dir, tmp_path, snapshot):
    for name in ("a", "b"):
        write_dataset(convert_openstax(fixtures_dir / "openstax", translations=PAIR, progress=False), tmp_path / name)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert "switch/topics_1.csv" in snapshot(tmp_path / "a")
    back = read_dataset(tmp_path / "a")
    assert sorted(back.switch) == [1]
    assert list(back.switch[1][0].columns) == ["id", "title", "description", "parent", "language_t"]


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_openstax_translation_with_different_structure_names_books_and_chapter(fixture_copy):
    fixture_copy("openstax/book-en")
    es = fixture_copy("openstax/book-es")
    _edit(es / "collections/fisica-demo.collection.xml", '<col:module document="m3" />', "")
    with pytest.raises(DatasetError) as err:
        convert_openstax(es.parent, translations=PAIR, progress=False)
    message = str(err.value)
    assert "book-en ↔ book-es" in message and "demo-book ↔ fisica-demo" in message
    assert "chapter 3 ('Vectors' ↔ 'Vectores') has 1 pages vs 0" in message


def test_openstax_translation_with_a_missing_chapter_is_rejected(fixture_copy):
    fixture_copy("openstax/book-en")
    es = fixture_copy("openstax/book-es")
    collection = es / "collections/fisica-demo.collection.xml"
    text = collection.read_text(encoding="utf-8")
    start = text.index("    <col:subcollection>\n      <md:title>Ondas")
    end = text.index("</col:subcollection>", start) + len("</col:subcollection>")
    collection.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(DatasetError, match=r"book 1 \(demo-book ↔ fisica-demo\): 4 chapters vs 3"):
        convert_openstax(es.parent, translations=PAIR, progress=False)


def test_openstax_missing_module_and_broken_xml_name_the_files(fixture_copy):
    en = fixture_copy("openstax/book-en")
    (en / "modules/m3/index.cnxml").unlink()
    with pytest.raises(DatasetError, match=r"demo-book\.collection\.xml: module m3: .*m3/index\.cnxml not found"):
        convert_openstax(en, translations={}, progress=False)
    _edit(en / "modules/m1/index.cnxml", "</content>", "")
    (en / "modules/m3").rmdir()
    with pytest.raises(DatasetError, match=r"m1/index\.cnxml: not well-formed XML"):
        convert_openstax(en, translations={}, progress=False)


def test_openstax_collection_reading_keeps_document_order(fixtures_dir):
    [book] = read_books(fixtures_dir / "openstax" / "book-es")
    assert [c.title for c in book.chapters] == ["Mecánica", "Unidades y medidas", "Vectores", "Ondas"]
    assert [c.depth for c in book.chapters] == [1, 2, 2, 1]
    assert book.outside == ["m0", "m9"] and book.language == "es"
