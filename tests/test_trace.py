"""The anchor: lstmviz.trace equals the module's own outputs and the reference loop to 1e-5."""

import itertools

import numpy as np
import pytest
import torch
from conftest import make_module

from lstmviz import Trace, trace
from lstmviz.cells import reference_trace
from lstmviz.trace import linear_scan

TOL = 1e-5
T = 11

CASES = [
    (kind, layers, bidir, batch_first, proj, bias, seed, with_h0)
    for kind, layers, bidir, batch_first, proj, bias, seed, with_h0 in itertools.product(
        ("lstm", "gru", "rnn_tanh", "rnn_relu"), (1, 2, 3), (False, True), (False, True), (0, 3), (True, False),
        (0, 1), (False, True))
    if proj == 0 or kind == "lstm"
]


def _setup(kind, layers, bidir, batch_first, proj, bias, seed, with_h0):
    base, _, nonlin = kind.partition("_")
    m = make_module(base, 5, 7, layers=layers, bidirectional=bidir, batch_first=batch_first, proj=proj,
                    bias=bias, nonlinearity=nonlin or "tanh", seed=seed)
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(T, 5, generator=g)
    n = layers * (2 if bidir else 1)
    h0 = None
    if with_h0:
        h0 = torch.randn(n, proj or 7, generator=g)
        if base == "lstm":
            h0 = (h0, torch.randn(n, 7, generator=g))
    return m, x, h0


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_trace_matches_module_and_reference(case):
    m, x, h0 = _setup(*case)
    batch_first = case[3]
    xb = x[None] if batch_first else x[:, None]  # a batch of one, as the module takes it
    h0b = None if h0 is None else (tuple(s[:, None] for s in h0) if isinstance(h0, tuple) else h0[:, None])
    tr = trace(m, xb, h0b)
    with torch.no_grad():
        out, state = m(xb, h0b)
    out = out[0] if batch_first else out[:, 0]  # [T, D·H_out]
    np.testing.assert_allclose(tr.output(), out.numpy(), atol=TOL, rtol=0)
    # h_n, c_n: the last step processed in each direction, for every layer
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    for layer in range(m.num_layers):
        for d, name in enumerate(tr.directions):
            last = 0 if name == "bwd" else T - 1
            row = layer * tr.num_directions + d
            np.testing.assert_allclose(tr.get(layer, name, "h")[last], h_n[row, 0].numpy(), atol=TOL, rtol=0)
            if c_n is not None:
                np.testing.assert_allclose(tr.get(layer, name, "c")[last], c_n[row, 0].numpy(), atol=TOL, rtol=0)
    ref = reference_trace(m, x, h0)
    assert set(ref) == set(tr.values)
    for name, value in ref.items():
        np.testing.assert_allclose(tr.values[name], value.numpy(), atol=TOL, rtol=0, err_msg=name)


def test_names_are_pinned():
    lstm = trace(make_module("lstm", layers=2, bidirectional=True), torch.randn(4, 5))
    assert sorted(lstm.values) == sorted(f"layer{layer}.{d}.{g}" for layer in (0, 1) for d in ("fwd", "bwd")
                                         for g in "ifgoch")
    gru = trace(make_module("gru"), torch.randn(4, 5))
    assert list(gru.values) == ["layer0.fwd.r", "layer0.fwd.z", "layer0.fwd.n", "layer0.fwd.h"]
    rnn = trace(make_module("rnn"), torch.randn(4, 5))
    assert list(rnn.values) == ["layer0.fwd.a", "layer0.fwd.h"]


def test_shapes_with_projection():
    tr = trace(make_module("lstm", hidden=7, proj=3, layers=2), torch.randn(6, 5))
    assert tr.get(1, "fwd", "c").shape == (6, 7)
    assert tr.get(1, "fwd", "h").shape == (6, 3)
    assert tr.get(1, "fwd", "f").shape == (6, 7)
    assert tr.values["layer0.fwd.h"].dtype == np.float32


def test_backward_direction_is_aligned_to_input_positions():
    m = make_module("gru", bidirectional=True)
    x = torch.randn(6, 5)
    tr = trace(m, x)
    # the backward pass starts at the last input: its first state sees only x[-1]
    last_only = trace(m, x[-1:])
    np.testing.assert_allclose(tr.get(0, "bwd", "h")[-1], last_only.get(0, "bwd", "h")[0], atol=TOL)


def test_hand_computed_lstm_and_gru_single_unit():
    lstm = make_module("lstm", 1, 1)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
        lstm.weight_ih_l0[:] = torch.tensor([[1.0], [2.0], [3.0], [4.0]])  # i f g o
    tr = trace(lstm, torch.tensor([[0.5], [1.0]]))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i0, f0, g0, o0 = sig(0.5), sig(1.0), np.tanh(1.5), sig(2.0)
    c0 = i0 * g0
    assert tr.get(0, "fwd", "i")[0, 0] == pytest.approx(i0, abs=1e-6)
    assert tr.get(0, "fwd", "c")[0, 0] == pytest.approx(c0, abs=1e-6)
    assert tr.get(0, "fwd", "h")[0, 0] == pytest.approx(o0 * np.tanh(c0), abs=1e-6)
    c1 = sig(2.0) * c0 + sig(1.0) * np.tanh(3.0)
    assert tr.get(0, "fwd", "c")[1, 0] == pytest.approx(c1, abs=1e-6)
    assert f0 == pytest.approx(sig(1.0))

    gru = make_module("gru", 1, 1)
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        gru.bias_ih_l0[1] = 5.0  # z ≈ 1: PyTorch's z keeps the old state
    tr = trace(gru, torch.tensor([[1.0]]), h0=torch.tensor([[0.8]]))
    z = sig(5.0)
    assert tr.get(0, "fwd", "z")[0, 0] == pytest.approx(z, abs=1e-6)
    assert tr.get(0, "fwd", "h")[0, 0] == pytest.approx(z * 0.8 + (1 - z) * 0.0, abs=1e-6)


def test_linear_scan_matches_loop_both_directions():
    g = torch.Generator().manual_seed(3)
    a, b, first = torch.rand(37, 4, generator=g), torch.randn(37, 4, generator=g), torch.randn(4, generator=g)
    for reverse in (False, True):
        c, prev, want = linear_scan(a, b, first, reverse), first, torch.empty(37, 4)
        for t in (range(36, -1, -1) if reverse else range(37)):
            prev = a[t] * prev + b[t]
            want[t] = prev
        torch.testing.assert_close(c, want, atol=1e-6, rtol=1e-6)


def test_to_frame_is_tidy_and_complete():
    tr = trace(make_module("lstm", hidden=3, bidirectional=True), torch.randn(4, 5), tokens=list("abcd"))
    df = tr.to_frame()
    assert list(df.columns) == ["step", "token", "layer", "direction", "gate", "unit", "value"]
    assert len(df) == 4 * 3 * 6 * 2
    row = df[(df.step == 2) & (df.direction == "bwd") & (df.gate == "f") & (df.unit == 1)]
    assert row.token.item() == "c"
    assert row.value.item() == tr.get(0, "bwd", "f")[2, 1]


@pytest.mark.parametrize(("x", "message"), [
    (torch.randn(3, 4), "input has 4 values per step, but the LSTM expects 5 (its input_size)"),
    (torch.randn(0, 5), "the sequence is empty; give at least one step"),
    (torch.randn(3, 2, 5), "trace takes one sequence; got a batch of 2"),
    (torch.randn(5), "input must be [T, 5] (one sequence); got shape (5,)"),
])
def test_bad_input_messages(x, message):
    with pytest.raises(ValueError) as err:
        trace(make_module("lstm"), x)
    assert str(err.value) == message


def test_bad_state_and_module():
    with pytest.raises(ValueError, match=r"h0 must have shape \(1, 7\) or \(1, 1, 7\); got \(2, 7\)"):
        trace(make_module("gru"), torch.randn(3, 5), h0=torch.zeros(2, 7))
    with pytest.raises(ValueError, match="an LSTM takes its initial state as a pair"):
        trace(make_module("lstm"), torch.randn(3, 5), h0=torch.zeros(1, 7))
    with pytest.raises(TypeError, match="expected torch.nn.LSTM, GRU or RNN, got Linear"):
        trace(torch.nn.Linear(2, 2), torch.randn(3, 2))


def test_trace_leaves_no_state_and_no_graph():
    m = make_module("lstm", layers=2)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    tr = trace(m, torch.randn(5, 5))
    assert isinstance(tr, Trace)
    assert all(isinstance(v, np.ndarray) for v in tr.values.values())
    assert all(p.grad is None for p in m.parameters())
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
