"""Train the model zoo (`build`), measure it (`evaluate`), and show the measurements (`markdown_table`).

For every task an LSTM, a GRU and a tanh RNN of the same hidden size, trained the same way (same seed,
steps, batch size, learning rate), plus the bidirectional LSTM sentiment classifier. LSTMs start with
forget-gate bias +1 (Jozefowicz et al. 2015). Training runs on CPU with a fixed thread count, so
`python -m lstmviz zoo build` gives the same weights again on the same machine and torch version.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lstmviz.checkpoints import load_checkpoint, save_checkpoint
from lstmviz.models import SequenceModel, init_forget_bias
from lstmviz.sentiment import generate_sentence
from lstmviz.tasks import ForecastTask, SentimentTask, Task, get_task
from lstmviz.train import train

EVAL_SEED = 12345  # evaluation batches; training batches come from the build seed
FORGET_BIAS = 1.0
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Spec:
    """How one task's models are trained: same for every cell kind."""

    task: str
    hidden_size: int
    steps: int
    batch_size: int
    lr: float
    embed_size: int = 32


SPECS = [
    Spec("adding", 64, 3000, 64, 3e-3),
    Spec("char_lm", 128, 2500, 32, 3e-3),
    Spec("sentiment", 64, 1500, 64, 3e-3),
    Spec("brackets", 64, 1500, 32, 3e-3),
    Spec("forecast_synthetic", 32, 1500, 32, 3e-3),
    Spec("forecast_lifeexp", 32, 1500, 32, 3e-3),
]
VARIANTS = [("lstm", False), ("gru", False), ("rnn", False)]
EXTRA_VARIANTS = {"sentiment": [("lstm", True)]}  # the explainer's bidirectional classifier


def _variants(task: str) -> list[tuple[str, bool]]:
    return VARIANTS + EXTRA_VARIANTS.get(task, [])


def model_name(task: str, cell: str, bidirectional: bool) -> str:
    """File stem of a zoo model, e.g. "adding-lstm" or "sentiment-bilstm"."""
    return f"{task}-{'bi' if bidirectional else ''}{cell}"


def build(out_dir: str | Path, seed: int = 0, log: Callable[[str], None] = print, *,
          tasks: list[str] | None = None, scale: float = 1.0, threads: int = 1) -> list[dict[str, Any]]:
    """Train and save every zoo model into out_dir, then write metrics.json; returns its rows.

    tasks limits the build to some task names; scale multiplies every step count (for quick trials);
    threads is torch's CPU thread count while building (restored afterwards).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        for spec in SPECS:
            if tasks is None or spec.task in tasks:
                for cell, bidirectional in _variants(spec.task):
                    log(_train_one(out, spec, cell, bidirectional, seed, scale, threads))
        rows = evaluate(out)
    finally:
        torch.set_num_threads(previous_threads)
    (out / METRICS_FILE).write_text(json.dumps(rows, indent=1) + "\n")
    log(f"zoo built in {time.perf_counter() - start:.0f} s: {len(rows)} models in {out}")
    return rows


def _train_one(out: Path, spec: Spec, cell: str, bidirectional: bool, seed: int, scale: float,
               threads: int) -> str:
    """Train, measure and save one zoo model; returns a log line."""
    task = get_task(spec.task)
    name = model_name(spec.task, cell, bidirectional)
    torch.manual_seed(seed)
    model = SequenceModel(task.model_config(cell, spec.hidden_size, embed_size=spec.embed_size,
                                            bidirectional=bidirectional))
    init_forget_bias(model, FORGET_BIAS)
    steps = max(10, round(spec.steps * scale))
    result = train(model, task, epochs=10, steps_per_epoch=steps // 10, batch_size=spec.batch_size,
                   lr=spec.lr, seed=seed, device="cpu")
    metrics = measure(model, task)
    extra = {"steps": steps, "batch_size": spec.batch_size, "lr": spec.lr, "threads": threads,
             "forget_bias_init": FORGET_BIAS if cell == "lstm" else None,
             "train_seconds": round(result.elapsed_s, 1)}
    save_checkpoint(out / f"{name}.pt", model, task=task.name, vocab=task.vocab, metrics=metrics,
                    seed=seed, extra=extra)
    return f"{name}: {describe(task.name, metrics)} ({result.elapsed_s:.0f} s, {steps} steps)"


@torch.no_grad()
def measure(model: SequenceModel, task: Task) -> dict[str, float]:
    """The zoo's measurements of one model on held-out data drawn with EVAL_SEED (model in eval mode)."""
    model.eval()
    if isinstance(task, SentimentTask):
        return _sentiment_accuracy(model, task)
    if isinstance(task, ForecastTask):
        if task.name == "forecast_lifeexp":
            series = task.series("test")  # [29,12]: every held-out country, whole series
            x, y = series[:, :-1, None], series[:, 1:, None]
        else:
            x, y = task.batch(500, EVAL_SEED, T=100)
        mse, naive = task.metric(model(x), y) * task.scale**2, task.naive_mse(x, y) * task.scale**2
        return {"mse": mse, "naive_mse": naive, "mse_ratio": mse / naive}
    if task.name == "char_lm":
        x, y = task.batch(100, EVAL_SEED, T=256, split="test")
        return {"bits_per_char": task.metric(model(x), y)}
    if task.name == "adding":
        x, y = task.batch(2000, EVAL_SEED, T=100)
        pred = model(x)
        return {"within_0.04_T100": task.metric(pred, y), "mse_T100": float(((pred - y) ** 2).mean())}
    x, y = task.batch(500, EVAL_SEED, T=task.T)
    return {"accuracy": task.metric(model(x), y)}


def _sentiment_accuracy(model: SequenceModel, task: SentimentTask) -> dict[str, float]:
    rng = random.Random(EVAL_SEED)
    by_length = defaultdict(list)
    for _ in range(3000):
        sentence = generate_sentence(rng)
        by_length[len(sentence.words)].append(sentence)
    index = {w: i for i, w in enumerate(task.vocab)}
    correct, negated = [], []
    for sentences in by_length.values():
        x = torch.tensor([[index[w] for w in s.words] for s in sentences])  # [n,T]
        hits = (model(x).argmax(-1) == torch.tensor([s.label for s in sentences])).tolist()
        correct += hits
        negated += [hit for hit, s in zip(hits, sentences, strict=True) if s.negated]
    return {"accuracy": sum(correct) / len(correct), "negated_accuracy": sum(negated) / len(negated)}


def evaluate(zoo_dir: str | Path) -> list[dict[str, Any]]:
    """Load every checkpoint in zoo_dir and measure it afresh; one row per model, in SPECS order."""
    order = [model_name(spec.task, cell, bi) for spec in SPECS for cell, bi in _variants(spec.task)]
    rows = []
    paths = sorted(Path(zoo_dir).glob("*.pt"), key=lambda p: (order.index(p.stem) if p.stem in order
                                                              else len(order), p.stem))
    for path in paths:
        loaded = load_checkpoint(path)
        model = loaded.model
        rows.append({
            "model": path.stem, "task": loaded.task, "cell": model.config.cell,
            "bidirectional": model.config.bidirectional, "hidden_size": model.config.hidden_size,
            "parameters": model.count_parameters(), "size_kb": round(path.stat().st_size / 1024, 1),
            "train_seconds": loaded.meta.get("extra", {}).get("train_seconds"),
            "metrics": measure(model, get_task(loaded.task)),
        })
    return rows


def describe(task: str, m: dict[str, float]) -> str:
    """One line of a model's measurements, in words."""
    if task == "adding":
        return f"{m['within_0.04_T100']:.1%} within 0.04 at T=100 (MSE {m['mse_T100']:.4f})"
    if task == "char_lm":
        return f"{m['bits_per_char']:.2f} bits/char on held-out stdlib files"
    if task == "sentiment":
        return f"accuracy {m['accuracy']:.1%}, on negated sentences {m['negated_accuracy']:.1%}"
    if "mse" in m:
        unit = " years²" if task == "forecast_lifeexp" else ""
        return (f"MSE {m['mse']:.3g}{unit} vs naive last value {m['naive_mse']:.3g}{unit} "
                f"(ratio {m['mse_ratio']:.2f})")
    return f"accuracy {m['accuracy']:.1%}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows of `evaluate` as a Markdown table."""
    lines = ["| model | task | cell | hidden | parameters | result |", "|---|---|---|---:|---:|---|"]
    for r in rows:
        cell = ("bidirectional " if r["bidirectional"] else "") + r["cell"].upper()
        lines.append(f"| {r['model']} | {r['task']} | {cell} | {r['hidden_size']} | {r['parameters']:,} "
                     f"| {describe(r['task'], r['metrics'])} |")
    return "\n".join(lines)
