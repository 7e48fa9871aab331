"""One-shot GPU experiments for the training recipe (run once on a rented H200; ~8 minutes in total).

    python training/scripts/gpu_experiments.py OUT [--data data] [--backbone artifacts/backbones/multilingual-e5-small]
    python training/scripts/gpu_experiments.py OUT --dry-run        # CPU, tiny backbone, 1 epoch, few steps
    … --only oak-fold0,openstax-full --set epochs=20                  # a subset, longer

Every run goes through the training CLI exactly as a user would call it
(`python -m curriculum_training.train --preset gpu --device cuda …` plus `--set` overrides), in its own
process, in priority order:

    oak-fold0              default backbone, Oak, fold 0 (the seed's protocol)
    oak-group              the same, validated on the group hold-out (whole subjects never seen)
    openstax-full          OpenStax (en/es/pl), language switching + hard-negative mining (the seed's recipe)
    openstax-no-switch     pools=[0]: no language switching
    openstax-no-mining     sim_sample=false: no missing/wrong mining
    openstax-plain         neither

Written to OUT: <run>/metrics.json, <run>/train_config.yaml, <run>/training_curves.png, <run>/report.json
(the best epoch's evaluation), <run>/train.log, and summary.json (one row per run: F2 untrained → best,
epoch of the best, minutes). Checkpoints (~470 MB each) stay in --work (default: a temporary folder)
unless --keep-checkpoints copies the oak-fold0 one into OUT.

Budget: the epochs are sized for ~8 minutes of H200 time in all (measured figures in the README); a run
that would start after --budget-minutes is skipped and marked so in summary.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING_DIR = REPO_ROOT / "training"

# name, dataset, split, overrides (on top of the gpu preset)
OAK_EPOCHS = 24
OPENSTAX_EPOCHS = 20


def gpu_runs() -> list:
    # Shortened runs keep the seed's shape: warm-up 5% of the epochs (seed 2/40, at least one), switching
    # stops for the last 10% (seed 36/40).
    def common(epochs: int) -> list:
        return [f"epochs={epochs}", f"warmup_epochs={max(1, round(0.05 * epochs))}",
                f"epoch_stop_switching={epochs - max(1, epochs // 10)}", "save_last=false"]

    # OpenStax has ~150 correlated topics, and a topic appears once per batch: batch 64 instead of 512.
    openstax = common(OPENSTAX_EPOCHS) + ["batch_size=64"]
    return [
        ("oak-fold0", "oak", "fold", common(OAK_EPOCHS)),
        ("oak-group", "oak", "group", common(OAK_EPOCHS)),
        ("openstax-full", "openstax", "fold", openstax),
        ("openstax-no-switch", "openstax", "fold", openstax + ["pools=[0]"]),
        ("openstax-no-mining", "openstax", "fold", openstax + ["sim_sample=false"]),
        ("openstax-plain", "openstax", "fold", openstax + ["pools=[0]", "sim_sample=false"]),
    ]


def dry_run_overrides() -> list:
    return ["epochs=1", "max_steps_per_epoch=2", "batch_size=8", "eval_before_training=true",
            "mixed_precision=none", "eval_batch_size=64", "plots=true"]


def run_one(name: str, dataset: Path, split: str, overrides: list, backbone: Path, work: Path, out: Path,
            device: str, preset: str) -> dict:
    ckpt = work / name
    cmd = [sys.executable, "-m", "curriculum_training.train", "--preset", preset, "--device", device,
           "--dataset", str(dataset), "--split", split, "--backbone", str(backbone), "--out", str(ckpt),
           "--no-progress"]
    for o in overrides:
        cmd += ["--set", o]
    run_out = out / name
    run_out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with open(run_out / "train.log", "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=TRAINING_DIR, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    minutes = (time.time() - started) / 60
    row = {"run": name, "dataset": dataset.name, "split": split, "overrides": overrides, "returncode": proc.returncode,
           "minutes": round(minutes, 2), "command": " ".join(cmd)}
    for fname, target in (("metrics.json", "metrics.json"), ("train_config.yaml", "train_config.yaml"),
                          ("training_curves.png", "training_curves.png"), ("eval/report.json", "report.json")):
        if (ckpt / fname).exists():
            shutil.copyfile(ckpt / fname, run_out / target)
    if proc.returncode == 0 and (ckpt / "metrics.json").exists():
        m = json.loads((ckpt / "metrics.json").read_text(encoding="utf-8"))
        epochs = m.get("epochs", [])
        row.update({
            "untrained_f2": (m.get("untrained") or {}).get("f2"),
            "best_f2": m.get("best_f2"), "best_epoch": m.get("best_epoch"),
            "final_f2": epochs[-1].get("f2") if epochs else None,
            "best_recall": next((e.get("recall") for e in epochs if e.get("epoch") == m.get("best_epoch")), None),
            "best_precision": next((e.get("precision") for e in epochs if e.get("epoch") == m.get("best_epoch")), None),
            "train_pairs": m.get("train_pairs"), "validation_topics": m.get("validation_topics"),
            "steps_per_epoch": [e.get("steps") for e in epochs],
            "seconds_per_epoch": [round(e.get("train_seconds", 0) + e.get("eval_seconds", 0), 1) for e in epochs],
        })
    else:
        tail = (run_out / "train.log").read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        row["error_tail"] = tail
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (metrics and summary; no checkpoints unless --keep-checkpoints)")
    ap.add_argument("--data", default=str(REPO_ROOT / "data"), help="folder holding oak/ and openstax/")
    ap.add_argument("--backbone", default=str(REPO_ROOT / "artifacts" / "backbones" / "multilingual-e5-small"))
    ap.add_argument("--work", help="where checkpoints go (default: a temporary folder, deleted at the end)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--budget-minutes", type=float, default=9.0, help="skip runs that would start after this")
    ap.add_argument("--only", help="comma-separated run names")
    ap.add_argument("--keep-checkpoints", action="store_true", help="copy the oak-fold0 checkpoint into OUT")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra config override for every run, after the script's own (e.g. --set epochs=20)")
    ap.add_argument("--dry-run", action="store_true",
                    help="CPU, tiny random backbone, 1 epoch of 2 steps per run: checks the script end to end")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data).resolve()
    tmp = tempfile.TemporaryDirectory(prefix="gpu-experiments-") if not args.work else None
    work = Path(args.work).resolve() if args.work else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    device, preset, backbone = args.device, "gpu", Path(args.backbone).resolve()
    runs = gpu_runs()
    if args.dry_run:
        sys.path.insert(0, str(TRAINING_DIR))
        from curriculum_training.backbones.tiny import build_tiny_backbone

        device = "cpu"
        backbone = build_tiny_backbone(work / "tiny-backbone")
        runs = [(n, d, s, o + dry_run_overrides()) for n, d, s, o in runs]
    if args.set:
        runs = [(n, d, s, o + list(args.set)) for n, d, s, o in runs]
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {r[0] for r in runs}
        if unknown:
            ap.error(f"--only: unknown run(s) {sorted(unknown)}; known: {[r[0] for r in runs]}")
        runs = [r for r in runs if r[0] in wanted]
    for _, d, _, _ in runs:
        if not (data / d / "splits.csv").exists():
            ap.error(f"{data / d}: no dataset with splits.csv (run `make datasets` first)")
    if not (backbone / "config.json").exists():
        ap.error(f"{backbone}: no backbone folder (run `make backbones` or pass --backbone)")

    summary = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "device": device,
               "dry_run": args.dry_run, "backbone": str(backbone.name), "runs": []}
    try:
        import torch

        summary["torch"] = torch.__version__
        summary["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception as e:  # the summary is still useful without it
        summary["torch"] = f"unavailable: {e}"
    started = time.time()
    for name, dataset, split, overrides in runs:
        elapsed = (time.time() - started) / 60
        if elapsed > args.budget_minutes:
            summary["runs"].append({"run": name, "skipped": f"budget: {elapsed:.1f} min used"})
            continue
        print(f"[{elapsed:5.1f} min] {name}: {dataset} {split} {' '.join(overrides)}", flush=True)
        row = run_one(name, data / dataset, split, overrides, backbone, work, out, device, preset)
        summary["runs"].append(row)
        status = (f"F2 {row.get('untrained_f2')} → {row.get('best_f2')} (epoch {row.get('best_epoch')})"
                  if row["returncode"] == 0 else f"FAILED (rc {row['returncode']}), see {name}/train.log")
        print(f"           {name}: {status}, {row['minutes']} min", flush=True)
        if args.keep_checkpoints and name == "oak-fold0" and row["returncode"] == 0:
            keep = out / "checkpoint-oak-fold0"
            shutil.copytree(work / name, keep, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("last", "training_state.pt"))
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    summary["total_minutes"] = round((time.time() - started) / 60, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"total_minutes": summary["total_minutes"],
                      "runs": {r["run"]: r.get("best_f2", r.get("skipped")) for r in summary["runs"]}}))
    if tmp is not None:
        tmp.cleanup()
    return 0 if all(r.get("returncode", 0) == 0 for r in summary["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
