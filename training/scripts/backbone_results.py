"""Writes the "backbones" section of docs/results.md: all-MiniLM-L6-v2 beside multilingual-e5-small,
and e5 with and without its "query: " / "passage: " prefixes, on Oak fold 0 (and the group hold-out
where run), through the same evaluator as every other table.

    training/.venv/bin/python training/scripts/backbone_results.py

The rows' reports come from the commands in the table (run from training/); missing ones say "not run".
The prefix-free e5 is the same weights with empty prefixes in its backbone.json:
    python -m curriculum_training.backbones build --from-local artifacts/backbones/multilingual-e5-small \\
        --name multilingual-e5-small-noprefix --link     # then set "prefixes" to "" in its backbone.json
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_results import REPO_ROOT, TRAIN, table  # noqa: E402

from curriculum_training.evaluation.results_doc import write_section  # noqa: E402


def rows() -> list:
    art = REPO_ROOT / "artifacts"
    minilm = "--backbone artifacts/backbones/all-MiniLM-L6-v2"
    out = []
    for split, flag in (("fold0", "fold"), ("group", "group")):
        out.append(("all-MiniLM-L6-v2, untrained", split,
                    art / "reports" / "untrained-minilm" / "oak" / flag / "eval" / "report.json",
                    f"{TRAIN} --preset cpu --dataset data/oak --split {flag} {minilm} --set epochs=0 "
                    f"--out artifacts/reports/untrained-minilm/oak/{flag}", ""))
    out.append(("all-MiniLM-L6-v2, fine-tuned (cpu preset, 1 epoch × 45 steps)", "fold0",
                art / "checkpoints" / "minilm-oak" / "eval" / "report.json",
                f"{TRAIN} --preset cpu --dataset data/oak {minilm} --set epochs=1 --set eval_before_training=false "
                f"--out artifacts/checkpoints/minilm-oak", ""))
    out.append(("multilingual-e5-small, untrained, with prefixes", "fold0",
                art / "reports" / "untrained" / "oak" / "fold0" / "eval" / "report.json",
                f"{TRAIN} --preset cpu --dataset data/oak --set epochs=0 --out artifacts/reports/untrained/oak/fold0", ""))
    out.append(("multilingual-e5-small, untrained, no prefixes", "fold0",
                art / "reports" / "untrained-noprefix" / "oak" / "fold0" / "eval" / "report.json",
                f"{TRAIN} --preset cpu --dataset data/oak --backbone artifacts/backbones/multilingual-e5-small-noprefix "
                f"--set epochs=0 --out artifacts/reports/untrained-noprefix/oak/fold0", ""))
    return out


def main() -> None:
    notes = sys.argv[1] if len(sys.argv) > 1 else ""
    body = "\n\n".join(x for x in [
        "## Backbones: all-MiniLM-L6-v2 vs multilingual-e5-small, and e5's prefixes (oak)",
        "Same evaluator and protocol as the training section (margin 0.16, cap 128). Regenerate with "
        "`training/.venv/bin/python training/scripts/backbone_results.py` after the runs in the table.",
        table(rows()), notes] if x)
    write_section(REPO_ROOT / "docs" / "results.md", "backbones", body)
    print("wrote the backbones section of docs/results.md")


if __name__ == "__main__":
    main()
