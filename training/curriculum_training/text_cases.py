"""Writes config/text_format_cases.json: inputs and expected strings for Contract 2.

Both test suites (training/tests/test_text.py and services/recommender/test/text.test.ts) check their
implementation against this file, so the two sides cannot drift apart silently.
Regenerate with: training/.venv/bin/python -m curriculum_training.text_cases
"""
from __future__ import annotations

import json

from .config import REPO_ROOT, TEXT_FORMAT_VERSION
from .text import content_string, topic_string

TOPIC_CASES = [
    {"title": "Solving two-step equations", "description": "Use inverse operations.", "ancestors": ["Linear equations", "Algebra"]},
    {"title": "Fractions", "description": "", "ancestors": []},
    {"title": "  Line\r\nbreaks\nhere ", "description": "\tTabbed\t", "ancestors": ["Parent\n"]},
    {"title": "x", "description": " ", "ancestors": [" Root "]},
    {"title": "Funciones y gráficas", "description": "Introducción", "ancestors": ["Cálculo"]},
    {"title": "Ruch w dwóch wymiarach", "description": "", "ancestors": ["Fizyka dla szkół wyższych. Tom 1"]},
    {"title": "الكسور", "description": "درس", "ancestors": ["الرياضيات"]},
    {"title": "分数", "description": "", "ancestors": ["数学"]},
]

_LONG = " ".join(f"word{i}" for i in range(60))
CONTENT_CASES = [
    {"title": "Two-step equations", "description": "A video", "text": "Solve 2x + 3 = 7 step by step."},
    {"title": "Links", "description": "", "text": "See https://example.org/page?x=1 and http://a.b for more \ue009 info"},
    {"title": "Long", "description": "d", "text": _LONG},
    {"title": "Very long words", "description": "", "text": " ".join(["a" * 40] * 10)},
    {"title": "Spaces", "description": "", "text": "  double  spaces   inside\r\nand lines\n"},
    {"title": "", "description": "", "text": ""},
    {"title": "Pochodna", "description": "Lekcja", "text": "Pochodna funkcji w punkcie — definicja i przykłady."},
]


def build_cases() -> dict:
    return {
        "text_format": TEXT_FORMAT_VERSION,
        "topics": [dict(c, expected=topic_string(c["title"], c["description"], c["ancestors"])) for c in TOPIC_CASES],
        "content": [dict(c, expected=content_string(c["title"], c["description"], c["text"])) for c in CONTENT_CASES],
    }


def main() -> None:
    path = REPO_ROOT / "config" / "text_format_cases.json"
    path.write_text(json.dumps(build_cases(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
