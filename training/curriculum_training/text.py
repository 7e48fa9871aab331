"""Contract 2: how topic and content strings are built (identical in services/recommender/src/text.ts).

The recipe follows the 2nd-place solution (seed-algorithm.md §1.4 and §2):
  topic   = title # parent title # … # root title # description
  content = title # description # first 32 words of the cleaned text
The version string in config/defaults.json names this recipe; bundles carry it in their manifest.
Both implementations are checked against config/text_format_cases.json.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional

from .config import SEPARATOR, text_format

_URL = re.compile(r"http\S+")
_PRIVATE_USE = "\ue009"


def one_line(value: object) -> str:
    """Line breaks become single spaces ("\\r\\n" first, then "\\n"), as the seed does for every column."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # pandas NaN
        return ""
    return str(value).replace("\r\n", " ").replace("\n", " ")


def clean(value: object) -> str:
    """Seed `clean`: stringify; strip surrounding whitespace only when longer than one character."""
    s = one_line(value)
    return s.strip() if len(s) > 1 else s


def clean_and_cut(text: object) -> str:
    """Seed `clean_and_cut` for content text: strip, drop U+E009 and URLs, first 32 words, 256 chars."""
    fmt = text_format()
    s = one_line(text).strip().replace(_PRIVATE_USE, "")
    s = _URL.sub("", s)
    s = " ".join(s.split(" ")[: fmt["content_text_max_words"]])
    return s[: fmt["content_text_max_chars"]]


def topic_string(title: object, description: object, ancestor_titles: Iterable[object] = ()) -> str:
    """Breadcrumb text: the topic's own title, then each ancestor's title from parent up to the root,
    then the topic's own description (empty description leaves a trailing separator, as in the seed)."""
    parts = [clean(title)] + [clean(t) for t in ancestor_titles] + [clean(description)]
    return SEPARATOR.join(parts)


def content_string(title: object, description: object, text: object) -> str:
    return SEPARATOR.join([clean(title), clean(description), clean_and_cut(text)])


def ancestor_titles(topic_id: str, parent_of: Mapping[str, Optional[str]], title_of: Mapping[str, str]) -> list:
    """Titles from the parent up to the root; stops on a missing parent or a cycle."""
    out, seen = [], {topic_id}
    parent = parent_of.get(topic_id)
    while parent and parent not in seen and parent in title_of:
        out.append(title_of[parent])
        seen.add(parent)
        parent = parent_of.get(parent)
    return out


def topic_strings(topics) -> dict:
    """id → topic string for every row of a LECR topics DataFrame (titles of ancestors from the same frame)."""
    ids = topics["id"].astype(str).tolist()
    parents = topics["parent"].fillna("").astype(str).tolist()
    titles = topics["title"].fillna("").astype(str).tolist()
    descriptions = topics["description"].fillna("").astype(str).tolist()
    parent_of = {i: (p or None) for i, p in zip(ids, parents)}
    title_of = dict(zip(ids, titles))
    return {
        i: topic_string(t, d, ancestor_titles(i, parent_of, title_of))
        for i, t, d in zip(ids, titles, descriptions)
    }


def content_strings(content) -> dict:
    """id → content string for every row of a LECR content DataFrame."""
    cols = [content[c].fillna("").astype(str).tolist() for c in ("id", "title", "description", "text")]
    return {i: content_string(t, d, x) for i, t, d, x in zip(*cols)}
