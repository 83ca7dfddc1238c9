"""Inspector figures: built from the trace's own numbers, the current step marked everywhere."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from lstmviz.equations import fmt
from lstmviz.figures import inspector as figs
from lstmviz.figures.gates import gate_heatmap
from lstmviz.trace import trace

TOKENS = list("ab(c)\nd e")


def _trace(kind: str, **kw):
    torch.manual_seed(0)
    module = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](2, 4, **kw).eval()
    return trace(module, torch.randn(len(TOKENS), 2), tokens=TOKENS)


def _values(fig):
    return next(d for d in fig.data if d.name == "live values")


@pytest.mark.parametrize(("kind", "keys"), [
    ("lstm", ["c_prev", "f", "i", "g", "o", "tanh_c", "c", "h", "h_prev"]),
    ("gru", ["h_prev", "r", "z", "update", "n", "h"]),
    ("rnn", ["h_prev", "a", "h"]),
])
def test_cell_diagram_shows_the_units_values_at_the_step(kind, keys):
    tr = _trace(kind)
    fig = figs.cell_diagram(tr, 0, "fwd", 2, 4)
    live = _values(fig)
    assert [k for k, _ in live.customdata] == keys
    got = dict((k, v) for k, v in live.customdata)
    for gate in tr.gates:
        assert got[gate] == pytest.approx(float(tr.get(0, "fwd", gate)[4, 2]))
        assert any(t.endswith(f"<b>{fmt(got[gate], 3)}</b>") for t in live.text)
    if kind == "lstm":
        assert got["c_prev"] == pytest.approx(float(tr.get(0, "fwd", "c")[3, 2]))
    if kind == "gru":
        assert got["update"] == pytest.approx(1 - got["z"])
        assert any("keep" in t for t in live.text)
    assert "unit 2" in fig.layout.title.text and "step 4: ')'" in fig.layout.title.text
    assert len(set(live.marker.color)) > 1  # coloured by value
    assert not fig.frames


def test_animated_diagram_has_one_frame_per_step_and_a_play_button():
    tr = _trace("lstm")
    fig = figs.cell_diagram(tr, 0, "fwd", 1, 0, animate=True)
    assert len(fig.frames) == tr.steps
    for t, frame in enumerate(fig.frames):
        got = dict((k, v) for k, v in frame.data[0].customdata)
        assert got["f"] == pytest.approx(float(tr.get(0, "fwd", "f")[t, 1]))
        assert frame.traces == (2,) and f"step {t}:" in frame.layout.title.text
    buttons = fig.layout.updatemenus[0].buttons
    assert buttons[0].label.endswith("Play") and buttons[0].method == "animate"
    assert len(fig.layout.sliders[0].steps) == tr.steps


def test_step_heatmap_is_the_gate_with_the_step_outlined():
    tr = _trace("gru", bidirectional=True)
    fig = gate_heatmap(tr, "z", 0, "bwd", step=3)
    np.testing.assert_array_equal(fig.data[0].z, tr.get(0, "bwd", "z").T)
    assert list(fig.data[0].x) == [f"{t}: {tok}" for t, tok in enumerate(TOKENS)]
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (2.5, 3.5)
    assert "keep gate" in fig.layout.title.text and fig.layout.xaxis.title.text == "step: token"
    out = figs.output_heatmap(tr, 0, step=3)
    np.testing.assert_array_equal(out.data[0].z, tr.output(0).T)
    assert out.layout.shapes[0].y1 == 7.5 and "backward (4–7)" in out.layout.title.text


def test_most_variable_units_and_trajectories():
    tr = _trace("lstm")
    c = tr.get(0, "fwd", "c")
    units = figs.most_variable_units(tr, 0, "fwd", "c", k=2)
    assert units[0] == int(np.argmax(c.std(0))) and len(units) == 2
    fig = figs.trajectories(tr, 0, "fwd", [1, 3], step=5)
    assert [d.name for d in fig.data] == ["c unit 1", "h unit 1", "c unit 3", "h unit 3"]
    np.testing.assert_array_equal(fig.data[2].y, c[:, 3])
    assert fig.layout.shapes[0].x0 == 5 and fig.layout.xaxis.title.text == "step"
    assert [d.name for d in figs.trajectories(_trace("gru"), 0, "fwd", [0]).data] == ["h unit 0"]


def test_text_layout_wraps_rows_and_breaks_at_newlines():
    rows, starts, widths = figs.text_layout(list("ab\ncd"), per_row=80)
    assert rows == [0, 0, 0, 1, 1] and starts == [0, 1, 2, 0, 1] and widths == [1] * 5
    rows, starts, widths = figs.text_layout(["the", "film", "was"], per_row=9)
    assert rows == [0, 0, 1] and starts == [0, 4, 0] and widths == [4, 5, 4]


def test_text_view_colours_tokens_by_the_unit_and_outlines_the_step():
    tr = _trace("lstm")
    fig = figs.text_view(tr, 0, "fwd", 2, "c", step=4)
    bar = fig.data[0]
    np.testing.assert_array_equal(bar.marker.color, tr.get(0, "fwd", "c")[:, 2])
    assert list(bar.marker.line.width).index(3) == 4 and sum(bar.marker.line.width) == 3
    assert list(bar.text) == ["a", "b", "(", "c", ")", "↵", "d", "␣", "e"]
    assert list(bar.customdata[:, 0]) == list(range(len(TOKENS)))
    assert "click a token" in fig.layout.title.text


def test_prediction_bars_top_k_or_every_class():
    tr = _trace("rnn")
    probs = np.random.default_rng(0).dirichlet(np.ones(20), size=tr.steps)
    many = replace(tr, predictions=probs, prediction_labels=[f"t{j}" for j in range(20)])
    fig = figs.prediction_bars(many, 2)
    want = np.argsort(-probs[2])[:5]
    assert list(fig.data[0].y) == [f"t{j}" for j in want]
    np.testing.assert_allclose(fig.data[0].x, probs[2][want])
    assert "top 5 next tokens after step 2" in fig.layout.title.text
    two = replace(tr, predictions=probs[:, :2], prediction_labels=["negative", "positive"])
    assert list(figs.prediction_bars(two, 0).data[0].y) == ["negative", "positive"]


def test_forecast_figure_marks_the_step():
    predicted, truth = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, np.nan])
    fig = figs.forecast_figure(predicted, truth, 1, ["a", "b", "c"], "forecast")
    assert [d.name for d in fig.data] == ["model", "truth", "current step"]
    assert list(fig.data[2].x) == [1] and list(fig.data[2].y) == [2.0]
    assert [d.name for d in figs.forecast_figure(predicted, None, 0, ["a", "b", "c"]).data] == \
        ["model", "current step"]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_every_figure_is_valid_plotly(kind):
    """The figures skip plotly's validation for speed: validate them here, frames included."""
    import plotly.graph_objects as go

    tr = _trace(kind, bidirectional=True)
    built = [figs.prediction_bars(replace(tr, predictions=np.full((tr.steps, 3), 1 / 3)), 1),
             figs.forecast_figure(np.zeros(tr.steps), np.ones(tr.steps), 1, tr.tokens),
             figs.cell_diagram(tr, 0, "bwd", 1, 2), figs.cell_diagram(tr, 0, "fwd", 1, 2, animate=True),
             gate_heatmap(tr, tr.gates[0], 0, "fwd", 2), figs.output_heatmap(tr, 0, 2),
             figs.trajectories(tr, 0, "fwd", [0, 1], 2), figs.text_view(tr, 0, "fwd", 1, "h", 2)]
    for fig in built:
        go.Figure(fig.to_dict())
