"""The cell's equations with the numbers of one unit at one step plugged in (pure; LaTeX strings).

Values come from a Trace. The state before step t is the one at t−1 for the forward direction and
at t+1 for the backward one (zero before the first step processed: traces start from zero states).
Pre-activations are not stored in a Trace; they are recovered exactly as σ⁻¹(gate) or atanh(value),
and left out where the gate saturated in float32 (σ = 0 or 1), since they cannot be recovered there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lstmviz.trace import Trace


@dataclass(frozen=True)
class Equation:
    """One equation: `name` ("forget gate"), the `formula` and its `numbers` ("= σ(0.99) = 0.73") in
    LaTeX, and its result `value` (the trace's own number)."""

    name: str
    formula: str
    numbers: str
    value: float

    @property
    def latex(self) -> str:
        """Formula and numbers on one line."""
        return f"{self.formula} {self.numbers}"


def unit_values(trace: Trace, layer: int, direction: str, unit: int, step: int) -> dict[str, float]:
    """Every gate and state of `unit` at `step`, plus the state before it ("c_prev", "h_prev").

    h of an LSTM with a projection has proj_size units: its entry is NaN for units past that.
    """
    if not 0 <= step < trace.steps:
        raise IndexError(f"step {step} is outside the sequence (0..{trace.steps - 1})")
    prev = step + 1 if direction == "bwd" else step - 1
    out: dict[str, float] = {}
    for gate in trace.gates:
        column = trace.get(layer, direction, gate)  # [T, units]
        inside = unit < column.shape[1]
        out[gate] = float(column[step, unit]) if inside else math.nan
        if gate in ("c", "h"):
            fresh = not 0 <= prev < trace.steps
            out[f"{gate}_prev"] = 0.0 if fresh else (float(column[prev, unit]) if inside else math.nan)
    return out


def fmt(value: float, digits: int = 4) -> str:
    """A number as the equations and the diagram print it: `digits` decimals ("-0.1234")."""
    return f"{value:.{digits}f}"


def _num(value: float) -> str:
    """A factor inside a product: negative numbers in parentheses."""
    text = fmt(value)
    return f"({text})" if value < 0 else text


def _logit(p: float) -> float | None:
    return math.log(p / (1 - p)) if 1e-6 < p < 1 - 1e-6 else None


def _atanh(v: float) -> float | None:
    return math.atanh(v) if abs(v) < 1 - 1e-6 else None


def _activated(fn: str, pre: float | None, value: float) -> str:
    """'= σ(0.9981) = 0.7307', or just '= 0.7307' when the pre-activation cannot be recovered."""
    inner = f"= {fn}({fmt(pre)}) " if pre is not None else ""
    return f"{inner}= {fmt(value)}"


def equations(trace: Trace, layer: int, direction: str, unit: int, step: int) -> list[Equation]:
    """The equations of the trace's cell kind for `unit` at `step`, with the live numbers."""
    v = unit_values(trace, layer, direction, unit, step)
    p = "t+1" if direction == "bwd" else "t-1"  # where the previous state comes from
    return {"lstm": _lstm, "gru": _gru, "rnn": _rnn}[trace.kind](trace, v, p)


def _gate(name: str, symbol: str, letter: str, p: str, value: float, fn: str = "\\sigma") -> Equation:
    pre = _logit(value) if fn == "\\sigma" else _atanh(value)
    body = f"{symbol} = {fn}(W_{{i{letter}}} x_t + W_{{h{letter}}} h_{{{p}}} + b_{letter})"
    return Equation(name, body, _activated(fn, pre, value), value)


def _lstm(trace: Trace, v: dict[str, float], p: str) -> list[Equation]:
    c = v["f"] * v["c_prev"] + v["i"] * v["g"]
    m = v["o"] * math.tanh(v["c"])
    rows = [
        _gate("forget gate", "f_t", "f", p, v["f"]),
        _gate("input gate", "i_t", "i", p, v["i"]),
        _gate("candidate", "\\tilde{C}_t = g_t", "g", p, v["g"], "\\tanh"),
        Equation("cell update", f"c_t = f_t \\odot c_{{{p}}} + i_t \\odot g_t", f"= {_num(v['f'])} \\cdot "
                 f"{_num(v['c_prev'])} + {_num(v['i'])} \\cdot {_num(v['g'])} = {fmt(c)}", v["c"]),
        _gate("output gate", "o_t", "o", p, v["o"]),
    ]
    if trace.proj_size:
        rows.append(Equation("hidden state", "h_t = W_{hr}(o_t \\odot \\tanh(c_t)),\\ o_t \\tanh(c_t)",
                             f"= {_num(v['o'])} \\cdot \\tanh({fmt(v['c'])}) = {fmt(m)}", m))
    else:
        rows.append(Equation("hidden state", "h_t = o_t \\odot \\tanh(c_t)",
                             f"= {_num(v['o'])} \\cdot \\tanh({fmt(v['c'])}) = {fmt(m)}", v["h"]))
    return rows


def _gru(trace: Trace, v: dict[str, float], p: str) -> list[Equation]:
    n_formula = f"n_t = \\tanh(W_{{in}} x_t + b_{{in}} + r_t \\odot (W_{{hn}} h_{{{p}}} + b_{{hn}}))"
    h = (1 - v["z"]) * v["n"] + v["z"] * v["h_prev"]
    keep = _gate("keep gate (PyTorch's z; textbook update gate = 1 − z)", "z_t", "z", p, v["z"])
    return [
        _gate("reset gate", "r_t", "r", p, v["r"]),
        Equation(keep.name, keep.formula, keep.numbers + f",\\quad 1 - z_t = {fmt(1 - v['z'])}", v["z"]),
        Equation("candidate", n_formula, _activated("\\tanh", _atanh(v["n"]), v["n"]), v["n"]),
        Equation("hidden state", f"h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{{{p}}}", f"= {_num(1 - v['z'])} \\cdot "
                 f"{_num(v['n'])} + {_num(v['z'])} \\cdot {_num(v['h_prev'])} = {fmt(h)}", v["h"]),
    ]


def _rnn(trace: Trace, v: dict[str, float], p: str) -> list[Equation]:
    act = "\\mathrm{relu}" if trace.nonlinearity == "relu" else "\\tanh"
    h = max(v["a"], 0.0) if trace.nonlinearity == "relu" else math.tanh(v["a"])
    return [
        Equation("pre-activation", f"a_t = W_{{ih}} x_t + b_{{ih}} + W_{{hh}} h_{{{p}}} + b_{{hh}}",
                 f"= {fmt(v['a'])}", v["a"]),
        Equation("hidden state", f"h_t = {act}(a_t)", f"= {act}({fmt(v['a'])}) = {fmt(h)}", v["h"]),
    ]


def as_latex(rows: list[Equation]) -> str:
    """All equations as one aligned LaTeX block for st.latex: each formula, its numbers below it."""
    lines = []
    for row in rows:
        symbol, formula = row.formula.split(" = ", 1) if " = " in row.formula else (row.formula, "")
        lines.append(f"{symbol} &= {formula}" if formula else f"{symbol} &")
        lines.append(f"&{row.numbers}")
    return "\\small\\begin{aligned}" + " \\\\ ".join(lines) + "\\end{aligned}"
