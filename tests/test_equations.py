"""The equations with live numbers: every number printed is the trace's, and the arithmetic holds."""

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from lstmviz.equations import as_latex, equations, fmt, unit_values
from lstmviz.trace import trace

NUMBER = re.compile(r"-?\d+\.\d+")


def _module(kind: str, **kw) -> nn.RNNBase:
    torch.manual_seed(0)
    return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](2, 3, **kw).eval()


def _trace(kind: str, **kw):
    torch.manual_seed(1)
    return trace(_module(kind, **kw), torch.randn(6, 2))


def test_hand_computed_lstm_step():
    """One unit, zero weights: i = o = σ(0) = 0.5, f = σ(ln 3) = 0.75, g = tanh(atanh 0.5) = 0.5."""
    module = nn.LSTM(1, 1)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
        module.bias_ih_l0.copy_(torch.tensor([0.0, math.log(3), math.atanh(0.5), 0.0]))
    tr = trace(module, torch.zeros(2, 1))
    rows = {row.name: row for row in equations(tr, 0, "fwd", 0, 1)}
    assert rows["cell update"].numbers == "= 0.7500 \\cdot 0.2500 + 0.5000 \\cdot 0.5000 = 0.4375"
    assert rows["forget gate"].numbers == "= \\sigma(1.0986) = 0.7500"
    assert rows["hidden state"].value == pytest.approx(0.5 * math.tanh(0.4375), abs=1e-6)
    assert rows["hidden state"].numbers.endswith(f"= {fmt(0.5 * math.tanh(0.4375))}")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_every_value_is_the_traces_and_the_arithmetic_holds(kind, direction):
    tr = _trace(kind, num_layers=2, bidirectional=True)
    for layer in (0, 1):
        for step in range(tr.steps):
            for unit in range(3):
                v = unit_values(tr, layer, direction, unit, step)
                for gate in tr.gates:
                    assert v[gate] == tr.get(layer, direction, gate)[step, unit]
                rows = equations(tr, layer, direction, unit, step)
                for row in rows:
                    last = NUMBER.findall(row.numbers.split(",")[0])[-1]
                    assert float(last) == pytest.approx(row.value, abs=6e-5), row
                if kind == "lstm":
                    assert v["f"] * v["c_prev"] + v["i"] * v["g"] == pytest.approx(v["c"], abs=1e-5)
                    assert v["o"] * math.tanh(v["c"]) == pytest.approx(v["h"], abs=1e-5)
                if kind == "gru":
                    assert (1 - v["z"]) * v["n"] + v["z"] * v["h_prev"] == pytest.approx(v["h"], abs=1e-5)
                if kind == "rnn":
                    assert math.tanh(v["a"]) == pytest.approx(v["h"], abs=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recovered_pre_activations_give_back_the_gate(kind):
    tr = _trace(kind)
    for row in equations(tr, 0, "fwd", 1, 3):
        match = re.search(r"\\sigma\((-?\d+\.\d+)\)", row.numbers)
        if match:
            assert 1 / (1 + math.exp(-float(match.group(1)))) == pytest.approx(row.value, abs=1e-4)


def test_previous_state_is_zero_before_the_first_step_in_each_direction():
    tr = _trace("lstm", bidirectional=True)
    last = tr.steps - 1
    assert unit_values(tr, 0, "fwd", 0, 0)["c_prev"] == 0.0
    assert unit_values(tr, 0, "bwd", 0, last)["c_prev"] == 0.0
    assert unit_values(tr, 0, "fwd", 0, 2)["c_prev"] == tr.get(0, "fwd", "c")[1, 0]
    assert unit_values(tr, 0, "bwd", 0, 2)["c_prev"] == tr.get(0, "bwd", "c")[3, 0]
    assert "c_{t+1}" in equations(tr, 0, "bwd", 0, 2)[3].formula
    assert "c_{t-1}" in equations(tr, 0, "fwd", 0, 2)[3].formula


def test_gru_says_which_convention():
    rows = equations(_trace("gru"), 0, "fwd", 0, 2)
    keep = rows[1]
    assert "keep" in keep.name and "1 − z" in keep.name
    z = keep.value
    assert f"1 - z_t = {fmt(1 - z)}" in keep.numbers
    assert rows[3].formula.startswith("h_t = (1 - z_t) \\odot n_t + z_t")


def test_saturated_gate_drops_the_pre_activation():
    module = nn.LSTM(1, 1)
    with torch.no_grad():
        module.bias_ih_l0.fill_(40.0)
    tr = trace(module, torch.zeros(2, 1))
    forget = equations(tr, 0, "fwd", 0, 1)[1]
    assert forget.numbers == "= 1.0000"


def test_relu_rnn_and_projection():
    torch.manual_seed(0)
    tr = trace(nn.RNN(1, 2, nonlinearity="relu"), torch.randn(4, 1))
    assert "relu" in equations(tr, 0, "fwd", 0, 1)[1].formula
    tr = trace(nn.LSTM(1, 4, proj_size=2), torch.randn(4, 1))
    assert np.isnan(unit_values(tr, 0, "fwd", 3, 1)["h"])
    assert "W_{hr}" in equations(tr, 0, "fwd", 3, 1)[-1].formula


def test_as_latex_is_one_aligned_block_and_bad_step_is_refused():
    tr = _trace("rnn")
    block = as_latex(equations(tr, 0, "fwd", 0, 0))
    assert block.startswith("\\small\\begin{aligned}") and block.count("&=") == 4
    with pytest.raises(IndexError, match="step 6 is outside the sequence"):
        unit_values(tr, 0, "fwd", 0, 6)
