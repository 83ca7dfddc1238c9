"""lstmviz.compare: aligned gates, saturation by hand, parameter counts, probe, divergence, bidirectional."""

import numpy as np
import pytest
import torch
from conftest import make_module

from lstmviz import compare, trace
from lstmviz.checkpoints import Loaded, RecurrentSpec
from lstmviz.models import SequenceModel
from lstmviz.tasks import get_task


def _task_model(task: str, cell: str, hidden: int = 6, seed: int = 0, **rnn) -> Loaded:
    torch.manual_seed(seed)
    model = SequenceModel(get_task(task).model_config(cell, hidden, embed_size=5, **rnn)).eval()
    spec = RecurrentSpec(cell, model.rnn.input_size, hidden, num_layers=model.rnn.num_layers,
                         bidirectional=model.rnn.bidirectional)
    return Loaded(module=model.rnn, spec=spec, model=model, task=task, metrics={"accuracy": 0.5})


def test_saturation_by_hand():
    # 5 steps, 3 units; thresholds 0.1 / 0.9
    values = np.array([[0.05, 0.50, 0.95],
                       [0.00, 0.92, 0.95],
                       [0.10, 0.90, 0.20],
                       [0.09, 0.91, 0.99],
                       [0.50, 0.05, 1.00]])
    left, right = compare.saturation(values)
    np.testing.assert_allclose(left, [3 / 5, 1 / 5, 0])  # 0.10 is not < 0.10
    np.testing.assert_allclose(right, [0, 2 / 5, 4 / 5])  # 0.90 is not > 0.90
    left, right = compare.saturation(values, low=0.3, high=0.6)
    np.testing.assert_allclose(left, [4 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(right, [0, 3 / 5, 4 / 5])


@pytest.mark.parametrize(("low", "high"), [(0.5, 0.5), (0.6, 0.4), (-0.1, 0.9), (0.1, 1.1)])
def test_saturation_refuses_bad_thresholds(low, high):
    with pytest.raises(ValueError, match="0 ≤ low < high ≤ 1"):
        compare.saturation(np.zeros((2, 2)), low, high)


def test_saturation_table_covers_every_sigmoid_gate_layer_and_direction():
    module = make_module("lstm", 3, 4, layers=2, bidirectional=True)
    tr = trace(module, torch.randn(9, 3))
    table = compare.saturation_table(tr, 0.2, 0.8)
    assert len(table) == 2 * 2 * 3 * 4  # layers × directions × (i f o) × units
    row = table[(table.layer == 1) & (table.direction == "bwd") & (table.gate == "o") & (table.unit == 2)].iloc[0]
    values = tr.get(1, "bwd", "o")[:, 2]
    assert row.left == pytest.approx((values < 0.2).mean())
    assert row.right == pytest.approx((values > 0.8).mean())
    gru = compare.saturation_table(trace(make_module("gru", 3, 4), torch.randn(5, 3)))
    assert sorted(set(gru.gate)) == ["r", "z"]
    assert compare.saturation_table(trace(make_module("rnn", 3, 4), torch.randn(5, 3))).empty


def test_alignment_of_lstm_and_gru_gates():
    x = torch.randn(6, 3)
    lstm, gru, rnn = (trace(make_module(k, 3, 4), x) for k in ("lstm", "gru", "rnn"))
    assert compare.aligned_gate(lstm, "keep")[0] == "f"
    np.testing.assert_array_equal(compare.aligned_gate(lstm, "keep")[1], lstm.get(0, "fwd", "f"))
    np.testing.assert_array_equal(compare.aligned_gate(lstm, "write")[1], lstm.get(0, "fwd", "i"))
    np.testing.assert_array_equal(compare.aligned_gate(gru, "keep")[1], gru.get(0, "fwd", "z"))
    name, write = compare.aligned_gate(gru, "write")
    assert name == "1-z"
    np.testing.assert_allclose(write, 1 - gru.get(0, "fwd", "z"))
    assert compare.aligned_gate(lstm, "out")[0] == "o" and compare.aligned_gate(gru, "out") is None
    assert compare.aligned_gate(gru, "reset")[0] == "r" and compare.aligned_gate(lstm, "reset") is None
    assert all(compare.aligned_gate(rnn, role) is None for role in ("keep", "write", "out", "reset"))
    assert set(compare.ROLES) == {"keep", "write", "out", "reset", "hidden"}


def test_gru_write_gate_is_what_mixes_in_the_candidate():
    # h_t = (1−z)·n + z·h_{t−1}: the write gate 1−z weighs the candidate n
    tr = trace(make_module("gru", 2, 3), torch.randn(5, 2))
    h, n = tr.get(0, "fwd", "h"), tr.get(0, "fwd", "n")
    write = compare.aligned_gate(tr, "write")[1]
    np.testing.assert_allclose(h[1:], write[1:] * n[1:] + (1 - write[1:]) * h[:-1], atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_parameter_counts_equal_sum_of_numel(cell):
    loaded = _task_model("sentiment", cell, bidirectional=cell == "lstm")
    assert compare.parameter_count(loaded) == sum(p.numel() for p in loaded.model.parameters())
    assert compare.parameter_count(loaded, recurrent_only=True) == sum(p.numel() for p in loaded.module.parameters())
    bare = Loaded(module=make_module(cell, 3, 5), spec=RecurrentSpec(cell, 3, 5))
    assert compare.parameter_count(bare) == sum(p.numel() for p in bare.module.parameters())
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    assert compare.parameter_count(bare) == gates * (5 * 3 + 5 * 5 + 2 * 5)


def test_comparison_table():
    models = {"L": _task_model("adding", "lstm"), "G": _task_model("adding", "gru")}
    models["L"].meta = {"extra": {"train_seconds": 42.0, "steps": 3000, "batch_size": 64}}
    table = compare.comparison_table(models, {"G": 1.234})
    assert list(table.columns) == ["L", "G"]
    assert table.loc["gates", "L"].startswith("3") and table.loc["gates", "G"].startswith("2")
    assert table.loc["cell state", "L"].startswith("separate") and table.loc["cell state", "G"] == "combined with h"
    assert table.loc["parameters (whole model)", "G"] == f"{compare.parameter_count(models['G']):,}"
    assert table.loc["training s/epoch (zoo build)", "L"] == "4.2 (300 steps × batch 64)"
    assert table.loc["training s/epoch (zoo build)", "G"] == "—"
    assert table.loc["training s per 20-step epoch (timed here)", "G"] == "1.23"
    assert table.loc["task performance", "L"] == "accuracy 0.5"


def test_time_epoch_trains_a_copy_only():
    loaded = _task_model("adding", "gru", hidden=4)
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    threads = torch.get_num_threads()
    seconds = compare.time_epoch(loaded, steps=3, batch_size=4)
    assert seconds > 0 and torch.get_num_threads() == threads
    for k, v in loaded.model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    with pytest.raises(ValueError, match="no task"):
        compare.time_epoch(Loaded(module=make_module("gru", 1, 3), spec=RecurrentSpec("gru", 1, 3)))


def test_fit_probe_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 4))
    target = features @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    w = compare.fit_probe(features, target, ridge=0.0)
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5, 0.0, 3.0], atol=1e-9)
    assert compare.r_squared(target, target) == 1.0
    assert compare.r_squared(target, np.full_like(target, target.mean())) == pytest.approx(0.0)


def test_memory_probe_on_an_adding_model():
    loaded = _task_model("adding", "lstm", hidden=8)
    probe = compare.memory_probe(loaded, n=200, T=30, bin_width=5, n_gradient=40)
    assert probe.r2 <= 1.0
    assert len(probe.bins) == len(probe.r2_by_distance) == len(probe.counts)
    assert probe.counts.sum() == 100  # the held-out half
    assert probe.bins.min() >= 15 - 5 and probe.bins.max() <= 29  # first marker in the first half
    assert len(probe.sensitivity_by_distance) == len(probe.bins) and (probe.sensitivity_by_distance >= 0).all()
    assert all(p.grad is None for p in loaded.model.parameters())
    states = compare.final_states(loaded, get_task("adding").batch(3, 0, T=30)[0])
    assert states.shape == (3, 16)  # h and c
    with pytest.raises(ValueError, match="adding-problem"):
        compare.memory_probe(_task_model("sentiment", "lstm"))


def test_first_value_gradient_against_a_finite_difference():
    loaded = _task_model("adding", "gru", hidden=5)
    x, _ = get_task("adding").batch(4, 3, T=12)
    first = x[:, :, 1].argmax(1)
    grads = compare.first_value_gradient(loaded, x, first)
    eps = 1e-2
    with torch.no_grad():
        for i in range(4):
            up, down = x[i:i + 1].clone(), x[i:i + 1].clone()
            up[0, first[i], 0] += eps
            down[0, first[i], 0] -= eps
            slope = (loaded.model(up) - loaded.model(down)).item() / (2 * eps)
            assert grads[i] == pytest.approx(abs(slope), rel=2e-2, abs=1e-5)


def test_divergence_and_argmax_by_hand():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    q = np.array([[0.5, 0.5], [0.6, 0.4], [0.9, 0.1], [0.5, 0.5]])
    np.testing.assert_allclose(compare.divergence(p, q, probabilities=True), [0.0, 0.3, 0.7, 0.1])
    a, b = np.array([[1.0], [2.0], [0.5]]), np.array([[1.5], [0.0], [0.5]])
    np.testing.assert_allclose(compare.divergence(a, b, probabilities=False), [0.5, 2.0, 0.0])
    r = np.array([[0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.0, 1.0]])
    curves = compare.pairwise_divergence({"A": p, "B": q, "C": r}, probabilities=True)
    assert list(curves) == ["A vs B", "A vs C", "B vs C"]
    np.testing.assert_allclose(curves["A vs C"], [0.0, 0.4, 0.0, 0.6])
    np.testing.assert_allclose(curves["B vs C"], [0.0, 0.1, 0.7, 0.5])
    assert compare.most_divergent_step(curves) == 2  # 0.7 (A vs B and B vs C) beats 0.6
    with pytest.raises(ValueError, match="same shape"):
        compare.divergence(p, a, probabilities=False)


def test_bidirectional_outputs_are_aligned_by_position():
    module = make_module("lstm", 3, 4, layers=2, bidirectional=True)
    x = torch.randn(7, 3)
    tr = trace(module, x)
    parts = compare.bidirectional_outputs(tr)
    out, _ = module(x)
    np.testing.assert_allclose(parts["concatenated [fwd | bwd]"], out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(parts["summed fwd + bwd"], parts["forward h"] + parts["backward h"])
    # one layer: the backward track at position t has read x_t..x_{T-1}, so at T-1 just one step
    single = make_module("lstm", 3, 4, bidirectional=True)
    tail, _ = single(x[-1:])
    np.testing.assert_allclose(compare.bidirectional_outputs(trace(single, x))["backward h"][-1],
                               tail.detach().numpy()[0, 4:], atol=1e-5)
    with pytest.raises(ValueError, match="one direction"):
        compare.bidirectional_outputs(trace(make_module("gru", 3, 4), x))


def test_sample_inputs_and_stacked_trace():
    loaded = _task_model("sentiment", "gru")
    xs = compare.sample_inputs(loaded, n=3, seed=1, T=6)
    assert xs.shape == (3, 6, 5)
    tr = compare.stacked_trace(loaded.module, xs)
    assert tr.get(0, "fwd", "z").shape == (18, 6)
    np.testing.assert_allclose(tr.get(0, "fwd", "z")[6:12], trace(loaded.module, xs[1]).get(0, "fwd", "z"))
    bare = Loaded(module=make_module("lstm", 2, 3), spec=RecurrentSpec("lstm", 2, 3))
    assert compare.sample_inputs(bare, n=4).shape == (4, 50, 2)
