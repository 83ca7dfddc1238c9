"""Gradient maps against brute force: one autograd backward pass per target, written plainly here.

Float64 modules are compared at 1e-5 relative, element by element (they agree to ~1e-15).
Float32 modules (T=20) are compared with float32 brute force at 1e-4 relative per element: the
two sum the same paths in different orders; observed worst case about 3e-6, down to entries 1e-7
of the map's largest value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmviz import gradients
from lstmviz.cells import gru_cell, kind_of, layer_weights, lstm_cell, rnn_cell
from lstmviz.gradients import (
    GradientRecorder,
    connectivity,
    connectivity_fn,
    decay_curve,
    decay_distance,
    loss_gradients,
    write_gradflow_csv,
)

CONFIGS = [
    ("lstm", {}), ("gru", {}), ("rnn", {}), ("rnn", {"nonlinearity": "relu"}),
    ("lstm", {"num_layers": 2}), ("gru", {"num_layers": 3}), ("rnn", {"num_layers": 2, "nonlinearity": "relu"}),
    ("lstm", {"bidirectional": True}), ("gru", {"num_layers": 2, "bidirectional": True}),
    ("rnn", {"num_layers": 3, "bidirectional": True}), ("lstm", {"num_layers": 3, "bidirectional": True}),
    ("lstm", {"proj_size": 2}), ("lstm", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
    ("lstm", {"bias": False}), ("gru", {"bias": False, "bidirectional": True}), ("rnn", {"bias": False}),
]
IDS = [kind + "".join(f"-{k}={v}" for k, v in kw.items()) for kind, kw in CONFIGS]


def make(kind: str, kw: dict, dtype=torch.float64, seed: int = 0, steps: int = 9, inputs: int = 3):
    torch.manual_seed(seed)
    module = getattr(torch.nn, kind.upper())(inputs, 5, **kw).to(dtype).eval()
    return module, torch.randn(steps, inputs, dtype=dtype)


def random_h0(module):
    n = module.num_layers * (2 if module.bidirectional else 1)
    h = torch.randn(n, module.proj_size or module.hidden_size, dtype=torch.float64) \
        if kind_of(module) == "lstm" else torch.randn(n, module.hidden_size, dtype=torch.float64)
    return (h, torch.randn(n, module.hidden_size, dtype=torch.float64)) if kind_of(module) == "lstm" else h


def brute_connectivity(f, x: torch.Tensor) -> np.ndarray:
    """C[t, s] by one torch.autograd.grad call per target t; f maps x [T, in] to y [T]."""
    x = x.clone().requires_grad_()
    y = f(x)
    rows = [torch.autograd.grad(y[t], x, retain_graph=True)[0].norm(dim=1) for t in range(len(y))]
    return torch.stack(rows).numpy()


def reference_states(module, x, h0=None):
    """A plain autograd loop over `lstmviz.cells`: {"layer{l}.{dir}.h|c": [T tensors]}, top output."""
    kind, n_dir, steps = kind_of(module), 2 if module.bidirectional else 1, len(x)
    if h0 is None:
        h0 = random_h0(module)
        h0 = tuple(torch.zeros_like(s) for s in h0) if kind == "lstm" else torch.zeros_like(h0)
    h_init, c_init = h0 if kind == "lstm" else (h0, None)
    states, layer_in = {}, x
    for layer in range(module.num_layers):
        outputs = []
        for d, name in enumerate(("fwd", "bwd")[:n_dir]):
            w = list(layer_weights(module, layer, reverse=d == 1).values())
            h = h_init[layer * n_dir + d]
            c = c_init[layer * n_dir + d] if kind == "lstm" else None
            hs, cs = [None] * steps, [None] * steps
            for t in (range(steps - 1, -1, -1) if d else range(steps)):
                if kind == "lstm":
                    v = lstm_cell(layer_in[t], h, c, *w)
                    c = cs[t] = v["c"]
                elif kind == "gru":
                    v = gru_cell(layer_in[t], h, *w[:4])
                else:
                    v = rnn_cell(layer_in[t], h, *w[:4], module.nonlinearity)
                h = hs[t] = v["h"]
            states[f"layer{layer}.{name}.h"] = hs
            if kind == "lstm":
                states[f"layer{layer}.{name}.c"] = cs
            outputs.append(torch.stack(hs))
        layer_in = torch.cat(outputs, dim=1)
    return states, layer_in


def brute_loss_gradients(module, x, loss_fn, h0=None) -> dict[str, np.ndarray]:
    states, out = reference_states(module, x, h0)
    names = list(states)
    flat = [tensor for name in names for tensor in states[name]]
    grads = torch.autograd.grad(loss_fn(out), flat, allow_unused=True, materialize_grads=True)
    steps = len(x)
    return {name: torch.stack([g.norm() for g in grads[i * steps:(i + 1) * steps]]).detach().numpy()
            for i, name in enumerate(names)}


@pytest.mark.parametrize(("kind", "kw"), CONFIGS, ids=IDS)
def test_connectivity_matches_brute_force(kind, kw):
    module, x = make(kind, kw)
    expected = brute_connectivity(lambda inp: module(inp)[0].sum(dim=1), x)
    got = connectivity(module, x)
    assert got.shape == (9, 9) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=0)
    if not kw.get("bidirectional"):
        assert np.all(np.triu(got, 1) == 0)


@pytest.mark.parametrize(("kind", "kw"), CONFIGS[:8], ids=IDS[:8])
def test_connectivity_with_initial_state(kind, kw):
    module, x = make(kind, kw, seed=3)
    h0 = random_h0(module)
    expected = brute_connectivity(lambda inp: module(inp, h0)[0].sum(dim=1), x)
    np.testing.assert_allclose(connectivity(module, x, h0=h0), expected, rtol=1e-5, atol=0)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_connectivity_float32(kind, bidirectional):
    module, x = make(kind, {"num_layers": 2, "bidirectional": bidirectional}, dtype=torch.float32, steps=20)
    expected = brute_connectivity(lambda inp: module(inp)[0].sum(dim=1), x)
    got = connectivity(module, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=0)


def test_readout_and_input_map_match_brute_force():
    module, x = make("lstm", {"bidirectional": True, "num_layers": 2})
    readout = torch.randn(9, 10, dtype=torch.float64)
    input_map = torch.randn(3, 4, dtype=torch.float64)  # the module sees raw @ input_map.T
    raw = torch.randn(9, 4, dtype=torch.float64)
    expected = brute_connectivity(lambda inp: (module(inp @ input_map.T)[0] * readout).sum(dim=1), raw)
    got = connectivity(module, raw @ input_map.T, readout=readout, input_map=input_map)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match="readout must have 10 values"):
        connectivity(module, x, readout=torch.ones(7))


def test_connectivity_fn_matches_brute_force():
    module, x = make("gru", {"num_layers": 2})
    head = torch.randn(5, dtype=torch.float64)

    def f(inp):
        return torch.tanh(module(inp)[0]) @ head  # [T]

    np.testing.assert_allclose(connectivity_fn(f, x), brute_connectivity(f, x), rtol=1e-5, atol=0)


@pytest.mark.parametrize("input_kind", ["tokens", "numbers"])
def test_model_connectivity_matches_the_chosen_logit(input_kind):
    models = pytest.importorskip("lstmviz.models")
    from lstmviz.gradients import model_connectivity

    torch.manual_seed(1)
    config = models.ModelConfig(cell="lstm", input_kind=input_kind, vocab_size=6, input_size=4, hidden_size=5,
                                num_layers=2, head="classify", output_size=3)
    model = models.SequenceModel(config).eval()  # float32: SequenceModel.encode casts numbers to float32
    x = torch.randint(0, 6, (8,)) if input_kind == "tokens" else torch.randn(8, 4)
    with torch.no_grad():
        classes = model.step_outputs(x[None])[0].argmax(dim=1)  # [T]
    embedded = model.encode(x[None])[0].detach()
    if input_kind == "tokens":
        def f(inp):
            return model.head(model.rnn(inp[None])[0][0]).gather(1, classes[:, None])[:, 0]
        expected = brute_connectivity(f, embedded)
    else:
        def f(inp):
            return model.step_outputs(inp[None])[0].gather(1, classes[:, None])[:, 0]
        expected = brute_connectivity(f, x)
    np.testing.assert_allclose(model_connectivity(model, x), expected, rtol=1e-4, atol=0)


@pytest.mark.parametrize(("kind", "kw"), CONFIGS, ids=IDS)
def test_loss_gradients_match_brute_force(kind, kw):
    module, x = make(kind, kw, seed=2)
    got = loss_gradients(module, x)
    expected = brute_loss_gradients(module, x, lambda out: out[-1].sum())
    assert list(got) == list(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=0, err_msg=name)


@pytest.mark.parametrize(("kind", "kw"), [CONFIGS[1], CONFIGS[10], CONFIGS[12]], ids=[IDS[1], IDS[10], IDS[12]])
def test_loss_gradients_with_a_loss_function_and_h0(kind, kw):
    module, x = make(kind, kw, seed=4)
    h0 = random_h0(module)

    def loss(out):
        return (out ** 2).mean() + out[-1, 0]

    got = loss_gradients(module, x, h0=h0, loss_fn=loss)
    expected = brute_loss_gradients(module, x, loss, h0=h0)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=0, err_msg=name)


def test_names_follow_the_trace_convention():
    module, x = make("lstm", {"num_layers": 2, "bidirectional": True})
    assert list(loss_gradients(module, x)) == [
        f"layer{layer}.{d}.{g}" for layer in (0, 1) for d in ("fwd", "bwd") for g in ("h", "c")]
    module, x = make("gru", {})
    assert list(loss_gradients(module, x)) == ["layer0.fwd.h"]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_no_state_is_left_on_the_module(kind):
    module, x = make(kind, {"num_layers": 2})
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    connectivity(module, x)
    loss_gradients(module, x, loss_fn=lambda out: (out ** 2).sum())
    assert module.training
    assert all(p.grad is None and p.requires_grad for p in module.parameters())
    assert not module._forward_hooks and not module._backward_hooks
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_decay_curve_averages_by_distance():
    C = np.array([[1.0, 9, 9], [2, 4, 9], [3, 6, 8]])  # above the diagonal (s > t) is ignored
    distances, mean = decay_curve(C)
    np.testing.assert_array_equal(distances, [0, 1, 2])
    np.testing.assert_allclose(mean, [(1 + 4 + 8) / 3, (2 + 6) / 2, 3])


def test_decay_distance_is_the_first_distance_below_the_fraction():
    lags = np.subtract.outer(np.arange(20), np.arange(20))
    curve = decay_curve(np.where(lags >= 0, 0.5 ** lags.clip(0), 0.0))
    np.testing.assert_allclose(curve[1], 0.5 ** np.arange(20))
    assert decay_distance(curve) == 7  # 0.5**7 = 0.0078 < 1% <= 0.5**6
    assert decay_distance(curve, fraction=0.2) == 3
    assert decay_distance(decay_curve(np.tril(np.ones((20, 20))))) is None  # never falls within T


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_rows_read_back_exactly(tmp_path, bidirectional, dtype):
    C = (np.random.default_rng(0).random((70, 70)) ** 40).astype(dtype)  # 70 > one chunk of rows
    C = C if bidirectional else np.tril(C)
    path = tmp_path / "GRAD.csv"
    write_gradflow_csv(path, C, bidirectional)
    lines = path.read_text().splitlines()
    assert lines[0] == "target_step,source_step,value"
    table = np.loadtxt(lines[1:], delimiter=",")
    t, s = (np.indices(C.shape).reshape(2, -1) if bidirectional else np.tril_indices(70))
    assert len(table) == (70 * 70 if bidirectional else 70 * 71 // 2)
    np.testing.assert_array_equal(table[:, 0], t)
    np.testing.assert_array_equal(table[:, 1], s)
    np.testing.assert_array_equal(table[:, 2].astype(dtype), C[t, s])
    assert list(tmp_path.iterdir()) == [path]


def test_csv_failure_mid_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(C, bidirectional):
        yield "0,0,1\n"
        raise OSError("disk full")

    monkeypatch.setattr(gradients, "_csv_rows", broken)
    with pytest.raises(OSError, match="disk full"):
        write_gradflow_csv(tmp_path / "GRAD.csv", np.ones((3, 3)), False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.csv").write_text("kept")
    with pytest.raises(OSError, match="disk full"):
        write_gradflow_csv(tmp_path / "old.csv", np.ones((3, 3)), False)
    assert [p.name for p in tmp_path.iterdir()] == ["old.csv"] and (tmp_path / "old.csv").read_text() == "kept"
    with pytest.raises(ValueError, match=r"square \[T, T\]; got shape \(3, 4\)"):
        write_gradflow_csv(tmp_path / "bad.csv", np.ones((3, 4)), False)


def test_recorder_keeps_one_row_per_epoch():
    module, x = make("lstm", {"num_layers": 2, "bidirectional": True})
    recorder = GradientRecorder(x)
    assert recorder.history.shape == (0, 0)
    first = recorder.record(module)
    grads = loss_gradients(module, x)
    np.testing.assert_allclose(first, np.hypot(grads["layer1.fwd.h"], grads["layer1.bwd.h"]))
    with torch.no_grad():
        module.weight_hh_l1.mul_(2)
    recorder.record(module)
    assert recorder.history.shape == (2, 9) and not np.allclose(recorder.history[0], recorder.history[1])
    with pytest.raises(TypeError, match="got Linear"):
        recorder.record(torch.nn.Linear(3, 3))


def test_recorder_takes_a_task_model_and_its_loss():
    models = pytest.importorskip("lstmviz.models")
    torch.manual_seed(0)
    config = models.ModelConfig(cell="gru", input_kind="tokens", vocab_size=5, input_size=3, hidden_size=4,
                                head="classify", output_size=2)
    model = models.SequenceModel(config)
    probe = torch.tensor([1, 2, 3, 4, 0, 1])

    def loss(model, out):
        return torch.nn.functional.cross_entropy(model.head(out[-1:]), torch.tensor([1]))

    row = GradientRecorder(probe, loss).record(model)
    expected = loss_gradients(model.rnn, model.encode(probe[None])[0].detach(),
                              loss_fn=lambda out: loss(model, out))["layer0.fwd.h"]
    np.testing.assert_allclose(row, expected, rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())
