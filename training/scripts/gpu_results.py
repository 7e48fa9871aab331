"""Writes the "GPU experiments" section of docs/results.md from the output of gpu_experiments.py.

    python training/scripts/gpu_results.py docs/experiments/gpu-h200 [--results docs/results.md]

The folder holds summary.json and <run>/metrics.json + report.json as gpu_experiments.py writes them
(the H200 run of this repository is committed under docs/experiments/gpu-h200), plus optional
extra/*-metrics.json from single training-CLI runs (named in the table by their file name).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from curriculum_training.config import REPO_ROOT
from curriculum_training.evaluation.results_doc import write_section


def row(name: str, m: dict) -> str:
    best = next((e for e in m["epochs"] if e["epoch"] == m["best_epoch"]), {})
    u = m.get("untrained") or {}
    secs = [e.get("train_seconds", 0) for e in m["epochs"]]
    steps = [e.get("steps", 0) for e in m["epochs"]]
    step_ms = 1000 * sum(secs) / max(1, sum(steps))
    return (f"| {name} | {m['dataset']} | {m['split']} | {','.join(map(str, m.get('pools', [0])))} | "
            f"{u.get('f2', float('nan')):.4f} | {m['best_f2']:.4f} | {best.get('precision', float('nan')):.4f} | "
            f"{best.get('recall', float('nan')):.4f} | {best.get('recall@50', float('nan')):.4f} | "
            f"{m['best_epoch']} / {len(m['epochs'])} | {best.get('best_margin', float('nan')):.2f} → "
            f"{best.get('f2_at_best_margin', float('nan')):.4f} | {step_ms:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--results", type=Path, default=REPO_ROOT / "docs" / "results.md")
    args = ap.parse_args()
    summary = json.loads((args.folder / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for r in summary["runs"]:
        if (args.folder / r["run"] / "metrics.json").exists():
            m = json.loads((args.folder / r["run"] / "metrics.json").read_text(encoding="utf-8"))
            rows.append(row(r["run"], m))
    for p in sorted((args.folder / "extra").glob("*-metrics.json")):
        rows.append(row(p.name.removesuffix("-metrics.json"), json.loads(p.read_text(encoding="utf-8"))))
    rel = args.folder.resolve().relative_to(REPO_ROOT) if args.folder.resolve().is_relative_to(REPO_ROOT) else args.folder
    body = f"""## GPU experiments (multilingual-e5-small, one H200)

Device: {summary.get('cuda_device')}, torch {summary.get('torch')}; the seed's GPU preset (batch 512 pairs —
64 on OpenStax, which has ~150 linked topics —, lr 2e-4 → 5e-5, fp16 autocast, max_wrong 128, margin 0.16).
F2/P/R are at margin 0.16 on the validation split at the best epoch; "untrained" is the same backbone
before training (epoch 0). Raw outputs: `{rel}`. Reproduce on a CUDA machine:

```
make datasets backbones
python training/scripts/gpu_experiments.py OUT          # the six named runs (≈ 5 min on an H200)
python training/scripts/gpu_results.py OUT              # this section
```
Rows under extra/ were single runs of the same CLI, e.g. `python -m curriculum_training.train --preset gpu
--device cuda --dataset data/oak --split fold --set epochs=12 --set lr=5e-5 --set lr_end=1e-5` (oak-a; oak-b
adds `sim_sample=false`, oak-c is the default lr without mining) and `--dataset data/openstax --split group
--set epochs=14 --set batch_size=64` (without / with `pools=[0]`).

| run | dataset | split | pools | F2 untrained | F2 best | P | R | recall@50 | best epoch / epochs | best margin → F2 | ms/step |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + """

What these runs show:

- **Fine-tuning beats the untrained backbone and TF-IDF everywhere**: Oak fold 0 0.19 → 0.43 (TF-IDF 0.23),
  Oak group hold-out 0.18 → 0.45 (TF-IDF 0.24), OpenStax group hold-out 0.22 → 0.51 (TF-IDF 0.24), all at
  margin 0.16. At each method's own best margin (tuned on the evaluation topics, so optimistic for both)
  the gap is narrower: Oak fold 0 0.43 vs 0.41, Oak group 0.50 vs 0.43, OpenStax group 0.56 vs 0.53.
- **These datasets are small, and the model overfits within 1–2 epochs** (Oak: ~1,160 training topics, ~15
  steps of 512 pairs per epoch). Training loss keeps falling while validation F2 peaks at epoch 1–2 and
  declines (`docs/img/gpu-oak-fold0-curves.png`; the seed's "reload the best weights if F2 < 0.8 × best"
  rule fires at epoch 14). A lower learning rate (5e-5) does not move the peak. Best-epoch selection on
  the validation split is what makes these numbers; with `train_on_all` there is no such guard, so keep
  epochs low (1–2) on curricula of this size.
- **Language switching: the OpenStax fold-0 gain is a leak, not a real effect.** On fold 0, switching
  lifts F2 from 0.49 to 0.82, but fold 0 places a chapter and its translation (a different topic id) in
  different folds: training on the Spanish/Polish twin — and, in the switch pool, on the twin with the
  English text — teaches the held-out pair directly. On the group split, which holds out a book together
  with its translation, switching changes nothing (0.5146 with and without: the best epoch is epoch 1,
  before the first switched epoch). Measure switching only on splits that keep translations together.
- **Hard-negative mining does not help on these datasets** (OpenStax fold 0: 0.84 without vs 0.82 with;
  Oak fold 0 at lr 5e-5: 0.43 without vs 0.42 with). Oak's unit variants share most of their lessons, so
  the "wrong" lists are dominated by near-duplicate topics' true lessons.
- **Step time** (the `ms/step` column): about 105 ms per optimizer step of 512 pairs (1,024 sequences of
  ≤ 96 tokens, fp16) on the H200; 35–55 ms at batch 64. Most of each epoch's wall time is the per-epoch
  evaluation and mining, which encode all content.
"""
    write_section(args.results, "gpu", body)
    print(f"wrote the gpu section of {args.results}")


if __name__ == "__main__":
    main()
