"""Gradient figures: the expected traces, log scales, axis titles and the current-step marker."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from lstmviz import trace
from lstmviz.figures.gradients import (
    connectivity_heatmap,
    decay_figure,
    highway_heatmap,
    highway_lines,
    highway_units_heatmap,
    loss_gradient_figure,
    training_gradient_heatmap,
)
from lstmviz.gradients import connectivity, decay_curve, decay_distance, loss_gradients
from lstmviz.highway import HIGHWAY_LABELS, UNIT_LABELS, highway, highway_units

TOKENS = ["a", "b", "a", "c", "d", "e"]


@pytest.fixture(scope="module")
def lstm():
    torch.manual_seed(0)
    module = torch.nn.LSTM(2, 3, num_layers=2).eval()
    return module, torch.randn(len(TOKENS), 2)


def titles(fig: go.Figure) -> tuple[str, str]:
    return fig.layout.xaxis.title.text, fig.layout.yaxis.title.text


def marker_shapes(fig: go.Figure) -> list:
    return [s for s in fig.layout.shapes if (s.name or "").startswith("current step")]


def test_connectivity_heatmap_is_log_scaled_with_hover_and_marker(lstm):
    C = connectivity(*lstm)
    fig = connectivity_heatmap(C, TOKENS, current_step=3)
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    lower = np.tril(np.ones_like(C, dtype=bool))
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float)[lower], np.log10(C[lower].astype(float)))
    assert np.all(np.isnan(np.asarray(heat.z, dtype=float)[~lower]))  # zeros are gaps, not -inf
    np.testing.assert_array_equal(np.asarray(heat.customdata, dtype=float), C)
    ticks = heat.colorbar.tickvals
    assert list(ticks) == [int(t) for t in ticks] and heat.zmin <= min(ticks) <= max(ticks) <= heat.zmax
    assert all(text == f"10<sup>{t}</sup>" for t, text in zip(ticks, heat.colorbar.ticktext, strict=True))
    assert list(heat.x) == [f"{t}: {tok}" for t, tok in enumerate(TOKENS)]
    for word in ("target step", "source step", "value"):
        assert word in heat.hovertemplate
    assert titles(fig) == ("source step s", "target step t")
    row, column = marker_shapes(fig)
    assert (row.y0, row.y1) == (2.5, 3.5) and (column.x0, column.x1) == (3, 3)
    assert not marker_shapes(connectivity_heatmap(C))


def test_heatmap_colour_range_is_capped_in_decades():
    C = np.tril(10.0 ** -np.subtract.outer(np.arange(40), np.arange(40)))  # down to 1e-39
    heat = connectivity_heatmap(C).data[0]
    assert heat.zmax == 0 and heat.zmin == -12


def test_loss_gradient_lines_per_layer_and_state(lstm):
    grads = loss_gradients(*lstm)
    fig = loss_gradient_figure(grads, TOKENS, current_step=2)
    assert [t.name for t in fig.data] == ["∂L/∂h · layer0 fwd", "∂L/∂c · layer0 fwd",
                                          "∂L/∂h · layer1 fwd", "∂L/∂c · layer1 fwd"]
    assert [t.line.dash for t in fig.data] == ["solid", "dash"] * 2
    np.testing.assert_allclose(fig.data[2].y, grads["layer1.fwd.h"])
    assert fig.layout.yaxis.type == "log"
    assert titles(fig) == ("step s", "gradient norm")
    assert [s.x0 for s in marker_shapes(fig)] == [2]


def test_highway_figures(lstm):
    module, x = lstm
    tr = trace(module, x, tokens=TOKENS)
    M = highway(tr, layer=1)
    heat = highway_heatmap(M, HIGHWAY_LABELS["lstm"], TOKENS, current_step=4)
    assert "∏ f_k" in heat.layout.title.text and len(marker_shapes(heat)) == 2
    assert titles(heat) == ("source step s", "target step t")
    units = highway_units(tr, 4, layer=1)
    per_unit = highway_units_heatmap(units, 4, UNIT_LABELS["lstm"], TOKENS)
    assert np.asarray(per_unit.data[0].z).shape == (3, len(TOKENS))
    assert titles(per_unit) == ("source step s", "unit") and marker_shapes(per_unit)[0].x0 == 4
    lines = highway_lines({"LSTM": M[4], "GRU": M[4] / 2}, 4, TOKENS)
    assert [t.name for t in lines.data] == ["LSTM", "GRU"] and lines.layout.yaxis.type == "log"
    assert lines.data[0].line.color != lines.data[1].line.color
    assert np.isnan(lines.data[0].y[5])  # s > t: unreachable, not plotted
    assert titles(lines) == ("source step s", "gain")


def test_decay_figure_names_the_distance():
    lags = np.subtract.outer(np.arange(20), np.arange(20))
    fast = np.where(lags >= 0, 0.5 ** lags.clip(0), 0.0)
    curves = {"LSTM": decay_curve(fast), "RNN": decay_curve(np.tril(np.ones((20, 20))))}
    fig = decay_figure(curves, {k: decay_distance(v) for k, v in curves.items()})
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["LSTM (1% at 7)", "RNN (stays above 1% within T)"]
    (mark,) = [t for t in fig.data if t.mode == "markers"]
    assert list(mark.x) == [7]
    assert fig.layout.yaxis.type == "log" and titles(fig) == ("distance t − s (steps)", "mean ‖∂y/∂x‖")


def test_training_heatmap_has_epochs_up_the_y_axis():
    history = np.abs(np.random.default_rng(0).normal(size=(3, 6))) + 1e-3
    fig = training_gradient_heatmap(history, TOKENS)
    (heat,) = fig.data
    assert list(heat.y) == ["epoch 1", "epoch 2", "epoch 3"] and titles(fig) == ("step s", "epoch")
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), np.log10(history))


def test_figures_are_deterministic_and_check_tokens(lstm):
    C = connectivity(*lstm)
    assert connectivity_heatmap(C, TOKENS, 1).to_json() == connectivity_heatmap(C, TOKENS, 1).to_json()
    with pytest.raises(ValueError, match="there are 2 tokens for 6 steps"):
        connectivity_heatmap(C, ["a", "b"])
