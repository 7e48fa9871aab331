"""Writes the "training" section of docs/results.md: the fine-tuned bi-encoder beside the untrained backbone
and the TF-IDF baseline, per dataset and split, each row with the command that reproduces it.

    training/.venv/bin/python training/scripts/training_results.py [--dataset oak] [--out docs/results.md]

Reads the evaluator's report.json files:
    TF-IDF       artifacts/reports/baseline/<dataset>/<split>/report.json      (make baseline)
    untrained    artifacts/reports/untrained/<dataset>/<split>/eval/report.json (train.py with --set epochs=0)
    fine-tuned   <checkpoint>/eval/report.json                                 (make train, and the group run)
Rows whose report is missing are listed as "not run".
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "training"))

from curriculum_training.evaluation.results_doc import write_section  # noqa: E402

SECTION = "training"
TRAIN = "training/.venv/bin/python -m curriculum_training.train"


def rows_for(dataset: str) -> list:
    """(model, split, report path, command, note) in table order."""
    art = REPO_ROOT / "artifacts"
    out = []
    for split, flag, ckpt in (("fold0", "", "default"), ("group", " --split group", f"{dataset}-group")):
        out += [
            ("TF-IDF char 4-grams", split, art / "reports" / "baseline" / dataset / split / "report.json",
             "make baseline", ""),
            ("multilingual-e5-small, untrained", split, art / "reports" / "untrained" / dataset / split / "eval" / "report.json",
             f"{TRAIN} --preset cpu --dataset data/{dataset}{flag} --set epochs=0 "
             f"--out artifacts/reports/untrained/{dataset}/{split}", "bf16 autocast, as the cpu preset"),
            ("multilingual-e5-small, fine-tuned (cpu preset, 1 epoch × 45 steps)", split,
             art / "checkpoints" / ckpt / "eval" / "report.json",
             (f"make train  # + --set epochs=1 --set eval_before_training=false" if split == "fold0" else
              f"{TRAIN} --preset cpu --dataset data/{dataset}{flag} --set epochs=1 --set eval_before_training=false "
              f"--out artifacts/checkpoints/{ckpt}"), "batch 32, lr 1e-4, bf16, frozen token table"),
        ]
    return out


def table(rows: list) -> str:
    """Markdown table of (model, split, report path, command, note) rows; missing reports say "not run"."""
    lines = ["| model | split | topics | F2 @0.16 | P | R | selected | recall@50 | MRR | best margin | F2 @best | command |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model, split, path, command, _ in rows:
        if not path.exists():
            lines.append(f"| {model} | {split} | | not run | | | | | | | | `{command}` |")
            continue
        r = json.loads(path.read_text(encoding="utf-8"))
        best_margin = "" if r.get("best_margin") is None else f"{r['best_margin']:.2f}"
        best_f2 = "" if r.get("best_f2") is None else f"{r['best_f2']:.4f}"
        lines.append(
            f"| {model} | {split} | {r['topics']} | **{r['f2']:.4f}** | {r['precision']:.4f} | {r['recall']:.4f} | "
            f"{r['mean_selected']:.2f} | {r['recall_at_k'].get('50', float('nan')):.4f} | {r['mrr']:.4f} | "
            f"{best_margin} | {best_f2} | `{command}` |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="oak")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "results.md"))
    ap.add_argument("--notes", default="", help="a paragraph added under the table (how long it took, caveats)")
    args = ap.parse_args(argv)
    body = "\n\n".join(x for x in [
        f"## Contrastive training: fine-tuned vs untrained backbone vs TF-IDF ({args.dataset})",
        "Regenerate the table with `training/.venv/bin/python training/scripts/training_results.py` after the "
        "runs below (README \"Backbones and training\"). Same evaluator, same split, margin 0.16, cap 128, "
        "candidates = all content of the topic's language; \"best margin\" is tuned on the evaluation topics "
        "themselves (optimistic).",
        table(rows_for(args.dataset)),
        args.notes,
    ] if x)
    path = write_section(args.out, SECTION, body)
    print(f"wrote section {SECTION!r} of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
