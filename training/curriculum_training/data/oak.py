"""Oak National Academy curriculum ontology (RDF Turtle) → LECR dataset.

Mapping (README, section "Datasets"):
  subject group (one per data/subjects/<folder>, e.g. "The Sciences")  level 0, the channel root
  └ programme ("Mathematics Year Group 7")                              level 1
    └ unit within that programme                                        level 2
      └ unit variant                                                    level 3, the only topics with content
          content = lesson, correlation = lesson inclusion

A unit variant can be included by several programmes (e.g. the same music unit in the AQA, Edexcel,
Eduqas and OCR Year 10 programmes). A LECR topic has one parent, so each unit variant is placed once,
under its first including programme (smallest IRI), and the unit node above it is that programme's
copy of the unit (id "<programme>__<unit>"). Every breadcrumb is therefore true, and topics and links
stay 1:1 with the source's unit variants and lesson inclusions. Unit variants that no programme
includes hang under their unit's scheme ("Art and design Key Stage 4") in the programme's place.

Lesson text: description = the pupil lesson outcome ("I can …", a one-sentence summary, like Kaggle
descriptions); text = the key learning points in their numbered order, then the keywords with their
definitions. The content string keeps only the first 32 words of text, so the outcome goes to
description rather than spending that budget.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from rdflib import RDF, RDFS, Graph, Namespace, URIRef
from tqdm import tqdm

from .lecr import Dataset, DatasetError, build_dataset, check_dataset, normalize_space

CURRIC = Namespace("https://w3id.org/uk/oak/curriculum/ontology/")
SCHEMA = Namespace("http://schema.org/")

CATEGORY = "source"
LANGUAGE = "en"
KIND = "lesson"
COPYRIGHT_HOLDER = "Oak National Academy"
LICENSE = "Open Government Licence v3.0"


def turtle_files(root: Path) -> List[Path]:
    """All instance data files: <root>/data/**/*.ttl (the ontology folder only defines classes)."""
    root = Path(root)
    data = root / "data" if (root / "data").is_dir() else root
    files = sorted(data.rglob("*.ttl"))
    if not files:
        raise DatasetError(f"{root}: no Turtle files (*.ttl) found under {data}")
    return files


def load_graph(files: List[Path], progress: bool = True) -> Graph:
    graph = Graph()
    for path in tqdm(files, desc="oak: parsing Turtle", unit="file", disable=not progress):
        try:
            graph.parse(path, format="turtle")
        except Exception as err:  # rdflib raises several syntax error types
            raise DatasetError(f"{path}: not valid Turtle: {err}") from err
    return graph


def local_name(iri: URIRef) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _number_suffix(iri: URIRef) -> Tuple[int, str]:
    """Key learning points are numbered '…-lesson-183-1', '…-2': order by that number."""
    match = re.search(r"(\d+)$", str(iri))
    return (int(match.group(1)) if match else 0, str(iri))


class _OakReader:
    def __init__(self, graph: Graph, files: List[Path]):
        self.g = graph
        self.files = files

    # -- error reporting: find the file and line that define a record (only on the error path)
    def where(self, iri: URIRef) -> str:
        name = local_name(iri)
        pattern = re.compile(rf"^(\S*:{re.escape(name)}|<{re.escape(str(iri))}>)\s*$")
        for path in self.files:
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    if pattern.match(line):
                        return f"{path}:{number}"
        return "(not defined in any file)"

    def fail(self, iri: URIRef, message: str) -> DatasetError:
        return DatasetError(f"{self.where(iri)}: {local_name(iri)}: {message}")

    def label(self, iri: URIRef, what: str, required: bool = True) -> str:
        value = self.g.value(iri, RDFS.label)
        if value is None:
            value = self.g.value(iri, SCHEMA.name)
        if value is None:
            if required:
                raise self.fail(iri, f"{what} has no rdfs:label")
            return ""
        return normalize_space(value)

    def text(self, iri: URIRef, predicate) -> str:
        value = self.g.value(iri, predicate)
        return normalize_space(value) if value is not None else ""

    def typed(self, cls) -> List[URIRef]:
        return sorted(set(self.g.subjects(RDF.type, cls)), key=str)

    def included(self, owner: URIRef, inclusion_predicate, target_predicate, what: str) -> List[URIRef]:
        """Targets of an owner's inclusion records, in sequencePosition order."""
        out = []
        for inclusion in self.g.objects(owner, inclusion_predicate):
            target = self.g.value(inclusion, target_predicate)
            if target is None:
                raise self.fail(inclusion, f"{what} inclusion of {local_name(owner)} names no target")
            position = self.g.value(inclusion, CURRIC.sequencePosition)
            try:
                order = int(position) if position is not None else 0
            except ValueError as err:
                raise self.fail(inclusion, f"sequencePosition {position!r} is not an integer") from err
            out.append((order, str(target), target))
        return [t for _, _, t in sorted(out)]

    def programme_variants(self, programme: URIRef) -> List[URIRef]:
        """Unit variants a programme includes, in sequence order. An inclusion names one variant or a
        UnitVariantChoice (pupils pick one option, e.g. GCSE art's areas of study): every option
        counts as included, in IRI order."""
        out = []
        for inclusion in self.g.objects(programme, CURRIC.hasUnitVariantInclusion):
            position = self.g.value(inclusion, CURRIC.sequencePosition)
            order = int(position) if position is not None and str(position).isdigit() else 0
            variant = self.g.value(inclusion, CURRIC.includesUnitVariant)
            choice = self.g.value(inclusion, CURRIC.includesUnitVariantChoice)
            if variant is not None:
                options = [variant]
            elif choice is not None:
                options = sorted(self.g.objects(choice, CURRIC.hasUnitVariantOption), key=str)
                if not options:
                    raise self.fail(choice, f"unit variant choice of {local_name(programme)} has no options")
            else:
                raise self.fail(inclusion, f"unit variant inclusion of {local_name(programme)} names no unit variant or choice")
            out.extend((order, str(option), option) for option in options)
        return [v for _, _, v in sorted(out)]

    def root_of_scheme(self, scheme: URIRef) -> URIRef:
        subject = self.g.value(scheme, CURRIC.isSchemeOf)
        if subject is None:
            raise self.fail(scheme, "scheme has no curric:isSchemeOf subject")
        group = self.g.value(subject, CURRIC.isSubjectOf)
        return group if group is not None else subject


def convert_oak(source: Path | str, progress: bool = True) -> Dataset:
    source = Path(source)
    files = turtle_files(source)
    reader = _OakReader(load_graph(files, progress), files)
    g = reader.g

    unit_variants = reader.typed(CURRIC.UnitVariant)
    if not unit_variants:
        raise DatasetError(f"{source}: no curric:UnitVariant records in {len(files)} Turtle files")
    known_variants = set(unit_variants)

    # programme → unit variants; unit variant → its first including programme
    programmes = reader.typed(CURRIC.Programme)
    first_programme: Dict[URIRef, URIRef] = {}
    programme_root: Dict[URIRef, URIRef] = {}
    for programme in programmes:
        schemes = sorted(g.objects(programme, CURRIC.isProgrammeOf), key=str)
        if not schemes:
            raise reader.fail(programme, "programme has no curric:isProgrammeOf scheme")
        roots = {reader.root_of_scheme(s) for s in schemes}
        if len(roots) != 1:
            names = ", ".join(sorted(local_name(r) for r in roots))
            raise reader.fail(programme, f"programme belongs to several subject groups ({names})")
        programme_root[programme] = roots.pop()
        for variant in reader.programme_variants(programme):
            if variant not in known_variants:
                raise reader.fail(programme, f"includes unit variant {local_name(variant)}, which is not defined")
            first_programme.setdefault(variant, programme)  # programmes are visited in IRI order

    topics: Dict[str, dict] = {}
    content: Dict[str, dict] = {}
    links: Dict[str, List[str]] = {}

    def add_topic(topic_id: str, title: str, description: str, root: URIRef, level: int, parent: str) -> None:
        if topic_id not in topics:
            topics[topic_id] = {
                "id": topic_id, "title": title, "description": description, "channel": local_name(root),
                "category": CATEGORY, "level": level, "language": LANGUAGE, "parent": parent,
            }

    lesson_ids: set = set()
    for variant in unit_variants:
        unit = g.value(variant, CURRIC.isUnitVariantOf)
        if unit is None:
            raise reader.fail(variant, "unit variant has no curric:isUnitVariantOf unit")
        container: Optional[URIRef] = first_programme.get(variant)
        if container is not None:
            root = programme_root[container]
        else:  # included by no programme: the unit's scheme stands in for the programme
            schemes = sorted(g.objects(unit, CURRIC.isUnitOf), key=str)
            if not schemes:
                raise reader.fail(unit, "unit is in no programme and has no curric:isUnitOf scheme")
            container = schemes[0]
            root = reader.root_of_scheme(container)
        root_id, container_id = local_name(root), local_name(container)
        unit_node_id = f"{container_id}__{local_name(unit)}"
        unit_description = reader.text(unit, RDFS.comment)
        add_topic(root_id, reader.label(root, "subject group"), "", root, 0, "")
        add_topic(container_id, reader.label(container, "programme"), "", root, 1, root_id)
        add_topic(unit_node_id, reader.label(unit, "unit"), unit_description, root, 2, container_id)
        variant_id = local_name(variant)
        title = reader.label(variant, "unit variant", required=False) or reader.label(unit, "unit")
        add_topic(variant_id, title, unit_description, root, 3, unit_node_id)

        lessons = reader.included(variant, CURRIC.hasLessonInclusion, CURRIC.includesLesson, "lesson")
        links[variant_id] = [local_name(lesson) for lesson in lessons]
        lesson_ids.update(lessons)

    for lesson in sorted(set(reader.typed(CURRIC.Lesson)) | lesson_ids, key=str):
        if (lesson, RDF.type, CURRIC.Lesson) not in g:
            raise reader.fail(lesson, "a unit variant includes this lesson, but it is not defined")
        content[local_name(lesson)] = _lesson_row(reader, lesson)

    ds = build_dataset(list(topics.values()), list(content.values()), links, name="oak")
    check_dataset(ds, str(source))
    return ds


def _sentence(text: str) -> str:
    """Key learning points are often written without a full stop; add one so they do not run together."""
    return text + "." if text and text[-1] not in ".!?:;" else text


def _lesson_row(reader: _OakReader, lesson: URIRef) -> dict:
    g = reader.g
    outcome = g.value(lesson, CURRIC.hasPupilLessonOutcome)
    description = reader.label(outcome, "pupil lesson outcome", required=False) if outcome is not None else ""
    points = sorted(g.objects(lesson, CURRIC.hasKeyLearningPoint), key=_number_suffix)
    parts = [_sentence(reader.label(p, "key learning point", required=False)) for p in points]
    keywords = []
    for keyword in g.objects(lesson, CURRIC.hasKeyword):
        name = reader.label(keyword, "keyword", required=False)
        definition = reader.text(keyword, SCHEMA.description)
        if name:
            keywords.append(f"{name}: {definition}" if definition else name)
    if keywords:
        parts.append("Keywords: " + " ".join(sorted(keywords, key=str.lower)))
    return {
        "id": local_name(lesson),
        "title": reader.label(lesson, "lesson"),
        "description": description,
        "kind": KIND,
        "text": normalize_space(" ".join(p for p in parts if p)),
        "language": LANGUAGE,
        "copyright_holder": COPYRIGHT_HOLDER,
        "license": LICENSE,
    }


__all__ = ["convert_oak", "turtle_files"]
