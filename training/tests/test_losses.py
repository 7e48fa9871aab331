import math

import pytest
import torch

from curriculum_training.losses import SymmetricInfoNCE, symmetric_infonce


def _smoothed_ce(row, target, eps):
    """-Σ_j q_j log softmax(row)_j with q = (1-eps)·onehot(target) + eps/B (written out)."""
    b = len(row)
    log_z = math.log(sum(math.exp(v) for v in row))
    log_p = [v - log_z for v in row]
    q = [(1 - eps) * (j == target) + eps / b for j in range(b)]
    return -sum(qj * lp for qj, lp in zip(q, log_p))


def test_value_on_a_small_matrix_computed_by_hand():
    # unit vectors, so normalisation changes nothing: T Cᵀ = [[1, 0.6], [0, 0.8]]
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    c = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    s = 2.0  # S = s · T Cᵀ = [[2.0, 1.2], [0.0, 1.6]]
    rows = [[2.0, 1.2], [0.0, 1.6]]
    cols = [[2.0, 0.0], [1.2, 1.6]]  # Sᵀ
    eps = 0.1
    t2c = (_smoothed_ce(rows[0], 0, eps) + _smoothed_ce(rows[1], 1, eps)) / 2
    c2t = (_smoothed_ce(cols[0], 0, eps) + _smoothed_ce(cols[1], 1, eps)) / 2
    expected = 0.5 * (t2c + c2t)
    # one term fully expanded, as a check on the helper: row 0, target 0
    z0 = math.exp(2.0) + math.exp(1.2)
    assert _smoothed_ce(rows[0], 0, eps) == pytest.approx(
        -(0.95 * math.log(math.exp(2.0) / z0) + 0.05 * math.log(math.exp(1.2) / z0)))
    got = symmetric_infonce(t, c, torch.tensor(s), label_smoothing=eps)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # features are normalised inside: scaling the inputs changes nothing
    assert symmetric_infonce(3 * t, 0.5 * c, s, eps).item() == pytest.approx(expected, rel=1e-6)


def test_symmetric_and_plain_cross_entropy_without_smoothing():
    torch.manual_seed(0)
    t, c = torch.randn(5, 8), torch.randn(5, 8)
    a = symmetric_infonce(t, c, 14.0, 0.1)
    b = symmetric_infonce(c, t, 14.0, 0.1)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    tn, cn = torch.nn.functional.normalize(t, dim=1), torch.nn.functional.normalize(c, dim=1)
    logits = 14.0 * tn @ cn.T
    lsm_r, lsm_c = logits.log_softmax(1), logits.T.log_softmax(1)
    manual = -0.5 * (lsm_r.diag().mean() + lsm_c.diag().mean())
    assert symmetric_infonce(t, c, 14.0, 0.0).item() == pytest.approx(manual.item(), rel=1e-6)


def test_perfect_alignment_beats_shuffled_and_gradient_reaches_scale():
    torch.manual_seed(1)
    x = torch.randn(6, 16)
    aligned = symmetric_infonce(x, x, 14.0)
    shuffled = symmetric_infonce(x, x[torch.randperm(6)], 14.0)
    assert aligned < shuffled
    log_scale = torch.tensor(math.log(14.0), requires_grad=True)
    SymmetricInfoNCE(0.1)(x, x + 0.1 * torch.randn(6, 16), log_scale.exp()).backward()
    assert log_scale.grad is not None and log_scale.grad.abs() > 0


def test_half_precision_inputs_are_computed_in_float32():
    torch.manual_seed(2)
    t, c = torch.randn(4, 8), torch.randn(4, 8)
    full = symmetric_infonce(t, c, 14.0)
    half = symmetric_infonce(t.half(), c.half(), torch.tensor(14.0).half())
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(full.item(), abs=1e-2)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        symmetric_infonce(torch.randn(3, 4), torch.randn(2, 4), 1.0)
