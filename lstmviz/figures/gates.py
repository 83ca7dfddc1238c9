"""Gate figures: pure functions of a Trace that return plotly Figures (they never display)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lstmviz.trace import Trace

GATE_TITLES = {
    "i": "input gate i", "f": "forget gate f", "g": "candidate g (C̃)", "o": "output gate o",
    "c": "cell state c", "h": "hidden state h",
    "r": "reset gate r", "z": "keep gate z (PyTorch; textbook update = 1−z)", "n": "candidate n",
    "a": "pre-activation a",
}
CURRENT = "#ff2d55"  # the current step, in every figure
_NO_TEMPLATE = {"layout": {}}
# sigmoid gates live in [0, 1]; tanh values in [-1, 1]; c, a and relu h are unbounded
_RANGES = {"i": (0, 1), "f": (0, 1), "o": (0, 1), "r": (0, 1), "z": (0, 1), "g": (-1, 1), "n": (-1, 1)}


def value_range(trace: Trace, gate: str, values: np.ndarray) -> tuple[float, float]:
    """The colour range for a gate: its natural range, or symmetric around 0 for unbounded values."""
    if gate in _RANGES:
        return _RANGES[gate]
    if gate == "h" and not (trace.kind == "rnn" and trace.nonlinearity == "relu") and trace.proj_size == 0:
        return (-1, 1)
    bound = float(np.abs(values).max()) if values.size else 1.0
    return (-bound or -1.0, bound or 1.0)


def step_labels(trace: Trace) -> list[str]:
    """Axis labels for the steps: 't: token', unique even when tokens repeat."""
    return [f"{t}: {tok}" for t, tok in enumerate(trace.tokens)]


def lean_figure(spec: dict) -> go.Figure:
    """A Figure from a plain dict, skipping plotly's per-property validation and default template.

    Validation costs about 5 ms per figure, and the step views redraw several figures on every step
    change (the budget is 100 ms); the tests validate every figure these functions return. Streamlit's
    theme styles the chart in the browser; a standalone HTML export gets plotly.js's defaults.
    """
    spec["layout"].setdefault("template", _NO_TEMPLATE)
    return go.Figure(spec, _validate=False)


def strings(items: list[str]) -> np.ndarray:
    """Labels as a fixed-width numpy array: copied in one piece where plotly deep-copies a figure."""
    return np.asarray(items, dtype=str)


def gate_heatmap(trace: Trace, gate: str, layer: int = 0, direction: str = "fwd", step: int | None = None,
                 height: int = 250) -> go.Figure:
    """Heatmap of one gate over steps (x, labelled 't: token') × units (y), the current step outlined.

    Lean on purpose (no per-cell hover data beyond step, unit and value): it is redrawn on every
    step change, T·units cells.
    """
    values = trace.get(layer, direction, gate)  # [T, units]
    lo, hi = value_range(trace, gate, values)
    layout = {
        "title": {"text": f"{GATE_TITLES.get(gate, gate)} · layer {layer} {direction}", "font": {"size": 14}},
        "height": height, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "step: token"}, "type": "category"}, "yaxis": {"title": {"text": "unit"}},
    }
    if step is not None:
        layout["shapes"] = [step_outline(step, values.shape[1])]
    return lean_figure({"data": [{
        "type": "heatmap", "z": values.T, "x": strings(step_labels(trace)), "zmin": lo, "zmax": hi,
        "colorscale": "Viridis" if lo == 0 else "RdBu_r", "colorbar": {"thickness": 10},
        "hovertemplate": "step %{x}<br>unit %{y}<br>" + gate + " = %{z:.6f}<extra></extra>",
    }], "layout": layout})


def step_outline(step: int, units: int) -> dict:
    """The shape outlining column `step` of a steps × units heatmap (category x axis)."""
    return {"type": "rect", "x0": step - 0.5, "x1": step + 0.5, "y0": -0.5, "y1": units - 0.5, "xref": "x",
            "yref": "y", "name": "current step", "line": {"color": CURRENT, "width": 2}}


def mark_step(fig: go.Figure, step: int, units: int) -> None:
    """Outline column `step` of a steps × units heatmap (category x axis)."""
    fig.add_shape(**step_outline(step, units))


def all_gate_heatmaps(trace: Trace, layer: int = 0, direction: str = "fwd", step: int | None = None
                      ) -> list[go.Figure]:
    """One heatmap per gate and state of the kind, in the order of `trace.gates`."""
    return [gate_heatmap(trace, g, layer, direction, step) for g in trace.gates]
