"""The zoo loads in under a second: every shipped checkpoint through lstmviz's validating loader.

Baseline, measured in the same run: a bare torch.load(weights_only=True) of the same files, so the
ratio is what inferring and checking every shape and building the models costs on top.

    python benchmarks/bench_zoo.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io

import torch
from timing import best_times

from lstmviz.checkpoints import load_checkpoint
from lstmviz.zoo import zoo_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    files = {name: path.read_bytes() for name, path in zoo_models().items()}

    def bare() -> None:
        for data in files.values():
            torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)

    def lstmviz_load() -> None:
        for data in files.values():
            load_checkpoint(data)

    t = best_times({"torch.load": bare, "load_checkpoint": lstmviz_load}, args.repeats)
    size = sum(len(d) for d in files.values()) / 2**20
    print(f"{len(files)} zoo checkpoints, {size:.1f} MB, best of {args.repeats}, torch already imported")
    print(f"  torch.load(weights_only=True): {t['torch.load'] * 1e3:7.1f} ms")
    print(f"  lstmviz load_checkpoint:       {t['load_checkpoint'] * 1e3:7.1f} ms  "
          f"({t['load_checkpoint'] / t['torch.load']:.1f}x; target: under 1 s)")


if __name__ == "__main__":
    main()
