"""Inspector figures: pure functions of a Trace that return plotly Figures (they never display).

- `cell_diagram`: the LSTM / GRU / RNN cell drawn with one unit's live values at one step
  (optionally with Plotly animation frames for every step, played in the browser);
- `trajectories` of c and h over steps for chosen units, `most_variable_units` to suggest some;
- `text_view`: the input tokens, each coloured by one unit's value, the current step outlined;
- `prediction_bars` (top-k tokens or class probabilities) and `forecast_figure` (regression).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from lstmviz.equations import fmt, unit_values
from lstmviz.figures.gates import CURRENT, GATE_TITLES, gate_heatmap, lean_figure, strings, value_range
from lstmviz.trace import Trace

_LINE = "#8a8a8a"

# Each diagram: value boxes (key, label, x, y), operators (symbol, x, y) and wires (polylines).
# Keys are unit_values() keys plus a few derived ones ("tanh_c", "keep", "update").
_DIAGRAMS = {
    "lstm": {
        "boxes": [("c_prev", "c<sub>t−1</sub>", 0.6, 5.0), ("f", "f<sub>t</sub> forget", 2.6, 2.6),
                  ("i", "i<sub>t</sub> input", 4.4, 2.0), ("g", "C̃<sub>t</sub> = g<sub>t</sub>", 6.0, 1.2),
                  ("o", "o<sub>t</sub> output", 7.6, 1.2), ("tanh_c", "tanh(c<sub>t</sub>)", 8.8, 3.6),
                  ("c", "c<sub>t</sub>", 10.4, 5.0), ("h", "h<sub>t</sub>", 10.4, 0.4),
                  ("h_prev", "h<sub>t−1</sub>", 0.6, 0.4)],
        "ops": [("×", 2.6, 5.0), ("+", 6.0, 5.0), ("×", 6.0, 3.2), ("×", 8.8, 1.8)],
        "wires": [[(0.6, 5.0), (10.4, 5.0)], [(2.6, 2.6), (2.6, 5.0)], [(4.4, 2.0), (4.4, 3.2), (6.0, 3.2)],
                  [(6.0, 1.2), (6.0, 5.0)], [(8.8, 5.0), (8.8, 1.8)], [(7.6, 1.2), (7.6, 1.8), (8.8, 1.8)],
                  [(8.8, 1.8), (8.8, 0.4), (10.4, 0.4)], [(0.6, 0.4), (1.4, 0.4), (1.4, 2.6), (2.6, 2.6)],
                  [(1.4, 0.4), (7.6, 0.4), (7.6, 1.2)], [(4.4, 0.4), (4.4, 2.0)]],
    },
    "gru": {
        "boxes": [("h_prev", "h<sub>t−1</sub>", 0.6, 5.0), ("r", "r<sub>t</sub> reset", 2.4, 1.6),
                  ("z", "z<sub>t</sub> keep", 4.6, 2.6), ("update", "1−z<sub>t</sub> (update)", 6.2, 3.4),
                  ("n", "n<sub>t</sub> candidate", 7.8, 1.6), ("h", "h<sub>t</sub>", 10.4, 5.0)],
        "ops": [("×", 4.6, 5.0), ("+", 7.8, 5.0), ("×", 7.8, 3.4), ("×", 4.0, 1.6)],
        "wires": [[(0.6, 5.0), (10.4, 5.0)], [(4.6, 2.6), (4.6, 5.0)], [(4.6, 2.6), (6.2, 2.6), (6.2, 3.4)],
                  [(6.2, 3.4), (7.8, 3.4)], [(7.8, 1.6), (7.8, 5.0)], [(1.2, 5.0), (1.2, 0.4), (7.8, 0.4), (7.8, 1.6)],
                  [(1.2, 1.6), (2.4, 1.6), (4.0, 1.6), (4.0, 0.4)], [(3.4, 0.4), (3.4, 2.6), (4.6, 2.6)]],
    },
    "rnn": {
        "boxes": [("h_prev", "h<sub>t−1</sub>", 0.6, 4.0), ("a", "a<sub>t</sub> pre-activation", 4.0, 2.4),
                  ("h", "h<sub>t</sub>", 10.4, 2.4)],
        "ops": [("+", 2.4, 2.4), ("act", 7.2, 2.4)],
        "wires": [[(0.6, 4.0), (2.4, 4.0), (2.4, 2.4)], [(0.6, 0.8), (2.4, 0.8), (2.4, 2.4)],
                  [(2.4, 2.4), (10.4, 2.4)]],
    },
}
_HOW_TO_READ = {
    "lstm": "Cell state runs along the top: × forgets (f), + writes i·C̃, tanh(c)·o gives h. "
            "Colour: gates 0 (closed, dark) → 1 (open, yellow); states −1 blue → +1 red.",
    "gru": "PyTorch's GRU: h_t = (1−z)·n + z·h_{t−1}, so z keeps the old state and 1−z (the textbook "
           "update gate) writes the candidate n. Colour: gates 0 dark → 1 yellow; states −1 blue → +1 red.",
    "rnn": "h_t = tanh(W x_t + U h_{t−1} + b): nothing protects the state. Colour: −1 blue → +1 red.",
}


def how_to_read(kind: str) -> str:
    """One line saying how to read the cell diagram of this kind."""
    return _HOW_TO_READ[kind]


def _diagram_values(trace: Trace, layer: int, direction: str, unit: int, step: int) -> dict[str, float]:
    v = unit_values(trace, layer, direction, unit, step)
    if trace.kind == "lstm":
        v["tanh_c"] = math.tanh(v["c"])
    if trace.kind == "gru":
        v["update"] = 1.0 - v["z"]
    return v


_GATE_KEYS = ("f", "i", "o", "r", "z", "update")
_SHADES = {name: sample_colorscale(name, list(np.linspace(0, 1, 101))) for name in ("Viridis", "RdBu_r")}


def _colour(key: str, value: float) -> str:
    """Viridis over [0, 1] for gates, RdBu over [−1, 1] (clipped) for states and candidates."""
    if not math.isfinite(value):
        return "#dddddd"
    if key in _GATE_KEYS:
        return _SHADES["Viridis"][round(100 * min(max(value, 0.0), 1.0))]
    return _SHADES["RdBu_r"][round(50 * (min(max(value, -1.0), 1.0) + 1))]


def _live(trace: Trace, layer: int, direction: str, unit: int, step: int) -> dict:
    """What changes from step to step in the value boxes: text, colours, hover data."""
    boxes = _DIAGRAMS[trace.kind]["boxes"]
    v = _diagram_values(trace, layer, direction, unit, step)
    values = [v[key] for key, *_ in boxes]
    dark = [(x < 0.55) if k in _GATE_KEYS else abs(x) > 0.6 for (k, *_), x in zip(boxes, values, strict=True)]
    return {
        "type": "scatter",
        "text": [f"{label}<br><b>{fmt(x, 3)}</b>" for (_, label, *_), x in zip(boxes, values, strict=True)],
        "customdata": [[key, x] for (key, *_), x in zip(boxes, values, strict=True)],
        "marker": {"color": [_colour(k, x) for (k, *_), x in zip(boxes, values, strict=True)]},
        "textfont": {"color": ["white" if d else "black" for d in dark]},
    }


def _value_trace(trace: Trace, layer: int, direction: str, unit: int, step: int) -> dict:
    """The live-value boxes of the diagram as one scatter trace (a plain dict, cheap to build)."""
    boxes = _DIAGRAMS[trace.kind]["boxes"]
    live = _live(trace, layer, direction, unit, step)
    live["marker"].update({"symbol": "square", "size": 64, "line": {"color": "#444", "width": 1}})
    live["textfont"]["size"] = 11
    hover = "%{customdata[0]} = %{customdata[1]:.6f}<extra></extra>"
    return live | {"name": "live values", "mode": "markers+text", "x": [b[2] for b in boxes],
                   "y": [b[3] for b in boxes], "hovertemplate": hover}


def _title(trace: Trace, layer: int, direction: str, unit: int, step: int) -> str:
    token = trace.tokens[step]
    return (f"{trace.kind.upper()} cell · layer {layer} {direction} · unit {unit} · "
            f"step {step}: {token!r}")


def cell_diagram(trace: Trace, layer: int, direction: str, unit: int, step: int, animate: bool = False
                 ) -> go.Figure:
    """The cell of the trace's kind with the live values of `unit` at `step` in coloured boxes.

    animate=True adds one Plotly frame per step and a Play button: the browser steps through the
    sequence by itself, with no server round trip per frame.
    """
    spec = _DIAGRAMS[trace.kind]
    wx, wy = [], []
    for wire in spec["wires"]:
        wx += [p[0] for p in wire] + [None]
        wy += [p[1] for p in wire] + [None]
    act = "relu" if trace.nonlinearity == "relu" else "tanh"
    ops = [(act if sym == "act" else sym, x, y) for sym, x, y in spec["ops"]]
    data = [
        {"type": "scatter", "name": "wires", "x": wx, "y": wy, "mode": "lines", "hoverinfo": "skip",
         "line": {"color": _LINE, "width": 2}},
        {"type": "scatter", "name": "operators", "x": [o[1] for o in ops], "y": [o[2] for o in ops],
         "mode": "markers+text", "text": [o[0] for o in ops], "hoverinfo": "skip",
         "marker": {"size": 26, "color": "white", "line": {"color": "#444", "width": 1.5}},
         "textfont": {"size": 14}},
        _value_trace(trace, layer, direction, unit, step),
    ]
    layout = {
        "title": {"text": _title(trace, layer, direction, unit, step), "font": {"size": 14}},
        "height": 380, "showlegend": False, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "xaxis": {"visible": False, "range": [-0.3, 11.3], "fixedrange": True},
        "yaxis": {"visible": False, "range": [-0.4, 5.8], "fixedrange": True},
        "plot_bgcolor": "white",
    }
    fig = {"data": data, "layout": layout}
    if animate:
        _add_frames(fig, trace, layer, direction, unit, step)
    return lean_figure(fig)


def _add_frames(fig: dict, trace: Trace, layer: int, direction: str, unit: int, step: int) -> None:
    """One frame per step (only the value boxes and the title change) plus Play/Pause and a slider.

    A frame holds only what changes; plotly merges it into the value-box trace.
    """
    fig["frames"] = [{"name": str(t), "traces": [2], "data": [_live(trace, layer, direction, unit, t)],
                      "layout": {"title": {"text": _title(trace, layer, direction, unit, t)}}}
                     for t in range(trace.steps)]
    play = {"frame": {"duration": 400, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    fig["layout"]["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0.0, "y": -0.02, "xanchor": "left", "yanchor": "top",
        "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate",
                     "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}]}],
    }]
    fig["layout"]["sliders"] = [{
        "active": step, "x": 0.2, "len": 0.8, "y": -0.02, "currentvalue": {"prefix": "step "},
        "steps": [{"label": str(t), "method": "animate",
                   "args": [[str(t)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                  for t in range(trace.steps)],
    }]
    fig["layout"]["height"] = 460
    fig["layout"]["margin"]["b"] = 80


def output_heatmap(trace: Trace, layer: int, step: int | None = None, height: int = 250) -> go.Figure:
    """A bidirectional layer's output h, both directions concatenated as torch returns them
    (forward units first, then backward), every row aligned by input position."""
    values = trace.output(layer)  # [T, D·H_out]
    half = values.shape[1] // trace.num_directions
    fig = gate_heatmap(trace, "h", layer, "fwd", step, height)
    fig.update_traces(z=values.T, hovertemplate="step %{x}<br>output unit %{y}<br>h = %{z:.6f}<extra></extra>")
    fig.update_layout(title_text=f"layer {layer} output: h forward (units 0–{half - 1}) and backward "
                                 f"({half}–{2 * half - 1}), aligned by input position")
    if step is not None:
        fig.update_shapes(y1=values.shape[1] - 0.5)
    return fig


def most_variable_units(trace: Trace, layer: int, direction: str, gate: str = "c", k: int = 3) -> list[int]:
    """The k units whose `gate` varies most over the sequence (largest standard deviation), most first."""
    values = trace.get(layer, direction, gate)  # [T, units]
    return [int(u) for u in np.argsort(-values.std(axis=0), kind="stable")[:k]]


def trajectories(trace: Trace, layer: int, direction: str, units: list[int], step: int | None = None,
                 gates: tuple[str, ...] = ("c", "h")) -> go.Figure:
    """Lines of each gate in `gates` over the steps for each unit; the current step as a vertical line."""
    gates = tuple(g for g in gates if g in trace.gates)
    tokens = strings(trace.tokens)
    data = []
    for unit in units:
        for gate in gates:
            values = trace.get(layer, direction, gate)
            if unit < values.shape[1]:
                data.append({
                    "type": "scatter", "y": values[:, unit], "mode": "lines", "name": f"{gate} unit {unit}",
                    "text": tokens, "line": {"dash": "solid" if gate == gates[0] else "dot"},
                    "hovertemplate": f"step %{{x}}: %{{text}}<br>unit {unit} {gate} = %{{y:.6f}}<extra></extra>"})
    layout = {"title": {"text": f"{' and '.join(gates)} over the steps · layer {layer} {direction}",
                        "font": {"size": 14}},
              "height": 300, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
              "xaxis": {"title": {"text": "step"}}, "yaxis": {"title": {"text": "value"}}}
    if step is not None:
        layout["shapes"] = [{"type": "line", "x0": step, "x1": step, "y0": 0, "y1": 1, "xref": "x",
                             "yref": "paper", "name": "current step", "line": {"color": CURRENT, "width": 2}}]
    return lean_figure({"data": data, "layout": layout})


def _shown(token: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "⇥", "": "∅"}.get(token, token)


def text_layout(tokens: list[str], per_row: int = 80) -> tuple[list[int], list[int], list[int]]:
    """Where each token sits in the text view: (row, start column, width) lists.

    Single characters take one column each and a newline ends its row; longer tokens (words,
    numbers) take their length plus a space. Rows wrap at `per_row` columns.
    """
    chars = all(len(t) == 1 for t in tokens)
    rows, starts, widths = [], [], []
    row = col = 0
    for token in tokens:
        width = 1 if chars else len(_shown(token)) + 1
        if col and col + width > per_row:
            row, col = row + 1, 0
        rows.append(row)
        starts.append(col)
        widths.append(width)
        col += width
        if token == "\n":
            row, col = row + 1, 0
    return rows, starts, widths


def text_view(trace: Trace, layer: int, direction: str, unit: int, gate: str, step: int | None = None,
              per_row: int = 80) -> go.Figure:
    """The input tokens laid out as text, each one's background the unit's `gate` value at its step.

    One horizontal bar per token (so a click selects a step); the current step is outlined. A unit
    that `gate` does not have (h of an LSTM with a projection has proj_size units) shows as blank.
    """
    column = trace.get(layer, direction, gate)  # [T, units]
    values = column[:, unit] if unit < column.shape[1] else np.full(trace.steps, np.nan, np.float32)  # [T]
    lo, hi = value_range(trace, gate, column)
    rows, starts, widths = text_layout(trace.tokens, per_row)
    outline = np.zeros(trace.steps)
    if step is not None:
        outline[step] = 3
    bar = {
        "type": "bar", "orientation": "h", "base": np.array(starts), "x": np.array(widths), "y": np.array(rows),
        "text": strings([_shown(t) for t in trace.tokens]),
        "customdata": np.stack([np.arange(trace.steps), values], 1),
        "marker": {"color": values, "colorscale": "Viridis" if lo == 0 else "RdBu_r", "cmin": lo, "cmax": hi,
                   "line": {"color": CURRENT, "width": outline}, "colorbar": {"thickness": 10}},
        "textposition": "inside", "insidetextanchor": "middle", "textangle": 0, "width": 0.9,
        "textfont": {"family": "monospace", "size": 13},
        "hovertemplate": f"step %{{customdata[0]}}: %{{text}}<br>unit {unit} {gate} = %{{customdata[1]:.6f}}"
                         "<extra></extra>",
    }
    right = max([per_row] + [s + w for s, w in zip(starts, widths, strict=True)])
    layout = {
        "title": {"text": f"the input coloured by unit {unit}'s {GATE_TITLES.get(gate, gate)} · layer {layer} "
                          f"{direction} (click a token to go to its step)", "font": {"size": 14}},
        "height": 90 + 26 * (max(rows, default=0) + 1), "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "bargap": 0.05, "uniformtext": {"minsize": 9, "mode": "show"}, "plot_bgcolor": "white",
        "xaxis": {"visible": False, "range": [-0.5, right]}, "yaxis": {"visible": False, "autorange": "reversed"},
        "clickmode": "event+select",
    }
    return lean_figure({"data": [bar], "layout": layout})


def prediction_bars(trace: Trace, step: int, k: int = 5) -> go.Figure:
    """The model's output distribution at `step`: every class when there are at most 10, else the top k."""
    probs = trace.predictions[step]  # [out]
    labels = trace.prediction_labels or [str(j) for j in range(len(probs))]
    order = np.arange(len(probs)) if len(probs) <= 10 else np.argsort(-probs, kind="stable")[:k]
    what = "class probabilities" if len(probs) <= 10 else f"top {k} next tokens"
    return lean_figure({"data": [{
        "type": "bar", "x": probs[order], "y": [_shown(labels[j]) for j in order], "orientation": "h",
        "marker": {"color": "#4c78a8"}, "text": [f"{probs[j]:.3f}" for j in order], "textposition": "auto",
        "hovertemplate": "%{y}: p = %{x:.6f}<extra></extra>",
    }], "layout": {
        "title": {"text": f"{what} after step {step}: {trace.tokens[step]!r}", "font": {"size": 14}},
        "height": 260, "margin": {"l": 80, "r": 10, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "probability"}, "range": [0, 1]},
        "yaxis": {"autorange": "reversed", "type": "category"},
    }})


def forecast_figure(predicted: np.ndarray, truth: np.ndarray | None, step: int, tokens: list[str],
                    what: str = "forecast of the next value") -> go.Figure:
    """A regression model's output after every step (`predicted` [T]) against the truth [T] (NaN where
    unknown), the current step marked."""
    data = [{"type": "scatter", "y": predicted, "mode": "lines+markers", "name": "model", "text": strings(tokens),
             "hovertemplate": "after step %{x}: %{text}<br>model %{y:.4f}<extra></extra>"}]
    if truth is not None:
        data.append({"type": "scatter", "y": truth, "mode": "lines+markers", "name": "truth",
                     "line": {"dash": "dot"}, "hovertemplate": "after step %{x}<br>truth %{y:.4f}<extra></extra>"})
    data.append({"type": "scatter", "x": [step], "y": [float(predicted[step])], "mode": "markers",
                 "name": "current step", "marker": {"color": CURRENT, "size": 12},
                 "hovertemplate": "step %{x}: %{y:.4f}<extra></extra>"})
    return lean_figure({"data": data, "layout": {
        "title": {"text": what, "font": {"size": 14}}, "height": 260, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "step"}}, "legend": {"orientation": "h", "y": -0.25}}})
