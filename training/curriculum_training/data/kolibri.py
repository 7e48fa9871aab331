"""Kolibri channel tree (JSON of ContentNode records, as Kolibri Studio exports) → LECR dataset.

  topic   = node with kind == "topic" (parent links, level = depth from the channel root = 0,
            channel = the node's channel_id, language = lang_id, "en" when missing)
  content = every other node (video, exercise, html5, document, …), deduplicated by content_id:
            Kolibri gives copies of the same resource placed in several topics one content_id, so
            that is the content id (the node id only when content_id is missing). The first copy
            in tree order supplies title, description and licence; `kind` is kept.
  links   = topic → content_id of each resource child (a copy placed twice under the same topic
            counts once).
Kolibri trees carry no resource body text, so `text` is empty (as for most Kaggle videos).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from .lecr import Dataset, DatasetError, build_dataset, check_dataset, normalize_space

DEFAULT_LANGUAGE = "en"


def tree_files(source: Path) -> List[Path]:
    source = Path(source)
    if source.is_file():
        return [source]
    files = sorted(source.glob("*.json"))
    if not files:
        raise DatasetError(f"{source}: no Kolibri channel tree (*.json) found")
    return files


def _walk(root: dict, path: Path) -> Iterator[Tuple[dict, dict, int, str]]:
    """(node, parent, depth, breadcrumb) in tree order; iterative so deep trees cannot overflow."""
    stack = [(root, None, 0, "root")]
    while stack:
        node, parent, depth, where = stack.pop()
        if not isinstance(node, dict):
            raise DatasetError(f"{path}: {where}: a node is {type(node).__name__}, not an object")
        for key in ("id", "kind", "title"):
            if not isinstance(node.get(key), str) or (key != "title" and not node[key]):
                raise DatasetError(f"{path}: node {node.get('id', '?')!r} ({where}): missing or invalid {key!r}")
        yield node, parent, depth, where
        children = node.get("children") or []
        if not isinstance(children, list):
            raise DatasetError(f"{path}: node {node['id']!r} ({where}): 'children' is not a list")
        for index in range(len(children) - 1, -1, -1):
            stack.append((children[index], node, depth + 1, f"{where} > child {index} of {node['id']}"))


def convert_kolibri(source: Path | str, category: str = "source") -> Dataset:
    topics: List[dict] = []
    content: Dict[str, dict] = {}
    links: Dict[str, List[str]] = {}
    seen_topics: Dict[str, Path] = {}
    for path in tree_files(Path(source)):
        try:
            with open(path, encoding="utf-8") as f:
                root = json.load(f)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}: not valid JSON: {err}") from err
        if not isinstance(root, dict) or root.get("kind") != "topic":
            raise DatasetError(f"{path}: the root node must be an object with kind 'topic'")
        channel = str(root.get("channel_id") or root["id"])
        for node, parent, depth, where in _walk(root, path):
            language = str(node.get("lang_id") or DEFAULT_LANGUAGE)
            if node["kind"] == "topic":
                if node["id"] in seen_topics:
                    raise DatasetError(f"{path}: node {node['id']!r} ({where}): topic id appears twice")
                seen_topics[node["id"]] = path
                topics.append({
                    "id": node["id"], "title": normalize_space(node["title"]),
                    "description": normalize_space(node.get("description")), "channel": channel,
                    "category": category, "level": depth, "language": language,
                    "parent": parent["id"] if parent is not None else "",
                })
                continue
            if parent is None:
                raise DatasetError(f"{path}: node {node['id']!r}: a resource cannot be the root")
            if parent["kind"] != "topic":
                raise DatasetError(f"{path}: node {node['id']!r} ({where}): its parent is a {parent['kind']}, not a topic")
            content_id = str(node.get("content_id") or node["id"])
            if content_id not in content:
                content[content_id] = {
                    "id": content_id, "title": normalize_space(node["title"]),
                    "description": normalize_space(node.get("description")), "kind": node["kind"],
                    "text": "", "language": language,
                    "copyright_holder": normalize_space(node.get("license_owner")),
                    "license": normalize_space(node.get("license_name")),
                }
            links.setdefault(parent["id"], []).append(content_id)
    ds = build_dataset(topics, list(content.values()), links, name="kolibri")
    check_dataset(ds, str(source))
    return ds
