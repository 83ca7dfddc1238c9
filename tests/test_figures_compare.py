"""lstmviz.figures.compare: what each figure holds (data, shapes, axis titles), checked without a browser."""

import numpy as np
import pandas as pd
import torch
from conftest import make_module

from lstmviz import compare, trace
from lstmviz.figures import compare as figs


def test_aligned_heatmap_marks_the_step():
    values = np.arange(12, dtype=float).reshape(4, 3) / 12  # [T=4, units=3]
    fig = figs.aligned_heatmap(values, ["a", "b", "a", "c"], "keep", step=2)
    heat = fig.data[0]
    np.testing.assert_array_equal(heat.z, values.T)
    assert list(heat.x) == ["0: a", "1: b", "2: a", "3: c"]
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    (shape,) = fig.layout.shapes
    assert (shape.x0, shape.x1, shape.y1) == (1.5, 2.5, 2.5)
    assert fig.layout.xaxis.title.text == "step: token"
    signed = figs.aligned_heatmap(-2 * values, list("abcd"), "h", zrange=None)
    assert (signed.data[0].zmin, signed.data[0].zmax) == (-2 * values.max(), 2 * values.max())
    assert not signed.layout.shapes


def test_saturation_scatter_has_a_subplot_per_layer_direction_and_gate():
    tr = trace(make_module("lstm", 2, 3, layers=2), torch.randn(8, 2))
    table = compare.saturation_table(tr)
    sample = compare.saturation_table(trace(make_module("lstm", 2, 3, layers=2), torch.randn(20, 2)))
    fig = figs.saturation_scatter({"your input": table, "task sample": sample}, "LSTM", 0.1, 0.9)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"layer {layer} fwd · {g}" for layer in (0, 1) for g in "ifo"]
    points = [d for d in fig.data if d.mode == "markers"]
    assert len(points) == 2 * 6 and {d.name for d in points} == {"your input", "task sample"}
    first = points[0]
    expected = table[(table.layer == 0) & (table.gate == "i")]
    np.testing.assert_allclose(first.x, expected.left)
    np.testing.assert_allclose(first.y, expected.right)
    assert fig.layout.xaxis4.title.text == "fraction < 0.1" and fig.layout.yaxis.title.text == "fraction > 0.9"
    gru = compare.saturation_table(trace(make_module("gru", 2, 3), torch.randn(4, 2)))
    gru_titles = [a.text for a in figs.saturation_scatter({"your input": gru}, "GRU", 0.1, 0.9).layout.annotations]
    assert gru_titles == ["layer 0 fwd · r", "layer 0 fwd · z (PyTorch keep)"]
    empty = figs.saturation_scatter({"your input": pd.DataFrame(columns=["gate"])}, "RNN", 0.1, 0.9)
    assert "no sigmoid gates" in empty.layout.annotations[0].text


def test_divergence_figure_marks_peak_and_step():
    curves = {"A vs B": np.array([0.0, 0.3, 0.7, 0.1]), "A vs C": np.array([0.0, 0.4, 0.0, 0.6])}
    fig = figs.divergence_figure(curves, list("wxyz"), step=1, peak=2, probabilities=True)
    assert [d.name for d in fig.data] == ["A vs B", "A vs C", "most divergent step"]
    assert list(fig.data[2].x) == ["2: y"] and fig.data[2].y[0] == 0.7
    assert fig.layout.shapes[0].x0 == 1
    assert "total variation" in fig.layout.yaxis.title.text


def test_probe_figure():
    probe = compare.Probe(r2=0.8, bins=np.array([50, 60]), r2_by_distance=np.array([0.9, 0.7]),
                          counts=np.array([10, 12]), sensitivity_by_distance=np.array([0.9, 0.01]))
    fig = figs.probe_figure({"LSTM": probe})
    assert fig.data[0].name == "LSTM (all: R² 0.80)"
    np.testing.assert_array_equal(fig.data[0].y, [0.9, 0.7])
    np.testing.assert_array_equal(fig.data[1].y, [0.9, 0.01])
    assert fig.layout.xaxis.title.text == "steps from the first marker to the end"
    assert fig.layout.yaxis2.type == "log"
