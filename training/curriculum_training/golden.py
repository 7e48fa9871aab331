"""golden.jsonl: sample inputs with their Contract 2 text, token ids and embeddings per variant.

The service re-builds each text from `input`, re-tokenises it with the bundle's tokenizer.json and runs
each ONNX variant, and must reproduce these values; `bundle verify` does the same in Python. The samples
cover what tends to break one side but not the other: several scripts (Latin with diacritics, Cyrillic,
Arabic, Devanagari, Bengali, CJK, Thai), empty descriptions, texts long enough to be truncated at
max_length, URLs and U+E009 in content text, line breaks and surrounding whitespace.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, List

from .text import content_string, topic_string

_LONG_EN = ("Students investigate how forces change the motion of objects, measuring speed, distance and time "
            "in repeated trials, recording results in tables, drawing graphs, and explaining patterns with "
            "Newton's laws; they then design a fair test, identify variables, and evaluate sources of error. ")
_LONG_ES = ("En esta lección los estudiantes aprenden a resolver ecuaciones cuadráticas por factorización, "
            "completando el cuadrado y con la fórmula general, y comparan los métodos en problemas de área, "
            "movimiento parabólico y optimización de costos en contextos cotidianos. ")

TOPIC_SAMPLES: List[dict] = [
    {"title": "Solving two-step equations", "description": "Use inverse operations to isolate the variable.",
     "ancestors": ["Linear equations", "Algebra", "Mathematics KS3"]},
    {"title": "Fractions", "description": "", "ancestors": []},
    {"title": "Forces and motion", "description": _LONG_EN * 3, "ancestors": ["Physics", "Science Year 9"]},
    {"title": "Ecuaciones cuadráticas", "description": _LONG_ES * 2, "ancestors": ["Álgebra", "Matemáticas"]},
    {"title": "Ruch w dwóch i trzech wymiarach", "description": "",
     "ancestors": ["Kinematyka", "Fizyka dla szkół wyższych. Tom 1"]},
    {"title": "Les fractions décimales", "description": "Lire, écrire et comparer des nombres décimaux.",
     "ancestors": ["Nombres et calculs", "Cycle 3"]},
    {"title": "الكسور العشرية", "description": "مقارنة الكسور العشرية وترتيبها", "ancestors": ["الرياضيات", "الصف الخامس"]},
    {"title": "分数的加法和减法", "description": "", "ancestors": ["数与代数", "小学数学五年级"]},
    {"title": "भिन्न और दशमलव", "description": "भिन्नों को दशमलव में बदलना सीखें।", "ancestors": ["गणित", "कक्षा 6"]},
    {"title": "ভগ্নাংশ", "description": "ভগ্নাংশের যোগ ও বিয়োগ", "ancestors": ["গণিত"]},
    {"title": "Законы Ньютона", "description": "Первый, второй и третий законы механики.",
     "ancestors": ["Механика", "Физика 9 класс"]},
    {"title": "Sehemu", "description": "Kujumlisha na kutoa sehemu zenye asili sawa.",
     "ancestors": ["Hisabati", "Darasa la Tano"]},
    {"title": "  Probability\r\nof independent events ", "description": "\tTree diagrams\t",
     "ancestors": ["Statistics\n", " Maths "]},
    {"title": "三角関数のグラフ", "description": "正弦・余弦関数の周期と振幅", "ancestors": ["数学II", "高等学校"]},
    {"title": "Funções afins", "description": "", "ancestors": ["Álgebra", "Matemática", "Ensino Fundamental",
                                                            "Anos Finais", "BNCC"]},
    {"title": "เศษส่วน", "description": "การบวกและการลบเศษส่วน", "ancestors": ["คณิตศาสตร์ ป.4"]},
]

CONTENT_SAMPLES: List[dict] = [
    {"title": "Two-step equations", "description": "A short video lesson.",
     "text": "Solve 2x + 3 = 7 step by step: subtract 3 from both sides, then divide by 2."},
    {"title": "Adding fractions with unlike denominators", "description": "",
     "text": "Find a common denominator first. See https://example.org/fractions?id=12 for worked examples \ue009 and practice."},
    {"title": "Newton's second law", "description": _LONG_EN * 2, "text": _LONG_EN * 4},
    {"title": "Fórmula general", "description": "Ejercicios resueltos", "text": _LONG_ES},
    {"title": "Ruch jednostajnie przyspieszony", "description": "",
     "text": "Przyspieszenie jest stałe, a prędkość rośnie liniowo w czasie."},
    {"title": "Comparer des nombres décimaux", "description": "Exercice interactif", "text": ""},
    {"title": "مقارنة الكسور", "description": "فيديو تعليمي", "text": "نقارن بين الكسور بتوحيد المقامات ثم نقارن البسط."},
    {"title": "分数加减法练习", "description": "", "text": "同分母分数相加，分母不变，分子相加。异分母分数先通分。"},
    {"title": "दशमलव का परिचय", "description": "वीडियो", "text": "दशमलव बिंदु के बाद के अंक दसवें और सौवें भाग दिखाते हैं।"},
    {"title": "ভগ্নাংশের যোগ", "description": "অনুশীলনী", "text": ""},
    {"title": "Второй закон Ньютона", "description": "Задачи с решениями",
     "text": "Сила равна произведению массы на ускорение: F = ma."},
    {"title": "Kujumlisha sehemu", "description": "", "text": "Tumia asili moja kisha jumlisha nambari za juu."},
    {"title": "Tree diagrams\n(worksheet)", "description": "  Printable PDF  ",
     "text": "Line one\r\nline two\nhttp://a.b/c line three"},
    {"title": "正弦関数のグラフ", "description": "", "text": "y = sin x のグラフは周期 2π で、振幅は 1 である。"},
    {"title": "Função afim: exercícios", "description": "Lista com gabarito",
     "text": " ".join(f"exercício{i}" for i in range(60))},
    {"title": "การลบเศษส่วน", "description": "แบบฝึกหัด", "text": "ทำส่วนให้เท่ากันก่อน แล้วจึงลบตัวเศษ"},
]


def sample_texts() -> Dict[str, List[str]]:
    """Contract 2 strings (no prefix) of the golden samples, by kind."""
    return {
        "topic": [topic_string(s["title"], s["description"], s["ancestors"]) for s in TOPIC_SAMPLES],
        "content": [content_string(s["title"], s["description"], s["text"]) for s in CONTENT_SAMPLES],
    }


def sample_inputs() -> Dict[str, List[dict]]:
    return {"topic": TOPIC_SAMPLES, "content": CONTENT_SAMPLES}


def text_of(record: dict) -> str:
    """Re-builds a golden record's Contract 2 string from its input (what the service does)."""
    i = record["input"]
    if record["kind"] == "topic":
        return topic_string(i["title"], i["description"], i["ancestors"])
    if record["kind"] == "content":
        return content_string(i["title"], i["description"], i["text"])
    raise ValueError(f"golden record kind must be 'topic' or 'content', got {record['kind']!r}")


def write_golden(path: Path | str, records: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def read_golden(path: Path | str) -> List[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON ({e})") from None
            for key in ("kind", "input", "text", "token_ids", "embeddings"):
                if key not in rec:
                    raise ValueError(f"{path}:{n}: golden record lacks field {key!r}")
            out.append(rec)
    return out
