"""The cell highway against plain loops: gate products step by step, RNN Jacobians by autograd."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from lstmviz import trace
from lstmviz.cells import layer_weights, rnn_cell
from lstmviz.highway import highway, highway_units

STEPS = 8


def make(kind: str, **kw):
    torch.manual_seed(0)
    module = getattr(torch.nn, kind.upper())(3, 4, **kw).double().eval()
    x = torch.randn(STEPS, 3, dtype=torch.float64)
    return module, x, trace(module, x)


def plain_products(gate: np.ndarray, reverse: bool) -> np.ndarray:
    """P[t, s, i] = ∏ gate over the steps strictly after s up to t (processing order), by a loop."""
    out = np.zeros((STEPS, STEPS, gate.shape[1]))
    for t in range(STEPS):
        for s in range(STEPS):
            if reverse and s >= t:
                out[t, s] = np.prod(gate[t:s], axis=0)
            elif not reverse and s <= t:
                out[t, s] = np.prod(gate[s + 1:t + 1], axis=0)
    return out


@pytest.mark.parametrize(("kind", "gate"), [("lstm", "f"), ("gru", "z")])
@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_gate_products_match_a_plain_loop(kind, gate, direction):
    module, x, tr = make(kind, num_layers=2, bidirectional=True)
    expected = plain_products(tr.get(1, direction, gate), direction == "bwd")  # [T, T, H]
    np.testing.assert_allclose(highway(tr, 1, direction), expected.mean(axis=2), rtol=1e-9, atol=0)
    for t in (0, 3, STEPS - 1):
        np.testing.assert_allclose(highway_units(tr, t, 1, direction), expected[t], rtol=1e-9, atol=0)


def test_products_survive_gates_that_are_exactly_zero():
    torch.manual_seed(0)
    module = torch.nn.LSTM(2, 3).eval()
    with torch.no_grad():
        module.bias_ih_l0[3:6] = -1e4  # the forget gate is exactly 0.0 in float32
    tr = trace(module, torch.randn(STEPS, 2))
    assert np.all(tr.get(0, "fwd", "f") == 0)
    matrix = highway(tr)
    assert np.all(np.isfinite(matrix))
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    assert np.all(np.tril(matrix, -1) < 1e-300) and np.all(np.triu(matrix, 1) == 0)


def autograd_jacobian(module, tr, x, t: int, s: int, reverse: bool) -> torch.Tensor:
    """∂h_t/∂h_s for the first RNN layer, by autograd through `rnn_cell` from a leaf h_s."""
    w = list(layer_weights(module, 0, reverse).values())[:4]
    h_s = torch.from_numpy(tr.get(0, "bwd" if reverse else "fwd", "h")[s]).clone()

    def run(h):
        for k in (range(s - 1, t - 1, -1) if reverse else range(s + 1, t + 1)):
            h = rnn_cell(x[k], h, *w, module.nonlinearity)["h"]
        return h

    return torch.autograd.functional.jacobian(run, h_s)  # [H, H]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_rnn_jacobian_norms_match_autograd(nonlinearity, direction):
    module, x, tr = make("rnn", bidirectional=True, nonlinearity=nonlinearity)
    reverse = direction == "bwd"
    expected = np.zeros((STEPS, STEPS))
    rows = np.zeros((STEPS, STEPS, 4))
    for t in range(STEPS):
        for s in range(STEPS):
            if (s >= t) if reverse else (s <= t):
                jac = autograd_jacobian(module, tr, x, t, s, reverse)
                expected[t, s] = jac.norm().item() / 2  # ‖·‖_F / √H with H = 4
                rows[t, s] = jac.norm(dim=1).numpy()
    np.testing.assert_allclose(highway(tr, 0, direction, module=module), expected, rtol=1e-9, atol=1e-300)
    for t in (0, 5, STEPS - 1):
        np.testing.assert_allclose(highway_units(tr, t, 0, direction, module=module), rows[t],
                                   rtol=1e-9, atol=1e-300)


def test_rnn_max_lag_leaves_far_pairs_out():
    module, x, tr = make("rnn")
    full, near = highway(tr, module=module), highway(tr, module=module, max_lag=2)
    lag = np.subtract.outer(np.arange(STEPS), np.arange(STEPS))
    assert np.all(np.isnan(near[lag > 2]))
    np.testing.assert_allclose(near[lag <= 2], full[lag <= 2], rtol=1e-12)


def test_bad_arguments_say_what_is_wrong():
    module, x, tr = make("rnn")
    with pytest.raises(ValueError, match="needs the nn.RNN module"):
        highway(tr)
    with pytest.raises(ValueError, match="direction must be one of fwd"):
        highway(tr, direction="bwd", module=module)
    with pytest.raises(ValueError, match="target step 8 is outside the sequence of 8 steps"):
        highway_units(tr, 8, module=module)


def test_rnn_float32_matches_float64():
    module, x, tr = make("rnn")
    module32 = copy.deepcopy(module).float()
    tr32 = trace(module32, x.float())
    assert tr32.get(0, "fwd", "h").dtype == np.float32
    np.testing.assert_allclose(highway(tr32, module=module32), highway(tr, module=module), rtol=1e-4)
