"""Inspector: server time of one step change for T=500, hidden 128, with the model and trace cached.

Runs the page in AppTest with a character LSTM (hidden 128, untrained: speed does not depend on the
weights) in the session, types a 500-character input, then moves the step slider and presses Next
several times. Prints the median rerun time, and as a baseline the same page rerun with nothing
changed, measured in the same run. The target is under 100 ms per step change.

    .venv/bin/python benchmarks/bench_inspector.py [--repeats 9] [--kind lstm]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from lstmviz.checkpoints import checkpoint_bytes, load_checkpoint
from lstmviz.models import SequenceModel
from lstmviz.tasks import TASKS

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "1_Inspector.py")
STEPS, HIDDEN = 500, 128


def _model(kind: str):
    torch.manual_seed(0)
    task = TASKS["char_lm"]
    model = SequenceModel.from_config(task.model_config(kind, HIDDEN))
    return load_checkpoint(checkpoint_bytes(model, task="char_lm", vocab=task.vocab, metrics={}, seed=0))


CPU: list[float] = []  # process CPU seconds of each timed run, next to its wall time


def _timed(at: AppTest) -> float:
    """Wall seconds of one AppTest rerun (its CPU seconds go to CPU)."""
    start, cpu = time.perf_counter(), time.process_time()
    at.run()
    elapsed = time.perf_counter() - start
    CPU.append(time.process_time() - cpu)
    assert not at.exception, at.exception
    return elapsed


def _cpu(last: int) -> float:
    return statistics.median(CPU[-last:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--kind", default="lstm", choices=["lstm", "gru", "rnn"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    text = ("def f(x):\n    return (x + 1) * 2  # 'q'\n" * 20)[:STEPS]
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["lstmviz_user_models"] = {"session:bench": ("bench", _model(args.kind))}
    at.session_state["model"] = "session:bench"
    at.session_state["_inspector_last_model"] = "session:bench"
    at.session_state["text"] = text
    first = _timed(at)
    assert at.slider(key="step").max == STEPS - 1, "the input did not give 500 steps"
    warm = [_timed(at) for _ in range(2)]
    idle = [_timed(at) for _ in range(args.repeats)]
    idle_cpu = _cpu(args.repeats)
    slider = []
    for k in range(args.repeats):
        at.slider(key="step").set_value(17 + 37 * k)
        slider.append(_timed(at))
    slider_cpu = _cpu(args.repeats)
    nxt = []
    for _ in range(args.repeats):
        at.button(key="next").click()
        nxt.append(_timed(at))
    next_cpu = _cpu(args.repeats)
    at.toggle(key="play").set_value(True)
    play = [_timed(at)]
    for k in range(2):
        at.slider(key="step").set_value(5 + k)
        play.append(_timed(at))
    play_cpu = _cpu(3)
    med = statistics.median
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Inspector, {args.kind.upper()} T={STEPS} hidden={HIDDEN}, CPU, {torch.get_num_threads()} thread(s), "
          f"median of {args.repeats} AppTest reruns; {os.cpu_count()} cores, load average {load:.1f}")
    print("                                          wall          process CPU")
    print(f"  first run (trace computed, cache cold): {first * 1000:8.1f} ms   (warm-up reruns "
          f"{', '.join(f'{w * 1000:.0f}' for w in warm)} ms)")
    print(f"  rerun, nothing changed (baseline):      {med(idle) * 1000:8.1f} ms   {idle_cpu * 1000:8.1f} ms")
    print(f"  step slider moved:                      {med(slider) * 1000:8.1f} ms   {slider_cpu * 1000:8.1f} ms   "
          f"({med(slider) / med(idle):.2f}× baseline)")
    print(f"  Next button:                            {med(nxt) * 1000:8.1f} ms   {next_cpu * 1000:8.1f} ms   "
          f"({med(nxt) / med(idle):.2f}× baseline)")
    print(f"  step moved with Play on ({STEPS} frames):  {med(play) * 1000:8.1f} ms   {play_cpu * 1000:8.1f} ms   "
          "(median of 3; Play is off by default)")
    verdict = "met" if med(slider) < 0.1 else "NOT met (wall)" + (", met in CPU time" if slider_cpu < 0.1 else "")
    print(f"  target: < 100 ms per step change -> {verdict}")


if __name__ == "__main__":
    main()
