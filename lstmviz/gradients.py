"""Gradient flow through time: connectivity maps, loss gradients per step, decay curves, GRAD.csv.

The connectivity map C[t, s] = ‖∂y_t/∂x_s‖₂ asks how much the output at step t can still feel
the input at step s. All T targets go back through one batched reverse sweep over the traced
gates (`lstmviz.backward`): no backward pass per target, no autograd through the module, and no
state left on it. The cell highway (∏ f, ∏ z, RNN Jacobians) lives in `lstmviz.highway`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from lstmviz.backward import reverse_sweep
from lstmviz.checkpoints import atomic_write
from lstmviz.trace import trace

CSV_HEADER = "target_step,source_step,value"


def connectivity(module: nn.Module, x: Tensor | np.ndarray, h0: Tensor | tuple[Tensor, Tensor] | None = None,
                 readout: Tensor | np.ndarray | None = None, input_map: Tensor | None = None) -> np.ndarray:
    """C[t, s] = ‖∂y_t/∂x_s‖₂ for a torch.nn.LSTM / GRU / RNN on one sequence x [T, in]: [T, T].

    y_t = readout_t · out_t, where out_t [D·H_out] is the top layer's output at step t (both
    directions concatenated); readout is [D·H_out] or per step [T, D·H_out], all ones by default
    (y_t = the sum of the top outputs). C[t, s] = 0 for s > t unless the module is bidirectional.
    input_map [in, F]: when the module's input is x_raw @ input_map.T + b, take the gradient
    with respect to x_raw [T, F] instead. See `model_connectivity` for task models.
    Cost: about T²/2 rows of two matmuls per step; memory [T, T, in] (per layer for stacks).
    """
    tr = trace(module, x, h0)
    width = tr.num_directions * (tr.proj_size or tr.hidden_size)
    seeds = torch.ones(width) if readout is None else torch.as_tensor(readout)
    if tuple(seeds.shape) not in ((width,), (tr.steps, width)):
        raise ValueError(f"readout must have {width} values (or {tr.steps} rows of {width}); "
                         f"got shape {tuple(seeds.shape)}")
    seeds = seeds.expand(tr.steps, width)  # [T, D·H_out]
    grads = reverse_sweep(module, tr, seeds, tr.steps, diagonal=True, h0=h0).input_adjoint  # [T_s, T_t, in]
    if input_map is not None:
        grads = grads @ input_map.detach().to("cpu", grads.dtype)  # [T_s, T_t, F]
    return np.ascontiguousarray(grads.norm(dim=2).T.numpy())  # [T_t, T_s]


def model_connectivity(model: nn.Module, x: Tensor, classes: Tensor | None = None) -> np.ndarray:
    """Connectivity of a task model (`lstmviz.models.SequenceModel`: encode → rnn → linear head).

    y_t is the head's logit for class k_t at step t, k_t the model's own prediction (argmax) unless
    `classes` [T] is given. x is one sequence as the model takes it without the batch: token ids
    [T] or numbers [T, F]. Gradients are taken with respect to what enters the recurrent module
    (the embedding of each token) or, for numeric inputs, the raw numbers. Returns [T, T].
    """
    with torch.no_grad():
        embedded = model.encode(torch.as_tensor(x)[None])[0]  # [T, E]
        if classes is None:
            logits = model.head(model.rnn(embedded[None])[0][0])  # [T, out]
            classes = logits.argmax(dim=1)
        readout = model.head.weight[torch.as_tensor(classes)]  # [T, D·H]
    input_map = model.embed.weight if isinstance(model.embed, nn.Linear) else None  # [E, F]
    return connectivity(model.rnn, embedded, readout=readout, input_map=input_map)


def connectivity_fn(f: Callable[[Tensor], Tensor], x: Tensor | np.ndarray, chunk_size: int | None = None
                    ) -> np.ndarray:
    """C[t, s] = ‖∂f(x)_t/∂x_s‖₂ for any differentiable f: [T, in] -> [T]. Returns [T, T].

    One vmap over vector-Jacobian products with all T seeds batched (`torch.func.jacrev`).
    General but slower: vmap through torch's fused RNN kernels is very slow on CPU (minutes at
    T=300), so for torch recurrent modules prefer `connectivity` / `model_connectivity`.
    chunk_size bounds memory by batching that many seeds at a time.
    """
    x = torch.as_tensor(x)
    x = x.float() if not torch.is_floating_point(x) else x
    jac = torch.func.jacrev(f, chunk_size=chunk_size)(x.detach())  # [T, T, in]
    return np.ascontiguousarray(jac.flatten(2).norm(dim=2).detach().cpu().numpy())


def loss_gradients(module: nn.Module, x: Tensor | np.ndarray, h0: Tensor | tuple[Tensor, Tensor] | None = None,
                   loss_fn: Callable[[Tensor], Tensor] | None = None) -> dict[str, np.ndarray]:
    """‖∂L/∂h_s‖₂ (and for the LSTM ‖∂L/∂c_s‖₂) at every step s, for every layer and direction.

    L = loss_fn(out), out [T, D·H_out] the top layer's output (directions concatenated, on the
    module's device); by default L = out[T-1].sum(), the sum of the top outputs at the last step.
    ∂L/∂h_s is the total derivative (through later steps and the layers above).
    Returns {"layer{l}.{fwd|bwd}.h": [T], "layer{l}.{fwd|bwd}.c": [T] (LSTM)}, bottom layer first.
    """
    tr = trace(module, x, h0)
    param = next(module.parameters())
    out = torch.from_numpy(tr.output()).to(param.device).requires_grad_()  # [T, D·H_out]
    with torch.enable_grad():
        loss = out[-1].sum() if loss_fn is None else loss_fn(out)
        (seeds,) = torch.autograd.grad(loss, out, allow_unused=True, materialize_grads=True)
    sweep = reverse_sweep(module, tr, seeds[:, None], 1, diagonal=False, h0=h0, record=True)
    names = [f"layer{layer}.{d}.{g}" for layer in range(tr.num_layers) for d in tr.directions
             for g in ("h", "c")]
    return {name: sweep.norms[name][:, 0].numpy() for name in names if name in sweep.norms}


class GradientRecorder:
    """The training view: ‖∂L/∂h_s‖ of the top layer at every step s, one row per epoch.

    probe: one fixed sequence as the model takes it without the batch ([T, in] for a bare
    module; token ids [T] or numbers [T, F] for a SequenceModel). loss_fn(model, out) -> scalar,
    out [T, D·H_out] the top layer's output; default: the sum of the top outputs at the last step.
    Call `record(model)` after each epoch; `history` is [epochs, T]. Bidirectional models report
    the norm over both directions together. Dropout is not applied (traces run in eval form).
    """

    def __init__(self, probe: Tensor | np.ndarray,
                 loss_fn: Callable[[nn.Module, Tensor], Tensor] | None = None) -> None:
        self.probe = torch.as_tensor(probe)
        self.loss_fn = loss_fn
        self._rows: list[np.ndarray] = []

    def record(self, model: nn.Module) -> np.ndarray:
        """Measure the model as it is now, append the row and return it: [T]."""
        if isinstance(model, nn.RNNBase):
            module, x = model, self.probe
        elif isinstance(getattr(model, "rnn", None), nn.RNNBase) and hasattr(model, "encode"):
            with torch.no_grad():
                module, x = model.rnn, model.encode(self.probe[None])[0]  # [T, E]
        else:
            raise TypeError(f"expected an nn.LSTM/GRU/RNN or a model with .rnn and .encode, "
                            f"got {type(model).__name__}")
        loss = None if self.loss_fn is None else (lambda out: self.loss_fn(model, out))
        grads = loss_gradients(module, x, loss_fn=loss)
        top = module.num_layers - 1
        parts = [v for k, v in grads.items() if k.startswith(f"layer{top}.") and k.endswith(".h")]
        row = np.sqrt(sum(p.astype(np.float64) ** 2 for p in parts))  # [T]
        self._rows.append(row)
        return row

    @property
    def history(self) -> np.ndarray:
        """Recorded rows, [epochs, T] (an empty [0, 0] array before the first record)."""
        return np.stack(self._rows) if self._rows else np.zeros((0, 0))


def decay_curve(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean connectivity against distance d = t − s over pairs with s ≤ t: (distances [T], mean [T])."""
    steps = C.shape[0]
    t, s = np.tril_indices(steps)
    sums = np.bincount(t - s, weights=C[t, s], minlength=steps)  # [T]
    return np.arange(steps), sums / (steps - np.arange(steps))


def decay_distance(curve: tuple[np.ndarray, np.ndarray], fraction: float = 0.01) -> int | None:
    """The first distance at which the mean falls below `fraction` of its value at distance 0.

    None when it never does within the sequence (or the curve is 0 at distance 0).
    """
    distances, mean = curve
    below = np.flatnonzero(mean < fraction * mean[0])
    return int(distances[below[0]]) if below.size else None


def write_gradflow_csv(path: str | os.PathLike, C: np.ndarray, bidirectional: bool) -> None:
    """Write C [T, T] as `target_step,source_step,value` rows, atomically.

    Rows cover s ≤ t (unidirectional) or every s (bidirectional), target-major. Values are written
    with enough digits to read back exactly (9 for float32, 17 for float64). The text goes to a
    temporary file in the same folder, which replaces `path` only once complete; on any error the
    temporary file is removed and `path` is left as it was (`lstmviz.checkpoints.atomic_write`).
    Writing 1M rows takes about 0.2 s here.
    """
    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"the connectivity map must be square [T, T]; got shape {C.shape}")

    def write(f) -> None:
        f.write(CSV_HEADER.encode() + b"\n")
        for text in _csv_rows(C, bidirectional):
            f.write(text.encode())

    atomic_write(path, write)


def _csv_rows(C: np.ndarray, bidirectional: bool, rows_per_chunk: int = 64):
    """Yield the CSV body in chunks of target rows.

    One %-format call per target row: the source steps are baked into a cached format string
    ("%s,0,%.9g\\n%s,1,%.9g\\n…"), so only the floats are formatted one by one.
    """
    steps = C.shape[0]
    digits = 17 if C.dtype == np.float64 else 9
    lines = [f"%s,{s},%.{digits}g\n" for s in range(steps)]
    ends = np.cumsum([len(line) for line in lines]).tolist()
    template = "".join(lines)
    values = C.astype(np.float64)
    for start in range(0, steps, rows_per_chunk):
        chunk = []
        for t in range(start, min(steps, start + rows_per_chunk)):
            width = steps if bidirectional else t + 1
            args = [str(t)] * (2 * width)
            args[1::2] = values[t, :width].tolist()
            chunk.append(template[:ends[width - 1]] % tuple(args))
        yield "".join(chunk)
