"""Training curves: loss and the task's metric against optimiser steps, one figure per model.

Pure: the input is plain numbers (what `lstmviz.train` reports), the output a plotly Figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 400  # a long run is thinned to about this many points per line


def _thin(values: Sequence, every: int) -> list:
    """Every `every`-th value, always ending with the last one."""
    out = list(values[::every])
    if values and (len(values) - 1) % every:
        out.append(values[-1])
    return out


def training_curves(title: str, steps: Sequence[int], losses: Sequence[float], metrics: Sequence[float],
                    metric_name: str, epoch_steps: Sequence[int] = (), epoch_losses: Sequence[float] = (),
                    epoch_metrics: Sequence[float] = ()) -> go.Figure:
    """Two panels sharing the step axis: loss (left) and `metric_name` (right).

    steps/losses/metrics hold one value per optimiser step (thin lines, thinned to ≤ MAX_POINTS);
    epoch_* hold the means over each epoch, drawn as markers at the epoch's last step.
    """
    if not len(steps) == len(losses) == len(metrics):
        raise ValueError(f"steps, losses and metrics differ in length: {len(steps)}, {len(losses)}, {len(metrics)}")
    if not len(epoch_steps) == len(epoch_losses) == len(epoch_metrics):
        raise ValueError("epoch_steps, epoch_losses and epoch_metrics differ in length")
    every = max(1, -(-len(steps) // MAX_POINTS))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", metric_name), horizontal_spacing=0.12)
    x = _thin(steps, every)
    for col, (values, means) in enumerate(((losses, epoch_losses), (metrics, epoch_metrics)), start=1):
        name = "loss" if col == 1 else metric_name
        fig.add_trace(go.Scatter(x=x, y=_thin(values, every), mode="lines", name=f"{name} per step",
                                 line={"width": 1}, showlegend=False), row=1, col=col)
        fig.add_trace(go.Scatter(x=list(epoch_steps), y=list(means), mode="markers", name=f"{name}, epoch mean",
                                 marker={"size": 7}, showlegend=False), row=1, col=col)
        fig.update_xaxes(title_text="step", row=1, col=col)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text=metric_name, row=1, col=2)
    fig.update_layout(title={"text": title}, height=300, margin={"t": 70, "b": 40, "l": 50, "r": 20})
    return fig
