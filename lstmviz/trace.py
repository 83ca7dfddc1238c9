"""`Trace`: every gate and state of a recurrent module at every step, and the fast exact `trace()`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from lstmviz.cells import GATES, kind_of, layer_weights

DIRECTIONS = ("fwd", "bwd")


@dataclass(frozen=True)
class Trace:
    """What happened inside one recurrent module on one sequence.

    `values["layer{l}.{fwd|bwd}.{gate}"]` is a numpy array [T, units] in the module's dtype (float32
    for ordinary modules); gates are `i f g o c h` (LSTM), `r z n h` (GRU, PyTorch's convention: z
    keeps the old state), `a h` (RNN, a is the pre-activation). Row t is input position t in both
    directions. `predictions` [T, out] holds a task model's per-step outputs (probabilities or values)
    when it has a head.
    """

    kind: str
    num_layers: int
    num_directions: int
    input_size: int
    hidden_size: int
    proj_size: int
    nonlinearity: str
    values: dict[str, np.ndarray]
    tokens: list[str] = field(default_factory=list)
    predictions: np.ndarray | None = None
    prediction_labels: list[str] | None = None
    device: str = "cpu"

    @property
    def steps(self) -> int:
        """Sequence length T."""
        return len(self.tokens)

    @property
    def directions(self) -> tuple[str, ...]:
        """('fwd',) or ('fwd', 'bwd')."""
        return DIRECTIONS[: self.num_directions]

    @property
    def gates(self) -> tuple[str, ...]:
        """The gate and state names recorded for this kind, e.g. ('i', 'f', 'g', 'o', 'c', 'h')."""
        return GATES[self.kind]

    def get(self, layer: int, direction: str, gate: str) -> np.ndarray:
        """One [T, units] array; KeyError naming what exists when asked for something else."""
        name = f"layer{layer}.{direction}.{gate}"
        if name not in self.values:
            raise KeyError(f"{name} is not in this trace; it has layers 0..{self.num_layers - 1}, "
                           f"directions {', '.join(self.directions)}, gates {' '.join(self.gates)}")
        return self.values[name]

    def output(self, layer: int | None = None) -> np.ndarray:
        """The layer's output h [T, D·H_out] (directions concatenated, as torch does); top by default."""
        layer = self.num_layers - 1 if layer is None else layer
        return np.concatenate([self.get(layer, d, "h") for d in self.directions], axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per value, columns step, token, layer, direction, gate, unit, value."""
        parts = []
        tokens = np.asarray(self.tokens, dtype=object)
        for name, arr in self.values.items():
            layer, direction, gate = name.split(".")
            steps, units = arr.shape
            parts.append(pd.DataFrame({
                "step": np.repeat(np.arange(steps), units),
                "token": np.repeat(tokens, units),
                "layer": int(layer[5:]),
                "direction": direction,
                "gate": gate,
                "unit": np.tile(np.arange(units), steps),
                "value": arr.reshape(-1),
            }))
        return pd.concat(parts, ignore_index=True)


def trace(module: nn.Module, x: Tensor | np.ndarray, h0: Tensor | tuple[Tensor, Tensor] | None = None,
          tokens: list[str] | None = None) -> Trace:
    """Run `module` (torch.nn.LSTM, GRU or RNN) on one sequence and record every gate and state.

    x: [T, in], or a batch of one ([1, T, in] with batch_first, else [T, 1, in]).
    h0: as the module takes it for that input (LSTM: (h0, c0)); zeros when None.
    The equations are PyTorch's own (see `lstmviz.cells`). The hidden states come from the
    module's fused kernel, run once per layer; every gate pre-activation is then one batched
    matmul over [x_t, h_{t-1}], and the LSTM cell state an elementwise linear scan
    c_t = f_t·c_{t-1} + i_t·g_t. No Python loop over steps; values match the module to 1e-5.
    """
    kind = kind_of(module)
    param = next(module.parameters())
    x = _as_sequence(module, x).to(device=param.device, dtype=param.dtype)  # [T, in]
    h_init, c_init = _initial_state(module, kind, h0, x)  # [L·D, 1, H_out], [L·D, 1, H] or None
    n_dir = 2 if module.bidirectional else 1
    values: dict[str, Tensor] = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
        warnings.filterwarnings("ignore", message=".*not supported with oneDNN.*")
        layer_in = x  # [T, in]
        for layer in range(module.num_layers):
            rows = slice(layer * n_dir, (layer + 1) * n_dir)
            state = (h_init[rows], c_init[rows]) if kind == "lstm" else h_init[rows]
            out = _fused_layer(module, kind, layer, layer_in, state)  # [T, D·H_out]
            h_out = out.shape[1] // n_dir
            for d in range(n_dir):
                hs = out[:, d * h_out:(d + 1) * h_out]  # [T, H_out]
                h_first = h_init[layer * n_dir + d, 0]  # [H_out]
                c_first = c_init[layer * n_dir + d, 0] if kind == "lstm" else None
                w = layer_weights(module, layer, reverse=d == 1)
                gates = _GATE_FNS[kind](layer_in, hs, h_first, c_first, w, d == 1, module)
                gates["h"] = hs
                for g, v in gates.items():
                    values[f"layer{layer}.{DIRECTIONS[d]}.{g}"] = v
            layer_in = out
    T = x.shape[0]
    arrays = {k: v.detach().to("cpu").numpy() for k, v in values.items()}
    return Trace(kind=kind, num_layers=module.num_layers, num_directions=n_dir,
                 input_size=module.input_size, hidden_size=module.hidden_size,
                 proj_size=getattr(module, "proj_size", 0),
                 nonlinearity=getattr(module, "nonlinearity", "tanh") if kind == "rnn" else "",
                 values=arrays, tokens=list(tokens) if tokens is not None else [str(t) for t in range(T)],
                 device=str(param.device))


def _as_sequence(module: nn.RNNBase, x: Tensor | np.ndarray) -> Tensor:
    """Validate x and return it as [T, in]; ValueError saying what is wrong otherwise."""
    x = torch.as_tensor(x)
    if x.dim() == 1 and module.input_size == 1:
        x = x[:, None]
    if x.dim() == 3:
        batch = x.shape[0] if module.batch_first else x.shape[1]
        if batch != 1:
            raise ValueError(f"trace takes one sequence; got a batch of {batch}")
        x = x[0] if module.batch_first else x[:, 0]
    if x.dim() != 2:
        raise ValueError(f"input must be [T, {module.input_size}] (one sequence); got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("the sequence is empty; give at least one step")
    if x.shape[1] != module.input_size:
        raise ValueError(f"input has {x.shape[1]} values per step, but the {kind_of(module).upper()} "
                         f"expects {module.input_size} (its input_size)")
    if not torch.is_floating_point(x):
        x = x.float()
    return x


def _initial_state(module: nn.RNNBase, kind: str, h0, x: Tensor) -> tuple[Tensor, Tensor | None]:
    """h0 as [L·D, 1, H_out] (and c0 as [L·D, 1, H] for LSTM), zeros when not given."""
    n = module.num_layers * (2 if module.bidirectional else 1)
    h_out = module.proj_size if kind == "lstm" and module.proj_size > 0 else module.hidden_size
    if h0 is None:
        h = x.new_zeros(n, 1, h_out)
        return h, x.new_zeros(n, 1, module.hidden_size) if kind == "lstm" else None
    if kind == "lstm":
        if not isinstance(h0, (tuple, list)) or len(h0) != 2:
            raise ValueError("an LSTM takes its initial state as a pair (h0, c0)")
        return _state(h0[0], n, h_out, "h0", x), _state(h0[1], n, module.hidden_size, "c0", x)
    return _state(h0, n, h_out, "h0", x), None


def _state(s, n: int, units: int, name: str, x: Tensor) -> Tensor:
    s = torch.as_tensor(s).to(device=x.device, dtype=x.dtype)
    if tuple(s.shape) not in ((n, units), (n, 1, units)):
        raise ValueError(f"{name} must have shape ({n}, {units}) or ({n}, 1, {units}); got {tuple(s.shape)}")
    return s.reshape(n, 1, units)


def _fused_layer(module: nn.RNNBase, kind: str, layer: int, layer_in: Tensor, state) -> Tensor:
    """The module's own fused kernel for one layer (both directions): output [T, D·H_out]."""
    params = []
    for d in range(2 if module.bidirectional else 1):
        params += [p for p in layer_weights(module, layer, reverse=d == 1).values() if p is not None]
    args = (params, module.bias, 1, 0.0, False, module.bidirectional, False)
    inp = layer_in[:, None]  # [T, 1, in]
    if kind == "lstm":
        return torch._VF.lstm(inp, state, *args)[0][:, 0]
    fn = torch._VF.gru if kind == "gru" else getattr(torch._VF, f"rnn_{module.nonlinearity}")
    return fn(inp, state, *args)[0][:, 0]


def _affine(inp: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """inp @ weight.T + bias as one GEMM: [T, in] -> [T, rows]."""
    return inp @ weight.T if bias is None else torch.addmm(bias, inp, weight.T)


def _add_recurrent(out: Tensor, hs: Tensor, h_first: Tensor, w_hh: Tensor, reverse: bool) -> Tensor:
    """out[t] += W_hh·h_{t-1} for every t, as one GEMM; out [T, G·H], hs [T, H_out].

    h_{t-1} is the state before step t in processing order: the output one step earlier
    (later, for the backward direction), and h0 at the first step processed.
    """
    body, first, prev = (out[:-1], out[-1], hs[1:]) if reverse else (out[1:], out[0], hs[:-1])
    body.addmm_(prev, w_hh.T)
    first.addmv_(w_hh, h_first)
    return out


def _both_biases(w: dict) -> Tensor | None:
    return None if w["bias_ih"] is None else w["bias_ih"] + w["bias_hh"]


def _lstm_gates(layer_in, hs, h_first, c_first, w, reverse, module) -> dict[str, Tensor]:
    H = module.hidden_size
    pre = _affine(layer_in, w["weight_ih"], _both_biases(w))  # [T, 4H]
    _add_recurrent(pre, hs, h_first, w["weight_hh"], reverse)
    pre[:, :2 * H].sigmoid_()  # i and f in one pass
    pre[:, 3 * H:].sigmoid_()  # o
    i, f, g, o = pre.chunk(4, dim=1)  # [T, H] each
    g.tanh_()
    c = linear_scan(f, i * g, c_first, reverse)  # [T, H]
    return {"i": i, "f": f, "g": g, "o": o, "c": c}


def _gru_gates(layer_in, hs, h_first, c_first, w, reverse, module) -> dict[str, Tensor]:
    H = module.hidden_size
    gi = _affine(layer_in, w["weight_ih"], w["bias_ih"])  # [T, 3H]
    gh = hs.new_zeros(hs.shape[0], 3 * H) if w["bias_hh"] is None else w["bias_hh"].repeat(hs.shape[0], 1)
    _add_recurrent(gh, hs, h_first, w["weight_hh"], reverse)  # W_hh·h_{t-1} + b_hh, [T, 3H]
    r, z = gi[:, :2 * H].add_(gh[:, :2 * H]).sigmoid_().chunk(2, dim=1)  # [T, H] each
    n = gi[:, 2 * H:].addcmul_(r, gh[:, 2 * H:]).tanh_()  # [T, H]
    return {"r": r, "z": z, "n": n}


def _rnn_gates(layer_in, hs, h_first, c_first, w, reverse, module) -> dict[str, Tensor]:
    a = _affine(layer_in, w["weight_ih"], _both_biases(w))  # [T, H]
    return {"a": _add_recurrent(a, hs, h_first, w["weight_hh"], reverse)}


_GATE_FNS = {"lstm": _lstm_gates, "gru": _gru_gates, "rnn": _rnn_gates}


def linear_scan(a: Tensor, b: Tensor, first: Tensor, reverse: bool = False) -> Tensor:
    """Solve c_t = a_t·c_{t-1} + b_t for all t at once (c_{-1} = first); a, b [T, H] -> c [T, H].

    A doubling (Hillis–Steele) scan: log2(T) rounds of elementwise work, no division, so a
    product of forget gates that underflows only ever multiplies by zero. reverse=True runs the
    recurrence from the last step back (c_t = a_t·c_{t+1} + b_t), as the backward direction does.
    """
    T = a.shape[0]
    a, b = a.clone(), b.clone()
    last = T - 1 if reverse else 0
    b[last].addcmul_(a[last], first)
    a[last] = 0
    offset = 1
    while offset < T:
        # combine each step with the one `offset` earlier in processing order
        late, early = (slice(None, T - offset), slice(offset, None)) if reverse else \
            (slice(offset, None), slice(None, T - offset))
        b[late] += a[late] * b[early]
        offset *= 2
        if offset < T:
            a[late] = a[late] * a[early]
    return b
