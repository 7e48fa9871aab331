"""OpenStax book bundles (osbooks-*-bundle: META-INF/books.xml, collections/*.collection.xml,
modules/<id>/index.cnxml) → LECR dataset, with translated books as a switch pool.

  book (one collection = one volume)   topic, level 0, the channel; no content of its own
  └ subcollection (chapter)            topic, level 1 (title = md:title)
    └ nested subcollection              topic, level 2 … (University Physics groups chapters into
                                        units such as "Mechanics": both levels become topics, pages
                                        link to the innermost one)
  page (col:module)                    content: title = the module's metadata md:title,
                                       description = its md:abstract (the learning objectives),
                                       text = the readable text of its paragraphs and list items
  correlation                          page in chapter

Pages directly under the book (preface, appendices) are front/back matter, in no chapter: they are
left out and counted. Ids are namespaced by bundle because translations reuse the original's module
ids (calculo's pages are m53472 … like calculus'): topics "<collection-id>" and
"<collection-id>-s<NN>" (NN = subcollection number in document order), content "<bundle>-<module>".

Translations (TRANSLATIONS) are aligned by position: book i ↔ book i, subcollection j ↔ j, page k of
a chapter ↔ page k, after checking the structures match; any difference is a DatasetError naming
both books and the first mismatch. Switch pool 1 (seed-algorithm.md §1.2) replaces every aligned row
by its partner's text, in both directions; books without a translation keep their own text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import pandas as pd
from lxml import etree
from tqdm import tqdm

from .lecr import (
    SWITCH_CONTENT_COLUMNS, SWITCH_TOPIC_COLUMNS, Dataset, DatasetError, build_dataset, check_dataset,
    normalize_space,
)

NS = {
    "container": "https://openstax.org/namespaces/book-container",
    "col": "http://cnx.rice.edu/collxml",
    "md": "http://cnx.rice.edu/mdml",
    "cnxml": "http://cnx.rice.edu/cnxml",
}
CNXML = "{http://cnx.rice.edu/cnxml}"

# bundle folder → the bundle it translates (both directions are emitted)
TRANSLATIONS = {"calculo": "calculus", "fizyka": "university-physics"}

CATEGORY = "source"
KIND = "document"
COPYRIGHT_HOLDER = "OpenStax"

# Text blocks we read, and containers whose text is not running prose (exercises with their
# solutions, figures, tables, footnotes): skipped so the page text reads as the page's exposition.
_BLOCKS = {"para", "item"}
_XREF = "\x00"
_XREF_PARENS = re.compile(r"\s*\([^()\x00]{0,40}\x00[^()\x00]{0,10}\)")
_XREF_LEFT = re.compile(r"\s*\x00")
# MathML's invisible operators (function application, invisible times/separator/plus) read as nothing
_INVISIBLE_MATH = {code: None for code in range(0x2061, 0x2065)}
# MathML annotations repeat a formula as LaTeX or plain text: reading them would say it twice
_NOT_READ = {"annotation", "annotation-xml"}
_SKIP = {"exercise", "figure", "table", "media", "footnote", "equation", "code", "preformat"}


@dataclass
class Node:
    """A subcollection (chapter or unit) of one book, with the pages directly inside it."""
    topic_id: str
    title: str
    depth: int
    parent: str
    modules: List[str] = field(default_factory=list)


@dataclass
class Book:
    bundle: str
    collection_id: str
    slug: str
    title: str
    language: str
    license: str
    path: Path
    chapters: List[Node] = field(default_factory=list)  # document order
    outside: List[str] = field(default_factory=list)    # pages in no chapter (front/back matter)


def bundle_dirs(source: Path) -> List[Path]:
    """One bundle folder, or a folder of bundles (sorted by name)."""
    source = Path(source)
    if (source / "META-INF" / "books.xml").is_file():
        return [source]
    bundles = sorted(p for p in source.iterdir() if (p / "META-INF" / "books.xml").is_file()) if source.is_dir() else []
    if not bundles:
        raise DatasetError(f"{source}: no OpenStax bundle (META-INF/books.xml) found")
    return bundles


def _parse_xml(path: Path) -> etree._ElementTree:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        return etree.parse(str(path))
    except etree.XMLSyntaxError as err:
        raise DatasetError(f"{path}: not well-formed XML: {err}") from err


def read_books(bundle: Path) -> List[Book]:
    container_path = bundle / "META-INF" / "books.xml"
    container = _parse_xml(container_path)
    books = []
    for number, entry in enumerate(container.getroot().findall("container:book", NS), 1):
        href, collection_id = entry.get("href"), entry.get("collection-id")
        if not href or not collection_id:
            raise DatasetError(f"{container_path}: book {number} ({entry.get('slug')!r}) lacks href or collection-id")
        books.append(read_collection(bundle, (container_path.parent / href).resolve(), collection_id, entry.get("slug") or ""))
    if not books:
        raise DatasetError(f"{container_path}: lists no books")
    return books


def read_collection(bundle: Path, path: Path, collection_id: str, slug: str) -> Book:
    root = _parse_xml(path).getroot()
    title = normalize_space(root.findtext("col:metadata/md:title", namespaces=NS) or root.findtext("metadata/md:title", namespaces=NS))
    language = normalize_space(root.findtext(".//md:language", namespaces=NS))
    if not title or not language:
        raise DatasetError(f"{path}: collection metadata lacks md:title or md:language")
    book = Book(bundle.name, collection_id, slug, title,
                language, normalize_space(root.findtext(".//md:license", namespaces=NS)), path)
    content = _child(root, "content")
    if content is None:
        raise DatasetError(f"{path}: collection has no content element")

    def walk(element, parent: Optional[Node], depth: int) -> None:
        for child in element:
            name = etree.QName(child).localname if isinstance(child.tag, str) else ""
            if name == "module":
                document = child.get("document")
                if not document:
                    raise DatasetError(f"{path}: a module element under {parent.title if parent else 'the book'!r} has no document attribute")
                (parent.modules if parent else book.outside).append(document)
            elif name == "subcollection":
                node = Node(f"{collection_id}-s{len(book.chapters) + 1:02d}",
                            normalize_space(child.findtext("md:title", namespaces=NS)), depth,
                            parent.topic_id if parent else collection_id)
                if not node.title:
                    raise DatasetError(f"{path}: subcollection {len(book.chapters) + 1} (under {parent.title if parent else book.title!r}) has no md:title")
                book.chapters.append(node)
                inner = _child(child, "content")
                if inner is not None:
                    walk(inner, node, depth + 1)

    walk(content, None, 1)
    return book


def _child(element, localname: str):
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == localname:
            return child
    return None


def read_module(bundle: Path, module: str, referenced_by: Path) -> Tuple[str, str, str]:
    """(title, description, text) of one CNXML page."""
    path = bundle / "modules" / module / "index.cnxml"
    if not path.is_file():
        raise DatasetError(f"{referenced_by}: module {module}: {path} not found")
    root = _parse_xml(path).getroot()
    title = normalize_space(root.findtext("cnxml:metadata/md:title", namespaces=NS) or root.findtext("cnxml:title", namespaces=NS))
    if not title:
        raise DatasetError(f"{path}: module {module} has no metadata md:title")
    abstract = root.find("cnxml:metadata/md:abstract", namespaces=NS)
    description = _block_text(abstract) if abstract is not None else ""
    body = root.find("cnxml:content", namespaces=NS)
    text = " ".join(_prose(body)) if body is not None else ""
    # cross-references are empty <link/> elements (marked _XREF): drop a short parenthesis around one
    # ("(see Figure 3)" in print would read "(see )"), then the marks themselves
    text = _XREF_LEFT.sub("", _XREF_PARENS.sub("", text))
    return title, description, normalize_space(text.translate(_INVISIBLE_MATH))


def _block_text(element) -> str:
    return normalize_space("".join(_ordered_text(element)))


def _ordered_text(element) -> Iterable[str]:
    """Text of an element in document order, a space around block-level children."""
    if element.text:
        yield element.text
    for child in element:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            if name in _NOT_READ:
                if child.tail:
                    yield child.tail
                continue
            if name == "link" and not child.text and len(child) == 0:
                yield _XREF
            block = name in ("item", "para", "title", "list")
            if block:
                yield " "
            yield from _ordered_text(child)
            if block:
                yield " "
        if child.tail:
            yield child.tail


def _prose(body) -> Iterable[str]:
    """Paragraphs and list items of the page body in document order, skipping non-prose containers;
    a list inside a paragraph is read with its paragraph, not twice."""
    def visit(element):
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if child.tag.startswith(CNXML) and name in _SKIP:
                continue
            if child.tag.startswith(CNXML) and name in _BLOCKS:
                yield _block_text(child)
            else:
                yield from visit(child)
    yield from (t for t in visit(body) if t)


# ------------------------------------------------------------------ conversion

def convert_openstax(source: Path | str, translations: Optional[Dict[str, str]] = None, progress: bool = True) -> Dataset:
    translations = TRANSLATIONS if translations is None else translations
    source = Path(source)
    bundles = bundle_dirs(source)
    books: List[Book] = []
    for bundle in bundles:
        books.extend(read_books(bundle))

    topics, content, links = [], {}, {}
    dropped = 0
    jobs = []
    for book in books:
        topics.append(_topic(book, book.collection_id, book.title, 0, ""))
        for node in book.chapters:
            topics.append(_topic(book, node.topic_id, node.title, node.depth, node.parent))
            ids = [f"{book.bundle}-{m}" for m in node.modules]
            if ids:
                links[node.topic_id] = ids
            jobs.extend((book, m) for m in node.modules)
        dropped += len(book.outside)
    bundle_path = {b.name: b for b in bundles}
    for book, module in tqdm(jobs, desc="openstax: reading pages", unit="page", disable=not progress):
        content_id = f"{book.bundle}-{module}"
        if content_id in content:  # the same page in two chapters (or volumes) is one content item
            continue
        title, description, text = read_module(bundle_path[book.bundle], module, book.path)
        content[content_id] = {
            "id": content_id, "title": title, "description": description, "kind": KIND, "text": text,
            "language": book.language, "copyright_holder": COPYRIGHT_HOLDER, "license": book.license,
        }
    ds = build_dataset(topics, list(content.values()), links, name="openstax")
    check_dataset(ds, str(source))
    ds.notes["front/back-matter pages outside any chapter left out"] = dropped
    pairs = _aligned_pairs(books, translations)
    if pairs:
        ds.switch[1] = _switch_pool(ds, pairs)
    return ds


def _topic(book: Book, topic_id: str, title: str, level: int, parent: str) -> dict:
    return {"id": topic_id, "title": title, "description": "", "channel": book.collection_id,
            "category": CATEGORY, "level": level, "language": book.language, "parent": parent}


def _aligned_pairs(books: List[Book], translations: Dict[str, str]) -> Dict[str, str]:
    """id → partner id for every topic and page of each translated bundle pair (both directions)."""
    by_bundle: Dict[str, List[Book]] = {}
    for book in books:
        by_bundle.setdefault(book.bundle, []).append(book)
    pairs: Dict[str, str] = {}
    for translated, original in sorted(translations.items()):
        if translated not in by_bundle or original not in by_bundle:
            continue
        for a, b in align_bundles(by_bundle[original], by_bundle[translated]):
            pairs.setdefault(a, b)
            pairs.setdefault(b, a)
    return pairs


def align_bundles(original: List[Book], translated: List[Book]) -> List[Tuple[str, str]]:
    """Position-by-position (topic or content id, partner id) pairs; DatasetError on the first mismatch."""
    def mismatch(what: str) -> DatasetError:
        return DatasetError(f"openstax: {original[0].bundle} ↔ {translated[0].bundle}: structures differ: {what}")

    if len(original) != len(translated):
        raise mismatch(f"{len(original)} books vs {len(translated)} books")
    out = []
    for number, (a, b) in enumerate(zip(original, translated), 1):
        where = f"book {number} ({a.slug} ↔ {b.slug})"
        if len(a.chapters) != len(b.chapters):
            raise mismatch(f"{where}: {len(a.chapters)} chapters vs {len(b.chapters)}")
        out.append((a.collection_id, b.collection_id))
        for index, (x, y) in enumerate(zip(a.chapters, b.chapters), 1):
            if x.depth != y.depth or (x.parent == a.collection_id) != (y.parent == b.collection_id) \
                    or x.parent[len(a.collection_id):] != y.parent[len(b.collection_id):]:
                raise mismatch(f"{where}: chapter {index} ({x.title!r} ↔ {y.title!r}) sits at a different place in the tree")
            if len(x.modules) != len(y.modules):
                raise mismatch(f"{where}: chapter {index} ({x.title!r} ↔ {y.title!r}) has {len(x.modules)} pages vs {len(y.modules)}")
            out.append((x.topic_id, y.topic_id))
            out.extend((f"{a.bundle}-{m}", f"{b.bundle}-{n}") for m, n in zip(x.modules, y.modules))
    return out


def _switch_pool(ds: Dataset, pairs: Dict[str, str]) -> Tuple[pd.DataFrame, pd.DataFrame]:
    topics = ds.topics.set_index("id", drop=False)
    content = ds.content.set_index("id", drop=False)

    def swapped(frame: pd.DataFrame, columns: List[str]) -> pd.DataFrame:
        rows = []
        for row in frame.itertuples(index=False):
            partner = pairs.get(row.id)
            source = frame.loc[partner] if partner is not None and partner in frame.index else row
            get = (lambda c: source[c]) if isinstance(source, pd.Series) else (lambda c: getattr(source, c))
            out = {c: get(c) for c in columns if c in ("title", "description", "text")}
            out["id"] = row.id
            if "parent" in columns:
                out["parent"] = row.parent
            out["language_t"] = get("language")
            rows.append(out)
        return pd.DataFrame(rows, columns=columns)

    return swapped(topics, SWITCH_TOPIC_COLUMNS), swapped(content, SWITCH_CONTENT_COLUMNS)
