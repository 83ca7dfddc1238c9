"""The analytic backward recurrence over a traced run: many adjoints at once, no autograd.

A reverse sweep carries one row of adjoints per *target* (a scalar whose gradient we want):
`dh` [N, H_out] holds ∂target/∂h_t for all N targets at step t. Walking the steps in reverse
processing order, each step turns `dh` into the pre-activation adjoint `dpre` [N, G·H] with the
traced gate values, then

    ∂target/∂x_t      = dpre @ W_ih          [N, in]
    ∂target/∂h_{t-1}  = dpre @ W_hh (+ ...)  [N, H_out]

so the work per step is two batched matmuls whatever N is. Stacked layers chain: a layer's input
adjoint is the layer below's output adjoint (split by direction). When target t only depends on
steps ≤ t (the connectivity map of a unidirectional layer), step t only touches rows t..N-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from lstmviz.cells import layer_weights
from lstmviz.trace import Trace


@dataclass
class Sweep:
    """The result of `reverse_sweep`: ∂target/∂x [T, N, in] and, when recorded, the norms
    ‖∂target/∂h_t‖ and (LSTM) ‖∂target/∂c_t‖ as {"layer{l}.{dir}.h|c": [T, N]}."""

    input_adjoint: Tensor
    norms: dict[str, Tensor] = field(default_factory=dict)


def reverse_sweep(module: nn.RNNBase, tr: Trace, seeds: Tensor, n_targets: int, diagonal: bool,
                  h0: Tensor | tuple[Tensor, Tensor] | None = None, record: bool = False) -> Sweep:
    """Propagate output adjoints of the top layer back to the input through every layer.

    seeds: ∂target/∂(top-layer output), either diagonal [T, D·H_out] (target t is seeded at
    step t only, N = T: the connectivity map) or dense [T, N, D·H_out]. `tr` is
    `trace(module, x, h0)` for the same h0. Nothing is stored on the module.
    """
    dtype = torch.from_numpy(tr.get(0, "fwd", "h")).dtype
    seeds = seeds.detach().to("cpu", dtype)
    h_first, c_first = _initial_states(module, tr, h0, dtype)
    steps, per_step_targets = tr.steps, diagonal
    norms: dict[str, Tensor] = {}
    for layer in reversed(range(tr.num_layers)):
        # target t depends on steps <= t only (in processing order): at the top for per-step targets,
        # and all the way down a unidirectional stack
        triangular = per_step_targets and (diagonal or tr.num_directions == 1)
        units = seeds.shape[-1] // tr.num_directions
        adjoint = None
        for d, name in enumerate(tr.directions):
            w = {k: None if v is None else v.detach().to("cpu", dtype) for k, v in
                 layer_weights(module, layer, reverse=d == 1).items()}
            if adjoint is None:
                adjoint = seeds.new_zeros(steps, n_targets, w["weight_ih"].shape[1])  # [T, N, in]
            idx = layer * tr.num_directions + d
            cell = _STEPS[tr.kind](tr, layer, name, w, h_first[idx], None if c_first is None
                                   else c_first[idx], n_targets)
            part = seeds[..., d * units:(d + 1) * units]  # this direction's share of the seeds
            rec = _sweep_direction(cell, w["weight_ih"], part, diagonal, triangular, d == 1, adjoint, record)
            norms.update({f"layer{layer}.{name}.{k}": v for k, v in rec.items()})
        seeds, diagonal = adjoint, False  # the layer's input adjoint seeds the layer below
    return Sweep(input_adjoint=seeds, norms=norms)


def _sweep_direction(cell, w_ih: Tensor, seeds: Tensor, diagonal: bool, triangular: bool, reverse: bool,
                     adjoint: Tensor, record: bool) -> dict[str, Tensor]:
    """One layer and direction: accumulate ∂target/∂x_t into adjoint[t] [N, in] for every t."""
    steps, n = adjoint.shape[0], adjoint.shape[1]
    dh = seeds.new_zeros(n, cell.h_units)  # [N, H_out], adjoint of h_t, rows by target
    rec = {g: seeds.new_zeros(steps, n) for g in cell.recorded} if record else {}
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        # rows that can be nonzero: targets seeded at or after t in processing order
        lo, hi = (0, n) if not triangular else ((0, t + 1) if reverse else (t, n))
        rows = dh[lo:hi]  # [n_t, H_out]
        if diagonal:
            rows[t - lo] += seeds[t]
        else:
            rows += seeds[t, lo:hi]
        if record:
            rec["h"][t, lo:hi] = rows.norm(dim=1)
        dpre = cell.step(t, lo, hi, rows)  # [n_t, G·H]; rows now hold ∂/∂h_{t-1}
        if record and "c" in rec:
            rec["c"][t, lo:hi] = cell.dc[lo:hi].norm(dim=1)
        adjoint[t, lo:hi].addmm_(dpre, w_ih)
    return rec


def _initial_states(module: nn.RNNBase, tr: Trace, h0, dtype) -> tuple[Tensor, Tensor | None]:
    """h0 as [L·D, H_out] and (LSTM) c0 as [L·D, H]; zeros when not given."""
    n = tr.num_layers * tr.num_directions
    h_out = tr.proj_size or tr.hidden_size
    if h0 is None:
        c = torch.zeros(n, tr.hidden_size, dtype=dtype) if tr.kind == "lstm" else None
        return torch.zeros(n, h_out, dtype=dtype), c
    h, c = h0 if tr.kind == "lstm" else (h0, None)
    h = torch.as_tensor(h).detach().to("cpu", dtype).reshape(n, h_out)
    return h, None if c is None else torch.as_tensor(c).detach().to("cpu", dtype).reshape(n, -1)


def _before(values: Tensor, first: Tensor, reverse: bool) -> Tensor:
    """The value one step earlier in processing order (`first` at the first step): [T, U]."""
    return torch.cat([values[1:], first[None]]) if reverse else torch.cat([first[None], values[:-1]])


def _after(values: Tensor, reverse: bool) -> Tensor:
    """The value one step later in processing order, zero past the last step: [T, U]."""
    zero = values.new_zeros(1, values.shape[1])
    return torch.cat([zero, values[:-1]]) if reverse else torch.cat([values[1:], zero])


class _LSTMStep:
    """LSTM: dc_t = dm⊙o(1−tanh²c) + dc_{t+1}⊙f_{t+1} with dm = dh (or dh·W_hr with a projection);
    dpre = [dc⊙g·i(1−i), dc⊙c_{t−1}·f(1−f), dc⊙i(1−g²), dm⊙tanh(c)·o(1−o)]."""

    recorded = ("h", "c")

    def __init__(self, tr: Trace, layer: int, name: str, w: dict, h_first: Tensor, c_first: Tensor,
                 n: int) -> None:
        i, f, g, o, c = (torch.from_numpy(tr.get(layer, name, k)) for k in "ifgoc")  # [T, H]
        reverse = name == "bwd"
        tanh_c = torch.tanh(c)
        self.a = o * (1 - tanh_c * tanh_c)  # [T, H]
        self.b = tanh_c * o * (1 - o)  # [T, H]
        self.k = torch.stack([g * i * (1 - i), _before(c, c_first, reverse) * f * (1 - f),
                              i * (1 - g * g)], dim=1)  # [T, 3, H]
        self.f_after = _after(f, reverse)  # [T, H]
        self.w_hh, self.w_hr = w["weight_hh"], w["weight_hr"]  # [4H, H_out], [P, H] or None
        units = c.shape[1]
        self.h_units = self.w_hh.shape[1]
        self.dc = c.new_zeros(n, units)  # [N, H]
        self.dpre = c.new_empty(n, 4, units)  # [N, 4, H]

    def step(self, t: int, lo: int, hi: int, dh: Tensor) -> Tensor:
        dm = dh @ self.w_hr if self.w_hr is not None else dh  # [n_t, H]
        dc = self.dc[lo:hi].mul_(self.f_after[t]).addcmul_(dm, self.a[t])  # [n_t, H]
        dpre = self.dpre[: hi - lo]  # [n_t, 4, H]
        torch.mul(dc[:, None], self.k[t], out=dpre[:, :3])
        torch.mul(dm, self.b[t], out=dpre[:, 3])
        dpre = dpre.view(hi - lo, -1)  # [n_t, 4H]
        torch.mm(dpre, self.w_hh, out=dh)
        return dpre


class _GRUStep:
    """GRU (PyTorch's keep gate z): with q = (1−z)(1−n²), dpre_i = dh⊙[q·ĥ·r(1−r), (h_{t−1}−n)·z(1−z), q]
    where ĥ = W_hn·h_{t−1} + b_hn; dpre_h equals dpre_i but its n block is scaled by r;
    ∂/∂h_{t−1} = dh⊙z + dpre_h·W_hh."""

    recorded = ("h",)

    def __init__(self, tr: Trace, layer: int, name: str, w: dict, h_first: Tensor, c_first: None,
                 n: int) -> None:
        r, z, n_gate, h = (torch.from_numpy(tr.get(layer, name, k)) for k in "rznh")  # [T, H]
        units = h.shape[1]
        h_prev = _before(h, h_first, name == "bwd")  # [T, H]
        w_hn = w["weight_hh"][2 * units:]  # [H, H]
        hidden_n = h_prev @ w_hn.T if w["bias_hh"] is None else \
            torch.addmm(w["bias_hh"][2 * units:], h_prev, w_hn.T)  # [T, H]
        q = (1 - z) * (1 - n_gate * n_gate)
        self.k_in = torch.stack([q * hidden_n * r * (1 - r), (h_prev - n_gate) * z * (1 - z), q], 1)  # [T, 3, H]
        self.k_hid = self.k_in.clone()
        self.k_hid[:, 2] *= r
        self.z = z
        self.w_hh = w["weight_hh"]  # [3H, H]
        self.h_units = units
        self.d_in = h.new_empty(n, 3, units)  # [N, 3, H]
        self.d_hid = h.new_empty(n, 3, units)

    def step(self, t: int, lo: int, hi: int, dh: Tensor) -> Tensor:
        rows = hi - lo
        d_in, d_hid = self.d_in[:rows], self.d_hid[:rows]  # [n_t, 3, H]
        torch.mul(dh[:, None], self.k_in[t], out=d_in)
        torch.mul(dh[:, None], self.k_hid[t], out=d_hid)
        dh.mul_(self.z[t]).addmm_(d_hid.view(rows, -1), self.w_hh)
        return d_in.view(rows, -1)  # [n_t, 3H]


class _RNNStep:
    """Elman RNN: da = dh⊙φ'(a) (tanh: 1−h², relu: 1 where a > 0); ∂/∂h_{t−1} = da·W_hh."""

    recorded = ("h",)

    def __init__(self, tr: Trace, layer: int, name: str, w: dict, h_first: Tensor, c_first: None,
                 n: int) -> None:
        self.slope = activation_slope(tr, layer, name)  # [T, H]
        self.w_hh = w["weight_hh"]  # [H, H]
        self.h_units = self.w_hh.shape[1]
        self.da = self.slope.new_empty(n, self.h_units)  # [N, H]

    def step(self, t: int, lo: int, hi: int, dh: Tensor) -> Tensor:
        da = torch.mul(dh, self.slope[t], out=self.da[: hi - lo])  # [n_t, H]
        torch.mm(da, self.w_hh, out=dh)
        return da


def activation_slope(tr: Trace, layer: int, direction: str) -> Tensor:
    """φ'(a_t) of a vanilla RNN layer: 1 − h² for tanh, 1 where a > 0 for relu. [T, H] tensor."""
    if tr.nonlinearity == "relu":
        a = torch.from_numpy(tr.get(layer, direction, "a"))
        return (a > 0).to(a.dtype)
    h = torch.from_numpy(tr.get(layer, direction, "h"))
    return 1 - h * h


_STEPS = {"lstm": _LSTMStep, "gru": _GRUStep, "rnn": _RNNStep}
