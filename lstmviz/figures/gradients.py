"""Gradient-flow figures: connectivity maps, loss gradients, the cell highway, decay curves, training.

Pure functions of plain arrays (what `lstmviz.gradients` and `lstmviz.highway` return) that give
plotly Figures and never display. Gradients span many orders of magnitude, so every colour scale
and every y axis is logarithmic: heatmaps plot log10 of the value with a colorbar labelled in
powers of ten, and hovering shows the value itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

CURRENT = "#ff2d55"  # the current step, as in the other figures
DECADES = 12  # heatmap colour scales span at most this many powers of ten below the largest value
_MARGIN = {"l": 60, "r": 10, "t": 50, "b": 50}
_PALETTE = {"lstm": "#1f77b4", "gru": "#2ca02c", "rnn": "#d62728"}


def _log10(values: np.ndarray) -> np.ndarray:
    """log10 of the positive entries, NaN elsewhere (zeros and unreachable pairs show as gaps)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    np.log10(values, out=out, where=values > 0)
    return out


def _labels(tokens: Sequence[str] | None, steps: int) -> np.ndarray:
    """'t: token' per step (or just 't')."""
    return np.array([f"{t}: {tok}" for t, tok in enumerate(tokens)] if tokens is not None
                    else [str(t) for t in range(steps)], dtype=object)


def _check_tokens(tokens: Sequence[str] | None, steps: int) -> None:
    if tokens is not None and len(tokens) != steps:
        raise ValueError(f"there are {len(tokens)} tokens for {steps} steps")


def _power_colorbar(zmin: float, zmax: float, title: str) -> dict:
    """A colorbar for log10 values, ticked at integer powers of ten and labelled 10ⁿ."""
    every = max(1, int(np.ceil((zmax - zmin) / 8)))
    ticks = list(range(int(np.ceil(zmin)), int(np.floor(zmax)) + 1, every)) or [int(np.floor(zmax))]
    return {"title": {"text": title, "side": "right"}, "thickness": 12, "tickvals": ticks,
            "ticktext": [f"10<sup>{k}</sup>" for k in ticks]}


def log_heatmap(values: np.ndarray, title: str, colorbar_title: str, x_title: str, y_title: str,
                x_tokens: Sequence[str] | None = None, y_labels: Sequence[str] | None = None,
                current_step: int | None = None, matrix: bool = True, height: int = 420) -> go.Figure:
    """Heatmap of values [rows, cols] ≥ 0 on a log colour scale: rows along y, columns along x.

    Axes are categories 't: token' (x_tokens label the columns; y_labels the rows, by default
    the row index). matrix=True puts row 0 at the top. The colour scale spans at most DECADES
    powers of ten below the largest value (smaller values take the lowest colour); the hover
    shows the value itself. current_step outlines that row and draws a dotted line at that column.
    """
    values = np.asarray(values, dtype=np.float64)
    rows, cols = values.shape
    z = _log10(values)
    finite = z[np.isfinite(z)]
    zmax = float(np.ceil(finite.max())) if finite.size else 0.0
    zmin = max(float(np.floor(finite.min())), zmax - DECADES) if finite.size else -1.0
    zmin = min(zmin, zmax - 1)
    y_text = [str(r) for r in range(rows)] if y_labels is None else list(y_labels)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(_labels(x_tokens, cols)), y=y_text, zmin=zmin, zmax=zmax, colorscale="Viridis",
        colorbar=_power_colorbar(zmin, zmax, colorbar_title), customdata=values,
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>value: %{{customdata:.3e}}<extra></extra>",
    ))
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=height, margin=_MARGIN,
                      xaxis={"title": {"text": x_title}, "type": "category"},
                      yaxis={"title": {"text": y_title}, "type": "category",
                             "autorange": "reversed" if matrix else True})
    if current_step is not None:
        fig.add_shape(type="rect", x0=-0.5, x1=cols - 0.5, y0=current_step - 0.5, y1=current_step + 0.5,
                      xref="x", yref="y", line={"color": CURRENT, "width": 2}, name="current step")
        fig.add_shape(type="line", x0=current_step, x1=current_step, y0=-0.5, y1=rows - 0.5, xref="x",
                      yref="y", line={"color": CURRENT, "width": 1, "dash": "dot"}, name="current step (source)")
    return fig


def connectivity_heatmap(C: np.ndarray, tokens: Sequence[str] | None = None, current_step: int | None = None,
                         title: str = "Connectivity ‖∂y<sub>t</sub>/∂x<sub>s</sub>‖") -> go.Figure:
    """C [T, T]: target step t down the y axis, source step s along x, log colour; row t outlined."""
    _check_tokens(tokens, C.shape[0])
    return log_heatmap(C, title, "‖∂y/∂x‖", "source step s", "target step t", tokens,
                       list(_labels(tokens, C.shape[0])), current_step)


def highway_heatmap(M: np.ndarray, label: str, tokens: Sequence[str] | None = None,
                    current_step: int | None = None, title: str = "The cell highway") -> go.Figure:
    """The highway matrix M [T, T] from `lstmviz.highway.highway`; `label` says what it measures."""
    _check_tokens(tokens, M.shape[0])
    return log_heatmap(M, f"{title}: {label}", "gain", "source step s", "target step t", tokens,
                       list(_labels(tokens, M.shape[0])), current_step)


def highway_units_heatmap(units: np.ndarray, target: int, label: str, tokens: Sequence[str] | None = None
                          ) -> go.Figure:
    """Per unit for one target step: units [T, H] from `highway_units`, source step along x.

    label: what the values are (`lstmviz.highway.UNIT_LABELS[kind]`).
    """
    _check_tokens(tokens, units.shape[0])
    fig = log_heatmap(units.T, f"Per unit, into step {target}: {label}", "gain", "source step s", "unit",
                      tokens, matrix=False, height=300)
    fig.add_shape(type="line", x0=target, x1=target, y0=-0.5, y1=units.shape[1] - 0.5, xref="x", yref="y",
                  line={"color": CURRENT, "width": 2}, name="current step")
    return fig


def _colour(label: str) -> str | None:
    """The architecture's colour for labels like "LSTM", "GRU trained", "RNN (init)"."""
    words = label.split()
    return _PALETTE.get(words[0].lower()) if words else None


def _positive(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(values > 0, values, np.nan)


def _log_lines(title: str, x_title: str, y_title: str, height: int = 360) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=height, margin=_MARGIN,
                      xaxis={"title": {"text": x_title}},
                      yaxis={"title": {"text": y_title}, "type": "log", "exponentformat": "power"})
    return fig


def _mark_step(fig: go.Figure, step: int | None) -> None:
    if step is not None:
        fig.add_vline(x=step, line={"color": CURRENT, "width": 2}, name="current step")


def highway_lines(curves: dict[str, np.ndarray], target: int, tokens: Sequence[str] | None = None
                  ) -> go.Figure:
    """One line per architecture: the highway into step `target` from every source step s.

    curves: {label: [T]} (e.g. rows M[target] of each architecture's `highway`), log y;
    labels starting with LSTM, GRU or RNN get the same colours as in `decay_figure`.
    """
    fig = _log_lines(f"What survives to step {target}, by source step", "source step s", "gain")
    for label, values in curves.items():
        _check_tokens(tokens, len(values))
        fig.add_trace(go.Scatter(x=np.arange(len(values)), y=_positive(values), mode="lines", name=label,
                                 line={"color": _colour(label)}, customdata=_labels(tokens, len(values)),
                                 hovertemplate="source %{customdata}<br>%{y:.3e}<extra>" + label + "</extra>"))
    _mark_step(fig, target)
    return fig


def loss_gradient_figure(grads: dict[str, np.ndarray], tokens: Sequence[str] | None = None,
                         current_step: int | None = None) -> go.Figure:
    """‖∂L/∂h_s‖ (solid) and ‖∂L/∂c_s‖ (dashed) against s, one line per layer and direction, log y.

    grads: {"layer{l}.{dir}.{h|c}": [T]} as `lstmviz.gradients.loss_gradients` returns it.
    """
    fig = _log_lines("Loss gradient over time ‖∂L/∂h<sub>s</sub>‖, ‖∂L/∂c<sub>s</sub>‖", "step s",
                     "gradient norm")
    for name, values in grads.items():
        _check_tokens(tokens, len(values))
        layer, direction, state = name.split(".")
        label = f"∂L/∂{state} · {layer} {direction}"
        fig.add_trace(go.Scatter(x=np.arange(len(values)), y=_positive(values), mode="lines", name=label,
                                 line={"dash": "dash" if state == "c" else "solid"},
                                 customdata=_labels(tokens, len(values)),
                                 hovertemplate="step %{customdata}<br>%{y:.3e}<extra>" + label + "</extra>"))
    _mark_step(fig, current_step)
    return fig


def decay_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], distances: dict[str, int | None],
                 fraction: float = 0.01) -> go.Figure:
    """Mean connectivity against distance t − s, one line per architecture, log y.

    curves: {label: (distances, mean)} from `decay_curve`; distances: {label: decay_distance(...)}.
    The legend gives each line's distance to `fraction` of its start, also marked on the line.
    """
    percent = f"{fraction * 100:g}%"
    fig = _log_lines("Decay: mean connectivity against distance", "distance t − s (steps)", "mean ‖∂y/∂x‖")
    for label, (d, mean) in curves.items():
        reach = distances.get(label)
        colour = _colour(label)
        summary = f"{percent} at {reach}" if reach is not None else f"stays above {percent} within T"
        fig.add_trace(go.Scatter(x=d, y=_positive(mean), mode="lines", name=f"{label} ({summary})",
                                 line={"color": colour}, legendgroup=label,
                                 hovertemplate="distance %{x}<br>%{y:.3e}<extra>" + label + "</extra>"))
        if reach is not None:
            fig.add_trace(go.Scatter(x=[reach], y=[mean[reach]], mode="markers", legendgroup=label,
                                     showlegend=False, marker={"color": colour, "size": 9, "symbol": "x"},
                                     hovertemplate=f"{label}: below {percent} at distance {reach}<extra></extra>"))
    return fig


def training_gradient_heatmap(history: np.ndarray, tokens: Sequence[str] | None = None) -> go.Figure:
    """The training view: history [epochs, T] from `GradientRecorder`, epoch up the y axis, log colour."""
    _check_tokens(tokens, history.shape[1])
    return log_heatmap(history, "‖∂L/∂h<sub>s</sub>‖ of the top layer, epoch by epoch", "‖∂L/∂h‖", "step s",
                       "epoch", tokens, [f"epoch {e + 1}" for e in range(history.shape[0])], matrix=False,
                       height=320)
