"""Trace cost against the module's own forward, measured in one run.

Config (issue #2): batch 1, input 64, hidden 256, T=1000, 2 layers, bidirectional, one thread.
Prints, per kind, best-of-N times and the ratio trace / forward. The baseline is the module's
own forward under torch.no_grad() (the strictest: with autograd on, torch's CPU forward is
slower, and that ratio is printed too). Runs are interleaved so that drift in machine load hits
every side alike.

    python benchmarks/bench_trace.py [--repeats 15] [--steps 1000] [--threads 1]
"""

from __future__ import annotations

import argparse

import torch
from timing import best_times

from lstmviz import trace

TARGETS = {"lstm": 1.5, "gru": 1.2, "rnn": 1.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), T={args.steps}, input 64, hidden 256, "
          f"2 layers, bidirectional, best of {args.repeats}")
    print(f"{'kind':6}{'forward ms':>12}{'(autograd)':>12}{'trace ms':>10}{'ratio':>8}{'(vs autograd)':>15}"
          f"{'target':>8}")
    for kind in ("lstm", "gru", "rnn"):
        module = getattr(torch.nn, kind.upper())(64, 256, num_layers=2, bidirectional=True).eval()
        x = torch.randn(args.steps, 1, 64)

        def forward(module=module, x=x):
            with torch.no_grad():
                module(x)

        t = best_times({"forward": forward, "autograd": lambda m=module, x=x: m(x),
                        "trace": lambda m=module, x=x: trace(m, x)}, args.repeats)
        print(f"{kind:6}{t['forward'] * 1e3:12.1f}{t['autograd'] * 1e3:12.1f}{t['trace'] * 1e3:10.1f}"
              f"{t['trace'] / t['forward']:8.2f}{t['trace'] / t['autograd']:15.2f}{TARGETS[kind]:8.2f}")


if __name__ == "__main__":
    main()
