"""Distillation: the student is the teacher with fewer layers; the loss matches the seed's recipe."""
import json

import pytest
import torch

from curriculum_training.distill import default_layers, make_student, parse_layers
from curriculum_training.export import BackboneEncoder
from curriculum_training.tiny_pipeline import build_tiny_backbone_folder


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return BackboneEncoder.from_backbone(build_tiny_backbone_folder(tmp_path_factory.mktemp("d") / "bb")).eval()


def test_default_layers_keep_every_other_ending_at_the_last():
    assert default_layers(12) == [1, 3, 5, 7, 9, 11]
    assert default_layers(4) == [1, 3]
    assert default_layers(6) == [1, 3, 5]


def test_parse_layers_validates():
    assert parse_layers("0,2,4,7,9,11", 12) == [0, 2, 4, 7, 9, 11]
    assert parse_layers(None, 12) == [1, 3, 5, 7, 9, 11]
    for bad, msg in (("0,x", "integers"), ("3,1", "increasing"), ("0,12", "out of range"), ("1,1", "increasing")):
        with pytest.raises(ValueError, match=msg):
            parse_layers(bad, 12)


def test_student_copies_the_kept_layers(teacher):
    student = make_student(teacher, [0, 3])
    assert student.encoder.config.num_hidden_layers == 2 and len(student.encoder.encoder.layer) == 2
    assert teacher.encoder.config.num_hidden_layers == 4 and len(teacher.encoder.encoder.layer) == 4
    t_layers, s_layers = teacher.encoder.encoder.layer, student.encoder.encoder.layer
    for s_idx, t_idx in enumerate([0, 3]):
        for (name, sp), (_, tp) in zip(s_layers[s_idx].named_parameters(), t_layers[t_idx].named_parameters()):
            assert torch.equal(sp, tp), name
            assert sp.data_ptr() != tp.data_ptr()  # a copy: training the student leaves the teacher alone
    assert torch.equal(student.encoder.embeddings.word_embeddings.weight, teacher.encoder.embeddings.word_embeddings.weight)
    assert student.pooling == teacher.pooling and student.prefixes == teacher.prefixes


def test_student_with_all_layers_is_the_teacher(teacher):
    ids = torch.randint(5, 1000, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    student = make_student(teacher, [0, 1, 2, 3]).eval()
    with torch.no_grad():
        assert torch.allclose(student.encode(ids, mask), teacher.encode(ids, mask), atol=1e-6)
        shallow = make_student(teacher).eval().encode(ids, mask)
    assert not torch.allclose(shallow, teacher.encode(ids, mask), atol=1e-3)


def test_distillation_loss_is_the_seed_weighting():
    from curriculum_training.losses.distillation import distillation_loss

    g = torch.Generator().manual_seed(0)
    t = (torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(8, 5, 8, generator=g))
    s = tuple(x + 0.1 * torch.randn(x.shape, generator=g) for x in t)
    s = tuple(x.requires_grad_() for x in s)
    loss, parts = distillation_loss(s, t)
    by_hand = 0.25 * ((s[0] - t[0]) ** 2).mean() + 0.25 * ((s[1] - t[1]) ** 2).mean() + 0.5 * ((s[2] - t[2]) ** 2).mean()
    assert torch.allclose(loss, by_hand)
    assert parts["mse_hidden"] == pytest.approx(float(((s[2] - t[2]) ** 2).mean().detach()), rel=1e-5)
    loss.backward()
    assert all(x.grad is not None for x in s)
    zero, _ = distillation_loss(t, t)
    assert float(zero) == 0.0
    with pytest.raises(ValueError, match="hidden shape"):
        distillation_loss((s[0], s[1], s[2][:, :3]), t)


def test_distillation_loss_pulls_the_student_towards_the_teacher(teacher):
    """A few optimiser steps on the loss make the shallow student's embeddings closer to the teacher's."""
    from curriculum_training.losses.distillation import distillation_loss
    from curriculum_training.export import pool_hidden

    torch.manual_seed(0)
    student = make_student(teacher).eval()  # no dropout: a deterministic descent
    ids = torch.randint(5, 1000, (8, 16))
    mask = torch.ones_like(ids)
    mask[::2, 10:] = 0

    def feats(model):
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = pool_hidden(hidden, mask, "mean")
        return pooled[:4], pooled[4:], hidden * mask.unsqueeze(-1)

    with torch.no_grad():
        target = feats(teacher.eval())
    opt = torch.optim.Adam(student.parameters(), lr=1e-4)
    losses = []
    for _ in range(20):
        loss, _ = distillation_loss(feats(student), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses


# ------------------------------------------------------------------------------ DistillationTrainer
@pytest.fixture(scope="module")
def trained_teacher(tmp_path_factory):
    from curriculum_training.tiny_pipeline import TINY_SETS, TINY_TRAIN, write_tiny_dataset
    from curriculum_training.train import Trainer
    from curriculum_training.training_config import load_config

    work = tmp_path_factory.mktemp("teacher")
    data = write_tiny_dataset(work / "tiny")
    backbone = build_tiny_backbone_folder(work / "bb")
    cfg = load_config(None, None, TINY_SETS, {**TINY_TRAIN, "dataset": str(data), "backbone": str(backbone),
                                              "out": str(work / "teacher")})
    Trainer(cfg).train()
    return work / "teacher"


def test_distillation_trainer_is_a_trainer_with_its_own_loss(trained_teacher, tmp_path):
    from curriculum_training.distill import DistillationTrainer
    from curriculum_training.model import BiEncoder
    from curriculum_training.train import Trainer
    from curriculum_training.training_config import load_config
    from curriculum_training.tiny_pipeline import TINY_SETS, TINY_TRAIN

    assert issubclass(DistillationTrainer, Trainer)
    assert DistillationTrainer.compute_loss is not Trainer.compute_loss
    assert DistillationTrainer.train is Trainer.train  # the loop is reused unchanged
    teacher = BiEncoder.from_checkpoint(trained_teacher)
    cfg = load_config(None, str(trained_teacher / "train_config.yaml"),
                      TINY_SETS, {**TINY_TRAIN, "out": str(tmp_path / "s")})
    trainer = DistillationTrainer(cfg, teacher, [1, 3], with_infonce=True)
    batch = trainer.collate(trainer.train_pairs[:4], 0)
    loss, logs = trainer.compute_loss(batch)
    assert {"mse_topic", "mse_content", "mse_hidden", "infonce", "distill"} <= set(logs)
    assert logs["loss"] == pytest.approx(logs["distill"] + logs["infonce"], rel=1e-5)
    loss.backward()
    assert all(p.grad is None for p in trainer.teacher.parameters())  # frozen teacher
    assert trainer.model.encoder.encoder.layer[0].attention.self.query.weight.grad is not None


def test_distill_cli_compares_both_losses_and_keeps_the_better(trained_teacher, tmp_path, capsys):
    from curriculum_training.distill import main
    from curriculum_training.model import BiEncoder

    out = tmp_path / "student"
    argv = ["--teacher", str(trained_teacher), "--out", str(out), "--layers", "0,3", "--compare", "--epochs", "1",
            "--max-steps-per-epoch", "2", "--no-progress", "--set", "save_last=false"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["variants"]) == {"mse", "infonce"}
    f2 = {k: v["best_f2"] for k, v in summary["variants"].items()}
    assert f2[summary["kept"]] == max(f2.values())
    meta = json.loads((out / "bi_encoder.json").read_text())
    assert meta["distillation"]["layers_kept"] == [0, 3]
    assert meta["distillation"]["with_infonce"] == (summary["kept"] == "infonce")
    student = BiEncoder.from_checkpoint(out)
    assert student.encoder.config.num_hidden_layers == 2
    assert main(["--teacher", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "not a bi-encoder checkpoint" in capsys.readouterr().err
