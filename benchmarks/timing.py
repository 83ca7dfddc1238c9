"""Shared timing for the benchmark scripts: baselines measured in the same run, interleaved."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time (seconds) of each callable, interleaving the callables round by round so that
    drift in machine load hits every side alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
