"""Figures for comparing cells: aligned heatmaps, saturation scatter, divergence, memory probe.

Pure functions returning plotly Figures; they never display. Heatmaps are steps (x) × units (y) with the
current step outlined, like `lstmviz.figures.gates`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstmviz.compare import Probe
from lstmviz.figures.gates import mark_step

_MARGIN = {"l": 50, "r": 10, "t": 40, "b": 40}
# a saturation scatter shows the user's input and the task sample in these colours
SOURCE_COLOURS = {"your input": "#1f77b4", "task sample": "#ff7f0e"}
_SCATTER_NAMES = {"z": "z (PyTorch keep)"}
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c"]


def step_axis(tokens: list[str]) -> list[str]:
    """Category labels 't: token' (unique even when tokens repeat)."""
    return [f"{t}: {tok}" for t, tok in enumerate(tokens)]


def aligned_heatmap(values: np.ndarray, tokens: list[str], title: str, step: int | None = None,
                    zrange: tuple[float, float] | None = (0.0, 1.0), height: int = 240) -> go.Figure:
    """Heatmap of one gate or state, values [T, units], steps along x, current step outlined.

    zrange None: symmetric around 0 (for h and other signed values).
    """
    if zrange is None:
        bound = float(np.abs(values).max()) if values.size else 1.0
        zrange = (-(bound or 1.0), bound or 1.0)
    fig = go.Figure(go.Heatmap(
        z=values.T, x=step_axis(tokens), y=list(range(values.shape[1])), zmin=zrange[0], zmax=zrange[1],
        colorscale="Viridis" if zrange[0] == 0 else "RdBu_r", colorbar={"thickness": 10},
        hovertemplate="step %{x}<br>unit %{y}<br>value %{z:.4f}<extra></extra>",
    ))
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=height, margin=_MARGIN,
                      xaxis={"title": "step: token", "type": "category"}, yaxis={"title": "unit"})
    if step is not None:
        mark_step(fig, step, values.shape[1])
    return fig


def saturation_scatter(tables: dict[str, pd.DataFrame], title: str, low: float, high: float) -> go.Figure:
    """Karpathy-style saturation scatter: one subplot per (layer, direction) row × gate column; each point
    is a unit at (fraction of steps < low, fraction > high). tables: {source: `saturation_table` frame}."""
    frames = [t for t in tables.values() if not t.empty]
    if not frames:
        return _empty(title, "this cell has no sigmoid gates")
    both = pd.concat(frames)
    rows = sorted({(int(r.layer), r.direction) for r in both.itertuples()})
    gates = list(dict.fromkeys(both.gate))
    names = [f"layer {layer} {d} · {_SCATTER_NAMES.get(g, g)}" for layer, d in rows for g in gates]
    fig = make_subplots(rows=len(rows), cols=len(gates), subplot_titles=names, shared_xaxes=True,
                        shared_yaxes=True, horizontal_spacing=0.04, vertical_spacing=0.12)
    for source, table in tables.items():
        for r, (layer, direction) in enumerate(rows):
            for c, gate in enumerate(gates):
                part = table[(table.layer == layer) & (table.direction == direction) & (table.gate == gate)]
                fig.add_trace(go.Scatter(
                    x=part.left, y=part.right, mode="markers", name=source, legendgroup=source,
                    showlegend=r == 0 and c == 0, customdata=part.unit,
                    marker={"color": SOURCE_COLOURS.get(source), "size": 6, "opacity": 0.7},
                    hovertemplate=f"{source} · {gate} unit %{{customdata}}<br>< {low:g}: %{{x:.0%}}<br>"
                                  f"> {high:g}: %{{y:.0%}}<extra></extra>",
                ), row=r + 1, col=c + 1)
                fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", showlegend=False, hoverinfo="skip",
                                         line={"color": "#bbb", "width": 1, "dash": "dot"}), row=r + 1, col=c + 1)
    fig.update_xaxes(range=[-0.03, 1.03], title_text=f"fraction < {low:g}", row=len(rows))
    fig.update_yaxes(range=[-0.03, 1.03], title_text=f"fraction > {high:g}", col=1)
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=110 + 250 * len(rows),
                      margin={**_MARGIN, "t": 80},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "xanchor": "right", "x": 1})
    return fig


def divergence_figure(curves: dict[str, np.ndarray], tokens: list[str], step: int | None, peak: int,
                      probabilities: bool) -> go.Figure:
    """Per-step disagreement of every pair of models (lines), the current step and the peak marked."""
    x = step_axis(tokens)
    fig = go.Figure([go.Scatter(x=x, y=values, mode="lines+markers", name=pair, marker={"size": 4})
                     for pair, values in curves.items()])
    label = "total variation ½Σ|p−q|" if probabilities else "|difference| of predictions"
    if step is not None:
        fig.add_shape(type="line", x0=step, x1=step, y0=0, y1=1, xref="x", yref="paper",
                      line={"color": "#ff2d55", "width": 2}, name="current step")
    top = max(float(v[peak]) for v in curves.values())
    fig.add_trace(go.Scatter(x=[x[peak]], y=[top], mode="markers", name="most divergent step",
                             marker={"symbol": "star", "size": 14, "color": "#ff2d55"}))
    fig.update_layout(title={"text": f"Where the models disagree · {label}", "font": {"size": 13}}, height=300,
                      margin=_MARGIN, xaxis={"title": "step: token", "type": "category"},
                      yaxis={"title": label, "rangemode": "tozero"})
    return fig


def probe_figure(probes: dict[str, Probe]) -> go.Figure:
    """Memory of the first marked value against its distance from the end: left, held-out R² of a linear
    probe of the last-step state; right, the model's connectivity |∂ŷ/∂v_first| (log scale; 1 is ideal)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=[
        "linear probe of the last state: R² (held out)", "connectivity |∂ŷ/∂v_first| (ideal: 1)"])
    for k, (name, probe) in enumerate(probes.items()):
        colour = _PALETTE[k % len(_PALETTE)]
        fig.add_trace(go.Scatter(
            x=probe.bins, y=probe.r2_by_distance, mode="lines+markers", name=f"{name} (all: R² {probe.r2:.2f})",
            legendgroup=name, customdata=probe.counts, line={"color": colour},
            hovertemplate="distance %{x}+ steps<br>R² %{y:.3f}<br>%{customdata} sequences<extra></extra>",
        ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=probe.bins, y=probe.sensitivity_by_distance, mode="lines+markers", name=name, legendgroup=name,
            showlegend=False, line={"color": colour, "dash": "dot"},
            hovertemplate="distance %{x}+ steps<br>|∂ŷ/∂v| %{y:.3g}<extra></extra>",
        ), row=1, col=2)
    fig.update_xaxes(title_text="steps from the first marker to the end")
    fig.update_yaxes(title_text="R²", range=[-0.1, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="|∂ŷ/∂v_first|", type="log", exponentformat="power", row=1, col=2)
    fig.update_layout(title={"text": "Memory of the first marked value", "font": {"size": 13}}, height=360,
                      margin={**_MARGIN, "t": 80})
    return fig


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=160, margin=_MARGIN,
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig
