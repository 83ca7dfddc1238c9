"""The cell highway: how much of the state at step s reaches step t along the recurrent path.

- LSTM: ∂c_t/∂c_s along the cell highway is diag(∏_{k=s+1..t} f_k), one product per unit.
- GRU:  the direct path h_s → h_t is diag(∏_{k=s+1..t} z_k), z PyTorch's *keep* gate
  (the textbook's update gate is 1 − z).
- RNN:  there is no highway, only the full Jacobian ∂h_t/∂h_s = J_t ⋯ J_{s+1} with
  J_k = diag(φ'(a_k))·W_hh. We report its Frobenius norm divided by √H: the root-mean-square
  gain per unit, which is 1 at s = t like the products above.

For the backward direction "s → t" runs from later to earlier positions (s ≥ t). Products are
taken in log space (a cumulative sum of log gates, each clamped at the smallest positive float64),
so nothing is ever divided by a tiny number; the RNN's Jacobian products are renormalised every
step and their scale carried as a logarithm, so they neither underflow nor overflow.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from lstmviz.backward import activation_slope
from lstmviz.cells import layer_weights
from lstmviz.trace import Trace

HIGHWAY_LABELS = {
    "lstm": "mean over units of ∏ f_k",
    "gru": "mean over units of ∏ z_k (PyTorch's keep gate)",
    "rnn": "‖∂h_t/∂h_s‖_F / √H",
}
UNIT_LABELS = {
    "lstm": "∏ f_k per unit",
    "gru": "∏ z_k per unit (PyTorch's keep gate)",
    "rnn": "‖∂h_t[i]/∂h_s‖ per unit i",
}
_CARRY_GATE = {"lstm": "f", "gru": "z"}


def highway(tr: Trace, layer: int = 0, direction: str = "fwd", module: nn.Module | None = None,
            max_lag: int | None = None) -> np.ndarray:
    """M[t, s]: the highway from step s to step t for one layer and direction, [T, T] float64.

    LSTM / GRU: the mean over units of the gate product (see the module docstring); the RNN needs
    its `module` (for W_hh) and gives ‖∂h_t/∂h_s‖_F / √H. Pairs the direction cannot reach are 0.
    max_lag (RNN only, whose cost is about T·min(T, max_lag)·H³ flops) skips pairs with
    |t − s| > max_lag, which are then NaN.
    """
    reverse = _direction(tr, direction)
    if tr.kind == "rnn":
        slope, w_hh = _rnn_parts(tr, layer, direction, module, reverse)
        norms = _jacobian_norms(slope, w_hh, np.arange(tr.steps), max_lag, rows=False)
        matrix = norms / np.sqrt(w_hh.shape[0])  # [T, T]
    else:
        cum = _log_cumsum(tr.get(layer, direction, _CARRY_GATE[tr.kind]), reverse)  # [T, H]
        steps, units = cum.shape
        chunk = max(1, (1 << 22) // (steps * units))
        matrix = np.zeros((steps, steps))
        for start in range(0, steps, chunk):
            matrix[start:start + chunk] = _products(cum, np.arange(start, min(steps, start + chunk))).mean(2)
    return matrix[::-1, ::-1].copy() if reverse else matrix


def highway_units(tr: Trace, target: int, layer: int = 0, direction: str = "fwd",
                  module: nn.Module | None = None) -> np.ndarray:
    """Per unit, for one target step t: [T, units] float64, row s.

    LSTM / GRU: ∏ f_k (∏ z_k) for unit i from s to t. RNN: ‖∂h_t[i]/∂h_s‖₂, how strongly unit i at
    step t depends on the whole state at step s (the root-mean-square over units of a row is the
    matrix value of `highway`). Rows the direction cannot reach are 0.
    """
    reverse = _direction(tr, direction)
    if not 0 <= target < tr.steps:
        raise ValueError(f"target step {target} is outside the sequence of {tr.steps} steps")
    position = tr.steps - 1 - target if reverse else target
    if tr.kind == "rnn":
        slope, w_hh = _rnn_parts(tr, layer, direction, module, reverse)
        units = _jacobian_norms(slope, w_hh, np.array([position]), None, rows=True)[0]  # [T, H]
    else:
        cum = _log_cumsum(tr.get(layer, direction, _CARRY_GATE[tr.kind]), reverse)
        units = _products(cum, np.array([position]))[0]  # [T, H]
    return units[::-1].copy() if reverse else units


def _direction(tr: Trace, direction: str) -> bool:
    if direction not in tr.directions:
        raise ValueError(f"direction must be one of {', '.join(tr.directions)}; got {direction!r}")
    return direction == "bwd"


def _log_cumsum(gate: np.ndarray, reverse: bool) -> np.ndarray:
    """Σ_{k≤t} log gate_k in processing order, float64 [T, H]; gates clamped away from 0."""
    gate = gate[::-1] if reverse else gate
    return np.cumsum(np.log(np.maximum(gate.astype(np.float64), np.finfo(np.float64).tiny)), axis=0)


def _products(cum: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """∏_{k=s+1..t} gate_k = exp(cum_t − cum_s) for s ≤ t, else 0: [len(targets), T, H]."""
    diff = cum[targets, None, :] - cum[None, :, :]  # [n, T, H]
    later = np.arange(cum.shape[0])[None, :] > targets[:, None]  # [n, T]: s > t
    diff[later] = -np.inf
    return np.exp(diff)


def _rnn_parts(tr: Trace, layer: int, direction: str, module: nn.Module | None, reverse: bool
               ) -> tuple[Tensor, Tensor]:
    """φ'(a) [T, H] in processing order and W_hh [H, H] for an RNN layer and direction.

    Both in the trace's precision: the products are renormalised every step, so float32 loses
    nothing to underflow and runs twice as fast as float64.
    """
    if not isinstance(module, nn.RNN):
        raise ValueError("the RNN highway needs the nn.RNN module itself (for W_hh); pass module=")
    slope = activation_slope(tr, layer, direction)  # [T, H]
    w_hh = layer_weights(module, layer, reverse)["weight_hh"].detach().to("cpu", slope.dtype)
    return (slope.flip(0) if reverse else slope), w_hh


def _jacobian_norms(slope: Tensor, w_hh: Tensor, targets: np.ndarray, max_lag: int | None, rows: bool
                    ) -> np.ndarray:
    """‖J_t ⋯ J_{s+1}‖ for each target t and s ≤ t, J_k = diag(slope_k)·W_hh.

    Returns [n, T] Frobenius norms, or [n, T, H] row norms when rows=True; pairs out of reach
    (s > t) are 0 and pairs beyond max_lag NaN. Sweeps s downwards, carrying every active
    target's product normalised to unit norm plus its log scale: one batched matmul per step.
    """
    steps, units = slope.shape
    lag = steps if max_lag is None else max_lag
    shape = (len(targets), steps, units) if rows else (len(targets), steps)
    out = np.zeros(shape)
    out[(targets[:, None] - np.arange(steps)[None, :]) > lag] = np.nan
    products = slope.new_zeros(len(targets), units, units)  # [n, H, H], unit Frobenius norm
    log_scale = torch.zeros(len(targets), dtype=torch.float64)  # [n]
    for s in range(steps - 1, -1, -1):
        lo, hi = np.searchsorted(targets, s), np.searchsorted(targets, s + lag, side="right")
        if lo == hi:
            continue
        if targets[lo] == s:  # a new target starts at the identity
            products[lo] = torch.eye(units, dtype=slope.dtype) / units ** 0.5
            log_scale[lo] = 0.5 * np.log(units)
        active = products[lo:hi]  # [n_s, H, H]
        scale = log_scale[lo:hi].exp()  # [n_s] float64
        if rows:
            out[lo:hi, s] = (active.norm(dim=2).double() * scale[:, None]).numpy()
        else:
            out[lo:hi, s] = scale.numpy()
        nxt = (active * slope[s]) @ w_hh  # A(t, s-1) = A(t, s)·diag(φ'_s)·W_hh
        norm = nxt.flatten(1).norm(dim=1)  # [n_s]
        products[lo:hi] = nxt / torch.where(norm > 0, norm, 1.0)[:, None, None]
        log_scale[lo:hi] += torch.log(norm.double())
    return out
