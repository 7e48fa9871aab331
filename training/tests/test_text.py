import json

from curriculum_training.config import REPO_ROOT, TEXT_FORMAT_VERSION
from curriculum_training.text import ancestor_titles, clean_and_cut, content_string, topic_string
from curriculum_training.text_cases import build_cases


def test_topic_breadcrumb_order_self_first_then_root_then_description():
    assert topic_string("C", "desc", ["B", "A"]) == "C # B # A # desc"


def test_empty_description_leaves_trailing_separator():
    assert topic_string("Fractions", "", []) == "Fractions # "


def test_content_text_drops_urls_private_use_and_keeps_32_words():
    text = "see http://x.y/z now \ue009 " + " ".join(str(i) for i in range(100))
    out = clean_and_cut(text)
    assert "http" not in out and "\ue009" not in out
    assert len(out.split(" ")) == 32
    assert content_string("T", "D", "a b") == "T # D # a b"


def test_content_text_is_cut_to_256_characters():
    assert len(clean_and_cut(" ".join(["a" * 40] * 10))) == 256


def test_ancestor_walk_stops_on_cycle():
    parent_of = {"a": "b", "b": "a"}
    assert ancestor_titles("a", parent_of, {"a": "A", "b": "B"}) == ["B"]


def test_committed_cases_match_the_implementation():
    committed = json.loads((REPO_ROOT / "config" / "text_format_cases.json").read_text(encoding="utf-8"))
    assert committed["text_format"] == TEXT_FORMAT_VERSION
    assert committed == build_cases()
