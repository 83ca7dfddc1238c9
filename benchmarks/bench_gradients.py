"""Connectivity map C[t, s] = ‖∂y_t/∂x_s‖: the product path against two baselines, in one run.

Config (issue #5): T=300, input 32, hidden 128, one layer, unidirectional, LSTM / GRU / RNN,
torch's default thread count unless --threads is given. Times are the best of N, interleaved
round by round so that drift in machine load hits every method alike.

- product:  `lstmviz.gradients.connectivity` (trace + one batched analytic reverse sweep)
- loop:     one torch.autograd.grad per target t through the module's fused forward
- vmap:     torch.func.vjp + vmap with all T seeds batched, the faster of two forms: through the
            step-by-step equations of `lstmviz.cells`, or through the module's fused forward.
            The fused form is tried once first and only timed best-of-N when that one run took
            under --fused-limit seconds (vmap through the fused CPU LSTM kernel takes ~20 s here).

Also prints the time to write the map as GRAD.csv, and a 1000 × 1000 bidirectional map (1M rows).

    python benchmarks/bench_gradients.py [--repeats 5] [--steps 300] [--threads N] [--fused-limit 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
import torch
from timing import best_times
from torch.func import vjp, vmap

from lstmviz.cells import gru_cell, layer_weights, lstm_cell, rnn_cell
from lstmviz.gradients import connectivity, write_gradflow_csv

TARGET_MS, TARGET_LOOP, TARGET_VMAP = 150, 6.0, 2.0


def loop_map(module: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Baseline (a): one autograd.grad call per target step through the fused forward."""
    x = x.clone().requires_grad_()
    y = module(x)[0].sum(dim=1)  # [T]
    rows = [torch.autograd.grad(y[t], x, retain_graph=True)[0].norm(dim=1) for t in range(len(y))]
    return torch.stack(rows).numpy()


def equations(module: torch.nn.Module, kind: str):
    """y(x) [T] = the sum of h_t at each step, as a plain loop over `lstmviz.cells` (vmap-friendly)."""
    w = [p.detach() if p is not None else None for p in layer_weights(module, 0, reverse=False).values()]

    def f(x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(module.hidden_size)
        c = x.new_zeros(module.hidden_size)
        ys = []
        for t in range(x.shape[0]):
            if kind == "lstm":
                v = lstm_cell(x[t], h, c, *w)
                c = v["c"]
            elif kind == "gru":
                v = gru_cell(x[t], h, *w[:4])
            else:
                v = rnn_cell(x[t], h, *w[:4], module.nonlinearity)
            h = v["h"]
            ys.append(h.sum())
        return torch.stack(ys)

    return f


def vmap_map(f, x: torch.Tensor) -> np.ndarray:
    """Baseline (b): torch.func.vjp once, then vmap the pullback over all T one-hot seeds."""
    y, pullback = vjp(f, x)
    (grads,) = vmap(pullback)(torch.eye(len(y), dtype=y.dtype))  # [T, T, in]
    return grads.norm(dim=2).detach().numpy()


def csv_seconds(C: np.ndarray, bidirectional: bool, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "GRAD.csv")
        return best_times({"csv": lambda: write_gradflow_csv(path, C, bidirectional)}, repeats)["csv"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fused-limit", type=float, default=3.0,
                        help="time vmap through the fused kernel best-of-N only if one run is faster than this")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), T={args.steps}, input 32, "
          f"hidden 128, 1 layer, unidirectional, float32, best of {args.repeats} interleaved")
    print(f"{'kind':5}{'product ms':>11}{'loop ms':>9}{'vmap ms':>9}{'vmap via':>10}{'loop/prod':>10}"
          f"{'vmap/prod':>10}{'csv ms':>8}{'max rel diff':>13}")
    for kind in ("lstm", "gru", "rnn"):
        torch.manual_seed(0)
        module = getattr(torch.nn, kind.upper())(32, 128).eval()
        x = torch.randn(args.steps, 32)
        cells = equations(module, kind)

        def fused(inp, m=module):
            return m(inp)[0].sum(dim=1)

        product, loop = connectivity(module, x), loop_map(module, x)
        diff = max(float(np.max(np.abs(other - loop)) / np.max(np.abs(loop)))
                   for other in (product, vmap_map(cells, x)))
        fns = {"product": lambda m=module, x=x: connectivity(m, x), "loop": lambda m=module, x=x: loop_map(m, x),
               "cells": lambda f=cells, x=x: vmap_map(f, x)}
        fused_once = best_times({"fused": lambda f=fused, x=x: vmap_map(f, x)}, 1)["fused"]
        if fused_once < args.fused_limit:
            fns["fused"] = lambda f=fused, x=x: vmap_map(f, x)
        t = best_times(fns, args.repeats)
        t.setdefault("fused", fused_once)
        via = min(("cells", "fused"), key=t.get)
        csv = csv_seconds(product, False, args.repeats)
        print(f"{kind:5}{t['product'] * 1e3:11.1f}{t['loop'] * 1e3:9.1f}{t[via] * 1e3:9.1f}{via:>10}"
              f"{t['loop'] / t['product']:10.1f}{t[via] / t['product']:10.1f}{csv * 1e3:8.1f}{diff:13.1e}")
        print(f"      vmap through the cells {t['cells'] * 1e3:.0f} ms, through the fused kernel "
              f"{t['fused'] * 1e3:.0f} ms{'' if 'fused' in fns else ' (one run)'}")
    print(f"targets: product <= {TARGET_MS} ms, loop/product >= {TARGET_LOOP}, vmap/product >= {TARGET_VMAP}")
    big = np.random.default_rng(0).random((1000, 1000), dtype=np.float32)
    print(f"GRAD.csv for a 1000 x 1000 bidirectional map (1M rows): "
          f"{csv_seconds(big, True, max(1, args.repeats // 2)) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
