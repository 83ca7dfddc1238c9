"""Comparing recurrent cells on the same task: aligned gates, saturation, the LSTM-vs-GRU table, memory, divergence.

Pure analysis on Traces and loaded models (numpy / torch / pandas; no streamlit, no plotting).

Gate alignment (PyTorch's conventions, `h' = (1−z)⊙n + z⊙h` for the GRU):

| role  | LSTM         | GRU                  | what it does                     |
|-------|--------------|----------------------|----------------------------------|
| keep  | forget f     | z (PyTorch's keep)   | how much of the old memory stays |
| write | input i      | 1−z (textbook update)| how much new content goes in     |
| out   | output o     | —                    | how much memory shows in h       |
| reset | —            | reset r              | how much old h feeds the candidate |
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from lstmviz.checkpoints import Loaded
from lstmviz.trace import Trace, trace

ROLES: dict[str, str] = {
    "keep": "keep the old memory — LSTM forget f ↔ GRU z (PyTorch's keep gate)",
    "write": "write new content — LSTM input i ↔ GRU 1−z (the textbook update gate)",
    "out": "expose the memory — LSTM output o (no GRU counterpart)",
    "reset": "reset before the candidate — GRU r (no LSTM counterpart)",
    "hidden": "hidden state h (what the next layer and the head see)",
}
_ROLE_GATES = {  # role -> gate name per kind; "1-z" is derived
    "lstm": {"keep": "f", "write": "i", "out": "o", "hidden": "h"},
    "gru": {"keep": "z", "write": "1-z", "reset": "r", "hidden": "h"},
    "rnn": {"hidden": "h"},
}
GRU_CONVENTION = ("GRU gates are in PyTorch's convention: h = (1−z)·n + z·h_prev, so z is a *keep* gate "
                  "(z = 1 keeps the old state). The textbook GRU writes h = (1−z)·h_prev + z·h̃: its update "
                  "gate z is PyTorch's 1−z.")
SIGMOID_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "rnn": ()}


def aligned_gate(tr: Trace, role: str, layer: int = 0, direction: str = "fwd") -> tuple[str, np.ndarray] | None:
    """The gate of `tr` that plays `role` (see ROLES) as (name, values [T, units]), or None when the kind
    has no such gate. The GRU's write gate is derived: "1-z" = 1 − PyTorch's z."""
    gate = _ROLE_GATES[tr.kind].get(role)
    if gate is None:
        return None
    if gate == "1-z":
        return gate, 1.0 - tr.get(layer, direction, "z")
    return gate, tr.get(layer, direction, gate)


# --- saturation (Karpathy, Johnson & Fei-Fei 2015) ------------------------------------------------------


def saturation(values: np.ndarray, low: float = 0.1, high: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of steps a gate is left-saturated (< low) and right-saturated (> high).

    values [T, units] -> (left [units], right [units]), each in [0, 1].
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"thresholds must satisfy 0 ≤ low < high ≤ 1; got low={low}, high={high}")
    values = np.asarray(values)
    return (values < low).mean(axis=0), (values > high).mean(axis=0)


def saturation_table(tr: Trace, low: float = 0.1, high: float = 0.9) -> pd.DataFrame:
    """Saturation of every sigmoid gate of every layer and direction: one row per unit.

    Columns: layer, direction, gate, unit, left, right (fractions of the trace's steps).
    """
    rows = []
    for layer in range(tr.num_layers):
        for direction in tr.directions:
            for gate in SIGMOID_GATES[tr.kind]:
                left, right = saturation(tr.get(layer, direction, gate), low, high)
                rows.append(pd.DataFrame({"layer": layer, "direction": direction, "gate": gate,
                                          "unit": np.arange(len(left)), "left": left, "right": right}))
    columns = ["layer", "direction", "gate", "unit", "left", "right"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def sample_inputs(loaded: Loaded, n: int = 16, seed: int = 0, T: int | None = None) -> torch.Tensor:
    """A sample of what the model's module reads: n sequences [n, T, input_size].

    Task models: the task's own data through the model's input layer (T defaults to the task's T, or
    its generator's choice). Bare modules: N(0, 1) numbers, T = 50 by default.
    """
    from lstmviz.run import task_of

    task = task_of(loaded)
    device = next(loaded.module.parameters()).device
    if task is None or loaded.model is None:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, T or 50, loaded.spec.input_size, generator=g).to(device)
    x, _ = task.batch(n, seed, T=T)
    with torch.no_grad():
        return loaded.model.encode(x.to(device))  # [n, T, E]


def stacked_trace(module: torch.nn.RNNBase, xs: torch.Tensor) -> Trace:
    """Trace n sequences xs [n, T, in] one by one and join them along time: values [n·T, units].

    Good for statistics over steps (saturation); the joined rows are not one sequence.
    """
    traces = [trace(module, x) for x in xs]
    values = {k: np.concatenate([t.values[k] for t in traces]) for k in traces[0].values}
    steps = sum(t.steps for t in traces)
    return replace(traces[0], values=values, tokens=[str(s) for s in range(steps)])


# --- the LSTM vs GRU table ------------------------------------------------------------------------------


def parameter_count(loaded: Loaded, recurrent_only: bool = False) -> int:
    """Number of parameters (sum of p.numel()) of the whole model, or of its recurrent module only."""
    model = loaded.module if recurrent_only or loaded.model is None else loaded.model
    return sum(p.numel() for p in model.parameters())


def _cell_name(loaded: Loaded) -> str:
    spec = loaded.spec
    name = ("bidirectional " if spec.bidirectional else "") + spec.kind.upper()
    return name + (f", {spec.num_layers} layers" if spec.num_layers > 1 else "")


def _gates(kind: str) -> str:
    return {"lstm": "3 (input i, forget f, output o)", "gru": "2 (reset r, keep z)",
            "rnn": "0 (no gates)"}[kind]


def _cell_state(kind: str) -> str:
    return {"lstm": "separate (c beside h)", "gru": "combined with h", "rnn": "none (h only)"}[kind]


def _format_metrics(metrics: dict[str, float]) -> str:
    if not metrics:
        return "— (no metrics in the checkpoint)"
    return ", ".join(f"{k} {v:.3g}" for k, v in metrics.items())


def zoo_epoch(loaded: Loaded) -> tuple[float, str] | None:
    """Seconds per training epoch measured when the zoo was built (train_seconds over its 10 epochs), with
    what an epoch was ("300 steps × batch 64"); None for models without that record."""
    extra = loaded.meta.get("extra", {}) if loaded.meta else {}
    if extra.get("train_seconds") is None:
        return None
    what = f"{extra['steps'] // 10} steps × batch {extra['batch_size']}" if "steps" in extra else "1/10 of training"
    return float(extra["train_seconds"]) / 10, what


def comparison_table(models: dict[str, Loaded], epoch_seconds: dict[str, float] | None = None,
                     timed_steps: int = 20) -> pd.DataFrame:
    """The explainer's LSTM-vs-GRU table with measured numbers: one column per model (keyed by label).

    epoch_seconds: {label: seconds for a `timed_steps`-step epoch} measured now (see `time_epoch`); the zoo
    build's timing comes from checkpoint metadata.
    """
    rows = {}
    for label, loaded in models.items():
        zoo = zoo_epoch(loaded)
        now = (epoch_seconds or {}).get(label)
        rows[label] = {
            "cell": _cell_name(loaded),
            "gates": _gates(loaded.spec.kind),
            "cell state": _cell_state(loaded.spec.kind),
            "hidden units": str(loaded.spec.hidden_size),
            "parameters (whole model)": f"{parameter_count(loaded):,}",
            "parameters (recurrent part)": f"{parameter_count(loaded, recurrent_only=True):,}",
            "training s/epoch (zoo build)": "—" if zoo is None else f"{zoo[0]:.1f} ({zoo[1]})",
            f"training s per {timed_steps}-step epoch (timed here)": "—" if now is None else f"{now:.2f}",
            "task performance": _format_metrics(loaded.metrics),
        }
    return pd.DataFrame(rows)


def time_epoch(loaded: Loaded, steps: int = 20, batch_size: int = 64, seed: int = 0, threads: int = 1) -> float:
    """Wall seconds of one short training epoch (`steps` Adam steps) on a copy of the model, on CPU with
    `threads` torch threads (1, as the zoo build: on a busy machine more threads can be 20× slower).

    The epoch is timed as n × the median time of steps 2..n: the first step pays one-off warm-up costs,
    and the median ignores steps slowed by other processes. The shared model is never touched: a deep copy
    is trained. ValueError for models without a task.
    """
    from lstmviz.run import task_of
    from lstmviz.train import train

    task = task_of(loaded)
    if task is None or loaded.model is None:
        raise ValueError("only models trained on an lstmviz task can be timed (this one has no task)")
    if steps < 2:
        raise ValueError(f"time at least 2 steps (the first is a warm-up); got {steps}")
    model = copy.deepcopy(loaded.model).cpu()
    for p in model.parameters():
        p.requires_grad_(True)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        events = train(model, task, epochs=1, steps_per_epoch=steps, batch_size=batch_size, seed=seed,
                       device="cpu").steps
    finally:
        torch.set_num_threads(before)
    return float(np.median(np.diff([e.elapsed_s for e in events]))) * steps


# --- memory of the past: the adding problem -------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """Memory of the first marked value: a linear probe of the last-step state (overall held-out R², and R²
    per bin of distance = steps from the first marker to the end; `bins` are the bins' lower edges), and
    the model's connectivity to that value, mean |∂ŷ/∂v_first| per bin (1 for a perfect adder)."""

    r2: float
    bins: np.ndarray
    r2_by_distance: np.ndarray
    counts: np.ndarray
    sensitivity_by_distance: np.ndarray


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """1 − SSE/SST (NaN when y is constant)."""
    sst = float(((y - y.mean()) ** 2).sum())
    return float("nan") if sst == 0 else 1.0 - float(((y - pred) ** 2).sum()) / sst


def fit_probe(features: np.ndarray, target: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Least-squares weights w (with a bias, last) so that [features, 1] @ w ≈ target; features [n, k]."""
    a = np.hstack([features, np.ones((len(features), 1))])  # [n, k+1]
    reg = ridge * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    return np.linalg.solve(a.T @ a + reg, a.T @ target)


def final_states(loaded: Loaded, x: torch.Tensor) -> np.ndarray:
    """The state after the last step of every sequence: h (and, for an LSTM, c) of every layer and
    direction, concatenated: x [n, T, F] task inputs -> [n, features]."""
    with torch.no_grad():
        _, state = loaded.module(loaded.model.encode(x))
    parts = state if isinstance(state, tuple) else (state,)  # each [L·D, n, H]
    return torch.cat([p.permute(1, 0, 2).reshape(p.shape[1], -1) for p in parts], 1).cpu().numpy()


def memory_probe(loaded: Loaded, n: int = 1000, T: int = 100, seed: int = 7, bin_width: int = 10,
                 n_gradient: int = 250) -> Probe:
    """How well the last-step state linearly encodes the first marked value of an adding-problem sequence.

    A ridge-regularised linear probe is fit on half the sequences and scored (R²) on the other half,
    overall and per distance bin; one batched gradient gives |∂ŷ/∂v_first| for `n_gradient` of the held-out
    sequences.
    Only for models of the "adding" task (ValueError otherwise).
    """
    if loaded.task != "adding" or loaded.model is None:
        raise ValueError(f"the memory probe needs an adding-problem model; this one's task is {loaded.task!r}")
    from lstmviz.tasks import get_task

    x, _ = get_task("adding").batch(n, seed, T=T)  # [n, T, 2]
    first = x[:, :, 1].argmax(1)  # the first marker: argmax takes the earliest 1
    target = x[torch.arange(n), first, 0].numpy()  # [n]
    distance = (T - 1 - first).numpy()  # [n]
    states = final_states(loaded, x.to(next(loaded.module.parameters()).device))  # [n, k]
    train, test = slice(0, n // 2), slice(n // 2, n)
    w = fit_probe(states[train], target[train])
    pred = np.hstack([states[test], np.ones((n - n // 2, 1))]) @ w
    y, dist = target[test], distance[test]
    edges = np.arange(dist.min() // bin_width * bin_width, dist.max() + 1, bin_width)
    by_bin = [(dist >= e) & (dist < e + bin_width) for e in edges]
    some = slice(n // 2, n // 2 + n_gradient)
    grads, grad_dist = first_value_gradient(loaded, x[some], first[some]), distance[some]  # [n_gradient] each
    in_bin = [(grad_dist >= e) & (grad_dist < e + bin_width) for e in edges]
    return Probe(r2=r_squared(y, pred), bins=edges,
                 r2_by_distance=np.array([r_squared(y[m], pred[m]) if m.sum() > 2 else np.nan for m in by_bin]),
                 counts=np.array([int(m.sum()) for m in by_bin]),
                 sensitivity_by_distance=np.array([grads[m].mean() if m.any() else np.nan for m in in_bin]))


def first_value_gradient(loaded: Loaded, x: torch.Tensor, first: torch.Tensor) -> np.ndarray:
    """|∂ŷ/∂x[first, 0]| for every adding-problem sequence: x [n, T, 2], first [n] -> [n].

    One backward pass for the whole batch (each ŷ_i depends on its own x_i only); gradients are taken
    with respect to the input, never accumulated into the model's parameters.
    """
    device = next(loaded.module.parameters()).device
    x = x.to(device).clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loaded.model(x).sum(), x)  # [n, T, 2]
    return grad[torch.arange(len(x)), first.to(device), 0].abs().cpu().numpy()


# --- divergence ----------------------------------------------------------------------------------------


def divergence(a: np.ndarray, b: np.ndarray, probabilities: bool) -> np.ndarray:
    """Per step, how much two models' predictions [T, out] disagree -> [T].

    Probabilities: total variation distance ½·Σ|p − q| (0 = identical, 1 = disjoint). Values (regression):
    mean |a − b| over the outputs.
    """
    if a.shape != b.shape:
        raise ValueError(f"predictions must have the same shape; got {a.shape} and {b.shape}")
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return 0.5 * diff.sum(axis=1) if probabilities else diff.mean(axis=1)


def pairwise_divergence(predictions: dict[str, np.ndarray], probabilities: bool) -> dict[str, np.ndarray]:
    """Divergence [T] for every pair of models: {"A vs B": values}."""
    names = list(predictions)
    return {f"{a} vs {b}": divergence(predictions[a], predictions[b], probabilities)
            for i, a in enumerate(names) for b in names[i + 1:]}


def most_divergent_step(curves: dict[str, np.ndarray]) -> int:
    """The step where the largest pairwise divergence peaks (the first such step on ties)."""
    return int(np.argmax(np.max(np.stack(list(curves.values())), axis=0)))


# --- bidirectional and stacked -------------------------------------------------------------------------


def bidirectional_outputs(tr: Trace, layer: int | None = None) -> dict[str, np.ndarray]:
    """A bidirectional layer's output, aligned by input position t: forward h [T, H] (read x_0..x_t),
    backward h [T, H] (read x_t..x_{T-1}), concatenated [T, 2H] (what torch returns) and summed [T, H]."""
    if tr.num_directions != 2:
        raise ValueError("this model reads in one direction only")
    layer = tr.num_layers - 1 if layer is None else layer
    fwd, bwd = tr.get(layer, "fwd", "h"), tr.get(layer, "bwd", "h")
    return {"forward h": fwd, "backward h": bwd, "concatenated [fwd | bwd]": np.concatenate([fwd, bwd], 1),
            "summed fwd + bwd": fwd + bwd}
