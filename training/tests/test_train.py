"""The training loop on a synthetic dataset with the tiny backbone (seconds per run)."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

from curriculum_training.backbones.tiny import build_tiny_backbone
from curriculum_training.model import BiEncoder
from curriculum_training.train import Trainer, build_parser, config_from_args, main, polynomial_lr_factor
from curriculum_training.training_config import TrainConfig, load_config
from synthetic_lecr import make_dataset


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    return SimpleNamespace(dataset=make_dataset(root / "ds"), backbone=build_tiny_backbone(root / "bb"))


def config(assets, out, **kw):
    base = dict(dataset=str(assets.dataset), backbone=str(assets.backbone), out=str(out), epochs=2, batch_size=8,
                lr=1e-3, lr_end=1e-4, warmup_epochs=0.5, mixed_precision="none", device="cpu", threads=1,
                progress=False, plots=False, epoch_stop_switching=2)
    base.update(kw)
    return TrainConfig(**base)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_training_reduces_the_loss_and_beats_the_untrained_model(assets, tmp_path):
    trainer = Trainer(config(assets, tmp_path / "run", epochs=3, eval_before_training=True, plots=True))
    metrics = trainer.train()
    losses = [r["train_loss"] for r in metrics["epochs"]]
    assert losses[-1] < 0.8 * losses[0]
    assert metrics["best_f2"] > metrics["untrained"]["f2"]
    # the §5.4 schedule ran: the dataset has pool 1, switching stops after epoch 2
    assert [r["pool"] for r in metrics["epochs"]] == [0, 1, 0]
    assert "mining" in metrics["epochs"][0] and "mining" not in metrics["epochs"][-1]
    out = tmp_path / "run"
    for name in ("bi_encoder.json", "train_config.yaml", "metrics.json", "training_curves.png",
                 "eval/report.json", "last/training_state.pt", "last/bi_encoder.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == metrics["best_epoch"]
    saved_cfg = yaml.safe_load((out / "train_config.yaml").read_text())
    assert saved_cfg["batch_size"] == 8 and saved_cfg["dataset"] == str(assets.dataset)


def test_saved_checkpoints_reload_to_identical_embeddings_and_f2(assets, tmp_path):
    trainer = Trainer(config(assets, tmp_path / "run", epochs=2))
    metrics = trainer.train()
    ids = trainer.tokenizer.batch(["apple river # unit 0", "maple tiger lesson"])
    x, m = torch.tensor(ids["input_ids"]), torch.tensor(ids["attention_mask"])
    trainer.model.eval()
    last = BiEncoder.from_checkpoint(tmp_path / "run" / "last").eval()
    with torch.no_grad():
        assert torch.equal(trainer.model.encode(x, m), last.encode(x, m))
    # the root checkpoint is the best epoch: evaluating it again gives the recorded F2
    best = BiEncoder.from_checkpoint(tmp_path / "run")
    trainer.model.load_state_dict(best.state_dict())
    assert trainer.evaluate(99).f2 == pytest.approx(metrics["best_f2"], abs=1e-6)


class _Interrupted(Exception):
    pass


class _StopsAtEpoch2(Trainer):
    def train_epoch(self, epoch, pool):
        if epoch == 2:
            raise _Interrupted
        return super().train_epoch(epoch, pool)


def test_resume_continues_from_the_saved_epoch_and_matches_an_uninterrupted_run(assets, tmp_path):
    full = Trainer(config(assets, tmp_path / "full"))
    full.train()
    stopped = _StopsAtEpoch2(config(assets, tmp_path / "resumed"))
    with pytest.raises(_Interrupted):
        stopped.train()
    resumed = Trainer(config(assets, tmp_path / "resumed"))
    resumed.resume(tmp_path / "resumed")
    assert resumed.epoch == 1 and resumed.mined is not None
    metrics = resumed.train()
    assert [r["epoch"] for r in metrics["epochs"]] == [1, 2]
    assert resumed.global_step == full.global_step
    a, b = weights(full.model), weights(resumed.model)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert metrics["epochs"][1]["train_loss"] == pytest.approx(full.history[1]["train_loss"], rel=1e-5)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_path_runs_on_cpu(assets, tmp_path, precision):
    trainer = Trainer(config(assets, tmp_path / precision, epochs=1, mixed_precision=precision,
                             max_steps_per_epoch=3, sim_sample=False, save_last=False))
    assert (trainer.scaler is not None) == (precision == "fp16")
    before = weights(trainer.model)
    metrics = trainer.train()
    assert np.isfinite(metrics["epochs"][0]["train_loss"]) and metrics["epochs"][0]["steps"] == 3
    after = weights(trainer.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    if trainer.scaler is not None:
        assert trainer.scaler.get_scale() > 0


def test_gradient_accumulation_and_norm_clipping(assets, tmp_path):
    trainer = Trainer(config(assets, tmp_path / "acc", epochs=1, gradient_accumulation=2, max_steps_per_epoch=2,
                             clip_mode="norm", clip_grad=1.0, sim_sample=False, save_last=False))
    trainer.train()
    assert trainer.global_step == 2 and trainer.history[0]["steps"] == 4  # 4 batches, 2 optimizer steps


def test_train_on_all_uses_validation_topics_and_keeps_the_last_epoch(assets, tmp_path):
    plain = Trainer(config(assets, tmp_path / "p", epochs=1))
    every = Trainer(config(assets, tmp_path / "a", epochs=1, train_on_all=True))
    val = set(plain.eval_set.topic_ids)
    assert not val & set(plain.train_topics)
    assert val <= set(every.train_topics)
    every.train()
    meta = json.loads((tmp_path / "a" / "bi_encoder.json").read_text())
    assert meta["trained"]["train_on_all"] is True and meta["trained"]["epoch"] == 1


def test_reload_best_rule(assets, tmp_path):
    trainer = Trainer(config(assets, tmp_path / "r", epochs=1))
    trainer.save_final(None, 1)
    saved = weights(trainer.model)
    trainer.best_f2, trainer.best_epoch = 0.5, 1
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.1)
    row = {}
    trainer._after_evaluation(2, SimpleNamespace(f2=0.45), row)  # 0.45 >= 0.8 × 0.5: keep going
    assert "reloaded_best" not in row
    trainer._after_evaluation(3, SimpleNamespace(f2=0.3), row)  # 0.3 < 0.4: back to the best weights
    assert row["reloaded_best"] == 1
    now = weights(trainer.model)
    assert all(torch.equal(saved[k], now[k]) for k in saved)


def test_clear_errors(assets, tmp_path):
    with pytest.raises(ValueError, match="batch_size 64 exceeds"):
        Trainer(config(assets, tmp_path / "e", batch_size=64))
    with pytest.raises(FileNotFoundError, match="make backbones"):
        Trainer(config(assets, tmp_path / "e", backbone=str(tmp_path / "missing")))


def test_polynomial_schedule_matches_the_seed_formula():
    lr, end, w, n = 2e-4, 5e-5, 10, 110
    f = lambda k: lr * polynomial_lr_factor(k, w, n, lr, end, 1.5)  # noqa: E731
    assert f(0) == 0 and f(5) == pytest.approx(1e-4)
    assert f(10) == pytest.approx(2e-4)
    assert f(60) == pytest.approx((lr - end) * 0.5 ** 1.5 + end)
    assert f(110) == pytest.approx(end) and f(500) == pytest.approx(end)


def test_config_precedence_yaml_then_set_then_flags(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 7\nbatch_size: 16\nlr: 1.0e-4\nprojection: [384, 128]\nthreads: 2\n")
    args = build_parser().parse_args(["--preset", "cpu", "--config", str(path), "--set", "batch_size=24",
                                      "--set", "lr=3e-4", "--batch-size", "40", "--set", "pools=[0]"])
    cfg = config_from_args(args)
    assert cfg.epochs == 7  # the YAML file beats the preset
    assert cfg.lr == pytest.approx(3e-4)  # --set beats the YAML
    assert cfg.batch_size == 40  # a typed flag beats --set
    assert cfg.projection == [384, 128] and cfg.pools == [0] and cfg.threads == 2
    preset = load_config("cpu")
    assert preset.mixed_precision == "bf16" and preset.device == "cpu"
    gpu = load_config("gpu")
    assert (gpu.batch_size, gpu.epochs, gpu.lr, gpu.lr_end, gpu.mixed_precision, gpu.max_wrong, gpu.margin) == \
        (512, 40, 2e-4, 5e-5, "fp16", 128, 0.16)


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="did you mean batch_size"):
        load_config(sets=["batch_sise=3"])
    with pytest.raises(ValueError, match="'epochs' expects"):
        load_config(sets=["epochs=many"])
    with pytest.raises(ValueError, match="'split'"):
        load_config(sets=["split=random"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: [1, 2]\n")
    with pytest.raises(ValueError, match="bad.yaml: field 'lr'"):
        load_config(config_file=str(bad))
    with pytest.raises(FileNotFoundError, match="preset 'nope'"):
        load_config("nope")


def test_cli_prints_the_resolved_config(capsys):
    assert main(["--preset", "cpu", "--set", "epochs=3", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["epochs"] == 3 and printed["mixed_precision"] == "bf16"
    assert main(["--set", "nonsense=1"]) == 2


def test_gpu_experiment_script_dry_run(tmp_path):
    """training/scripts/gpu_experiments.py end to end on CPU (tiny backbone, 2 steps), as the lead will run
    it on the GPU machine: real CLI subprocesses, metrics copied, summary written."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "gpu_experiments.py"
    spec = importlib.util.spec_from_file_location("gpu_experiments", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = tmp_path / "data"
    make_dataset(data / "oak", with_switch=False)
    make_dataset(data / "openstax", seed=1)
    out = tmp_path / "out"
    rc = mod.main([str(out), "--data", str(data), "--dry-run", "--only", "openstax-no-switch"])
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 0, summary
    runs = {r["run"]: r for r in summary["runs"]}
    assert set(runs) == {"openstax-no-switch"}
    for name, row in runs.items():
        assert row["returncode"] == 0 and row["best_f2"] is not None and row["untrained_f2"] is not None
        for f in ("metrics.json", "train_config.yaml", "report.json", "train.log"):
            assert (out / name / f).exists(), (name, f)
    cfg = yaml.safe_load((out / "openstax-no-switch" / "train_config.yaml").read_text())
    assert cfg["pools"] == [0] and cfg["device"] == "cpu" and cfg["batch_size"] == 8
    assert not any(p.name.endswith(".safetensors") for p in out.rglob("*"))  # checkpoints stay in --work


def test_epochs_zero_evaluates_the_untrained_model_only(assets, tmp_path):
    trainer = Trainer(config(assets, tmp_path / "u", epochs=0, eval_before_training=True))
    before = weights(trainer.model)
    metrics = trainer.train()
    assert metrics["epochs"] == [] and metrics["untrained"]["f2"] > 0
    report = json.loads((tmp_path / "u" / "eval" / "report.json").read_text())
    assert report["f2"] == pytest.approx(metrics["untrained"]["f2"])
    after = weights(BiEncoder.from_checkpoint(tmp_path / "u"))
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_cli_trains_then_resumes_with_more_epochs(assets, tmp_path):
    out = tmp_path / "cli"
    common = ["--set", "threads=1", "--set", "plots=false", "--no-progress"]
    assert main(["--dataset", str(assets.dataset), "--backbone", str(assets.backbone), "--out", str(out),
                 "--device", "cpu", "--epochs", "1", "--batch-size", "8", "--mixed-precision", "none"] + common) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in first["epochs"]] == [1]
    # the saved config is the base of a resumed run; --epochs raises the target
    assert main(["--resume", str(out), "--epochs", "2"] + common) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in resumed["epochs"]] == [1, 2]
    assert resumed["epochs"][0] == first["epochs"][0]
    assert yaml.safe_load((out / "last" / "train_config.yaml").read_text())["epochs"] == 2
